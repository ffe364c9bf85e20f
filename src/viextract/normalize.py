"""Unicode and Vietnamese tone-placement normalisation with an exact map back to the original.

The model sees NFC text with old-style tone placement (`hoà`, `thuỷ`), which is what
PhoBERT's vocabulary was built on. Every character of the normalised string knows the
range of original characters it came from, so offsets found on the normalised text map
back exactly, whatever form (NFD, new-style tones, control characters) the caller used.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .graphemes import cluster_bounds, is_extend, is_regional_indicator

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # grave, acute, tilde, hook, dot below
# Diphthongs whose tone moves from the first vowel (new style, `hòa`) to the second (old style, `hoà`)
# when they end the syllable.
_MOVABLE_PAIRS = {"oa", "oe", "uy"}


def _toned_o_and_u() -> str:
    """o and u with one or two tone marks (`ò`, `ṍ`): the only first halves of a movable pair."""
    marks = sorted(_TONE_MARKS)
    found = {unicodedata.normalize("NFC", base + a + b) for base in "oOuU" for a in marks for b in ["", *marks]}
    return "".join(sorted(char for char in found if len(char) == 1))


_TONED_VOWELS = _toned_o_and_u()
_TONED_PAIR = re.compile(f"[{_TONED_VOWELS}][aAeEyY]")


# The characters that end a line (and so a sentence); render.py starts a line of its view at each.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _separator_form(char: str) -> str:
    """Line breaks stay line breaks (they end sentences); every other separator becomes a space."""
    return "\n" if char in LINE_BREAKS else " "


_SEPARATOR_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Co", "Cn"})


@functools.cache  # called for every character of every text: the per-character answer is looked up once
def is_separator(char: str) -> bool:
    """Whitespace, control and format characters, and `_`: they separate words and belong to none.

    `_` is what word-segmented text (`Thủ_đô Vientiane`, as VnCoreNLP writes it) puts between a word's
    syllables: read as a space, such input gives the entities of the plain text, not `Thủ_đô_`.
    """
    return char == "_" or char.isspace() or unicodedata.category(char) in _SEPARATOR_CATEGORIES


@dataclass(frozen=True)
class NormalizedText:
    """`text` is the model-side string; char i came from `original[starts[i]:ends[i]]`."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty span [start, end) of `text` to the original string."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span ({start}, {end}) is outside the normalised text of length {len(self.text)}")
        return self.starts[start], self.ends[end - 1]


@functools.cache
def _split_tone(char: str) -> tuple[str, str | None]:
    decomposed = unicodedata.normalize("NFD", char)
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if not tones:
        return char, None
    rest = "".join(c for c in decomposed if c not in _TONE_MARKS)
    return unicodedata.normalize("NFC", rest), tones[0]


def _old_style_tones(text: str) -> str:
    """`hòa` -> `hoà`, `thủy` -> `thuỷ`: same length, so the index map is unchanged.

    Only a toned `o`/`u` before `a`, `e` or `y` can move (`_TONED_PAIR` finds them in C); the
    moves never overlap, so each is decided on the original text as the plain loop decides it.
    """
    chars = None
    for match in _TONED_PAIR.finditer(text):
        moved = _moved_tone(text, match.start())
        if moved is not None:
            chars = chars or list(text)
            chars[match.start()], chars[match.start() + 1] = moved
    return text if chars is None else "".join(chars)


def _old_style_tones_plain(text: str) -> str:
    """`_old_style_tones` trying every position: the reference the fast path is tested against."""
    chars = list(text)
    for i in range(len(chars) - 1):
        moved = _moved_tone(chars, i)
        if moved is not None:
            chars[i], chars[i + 1] = moved
    return "".join(chars)


def _moved_tone(chars: Sequence[str], i: int) -> tuple[str, str] | None:
    """chars[i] and chars[i + 1] with the tone moved from the first to the second, or None where it stays."""
    # The pair must end the syllable: no letter follows.
    if i + 2 < len(chars) and chars[i + 2].isalpha():
        return None
    base1, tone1 = _split_tone(chars[i])
    base2, tone2 = _split_tone(chars[i + 1])
    if tone1 is None or tone2 is not None or (base1 + base2).lower() not in _MOVABLE_PAIRS:
        return None
    # In `quý` the `u` belongs to the consonant `qu`: the tone is already on `y`.
    if base1.lower() == "u" and i > 0 and chars[i - 1].lower() == "q":
        return None
    return base1, unicodedata.normalize("NFC", base2 + tone1)


# The letters and digits that start an emoji (keycap `1\ufe0f\u20e3`, `\u2139\ufe0f`): after any other letter or
# digit an emoji variation selector (text or emoji style) means nothing, and is dropped.
_EMOJI_BASES = frozenset("0123456789\u2139")
_NO_SELECTORS = dict.fromkeys(map(ord, "\ufe0e\ufe0f"))


def _cluster_chars(chunk: str) -> list[str]:
    """The model-side characters of one cluster that starts with a letter, digit, punctuation mark or symbol (NFC)."""
    chars = unicodedata.normalize("NFC", chunk.translate(_FULLWIDTH))  # folded first: `ｏ` + grave composes to `ò`
    if unicodedata.category(chunk[0]).startswith("S"):
        return list(chars)  # in an emoji sequence the joiners join: keep them, one token
    if chunk[0].isalnum() and chunk[0] not in _EMOJI_BASES:
        chars = chars.translate(_NO_SELECTORS)  # `Lào\ufe0f` is `Lào` to a reader and must be to the models
    # After a letter or a punctuation mark a joiner or tag separates words like a space (`tiếp,\u200c` is
    # `tiếp,` to a reader: kept, `,\u200c` was a token the models had never seen), and so does all that
    # follows it in the cluster (a mark after `ộ` + ZWJ has no letter to sit on).
    out: list[str] = []
    for char in chars:
        out.append(" " if out and (is_separator(char) or out[-1] == " ") else char)
    return out


# Invisible format characters that do not break a word (Unicode's Word_Break=Format): soft hyphen, word
# joiner, BOM, direction marks and embeddings. `trư\u00adởng` is `trưởng` to a reader, so they are dropped,
# not read as a space that splits the syllable.
_INVISIBLE = frozenset("\u00ad\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff")


def normalize_text(original: str) -> NormalizedText:
    """NFC per grapheme cluster, separators turned into spaces or `\\n` (invisible format characters,
    dropped), old-style tone placement, decimal digits of any script and fullwidth Latin as ASCII.

    Every character of a cluster maps to the whole cluster, so no word (and no entity) can
    start or end inside a flag, an emoji sequence or a letter with its marks.
    """
    chars = set(original)
    if (
        unicodedata.is_normalized("NFC", original)
        and not any(map(_joins_a_cluster, chars))
        and _INVISIBLE.isdisjoint(chars)
    ):
        return _normalize_simple(original)
    return _normalize_clusters(original)


def _one_break_per_crlf(norm: NormalizedText) -> NormalizedText:
    """A CRLF is one line break, as editors show it, not two (a blank line): its CR becomes a space, so
    that Windows text wraps and breaks as the same text with bare line feeds (sentences.py)."""
    if "\r\n" not in norm.original:
        return norm
    text = list(norm.text)
    for pair in re.finditer("\n(?=\n)", norm.text):
        at = pair.start()
        source = norm.starts[at]
        if norm.original[source : source + 2] == "\r\n" and norm.starts[at + 1] == source + 1:
            text[at] = " "
    return replace(norm, text="".join(text))


@functools.cache
def _joins_a_cluster(char: str) -> bool:
    """Marks, joiners, skin tones, tags and flag halves: text without them is one cluster per character."""
    return unicodedata.category(char).startswith("M") or is_extend(char) or is_regional_indicator(char)


def _normalize_clusters(original: str) -> NormalizedText:
    """`normalize_text` for any text, one grapheme cluster at a time."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in cluster_bounds(original):
        chunk = original[start:end]
        if is_separator(chunk[0]) or unicodedata.category(chunk[0]).startswith("M"):
            # A mark with no base (after a space or a control, or first) has nothing to sit on:
            # it separates words like the space before it, each character mapping to itself.
            for offset, char in enumerate(chunk):
                if char in _INVISIBLE:
                    continue
                pieces.append(_separator_form(char) if is_separator(char) else " ")
                starts.append(start + offset)
                ends.append(start + offset + 1)
            continue
        for char in _cluster_chars(chunk):
            pieces.append(char)
            starts.append(start)
            ends.append(end)
    text = "".join(pieces)
    text = text.translate(digits) if (digits := _digit_forms(set(text))) else text
    return _one_break_per_crlf(NormalizedText(original, _old_style_tones(text), tuple(starts), tuple(ends)))


# The fullwidth forms of ASCII `!` to `~` (`Ｐhạm`, `（`), as an IME in full-width mode types them, one for one.
_FULLWIDTH: dict[int, int | str] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[ord("＿")] = " "  # as `_` is: what word-segmented text puts between syllables (is_separator)


def _digit_forms(chars: set[str]) -> dict[int, str]:
    """Decimal digits of other scripts (fullwidth `１５/３`) as ASCII, one for one: the digits the
    vocabulary and the training text hold, so `１５/３` reads as the date `15/3` does."""
    return {ord(char): str(unicodedata.decimal(char)) for char in chars if char.isdecimal() and not char.isascii()}


def _normalize_simple(original: str) -> NormalizedText:
    """`normalize_text` of NFC text whose every character is a cluster of its own (nearly all text):
    only separators and tone placement change, done in C rather than per character."""
    # Spaces and line feeds, nearly all the separators there are, stay as they are: no translation.
    chars = set(original)
    forms = {ord(char): form for char in chars if is_separator(char) and (form := _separator_form(char)) != char}
    forms.update(_digit_forms(chars))
    forms.update((ord(char), _FULLWIDTH[ord(char)]) for char in chars if ord(char) in _FULLWIDTH)
    text = original.translate(forms) if forms else original
    size = len(original)
    norm = NormalizedText(original, _old_style_tones(text), tuple(range(size)), tuple(range(1, size + 1)))
    return _one_break_per_crlf(norm)
