"""BIO tags to entity spans, repairing invalid sequences the standard (seqeval/conlleval) way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TagSpan:
    """Words [start, end) form an entity of `label`; `score` is the mean tag probability."""

    start: int
    end: int
    label: str
    score: float


def decode_bio(tags: Sequence[str], probs: Sequence[float] | None = None) -> list[TagSpan]:
    """`I-X` after `O` or after another type starts a new entity, as if it were `B-X`."""
    probs = probs if probs is not None else [1.0] * len(tags)
    if len(probs) != len(tags):
        raise ValueError("tags and probs differ in length")
    spans: list[TagSpan] = []
    start, label = -1, None

    def close(end: int) -> None:
        if label is not None:
            span_probs = probs[start:end]
            spans.append(TagSpan(start, end, label, float(sum(span_probs) / len(span_probs))))

    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        if prefix == "I" and label == kind:
            continue
        close(i)
        start, label = (i, kind) if prefix in {"B", "I"} and kind else (-1, None)
    close(len(tags))
    return spans


def encode_bio(num_words: int, spans: Sequence[tuple[int, int, str]]) -> list[str]:
    """Word spans [start, end) with labels to one BIO tag per word."""
    tags = ["O"] * num_words
    for start, end, label in spans:
        tags[start] = f"B-{label}"
        for i in range(start + 1, end):
            tags[i] = f"I-{label}"
    return tags
