"""One-pass relation inputs: every entity of a sentence marked in one input, cut into windows.

    ... @ * người * Lê_Đức_Thái @ giữ @ * chức_vụ * Trung_tướng @ ...

Every entity (of a type the model can mark) is wrapped in the same typed markers (or, with the
`typed_symbol` format, opened by one symbol per type: `* Lê_Đức_Thái @`), the sentence
is encoded once, and every candidate pair is scored from the hidden states at its two entities'
opening and closing markers (`RobertaForRelationClassification` with `architecture: one_pass`), so
the cost grows with the sentence, not with its number of pairs. A sentence longer than the
budget becomes overlapping windows that never cut an entity; a pair is scored in the first
window holding both of its entities, and a pair that no window holds is returned as lost, to be
counted and reported by the caller. Training (`training/fit/relations.py`) and prediction
(`RelationExtractor`) both call `encode_sentence`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .align import SubwordAligner
from .markers import (
    HEAD_MARKER,
    HEAD_TYPE_MARKER,
    MARKER_FORMAT,
    MAX_WORD_SUBWORDS,
    SYMBOL_MARKER_FORMAT,
    Mention,
    words_between,
)

ENTITY_MARKER, ENTITY_TYPE_MARKER = HEAD_MARKER, HEAD_TYPE_MARKER
# Words between head and tail, bucketed (0, 1, 2, 3, 4, 5-7, 8-15, 16-31, 32+), once per reading
# order: the pair classifier learns how near and in which order the arguments sit.
DISTANCE_EDGES = (1, 2, 3, 4, 5, 8, 16, 32)
NUM_DISTANCE_BUCKETS = 2 * (len(DISTANCE_EDGES) + 1)


def distance_bucket(head: Mention, tail: Mention) -> int:
    """The pair's distance bucket: words between the two, and whether the head is written first."""
    gap = words_between(head, tail)
    bucket = sum(gap >= edge for edge in DISTANCE_EDGES)
    return bucket if head[0] < tail[0] else bucket + len(DISTANCE_EDGES) + 1


@dataclass(frozen=True)
class WindowInput:
    """One encoder input and the candidate pairs scored from it.

    `pairs` holds (head, tail) mention indices of the sentence; `positions` for each pair the
    subword positions of (head `@`, head closing `@`, tail `@`, tail closing `@`); `buckets` its
    `distance_bucket`.
    """

    input_ids: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]
    positions: tuple[tuple[int, int, int, int], ...]
    buckets: tuple[int, ...]


@dataclass(frozen=True)
class _Unit:
    ids: tuple[int, ...]
    mention: int | None  # the mention this unit marks, or None for a context word


def opening_ids(aligner: SubwordAligner, type_word: str, marker_format: str = MARKER_FORMAT) -> tuple[int, ...]:
    """The subwords that open an entity: `@ * type word *`, or the type's symbol alone (typed_symbol)."""
    if marker_format == SYMBOL_MARKER_FORMAT:
        return tuple(aligner.word_ids(type_word))
    type_marker = aligner.word_ids(ENTITY_TYPE_MARKER)
    return (*aligner.word_ids(ENTITY_MARKER), *type_marker, *aligner.word_ids(type_word), *type_marker)


def _units(
    aligner: SubwordAligner,
    words: Sequence[str],
    mentions: Sequence[Mention],
    type_words: dict[str, str],
    budget: int,
    marked: Collection[int],
    marker_format: str,
) -> list[_Unit]:
    """Context words and the entities of `marked`, in order; an entity is one unit no window may cut."""
    word_ids = [aligner.word_ids(word)[:MAX_WORD_SUBWORDS] for word in words]
    marker = aligner.word_ids(ENTITY_MARKER)
    starts: dict[int, int] = {}
    end = -1
    for index in sorted(marked, key=lambda i: mentions[i][:2]):
        start, stop, label = mentions[index]
        if start >= end and label in type_words:  # an overlapping or unmarkable mention stays unmarked
            starts[start] = index
            end = stop
    units, position = [], 0
    while position < len(words):
        index = starts.get(position)
        if index is None:
            units.append(_Unit(word_ids[position], None))
            position += 1
            continue
        start, stop, label = mentions[index]
        opening = opening_ids(aligner, type_words[label], marker_format)
        inside = [i for word in word_ids[start:stop] for i in word]
        # An entity longer than half a window keeps its first subwords (it is an argument, not context).
        room = max(1, budget // 2 - len(opening) - len(marker))
        units.append(_Unit((*opening, *inside[:room], *marker), index))
        position = stop
    return units


def _windows(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Ranges of units of at most `budget` subwords; each next window keeps about half the last."""
    windows, start = [], 0
    while start < len(lengths):
        end, used = start, 0
        while end < len(lengths) and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        end = max(end, start + 1)  # a unit over budget alone (cannot happen for entities) still moves on
        windows.append((start, end))
        if end == len(lengths):
            break
        overlap, next_start = 0, end
        while next_start - 1 > start and overlap + lengths[next_start - 1] <= budget // 2:
            next_start -= 1
            overlap += lengths[next_start]
        start = next_start
    return windows


def encode_sentence(
    aligner: SubwordAligner,
    words: Sequence[str],
    mentions: Sequence[Mention],
    pairs: Sequence[tuple[int, int]],
    type_words: dict[str, str],
    max_subwords: int,
    marked: Collection[int] | None = None,
    marker_format: str = MARKER_FORMAT,
) -> tuple[list[WindowInput], list[tuple[int, int]]]:
    """The windows that score `pairs` (windows with no pair are left out), and the pairs no window holds.

    `marked`: the mentions to mark (default: every one); a pair with an unmarked argument is lost.
    `marker_format`: how an entity is opened (`opening_ids`); `@` always closes it.
    """
    marked = range(len(mentions)) if marked is None else marked
    units = _units(aligner, words, mentions, type_words, max_subwords, marked, marker_format)
    unit_of = {unit.mention: u for u, unit in enumerate(units) if unit.mention is not None}
    pending = list(pairs)
    windows = []
    for start, end in _windows([len(unit.ids) for unit in units], max_subwords):
        here = [(h, t) for h, t in pending if start <= unit_of.get(h, -1) < end and start <= unit_of.get(t, -1) < end]
        if not here:
            continue
        ids = [aligner.tokenizer.cls_token_id]
        spans: dict[int, tuple[int, int]] = {}
        for unit in units[start:end]:
            if unit.mention is not None:
                spans[unit.mention] = (len(ids), len(ids) + len(unit.ids) - 1)
            ids.extend(unit.ids)
        ids.append(aligner.tokenizer.sep_token_id)
        windows.append(
            WindowInput(
                tuple(ids),
                tuple(here),
                tuple((*spans[h], *spans[t]) for h, t in here),
                tuple(distance_bucket(mentions[h], mentions[t]) for h, t in here),
            )
        )
        placed = set(here)
        pending = [pair for pair in pending if pair not in placed]
    return windows, pending
