"""Sentence splitting for Vietnamese news text, on the normalised string.

A sentence ends at a line break, or at `.`, `!`, `?` or `…` (with any closing quotes or
brackets) followed by whitespace and then something that can open a sentence. It does
not end after abbreviations such as `TP.`, after single initials (`H. Clinton`), inside numbers
(`3.5`, `10.10.2025`), or where the next word starts in lower case. A single letter that closes a
Vietnamese placeholder name (`Nguyễn Văn A. Sau đó`: a surname, another capitalised word, the letter)
is that name's given name, not an initial, and the sentence ends after it. A line break is a wrap,
not an end, where text was hard-wrapped mid-sentence: a single one after a letter, digit or
comma and before a lower-case letter.
"""

from __future__ import annotations

import re

from .normalize import LINE_BREAKS, is_separator

# Abbreviations that end in a full stop without ending the sentence (compared case-sensitively).
ABBREVIATIONS = frozenset({
    "TP", "Tp", "TS", "ThS", "GS", "PGS", "BS", "KS", "NXB", "Q", "P", "St", "Mr", "Mrs", "Ms", "Dr", "v.v", "vv", "Th",
})  # fmt: skip
# Common Vietnamese surnames: a name that starts with one and ends in one letter is a placeholder (`Trần Thị B`).
# Not `Hà`, `Mai`, `Cao`: they also start place names and common words.
SURNAMES = frozenset({
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
    "Lý", "Đào", "Đinh", "Trương", "Lương",
})  # fmt: skip
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*")
_CLOSERS = "\"'”’»)]"


def _word_before(text: str, index: int) -> str:
    start = index
    while start > 0 and not is_separator(text[start - 1]) and text[start - 1] not in "([\"“'":
        start -= 1
    return text[start:index]


def _opens_sentence(char: str) -> bool:
    return char.isupper() or char.isdigit() or char in "\"“'‘«([-–—•*"


def _is_initial(word: str) -> bool:
    return len(word) == 1 and word.isalpha() and word.isupper()


def _ends_placeholder(text: str, letter_end: int, after: int) -> bool:
    """Whether the letter before `letter_end` closes a placeholder name (`Nguyễn Văn A`) and a capitalised word
    follows at `after`: `Nguyễn T. Hà` (one word before) and `Ông A. Smith` (no surname) stay initials."""
    if not text[after].isupper():
        return False  # `Nguyễn Thị H. (30 tuổi)`: what follows is no sentence
    run: list[str] = []  # the capitalised words right before the letter, nearest first
    for word in reversed(text[max(0, letter_end - 60) : letter_end - 1].split()[-3:]):
        if not (word[0].isupper() and word.isalpha()):
            break
        run.append(word)
    return any(word in SURNAMES for word in run[1:])  # a surname, then at least one more word


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return [start, end) spans of the sentences of `text`, trimmed of separators."""
    spans: list[tuple[int, int]] = []
    for line_start, line_end in _lines(text):
        start = line_start
        for match in _END.finditer(text, line_start, line_end):
            end = match.end()
            after = end
            while after < line_end and is_separator(text[after]):
                after += 1
            if after == end or after == line_end:
                continue  # no whitespace after it (`3.5`), or the line ends here anyway
            if not _opens_sentence(text[after]):
                continue
            if match.group().rstrip(_CLOSERS) == ".":
                word = _word_before(text, match.start())
                if word in ABBREVIATIONS or (_is_initial(word) and not _ends_placeholder(text, match.start(), after)):
                    continue
            spans.append((start, end))
            start = after
        spans.append((start, line_end))
    return [trimmed for span in spans if (trimmed := _trim(text, *span))]


def _lines(text: str) -> list[tuple[int, int]]:
    """[start, end) of the non-empty lines of `text`, a line that wraps into the next taken whole."""
    lines: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        if lines and line.start() == lines[-1][1] + 1 and wraps_at(text, lines[-1][1]):
            lines[-1] = (lines[-1][0], line.end())
        else:
            lines.append((line.start(), line.end()))
    return lines


def wraps_at(text: str, newline: int) -> bool:
    """Whether the line break `text[newline]` (a `\\n`) wraps a sentence rather than ends it: the only break
    between a letter, digit or comma and a lower-case letter (`hội đàm với\\nđoàn`). A CR before it is
    part of the break (CRLF), so the original text and the normalised one give the same answer."""
    last = newline - 1
    if last >= 0 and text[last] == "\r":
        last -= 1
    while last >= 0 and text[last] not in LINE_BREAKS and is_separator(text[last]):
        last -= 1
    first = newline + 1
    while first < len(text) and text[first] not in LINE_BREAKS and is_separator(text[first]):
        first += 1
    if last < 0 or first == len(text):
        return False
    return (text[last].isalnum() or text[last] == ",") and text[first].islower()


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and is_separator(text[start]):
        start += 1
    while end > start and is_separator(text[end - 1]):
        end -= 1
    return (start, end) if start < end else None
