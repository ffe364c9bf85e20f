"""The label sets of SCHEMA.md (v1): the one place code reads them from."""

from __future__ import annotations

SCHEMA_VERSION = 1

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

# Relations whose direction carries no meaning: the head is the mention that comes first.
SYMMETRIC_RELATIONS: frozenset[str] = frozenset({"meets"})


def bio_labels(entity_labels: tuple[str, ...] = ENTITY_LABELS) -> list[str]:
    """`O` followed by `B-X`, `I-X` for each entity label, in schema order."""
    labels = ["O"]
    for label in entity_labels:
        labels += [f"B-{label}", f"I-{label}"]
    return labels


def allowed_relations(head_label: str, tail_label: str) -> list[str]:
    """Relation labels SCHEMA.md allows from an entity of `head_label` to one of `tail_label`."""
    return [
        name
        for name, (heads, tails) in RELATION_ARGUMENT_TYPES.items()
        if head_label in heads and tail_label in tails
    ]
