"""The graph view of a result: repeated PER/ORG mentions merged into nodes, relations as typed triples.

Merging, within one document: two PER or ORG mentions are one node when their names match once
casefolded with whitespace and hyphens normalised; a later PER mention that is a strict tail of an
earlier full name is that person too: Vietnamese names are addressed by their last syllable(s)
(`Sơn` for `Bùi Thanh Sơn`), Lao names by their first name (`Sonexay` for `Sonexay Siphandone`).
A short name that fits two earlier people stays its own node rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .normalize import normalize_text
from .results import Entity, Extraction

MERGED_LABELS = ("PER", "ORG")


@dataclass(frozen=True)
class Triple:
    """`head --relation--> tail` with offsets into the text, node ids of merged mentions and dates.

    `head_node`/`tail_node` name the merged node (`PER:bùi thanh sơn`), `head_name`/`tail_name`
    its canonical (first full) mention; `dates` are the ISO values of the DATE the triple is
    about: a DATE argument itself, or the `date_of` dates of an EVENT/AGREEMENT argument.
    """

    head: str
    relation: str
    tail: str
    head_start: int
    head_end: int
    tail_start: int
    tail_end: int
    head_label: str
    tail_label: str
    head_node: str
    tail_node: str
    head_name: str
    tail_name: str
    dates: tuple[str, ...]
    score: float


def normalize_name(text: str) -> str:
    """Casefolded, as the models read it (`normalize_text`: NFC, old-style tones, invisible characters dropped),
    with hyphens (and dashes) as spaces and runs of whitespace as one space."""
    text = normalize_text(text).text.casefold()
    return " ".join(re.sub(r"[-‐‑‒–—−]", " ", text).split())


def merge_nodes(entities: tuple[Entity, ...] | list[Entity]) -> dict[int, Entity]:
    """For each entity (by position), the canonical entity of its node: itself unless merged."""
    canonical: dict[int, Entity] = {}
    seen: dict[tuple[str, str], Entity] = {}
    people: list[Entity] = []
    for i, entity in enumerate(entities):
        key = (entity.label, normalize_name(entity.text))
        if entity.label not in MERGED_LABELS or key in seen:
            canonical[i] = seen.get(key, entity)
            continue
        match = _earlier_person(key[1], people) if entity.label == "PER" else None
        if match is not None:
            # Not remembered: a later `Sơn`, once a second Sơn has been named, fits two people and stays its own.
            canonical[i] = match
            continue
        canonical[i] = seen[key] = entity
        if entity.label == "PER":
            people.append(entity)
    return canonical


def _earlier_person(name: str, people: list[Entity]) -> Entity | None:
    """The one earlier full name that `name` addresses by its last syllables or its first name."""
    words = name.split()
    if not words:  # a mention with no letters left (`-`, a zero-width space) addresses no one: [][:0] fits all
        return None
    fits = []
    for person in people:
        full = normalize_name(person.text).split()
        if len(words) < len(full) and (full[-len(words) :] == words or full[: len(words)] == words):
            fits.append(person)
    return fits[0] if len(fits) == 1 else None


def node_id(entity: Entity) -> str:
    return f"{entity.label}:{normalize_name(entity.text)}"


def extraction_triples(extraction: Extraction) -> list[Triple]:
    """One `Triple` per relation, in order, with merged nodes and attached DATE values."""
    # Entities are looked up by value, not id: an equal Extraction rebuilt from `to_dict` (each relation
    # holding copies of its entities) must give the same triples.
    position = {e: i for i, e in enumerate(extraction.entities)}
    canonical = merge_nodes(extraction.entities)

    def node(entity: Entity) -> Entity:
        i = position.get(entity)
        return canonical[i] if i is not None else entity

    dated: dict[Entity, list[str]] = {}
    for r in extraction.relations:
        if r.label == "date_of" and r.tail.value is not None:
            dated.setdefault(r.head, []).append(r.tail.value)

    def dates(entity: Entity) -> list[str]:
        if entity.label == "DATE":
            return [entity.value] if entity.value is not None else []
        return dated.get(entity, [])

    triples = []
    for r in extraction.relations:
        head, tail = node(r.head), node(r.tail)
        triples.append(
            Triple(
                r.head.text, r.label, r.tail.text, r.head.start, r.head.end, r.tail.start, r.tail.end,
                r.head.label, r.tail.label, node_id(head), node_id(tail), head.text, tail.text,
                tuple(dict.fromkeys(dates(r.head) + dates(r.tail))), r.score,
            )
        )  # fmt: skip
    return triples
