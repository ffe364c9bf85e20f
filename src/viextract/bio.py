"""BIO tags: the best valid tag sequence from tag probabilities, and tags to entity spans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


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


@lru_cache(maxsize=8)
def _transition_penalties(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(start, transition): 0 where IOB2 allows a tag (after another), -inf where it does not."""

    def may_follow(previous: str | None, tag: str) -> bool:
        prefix, _, kind = tag.partition("-")
        if prefix != "I":
            return True
        # I-X only continues a B-X or I-X: never after O, another type, or at the start.
        return previous is not None and previous.partition("-")[0] in {"B", "I"} and previous.partition("-")[2] == kind

    start = np.array([0.0 if may_follow(None, tag) else -np.inf for tag in labels])
    transition = np.array([[0.0 if may_follow(a, b) else -np.inf for b in labels] for a in labels])
    return start, transition


def best_valid_tags(log_probs: np.ndarray, labels: Sequence[str]) -> list[int]:
    """Indices into `labels` of the most probable tag sequence that is valid IOB2 (Viterbi).

    `log_probs` is (words x labels), each row a log distribution: log-softmax, which cannot
    underflow to log 0 as a float32 softmax can. Taking each word's most probable tag alone
    breaks entities apart: one word's `O` or wrong-type `I-` inside a name splits it in two.
    Constrained decoding picks the best whole sequence instead; in the k-fold of
    docs/training.md it raised entity F1 on every held-out document.
    """
    if log_probs.ndim != 2 or log_probs.shape[1] != len(labels):
        raise ValueError(f"log_probs has shape {log_probs.shape}, expected (words, {len(labels)})")
    if len(log_probs) == 0:
        return []
    start, transition = _transition_penalties(tuple(labels))
    score = start + log_probs[0]
    back = np.empty((len(log_probs) - 1, len(labels)), dtype=np.int64)
    for t in range(1, len(log_probs)):
        candidates = score[:, None] + transition  # previous tag x this tag
        back[t - 1] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_probs[t]
    path = [int(score.argmax())]
    for pointers in back[::-1]:
        path.append(int(pointers[path[-1]]))
    return path[::-1]
