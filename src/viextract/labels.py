"""The label tables of SCHEMA.md (v1.1, at the repository root): the one place code reads them from.

tests/test_schema.py parses SCHEMA.md and keeps every table here equal to it.
"""

from __future__ import annotations

from collections.abc import Iterable

# v1.1 settled boundary rules of v1 (fused titles, ORG + country, spans of days); no label changed.
SCHEMA_VERSION = "1.1"

ENTITY_LABELS: tuple[str, ...] = ("PER", "TITLE", "ORG", "LOC", "DATE", "EVENT", "AGREEMENT")

NO_RELATION = "no_relation"

# label -> (allowed head types, allowed tail types)
RELATION_ARGUMENT_TYPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "has_title": (frozenset({"PER"}), frozenset({"TITLE"})),
    "affiliated_with": (frozenset({"PER"}), frozenset({"ORG", "LOC"})),
    "meets": (frozenset({"PER"}), frozenset({"PER"})),
    "held_in": (frozenset({"EVENT"}), frozenset({"LOC"})),
    "date_of": (frozenset({"EVENT", "AGREEMENT"}), frozenset({"DATE"})),
    "signed": (frozenset({"PER", "ORG"}), frozenset({"AGREEMENT"})),
    "participates_in": (frozenset({"PER", "ORG"}), frozenset({"EVENT"})),
}
RELATION_LABELS: tuple[str, ...] = tuple(RELATION_ARGUMENT_TYPES)

# SCHEMA.md's "what" column, for model cards and help texts.
ENTITY_DEFINITIONS: dict[str, str] = {
    "PER": "a person's name, without title or honorific",
    "TITLE": "a position, office or military rank that a person holds",
    "ORG": "a named organisation: ministry, party, army, agency, committee, news agency, international body, "
    "named delegation",
    "LOC": "a country, province, city, district, border gate, port or other place",
    "DATE": "a date, a span of dates, a year, quarter or period",
    "EVENT": "a named meeting, session, congress, visit programme, celebration or campaign",
    "AGREEMENT": "a named treaty, agreement, protocol, memorandum, minutes or programme of cooperation",
}
# One line per relation in our words (SCHEMA.md gives head -> tail and an example).
RELATION_DEFINITIONS: dict[str, str] = {
    "has_title": "a person holds a title",
    "affiliated_with": "a person belongs to, or acts for, an organisation or country",
    "meets": "two people meet (symmetric: the head is the one mentioned first)",
    "held_in": "an event takes place in a location",
    "date_of": "the date of an event or agreement",
    "signed": "a person or organisation signs an agreement",
    "participates_in": "a person or organisation attends, hosts or chairs an event",
}

# Relations whose direction carries no meaning: the head is the mention that comes first.
SYMMETRIC_RELATIONS: frozenset[str] = frozenset({"meets"})


def bio_labels(entity_labels: tuple[str, ...] = ENTITY_LABELS) -> list[str]:
    """`O` followed by `B-X`, `I-X` for each entity label, in schema order."""
    labels = ["O"]
    for label in entity_labels:
        labels += [f"B-{label}", f"I-{label}"]
    return labels


def entity_types(tags: Iterable[str]) -> set[str]:
    """The entity labels that BIO `tags` name, as `bio_labels` makes them (`B-PER`, `I-PER` -> `PER`; `O` none)."""
    return {tag[2:] for tag in tags if tag[:2] in ("B-", "I-")}


def allowed_relations(head_label: str, tail_label: str) -> list[str]:
    """Relation labels SCHEMA.md allows from an entity of `head_label` to one of `tail_label`."""
    return [
        name
        for name, (heads, tails) in RELATION_ARGUMENT_TYPES.items()
        if head_label in heads and tail_label in tails
    ]
