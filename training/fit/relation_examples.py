"""Relation examples: candidate pairs of gold entities with their labels, negative sampling, class weights,
and the counts the decision rules (one head or tail per label, nearest choice, adjacency) are learned from."""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from viextract.labels import NO_RELATION
from viextract.markers import (
    adjacent_rule_key,
    pair_labels,
    words_between,
)

from ..data.documents import Document
from ..data.features import relation_rows

if TYPE_CHECKING:  # the trainer module imports this one
    from .relations import ReConfig

logger = logging.getLogger(__name__)


# Fewer touching pairs of two types than this are no evidence of a rule.
ADJACENT_MIN_COUNT = 5


@dataclass(frozen=True)
class RelationExample:
    """One candidate pair of one sentence, as words and word spans; `label` may be no_relation."""

    tokens: tuple[str, ...]
    head: tuple[int, int, str]
    tail: tuple[int, int, str]
    label: str


def relation_examples(documents: Sequence[Document], config: ReConfig) -> list[RelationExample]:
    """training.data.features's candidate rows, kept to the config's entity types and relation labels."""
    types = set(config.entity_labels)
    examples = []
    for doc in documents:
        for row in relation_rows(doc, config.segmenter):
            head, tail = row["head"], row["tail"]
            if head["label"] not in types or tail["label"] not in types:
                continue
            if not pair_labels(head["label"], tail["label"], config.relation_labels):
                continue
            label = row["label"] if row["label"] in config.relation_labels else NO_RELATION
            examples.append(
                RelationExample(
                    tuple(row["tokens"]),
                    (head["start"], head["end"], head["label"]),
                    (tail["start"], tail["end"], tail["label"]),
                    label,
                )
            )
    return examples


def single_counts(
    examples: Sequence[RelationExample], relation_labels: Sequence[str], kept: str
) -> dict[str, list[int]]:
    """The evidence for single-head (`kept="head"`) or single-tail (`kept="tail"`) labels.

    Per label of `relation_labels` seen in `examples`: [arguments on the other side (tails for
    single-head) that have one `kept` partner in their sentence, all of them].
    """
    shared = {"head": "tail", "tail": "head"}[kept]
    partners: dict[tuple[Any, ...], set[tuple[int, int, str]]] = defaultdict(set)
    for example in examples:
        if example.label != NO_RELATION:
            partners[(example.tokens, getattr(example, shared), example.label)].add(getattr(example, kept))
    counts = {label: [0, 0] for label in relation_labels}
    for (_, _, label), found in partners.items():
        if label in counts:
            counts[label][0] += len(found) == 1
            counts[label][1] += 1
    return {label: found for label, found in counts.items() if found[1]}


def single_labels(counts: dict[str, list[int]], min_share: float) -> list[str]:
    """The labels of `single_counts` whose share of single-partner arguments is at least `min_share`."""
    return [label for label, (single, total) in counts.items() if single >= min_share * total]


def nearest_counts(
    examples: Sequence[RelationExample], labels: Sequence[str], kept: str = "head"
) -> dict[str, list[int]]:
    """Per label of `labels`: [relations whose `kept` argument (head or tail) is the nearest
    candidate of its type to the other argument, relations].

    The evidence for `single_choice: nearest`, counted on the candidate pairs of the training
    data: "nearest" is fewest words between head and tail, a tie counting as nearest.
    """
    other = {"head": "tail", "tail": "head"}[kept]
    candidates: dict[tuple[Any, ...], list[tuple[int, int, str]]] = defaultdict(list)
    for example in examples:
        candidates[(example.tokens, getattr(example, other))].append(getattr(example, kept))
    counts = {label: [0, 0] for label in labels}
    for example in examples:
        if example.label in counts:
            mine, anchor = getattr(example, kept), getattr(example, other)
            rivals = [c for c in candidates[(example.tokens, anchor)] if c[2] == mine[2]]
            distance = words_between(mine, anchor)
            counts[example.label][0] += all(distance <= words_between(c, anchor) for c in rivals)
            counts[example.label][1] += 1
    return {label: found for label, found in counts.items() if found[1]}


def adjacent_relations(
    examples: Sequence[RelationExample], relation_labels: Sequence[str], min_count: int = ADJACENT_MIN_COUNT
) -> list[dict[str, str]]:
    """Rules for RelationConfig.adjacent_relations: the (head type, tail type, order) of touching
    candidate pairs seen at least `min_count` times in `examples`, always with the same relation."""
    outcomes: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for example in examples:
        if (key := adjacent_rule_key(example.head, example.tail)) is not None:
            outcomes[key][example.label] += 1
    rules = []
    for (head, tail, order), labels in sorted(outcomes.items()):
        (label, count), *others = labels.most_common()
        if not others and count >= min_count and label in relation_labels:
            rules.append({"head": head, "tail": tail, "order": order, "label": label})
    return rules


def sample_negatives(examples: Sequence[RelationExample], ratio: float, seed: int) -> list[RelationExample]:
    """Every relation pair and at most `ratio` no_relation pairs per relation pair (all if ratio is -1)."""
    positives = [e for e in examples if e.label != NO_RELATION]
    negatives = [e for e in examples if e.label == NO_RELATION]
    if ratio < 0 or len(negatives) <= ratio * len(positives):
        return list(examples)
    keep = set(random.Random(seed).sample(range(len(negatives)), int(round(ratio * len(positives)))))
    kept = iter(range(len(negatives)))
    # Keep the document order, so the sample is the same whatever the sampling picks.
    return [e for e in examples if e.label != NO_RELATION or next(kept) in keep]


def class_weights(examples: Sequence[RelationExample], labels: Sequence[str], weighting: str) -> list[float] | None:
    """Per-label loss weights in id order; a label absent from training gets 1."""
    if weighting == "none":
        return None
    counts = Counter(e.label for e in examples)
    present = [label for label in labels if counts[label]]
    weights = []
    for label in labels:
        if not counts[label]:
            weights.append(1.0)
            continue
        weight = len(examples) / (len(present) * counts[label])
        weights.append(weight**0.5 if weighting == "sqrt_balanced" else weight)
    return [round(w, 6) for w in weights]
