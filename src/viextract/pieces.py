"""Cutting a long document at line breaks, and putting the pieces' results back together.

A sentence never crosses a line break other than a wrap (`sentences.py`), and entities and relations
stay within one sentence, so the results of pieces cut just after a `\\n`, moved by each piece's
offset, are the whole document's result (`split_at_line_breaks` avoids the breaks text preparation
reads across). The command line uses this to report progress inside a long file.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace

from .dates import header_date
from .markup import blanked_whole
from .results import Extraction, Relation
from .sentences import wraps_at

PIECE_CHARS = 20_000


def split_at_line_breaks(text: str, size: int = PIECE_CHARS) -> list[tuple[int, int]]:
    """[start, end) pieces covering `text`, each cut just after a `\\n`, of about `size` characters.

    A piece is longer only where a line is; an empty text is one empty piece. A line break is
    not cut at where the text is read across it: inside an HTML tag (`<a\\nhref=...>`), comment or
    script, blanked whole, line break included, a wrap inside a sentence, or before a line that a
    piece would read as a ` date` header.
    """
    bounds = []
    start = 0
    whole = blanked_whole(text) if len(text) > size else []
    while len(text) - start > size:
        cut = start + size
        while (cut := text.rfind("\n", start, cut)) >= 0 and not _can_cut(text, cut, whole):
            pass
        if cut < 0:
            cut = start + size - 1
            while (cut := text.find("\n", cut + 1)) >= 0 and not _can_cut(text, cut, whole):
                pass
            if cut < 0:
                break
        bounds.append((start, cut + 1))
        start = cut + 1
    if start < len(text) or not bounds:  # a text ending in its cut `\n` has no empty last piece to extract from
        bounds.append((start, len(text)))
    return bounds


def _can_cut(text: str, newline: int, whole: list[tuple[int, int]]) -> bool:
    if wraps_at(text, newline):
        return False
    last = bisect_left(whole, (newline + 1,)) - 1  # the last markup begun at or before the break
    if last >= 0 and whole[last][1] > newline:
        return False
    return header_date(text, newline + 1) is None  # what blank_header would blank at a piece's start


def join_pieces(text: str, parts: Sequence[tuple[int, Extraction]]) -> Extraction:
    """One Extraction of `text` from (offset, result) of its pieces, offsets moved into `text`."""
    entities = []
    relations = []
    for offset, part in parts:
        moved = {id(e): replace(e, start=e.start + offset, end=e.end + offset) for e in part.entities}
        entities.extend(moved[id(e)] for e in part.entities)
        relations.extend(Relation(moved[id(r.head)], moved[id(r.tail)], r.label, r.score) for r in part.relations)
    return Extraction(text, tuple(entities), tuple(relations))
