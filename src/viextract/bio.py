"""BIO tags: the best valid tag sequence from tag probabilities, and tags to entity spans."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from .graphemes import is_symbol_word


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


# Names and titles never start or end with a symbol or emoji (`Bộ trưởng 🇻🇳` is the TITLE `Bộ trưởng`).
SYMBOL_FREE_LABELS = frozenset({"PER", "TITLE", "ORG", "LOC"})


def drop_symbol_edges(tags: Sequence[str], words: Sequence[str]) -> list[str]:
    """`tags` with symbol-only words (`is_symbol_word`) and markup marks (`@`, `#`, `*`) at the edges of a
    SYMBOL_FREE_LABELS entity set to O.

    A symbol inside such an entity stays; one that was the whole entity drops it. An entity of any
    label without a letter or digit (only punctuation, `«` or `{`) is dropped whole.
    """
    out = list(tags)
    for span in decode_bio(tags):
        if not any(char.isalnum() for word in words[span.start : span.end] for char in word):
            out[span.start : span.end] = ["O"] * (span.end - span.start)  # `«`, `{`: no entity of any type
            continue
        if span.label not in SYMBOL_FREE_LABELS:
            continue
        start, end = span.start, span.end
        while start < end and (_is_edge_mark(words[start]) or _is_quote_or_bracket(words[start])):
            out[start] = "O"
            start += 1
        while end > start and (_is_edge_mark(words[end - 1]) or _closes_nothing_inside(words[start:end])):
            out[end - 1] = "O"
            end -= 1
        if start < end:
            out[start] = f"B-{span.label}"
    return out


# Marks of handles, hashtags, markdown and bullets (Unicode calls them punctuation, not symbols): the bundled
# model read `Phan Văn Giang @ đã tiếp` and `Phan Văn Giang * đã tiếp` as the PER `Phan Văn Giang @` (`*`).
_MARKUP_CHARS = frozenset("@#*&\\•")


def _is_edge_mark(word: str) -> bool:
    """A symbol-only word, or one of markup marks only: no name starts or ends with one."""
    return is_symbol_word(word) or (bool(word) and all(c in _MARKUP_CHARS for c in word))


# Quotes and brackets: `«Vientiane»` is the LOC `Vientiane`; no annotated name starts or ends with one.
_QUOTE_OR_BRACKET_CATEGORIES = frozenset({"Ps", "Pe", "Pi", "Pf"})


def _is_quote_or_bracket(word: str) -> bool:
    return bool(word) and all(unicodedata.category(c) in _QUOTE_OR_BRACKET_CATEGORIES or c in "\"'" for c in word)


def _closes_nothing_inside(words: Sequence[str]) -> bool:
    """Whether the last word is a quote or bracket that no mark inside opens: `(WHO)` keeps its `)`, and
    `Công ty "ABC"` its closing `"` (a straight quote opens and closes alike)."""
    return _is_quote_or_bracket(words[-1]) and not any(
        unicodedata.category(c) in {"Ps", "Pi"} or c in "\"'" for word in words[:-1] for c in word
    )


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


# Add-k smoothing of tag-bigram counts: a pair never seen in training is unlikely, not impossible.
BIGRAM_SMOOTHING = 0.1
# Fewer sightings of a previous word than this say nothing about the tag after it.
WORD_CONTEXT_MIN_COUNT = 5


@dataclass(frozen=True, eq=False)
class TagBigrams:
    """How often each tag starts a sentence and follows each other tag in the training data.

    A small encoder tags each word from its own distribution and is poor at carrying an entity
    on: it reads `Sonexay Siphandone` as PER + LOC, or stops an event name before its number.
    Viterbi adds `weight` x these log-probabilities to the model's, so that tag sequences the
    training data never shows (B-LOC straight after B-PER, O inside a name) cost something.
    Training stores them in the model's config.json (`viextract.tag_bigrams`).
    """

    KEY: ClassVar[str] = "tag_bigrams"  # its entry under config.json's `viextract`

    weight: float
    labels: tuple[str, ...]
    start: np.ndarray  # [tag] log P(tag starts a sentence)
    transition: np.ndarray  # [previous, tag] log P(tag | previous)

    @classmethod
    def estimate(cls, sequences: Iterable[Sequence[str]], labels: Sequence[str], weight: float) -> TagBigrams:
        """Smoothed start and transition log-probabilities of `labels` from tag sequences."""
        index = {label: i for i, label in enumerate(labels)}
        start = np.full(len(labels), BIGRAM_SMOOTHING)
        transition = np.full((len(labels), len(labels)), BIGRAM_SMOOTHING)
        for tags in sequences:
            if not tags:
                continue
            ids = [index[tag] for tag in tags]  # a tag outside `labels` is a caller's bug: KeyError
            start[ids[0]] += 1
            np.add.at(transition, (ids[:-1], ids[1:]), 1)
        start = np.log(start / start.sum())
        transition = np.log(transition / transition.sum(axis=1, keepdims=True))
        return cls(float(weight), tuple(labels), start, transition)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], labels: Sequence[str]) -> TagBigrams:
        """From config.json's `tag_bigrams` ({weight, start: {tag: logp}, transition: {tag: {tag: logp}}}).

        Raises ValueError naming the entry that is missing or malformed.
        """
        try:
            weight = float(values["weight"])
            start = np.array([float(values["start"][tag]) for tag in labels])
            transition = np.array([[float(values["transition"][a][b]) for b in labels] for a in labels])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"tag_bigrams: missing or malformed entry {error} (tags {list(labels)})") from error
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"tag_bigrams: weight: must be a finite number >= 0, got {values['weight']!r}")
        if not (np.isfinite(start).all() and np.isfinite(transition).all()):
            raise ValueError("tag_bigrams: start and transition must be finite log-probabilities")
        return cls(weight, tuple(labels), start, transition)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keyed by tag name so that a reordered label map still reads it right."""

        def by_tag(row: np.ndarray) -> dict[str, float]:
            return {tag: float(value) for tag, value in zip(self.labels, row)}

        return {
            "weight": self.weight,
            "start": by_tag(self.start),
            "transition": {tag: by_tag(row) for tag, row in zip(self.labels, self.transition)},
        }


def _pmi_rows(pairs: Iterable[tuple[str, str]], labels: Sequence[str], min_count: int) -> dict[str, np.ndarray]:
    """Per key seen `min_count` times or more among (key, tag) pairs: log P(tag | key) - log P(tag),
    both add-BIGRAM_SMOOTHING smoothed."""
    index = {label: i for i, label in enumerate(labels)}
    counts: dict[str, np.ndarray] = {}
    overall = np.zeros(len(labels))
    for key, tag in pairs:
        row = counts.setdefault(key, np.zeros(len(labels)))
        row[index[tag]] += 1  # a tag outside `labels` is a caller's bug: KeyError
        overall[index[tag]] += 1
    prior = np.log((overall + BIGRAM_SMOOTHING) / (overall + BIGRAM_SMOOTHING).sum())
    return {
        key: np.log((row + BIGRAM_SMOOTHING) / (row + BIGRAM_SMOOTHING).sum()) - prior
        for key, row in counts.items()
        if row.sum() >= min_count
    }


class _WordTable:
    """A decoding table of one PMI row per key, where each word of a sentence has at most one key
    (`_keys`: its predecessor for WordContext, its shape for WordShapes): log P(tag | key) -
    log P(tag), add-0.1 smoothed, for every key seen `min_count` times in training. Viterbi adds
    `weight` x the row of each word's key. Stored in config.json as `viextract[KEY]` =
    {weight, FIELD: {key: {tag: pmi}}}; FIELD also names the subclass's field of rows.
    """

    KEY: ClassVar[str]
    FIELD: ClassVar[str]

    @staticmethod
    def _keys(words: Sequence[str]) -> list[str | None]:
        raise NotImplementedError

    @classmethod
    def _check_keys(cls, keys: Collection[str]) -> None:
        """Raise ValueError for keys a stored table may not have (any key is fine here)."""

    @property
    def rows(self) -> Mapping[str, np.ndarray]:
        return getattr(self, self.FIELD)

    @classmethod
    def estimate(
        cls,
        sentences: Iterable[tuple[Sequence[str], Sequence[str]]],
        labels: Sequence[str],
        weight: float,
        min_count: int = WORD_CONTEXT_MIN_COUNT,
    ):
        """From (words, tags) sentences: one PMI row per key seen `min_count` times or more."""
        pairs = ((key, tag) for words, tags in sentences for key, tag in zip(cls._keys(words), tags) if key is not None)
        return cls(float(weight), tuple(labels), _pmi_rows(pairs, labels, min_count))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], labels: Sequence[str]):
        """From config.json's `viextract[KEY]`; raises ValueError naming the entry that is missing or malformed."""
        try:
            weight = float(values["weight"])
            rows = {str(key): np.array([float(row[tag]) for tag in labels]) for key, row in values[cls.FIELD].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{cls.KEY}: missing or malformed entry {error} (tags {list(labels)})") from error
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{cls.KEY}: weight: must be a finite number >= 0, got {values['weight']!r}")
        if not all(np.isfinite(row).all() for row in rows.values()):
            raise ValueError(f"{cls.KEY}: {cls.FIELD}: every value must be a finite number")
        cls._check_keys(rows)
        return cls(weight, tuple(labels), rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keyed by tag name; values rounded, since they only nudge a decision."""
        return {
            "weight": self.weight,
            self.FIELD: {
                key: {tag: round(float(value), 4) for tag, value in zip(self.labels, row)}
                for key, row in sorted(self.rows.items())
            },
        }

    def bias(self, words: Sequence[str]) -> np.ndarray:
        """(words x labels): `weight` x the PMI row of each word's key; zeros where it has none or it is unseen."""
        out = np.zeros((len(words), len(self.labels)))
        for i, key in enumerate(self._keys(words)):
            row = self.rows.get(key) if key is not None else None
            if row is not None:
                out[i] = self.weight * row
        return out


@dataclass(frozen=True, eq=False)
class WordContext(_WordTable):
    """What the word before tells about a word's tag, from the training data.

    For each previous word seen at least `min_count` times in training, the pointwise mutual
    information log P(tag | previous word) - log P(tag), both add-0.1 smoothed: after `Thượng_tướng`
    B-PER is far likelier than anywhere else, after `của` nothing much changes. Decoding adds
    `weight` x the row of a word's predecessor to the model's log-probabilities, so a name the
    model half reads as a place (`Thượng_tướng Chansamone_Chanyalath`) follows what its context
    always meant in training. Training stores it in config.json (`viextract.word_context`).
    """

    KEY: ClassVar[str] = "word_context"
    FIELD: ClassVar[str] = "previous"

    weight: float
    labels: tuple[str, ...]
    previous: Mapping[str, np.ndarray]  # previous word -> [tag] PMI

    @staticmethod
    def _keys(words: Sequence[str]) -> list[str | None]:
        return [None, *words[:-1]] if words else []


def word_shape(word: str) -> str:
    """The orthographic class of a word (syllables joined by `_`): one of WORD_SHAPES."""
    if any(char.isdigit() for char in word):
        return "digit"
    if not any(char.isalpha() for char in word):
        return "punct"
    syllables = [part for part in word.split("_") if part]
    if len(word) > 1 and all(part.isupper() for part in syllables):
        return "allcaps"  # ASEAN, TTXVN
    capitals = [part[0].isupper() for part in syllables]
    if all(capitals):
        return "cap_all"  # Phan_Văn_Giang, Việt_Nam
    if capitals[0]:
        return "cap_first"  # Bộ_trưởng, or any word opening a sentence
    return "cap_later" if any(capitals) else "lower"


WORD_SHAPES = ("digit", "punct", "allcaps", "cap_all", "cap_first", "cap_later", "lower")


@dataclass(frozen=True, eq=False)
class WordShapes(_WordTable):
    """What a word's capitals, digits and punctuation tell about its tag, from the training data.

    Per shape (`word_shape`), the PMI log P(tag | shape) - log P(tag), add-0.1 smoothed: a
    lowercase word almost never starts a name or a place, a word with digits is rarely anything
    but a date. A small encoder fed subwords of a small vocabulary keeps little of this; Viterbi
    adds `weight` x the row of each word's shape. Training stores it in config.json
    (`viextract.word_shapes`).
    """

    KEY: ClassVar[str] = "word_shapes"
    FIELD: ClassVar[str] = "shapes"

    weight: float
    labels: tuple[str, ...]
    shapes: Mapping[str, np.ndarray]  # shape -> [tag] PMI

    @staticmethod
    def _keys(words: Sequence[str]) -> list[str | None]:
        return [word_shape(word) for word in words]

    @classmethod
    def _check_keys(cls, keys: Collection[str]) -> None:
        if unknown := sorted(set(keys) - set(WORD_SHAPES)):
            raise ValueError(f"{cls.KEY}: {cls.FIELD}: {unknown} are not among {list(WORD_SHAPES)}")


# The tables Viterbi may weigh besides the model, each stored under config.json's `viextract[KEY]`.
DECODING_TABLES = (TagBigrams, WordContext, WordShapes)


def best_valid_tags(
    log_probs: np.ndarray,
    labels: Sequence[str],
    bigrams: TagBigrams | None = None,
    context: WordContext | None = None,
    words: Sequence[str] | None = None,
    shapes: WordShapes | None = None,
) -> list[int]:
    """Indices into `labels` of the most probable tag sequence that is valid IOB2 (Viterbi).

    `log_probs` is (words x labels), each row a log distribution: log-softmax, which cannot
    underflow to log 0 as a float32 softmax can. Taking each word's most probable tag alone
    breaks entities apart: one word's `O` or wrong-type `I-` inside a name splits it in two.
    Constrained decoding picks the best whole sequence instead; in the k-fold of
    docs/training.md it raised entity F1 on every held-out document. With `bigrams`, a
    sequence's score also adds the weighted tag-bigram log-probabilities of the training data;
    with `context` and the sentence's `words`, each word's row adds its predecessor's weighted
    word-context row (`WordContext.bias`), and with `shapes` its own shape's weighted row.
    """
    if log_probs.ndim != 2 or log_probs.shape[1] != len(labels):
        raise ValueError(f"log_probs has shape {log_probs.shape}, expected (words, {len(labels)})")
    if len(log_probs) == 0:
        return []
    for prior in (context, shapes):
        if prior is None or not prior.weight or words is None:
            continue
        if prior.labels != tuple(labels):
            raise ValueError(f"{prior.KEY} is for tags {list(prior.labels)}, not {list(labels)}")
        if len(words) != len(log_probs):
            raise ValueError(f"{len(words)} words for {len(log_probs)} rows of log_probs")
        log_probs = log_probs + prior.bias(words)
    start, transition = _transition_penalties(tuple(labels))
    if bigrams is not None and bigrams.weight:
        if bigrams.labels != tuple(labels):
            raise ValueError(f"tag_bigrams are for tags {list(bigrams.labels)}, not {list(labels)}")
        start, transition = start + bigrams.weight * bigrams.start, transition + bigrams.weight * bigrams.transition
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
