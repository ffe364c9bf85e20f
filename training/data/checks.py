"""Checks of a document against SCHEMA.md: offsets, sentences, labels, relations, and the v1.1 conventions."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence

from viextract.labels import (
    ENTITY_LABELS,
    RELATION_ARGUMENT_TYPES,
    RELATION_LABELS,
    SYMMETRIC_RELATIONS,
)
from viextract.text import prepare_text

from .conventions import Span, convention_problems
from .documents import Document, EntitySpan, field_error


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of `text` as viextract's prepare_text splits it.

    The syllable segmenter is enough: sentence bounds do not depend on the segmenter, and it
    keeps validation fast.
    """
    return [(s.start, s.end) for s in prepare_text(text, segmenter="syllables").sentences]


def _token_bounds(text: str, split_at: Iterable[int]) -> tuple[set[int], set[int]]:
    words = [w for s in prepare_text(text, segmenter="syllables", split_at=set(split_at)).sentences for w in s.words]
    return {w.start for w in words}, {w.end for w in words}


def _sentence_of(bounds: Sequence[tuple[int, int]], start: int, end: int) -> int | None:
    for index, (s_start, s_end) in enumerate(bounds):
        if s_start <= start and end <= s_end:
            return index
    return None


def check_document(doc: Document, where: str) -> None:
    """Raise DataError at the first way `doc` breaks the format or SCHEMA.md."""
    by_id = check_entities(doc, where)
    check_overlaps(doc, where)
    sentence_of = entity_sentences(doc, where)
    check_relations(doc, where, by_id, sentence_of)


def check_entities(doc: Document, where: str) -> dict[str, tuple[int, EntitySpan]]:
    """Labels, offsets and ids of the entities; returns id -> (index, entity)."""
    text = doc.text
    by_id: dict[str, tuple[int, EntitySpan]] = {}
    for index, entity in enumerate(doc.entities):
        name = f"entities[{index}]"
        if entity.label not in ENTITY_LABELS:
            raise field_error(
                where, f"{name}.label", f"unknown entity label {entity.label!r}; expected one of {ENTITY_LABELS}"
            )
        if entity.start > entity.end:
            raise field_error(where, name, f"start {entity.start} is after end {entity.end}")
        if not 0 <= entity.start <= entity.end <= len(text):
            raise field_error(
                where, name, f"offsets [{entity.start}, {entity.end}) are outside the text of length {len(text)}"
            )
        if entity.start == entity.end:
            raise field_error(where, name, f"empty span [{entity.start}, {entity.end}): an entity needs a character")
        mention = text[entity.start : entity.end]
        if mention != mention.strip():
            raise field_error(where, name, f"span {mention!r} starts or ends in whitespace{_nfd_hint(text)}")
        if entity.id in by_id:
            raise field_error(
                where, f"{name}.id", f"duplicate entity id {entity.id!r} (also entities[{by_id[entity.id][0]}])"
            )
        by_id[entity.id] = (index, entity)

    return by_id


def _nfd_hint(text: str) -> str:
    """Why offsets that look right are off, when `text` is decomposed (NFD): counted on the composed letters (as
    most editors show them), every offset after an accent falls short, and the span was a shifted piece of text."""
    if unicodedata.is_normalized("NFC", text):
        return ""
    return "; the text is decomposed (NFD, an accent a character of its own): count offsets on the text as written"


def check_overlaps(doc: Document, where: str) -> None:
    """No two entities share a character."""
    text = doc.text
    ordered = sorted(enumerate(doc.entities), key=lambda pair: (pair[1].start, pair[1].end))
    for (i_prev, prev), (i_next, nxt) in zip(ordered, ordered[1:]):
        if nxt.start < prev.end:
            raise field_error(
                where,
                f"entities[{i_next}]",
                f"{nxt.id} {text[nxt.start : nxt.end]!r} [{nxt.start}, {nxt.end}) overlaps entities[{i_prev}] "
                f"{prev.id} {text[prev.start : prev.end]!r} [{prev.start}, {prev.end})",
            )


def entity_sentences(doc: Document, where: str) -> dict[str, int]:
    """Entity id -> the sentence holding it; each entity lies in one sentence and on token bounds."""
    text = doc.text
    bounds = sentence_bounds(text)
    starts, ends = _token_bounds(text, [x for e in doc.entities for x in (e.start, e.end)])
    sentence_of: dict[str, int] = {}
    for index, entity in enumerate(doc.entities):
        sentence = _sentence_of(bounds, entity.start, entity.end)
        if sentence is None:
            raise field_error(
                where,
                f"entities[{index}]",
                f"{text[entity.start : entity.end]!r} crosses a sentence boundary{_nfd_hint(text)}",
            )
        # A boundary inside a token (`10` of `10/10`) cannot be a word boundary, so BIO tags
        # could not express the span.
        if entity.start not in starts or entity.end not in ends:
            raise field_error(
                where,
                f"entities[{index}]",
                f"{text[entity.start : entity.end]!r} does not start and end at token bounds{_nfd_hint(text)}",
            )
        sentence_of[entity.id] = sentence
    return sentence_of


def check_relations(
    doc: Document, where: str, by_id: dict[str, tuple[int, EntitySpan]], sentence_of: dict[str, int]
) -> None:
    """Labels, argument types and ids of the relations, both arguments in one sentence, one label per pair."""
    seen_pairs: dict[tuple[str, str], int] = {}
    for index, relation in enumerate(doc.relations):
        name = f"relations[{index}]"
        if relation.label not in RELATION_LABELS:
            raise field_error(
                where, f"{name}.label", f"unknown relation label {relation.label!r}; expected one of {RELATION_LABELS}"
            )
        for role in ("head", "tail"):
            if getattr(relation, role) not in by_id:
                raise field_error(where, f"{name}.{role}", f"no entity with id {getattr(relation, role)!r}")
        head, tail = by_id[relation.head][1], by_id[relation.tail][1]
        if relation.head == relation.tail:
            raise field_error(where, name, f"head and tail are the same entity {relation.head!r}")
        head_types, tail_types = RELATION_ARGUMENT_TYPES[relation.label]
        if head.label not in head_types or tail.label not in tail_types:
            raise field_error(
                where,
                name,
                f"{relation.label} does not allow {head.label} -> {tail.label} "
                f"(allowed: {'/'.join(sorted(head_types))} -> {'/'.join(sorted(tail_types))})",
            )
        if sentence_of[head.id] != sentence_of[tail.id]:
            raise field_error(where, name, f"{head.id} and {tail.id} are in different sentences")
        if relation.label in SYMMETRIC_RELATIONS and (head.start, head.end) > (tail.start, tail.end):
            raise field_error(
                where, name, f"{relation.label} is symmetric: the head must be the mention that comes first"
            )
        pair = (relation.head, relation.tail)
        if pair in seen_pairs:
            raise field_error(
                where, name, f"second label for the pair {head.id} -> {tail.id} (see relations[{seen_pairs[pair]}])"
            )
        seen_pairs[pair] = index


def check_conventions(doc: Document, where: str) -> None:
    """Raise DataError at the first SCHEMA v1.1 annotation convention `doc` breaks (gold files only).

    The rules read the words next to a span as they are spelt composed (NFC); a text typed with decomposed
    accents (NFD) matched none of them and passed every rule unchecked, so it is read composed, offsets moved."""
    text, moved = _composed(doc.text)
    spans = [Span(i, moved(e.start), moved(e.end), e.label) for i, e in enumerate(doc.entities)]
    for index, problem in convention_problems(text, spans):
        raise field_error(where, f"entities[{index}] {doc.entities[index].id}", problem)


def _composed(text: str) -> tuple[str, Callable[[int], int]]:
    """`text` composed (NFC), and where an offset of `text` lies in it (an entity starts and ends at a token
    bound, where a character and its accents are never cut apart)."""
    if unicodedata.is_normalized("NFC", text):
        return text, lambda offset: offset
    return unicodedata.normalize("NFC", text), lambda offset: len(unicodedata.normalize("NFC", text[:offset]))


def validate_documents(documents: Iterable[Document], where: str = "<memory>") -> None:
    """Check documents built in code (augmentation, the weak annotator) like ones read from disk."""
    for index, doc in enumerate(documents):
        check_document(doc, f"{where}:{doc.id or index}")
