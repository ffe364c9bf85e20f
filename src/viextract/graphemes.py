"""Grapheme clusters (what a reader sees as one character) and symbol characters, without a dependency.

An approximation of UAX #29's extended grapheme clusters that covers what news text carries: a base
with its combining marks, variation selectors, emoji skin-tone modifiers and tag characters (GB9,
GB9a); emoji joined by ZERO WIDTH JOINER (GB11); flags of two regional indicators (GB12, GB13); CR LF
(GB3). Controls are clusters of their own (GB4, GB5). Not covered: Hangul syllable sequences,
prepended marks and Indic conjuncts, none of which can meet a word boundary in our text pipeline.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
_ZWNJ = "\u200c"


def is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def is_pictographic(char: str) -> bool:
    """Extended_Pictographic, approximated: other symbols and the emoji planes' code points."""
    return unicodedata.category(char) == "So" or 0x1F000 <= ord(char) <= 0x1FFFD


def is_emoji_modifier(char: str) -> bool:
    """The five skin tones: a cluster with the character before them."""
    return 0x1F3FB <= ord(char) <= 0x1F3FF


def is_extend(char: str) -> bool:
    """Characters that never start a cluster after a base: marks, ZWJ/ZWNJ, skin tones, tags."""
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in (ZWJ, _ZWNJ)
        or is_emoji_modifier(char)
        or 0xE0020 <= ord(char) <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_control(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cc", "Zl", "Zp", "Cs") or (category == "Cf" and not is_extend(char))


def cluster_end(text: str, start: int) -> int:
    """The end of the grapheme cluster that starts at `text[start]`."""
    first = text[start]
    end = start + 1
    if _is_control(first):
        return end + 1 if first == "\r" and text[end : end + 1] == "\n" else end
    if is_regional_indicator(first) and end < len(text) and is_regional_indicator(text[end]):
        end += 1
    pictographic = is_pictographic(first)
    while end < len(text):
        char = text[end]
        if is_extend(char):
            end += 1
        elif pictographic and text[end - 1] == ZWJ and is_pictographic(char):
            end += 1  # 👨‍👩‍👧: emoji joined by ZWJ are one cluster
        else:
            break
    return end


def cluster_bounds(text: str) -> list[tuple[int, int]]:
    """[start, end) of every grapheme cluster of `text`, in order."""
    bounds = []
    start = 0
    while start < len(text):
        end = cluster_end(text, start)
        bounds.append((start, end))
        start = end
    return bounds


def is_symbol(char: str) -> bool:
    """Symbols and emoji (`🇻🇳`, `😀`, `©`, `$`, `+`): Unicode categories S*, regional indicators."""
    return unicodedata.category(char).startswith("S") or is_regional_indicator(char)


def is_symbol_word(word: str) -> bool:
    """A word with no letter or digit and at least one symbol: it never starts or ends a name."""
    return any(is_symbol(c) for c in word) and not any(c.isalnum() for c in word)
