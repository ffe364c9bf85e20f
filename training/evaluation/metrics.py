"""Exact-match precision, recall and F1 over spans (or any labelled items), with an error breakdown.

Written once and used by NER evaluation (word spans and character spans) and reusable by
relation evaluation: an item is any hashable tuple whose last element is its label.

Gold and predictions come grouped in units (a document, a sentence): items of different
units never match or overlap. Within a unit items are a set (a duplicate counts once).

Error breakdown for spans `(start, end, label)`, each predicted span that is not exactly
right is counted once, in the first class that applies:
  label     the same span is in gold with another label;
  boundary  it overlaps a gold span of the same label;
  both      it overlaps a gold span of another label only;
  spurious  it overlaps no gold span.
A gold span that no predicted span overlaps is `missed`. So label + boundary + both +
spurious is the number of false positives; false negatives are `missed` plus gold spans
that a wrong prediction touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

Span = tuple[int, int, str]


@dataclass(frozen=True)
class PRF:
    """Counts and the scores they give; an empty denominator gives 0."""

    correct: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.gold,
            "predicted": self.predicted,
            "correct": self.correct,
        }


@dataclass(frozen=True)
class Confusion:
    correct: int = 0
    label: int = 0
    boundary: int = 0
    both: int = 0
    spurious: int = 0
    missed: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Scores:
    micro: PRF
    per_label: dict[str, PRF]
    confusion: Confusion | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "micro": self.micro.to_dict(),
            "per_label": {label: prf.to_dict() for label, prf in self.per_label.items()},
        }
        if self.confusion is not None:
            out["confusion"] = self.confusion.to_dict()
        return out


def _check_units(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} units but predictions have {len(pred)}")


def score_items(
    gold: Sequence[Iterable[Hashable]],
    pred: Sequence[Iterable[Hashable]],
    labels: Sequence[str] | None = None,
) -> Scores:
    """Micro and per-label P/R/F1 of exact matches; an item's label is its last element.

    `labels` fixes the per-label rows (and their order); by default every label seen, sorted.
    """
    _check_units(gold, pred)
    correct: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    golden: Counter[str] = Counter()
    for gold_unit, pred_unit in zip(gold, pred):
        g, p = set(gold_unit), set(pred_unit)
        golden.update(item[-1] for item in g)
        predicted.update(item[-1] for item in p)
        correct.update(item[-1] for item in g & p)
    names = list(labels) if labels is not None else sorted(set(golden) | set(predicted))
    per_label = {name: PRF(correct[name], predicted[name], golden[name]) for name in names}
    micro = PRF(sum(correct.values()), sum(predicted.values()), sum(golden.values()))
    return Scores(micro, per_label)


def span_confusion(gold: Sequence[Iterable[Span]], pred: Sequence[Iterable[Span]]) -> Confusion:
    """Error classes of predicted spans, and gold spans missed outright (see the module doc)."""
    _check_units(gold, pred)
    counts: Counter[str] = Counter()
    for gold_unit, pred_unit in zip(gold, pred):
        g, p = set(gold_unit), set(pred_unit)
        gold_ranges = {(s, e): label for s, e, label in g}  # flat gold: a range has one label
        for start, end, label in p:
            if (start, end, label) in g:
                counts["correct"] += 1
            elif (start, end) in gold_ranges:
                counts["label"] += 1
            else:
                overlapping = [gl for gs, ge, gl in g if gs < end and start < ge]
                if label in overlapping:
                    counts["boundary"] += 1
                elif overlapping:
                    counts["both"] += 1
                else:
                    counts["spurious"] += 1
        for start, end, _ in g:
            if not any(ps < end and start < pe for ps, pe, _ in p):
                counts["missed"] += 1
    return Confusion(**counts)


def score_spans(
    gold: Sequence[Iterable[Span]],
    pred: Sequence[Iterable[Span]],
    labels: Sequence[str] | None = None,
) -> Scores:
    """`score_items` on `(start, end, label)` spans, plus the error breakdown."""
    gold = [list(unit) for unit in gold]
    pred = [list(unit) for unit in pred]
    scores = score_items(gold, pred, labels)
    return Scores(scores.micro, scores.per_label, span_confusion(gold, pred))


def schema_order(labels: Iterable[str]) -> list[str]:
    """Labels in SCHEMA.md's order, any others after them sorted."""
    from viextract.labels import ENTITY_LABELS

    labels = set(labels)
    return [label for label in ENTITY_LABELS if label in labels] + sorted(labels - set(ENTITY_LABELS))


def score_tags(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Sentences of BIO tags: seqeval strict IOB2 micro and per-label P/R/F1, with counts and errors.

    Predicted tags are first read the way the product reads them (`viextract.bio.decode_bio`:
    an `I-X` that starts an entity counts as `B-X`), so this scores what `Extractor` would
    output. The scores are seqeval's; `predicted`/`correct` and the error breakdown come from
    `score_spans` on the same word spans (on valid IOB2 the two agree exactly).
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    from viextract.bio import decode_bio, encode_bio

    def spans_of(tags: Sequence[str]) -> list[Span]:
        return [(s.start, s.end, s.label) for s in decode_bio(tags)]

    gold_spans = [spans_of(tags) for tags in gold]
    pred_spans = [spans_of(tags) for tags in pred]
    repaired = [encode_bio(len(tags), spans) for tags, spans in zip(pred, pred_spans)]
    if any(gold_spans) or any(pred_spans):
        report = classification_report(
            [list(tags) for tags in gold], repaired, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
        )
    else:  # no entity either side: seqeval raises a TypeError on no sentence, and on all-O ones its macro
        # average printed numpy's "Mean of empty slice" warnings on stderr; nothing to find, 0 as above
        report = {"micro avg": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}}
    counts = score_spans(gold_spans, pred_spans)

    def row(values: dict[str, Any], prf: PRF) -> dict[str, Any]:
        return {
            "precision": float(values["precision"]),
            "recall": float(values["recall"]),
            "f1": float(values["f1-score"]),
            "support": int(values["support"]),
            "predicted": prf.predicted,
            "correct": prf.correct,
        }

    labels = schema_order(k for k in report if not k.endswith(" avg"))
    return {
        "micro": row(report["micro avg"], counts.micro),
        "per_label": {label: row(report[label], counts.per_label.get(label, PRF(0, 0, 0))) for label in labels},
        "confusion": counts.confusion.to_dict(),
    }


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for fewer than two values)."""
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, variance**0.5


def format_table(title: str, scores: dict[str, Any]) -> str:
    """A plain-text table of a `Scores.to_dict()` (per-label rows, then micro, then confusion)."""
    # Relation labels (`participates_in`) are longer than entity labels: the column widens so columns stay aligned.
    # A list: with no label row (no entity in gold or predictions), max(12, *()) was max(12), a TypeError.
    width = max([12, *(len(name) + 2 for name in scores["per_label"])])
    lines = [title, f"{'label':<{width}}{'P':>8}{'R':>8}{'F1':>8}{'gold':>7}{'pred':>7}"]

    def row(name: str, values: dict[str, Any]) -> str:
        # No gold and no prediction: its 0/0 scores are not a 0 F1; "–" as the model card prints it.
        absent = values["support"] == 0 and values["predicted"] == 0
        cells = ("–" if absent else f"{values[key] * 100:.2f}" for key in ("precision", "recall", "f1"))
        return f"{name:<{width}}{''.join(f'{cell:>8}' for cell in cells)}{values['support']:>7}{values['predicted']:>7}"

    for name, values in scores["per_label"].items():
        lines.append(row(name, values))
    lines.append(row("micro", scores["micro"]))
    confusion = scores.get("confusion")
    if confusion:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in confusion.items()))
    return "\n".join(lines)
