"""Cutting a sentence into tokens (syllables, numbers, single punctuation marks) with their spans.

Hyphens, en dashes and slashes between letters are tokens of their own (`Việt Nam-Lào` -> `Việt`,
`Nam`, `-`, `Lào`), while `10/10`, `25-27/12`, `2024-2025` and `COVID-19` stay whole. A symbol or
punctuation token is one whole grapheme cluster (`🇻🇳`, `👨‍👩‍👧`), so an entity never splits one.

`split_tokens_plain` states the rules one character at a time. `split_tokens` gives the same spans
faster: it maps each character to a one-letter class and runs a regular expression over the
classes, falling back to the plain loop for a span holding a mark, joiner, skin tone, tag or flag
half (characters that glue clusters together); tests compare the two.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from .graphemes import cluster_end, is_emoji_modifier, is_extend, is_regional_indicator
from .normalize import is_separator

# Characters that join two digit runs into one token: 10/10, 25-27/12, 3.5, 1,000, 10:59.
_NUMERIC_JOINERS = frozenset("-–/.,:")
# Characters that join a letter run and a digit run: COVID-19.
_MIXED_JOINERS = frozenset("-–")

# Classes: s separator, d digit, w other word character, h hyphen or en dash (joins digits, and a
# digit to a letter), j other numeric joiner, p any other character (a token of its own), u a
# character that may glue a cluster to its neighbour (the plain loop decides).
_TOKEN = re.compile(r"[wd](?:[wd]|(?<=d)[hj](?=d)|(?<=d)h(?=w)|(?<=w)h(?=d))*|[hjp]")


@functools.cache  # asked for every character of every sentence
def is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


@functools.cache
def _char_class(char: str) -> str:
    if is_extend(char) or is_regional_indicator(char):
        return "u"
    if is_separator(char):
        return "s"
    if is_word_char(char):
        return "d" if char.isdigit() else "w"
    return "h" if char in _MIXED_JOINERS else "j" if char in _NUMERIC_JOINERS else "p"


def char_classes(text: str) -> str:
    """One class letter per character of `text`, for `split_tokens(..., classes=)` on many spans of one text."""
    return text.translate({ord(char): _char_class(char) for char in set(text)})


def split_tokens(
    text: str, start: int = 0, end: int | None = None, *, classes: str | None = None
) -> list[tuple[int, int]]:
    """Spans of syllables, numbers and single punctuation characters in text[start:end].

    `classes`: `char_classes(text)`, computed once when splitting many spans of one text.
    """
    end = len(text) if end is None else end
    if classes is None:
        classes = " " * start + char_classes(text[start:end])
    if classes.find("u", start, end) >= 0:
        return split_tokens_plain(text, start, end)
    return [match.span() for match in _TOKEN.finditer(classes, start, end)]


def split_tokens_plain(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """`split_tokens`, one character at a time: the reference the fast path is tested against."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    i = start
    while i < end:
        if is_separator(text[i]):
            i += 1
            continue
        j = _word_end(text, i, end) if is_word_char(text[i]) else min(cluster_end(text, i), end)
        spans.append((i, j))
        i = j
    return spans


def _word_end(text: str, i: int, end: int) -> int:
    """The end of the word-character run starting at `i`, joiners between digits (or a digit and a letter) included."""
    j = i + 1
    while j < end:
        if is_word_char(text[j]) or is_emoji_modifier(text[j]):
            j += 1
            continue
        if j + 1 < end and is_word_char(text[j + 1]):
            left, right = _is_digit(text[j - 1]), _is_digit(text[j + 1])
            if (left and right and text[j] in _NUMERIC_JOINERS) or (left != right and text[j] in _MIXED_JOINERS):
                j += 1
                continue
        break
    return j


def _is_digit(char: str) -> bool:
    return char.isdigit()
