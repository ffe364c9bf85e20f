"""Compare k-fold results side by side, and pick the relation architecture the folds favour.

    python -m training.evaluation.compare_kfold [--pooled] NAME=RESULTS.json [NAME=RESULTS.json ...]
    python -m training.evaluation.compare_kfold --pick CANDIDATE.json --against REFERENCE.json --margin 1.0

The table gives, per results file (`evaluate ner|re --kfold --out`), micro F1 mean ± std of each
level it has and each label's mean F1, in %; `--pooled` gives the folds' counts added up instead
(precision, recall and F1 of the sums, and correct / predicted / gold per label), which one fold
with few relations moves less than the mean of per-fold F1. `--pick` prints the architecture of CANDIDATE
unless its end-to-end relation F1 is more than MARGIN points below REFERENCE's (issue #19's
rule for one-pass relations), then REFERENCE's; a missing file (a k-fold the deadline stopped) counts as
no evidence against the candidate, with a warning on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data.documents import DataError
from ..data.json_text import read_json
from ..pipes import quiet_pipe
from .kfold import missing_folds
from .metrics import PRF

LEVELS = {
    "chars": "entities",
    "relations_gold_entities": "relations (gold entities)",
    "relations_end_to_end": "relations end to end",
}


def read_summary(path: str | Path) -> dict[str, Any]:
    """A k-fold results file; DataError naming the file (and line) when it cannot be read as one."""
    results = read_json(path, "k-fold results file")
    if not isinstance(results, dict):
        raise DataError(f"{path}: not an `evaluate --kfold` results file (a JSON {type(results).__name__})")
    problem = missing_folds(results.get("k"), results.get("folds"))
    if problem:
        raise DataError(f"{path}: {problem}")
    return results


def micro_f1(path: str | Path, results: dict[str, Any], level: str) -> float | None:
    try:
        summary = results.get("summary", {}).get(level)
        return None if summary is None else float(summary["f1"]["mean"]) * 100
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise not_kfold(path, error) from None


def not_kfold(path: str | Path, error: Exception) -> DataError:
    """What a hand-edited file, or another command's results, is told when a field compared is missing or wrong."""
    return DataError(f"{path}: not k-fold results as `evaluate --kfold` writes them ({type(error).__name__}: {error})")


TABLE_HEADER = ["| results | level | F1 | per label |", "|---|---|---|---|"]
POOLED_HEADER = ["| results | level | pooled P / R / F1 | per label: correct / predicted / gold |", "|---|---|---|---|"]


def table(named: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Markdown: one row per (results, level), F1 mean ± std, then its per-label means."""
    return "\n".join(TABLE_HEADER + [row for name, results in named for row in summary_rows(name, results)])


def summary_rows(name: str, results: dict[str, Any]) -> list[str]:
    rows = []
    for level, title in LEVELS.items():
        summary = results.get("summary", {}).get(level)
        if summary is None:
            continue
        labels = ", ".join(_label_mean(label, row, results.get("k")) for label, row in summary["per_label_f1"].items())
        f1 = summary["f1"]
        # A fold with no gold and no predicted item is left out of the micro mean too (kfold.fold_summary).
        over = _folds_part(f1, results.get("k"))
        rows.append(f"| {name} | {title} | {f1['mean'] * 100:.1f} ± {f1['std'] * 100:.1f}{over} | {labels} |")
    return rows


def _label_mean(label: str, row: dict[str, Any], k: Any) -> str:
    """`signed 100.0`, or `signed 100.0 (2 of 4 folds)` when the mean is over the folds that hold the label
    only (kfold.fold_summary): a perfect score in two folds reads otherwise as four."""
    return f"{label} {row['mean'] * 100:.1f}{_folds_part(row, k)}"


def _folds_part(row: dict[str, Any], k: Any) -> str:
    """` (2 of 4 folds)` when a mean is over fewer folds than the k-fold has, else nothing."""
    over = row.get("folds")
    return f" ({over} of {k} folds)" if isinstance(k, int) and isinstance(over, int) and over < k else ""


def pooled_counts(results: dict[str, Any], level: str) -> dict[str, PRF]:
    """Correct, predicted and gold summed over the folds, per label and under "micro"."""
    sums: dict[str, list[int]] = {}
    for fold in results.get("folds", []):
        scores = fold.get(level)
        if scores is None:
            continue
        for label, counts in [*scores["per_label"].items(), ("micro", scores["micro"])]:
            total = sums.setdefault(label, [0, 0, 0])
            for i, key in enumerate(("correct", "predicted", "support")):
                total[i] += counts[key]
    return {label: PRF(*total) for label, total in sums.items()}


def pooled_table(named: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Markdown: one row per (results, level), P / R / F1 of the folds' summed counts, then each label's counts."""
    return "\n".join(POOLED_HEADER + [row for name, results in named for row in pooled_rows(name, results)])


def pooled_rows(name: str, results: dict[str, Any]) -> list[str]:
    rows = []
    for level, title in LEVELS.items():
        counts = pooled_counts(results, level)
        if not counts:
            continue
        micro = counts.pop("micro")
        labels = ", ".join(f"{label} {c.correct}/{c.predicted}/{c.gold}" for label, c in counts.items())
        scores = f"{micro.precision * 100:.1f} / {micro.recall * 100:.1f} / {micro.f1 * 100:.1f}"
        rows.append(f"| {name} | {title} | {scores} | {labels} |")
    return rows


def rows_of(path: str, name: str, pooled: bool) -> list[str]:
    """`path`'s table rows; DataError naming it when it has no k-fold scores compare_kfold shows, or a field of
    them is missing or of the wrong kind (an `evaluate --model` file, a hand-edited one)."""
    results = read_summary(path)
    try:
        rows = pooled_rows(name, results) if pooled else summary_rows(name, results)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise not_kfold(path, error) from None
    if not rows:
        kind = "per-fold counts" if pooled else "k-fold summary"
        raise DataError(
            f"{path}: no {kind} at any level compared ({', '.join(LEVELS)}); is it `evaluate --kfold` results?"
        )
    return rows


def architecture(results: dict[str, Any]) -> str:
    config = results.get("config")
    return (config.get("architecture") if isinstance(config, dict) else None) or "typed_markers"


def pick(candidate: Path, reference: Path, margin: float) -> str:
    """The candidate's architecture unless the reference beats it end to end by more than `margin` points."""
    ours, theirs = _evidence(candidate, "--pick"), _evidence(reference, "--against")
    if ours is None:
        return architecture(theirs) if theirs is not None else "one_pass"
    if theirs is None:
        return architecture(ours)
    a, b = micro_f1(candidate, ours, "relations_end_to_end"), micro_f1(reference, theirs, "relations_end_to_end")
    if a is not None and b is not None and a < b - margin:
        return architecture(theirs)
    return architecture(ours)


def _evidence(path: Path, flag: str) -> dict[str, Any] | None:
    """The results at `path`, or None when there are none (a k-fold stopped by the deadline); said on stderr,
    since a mistyped name would otherwise pick the other architecture without a word."""
    if path.is_file():
        return read_summary(path)
    print(f"warning: {flag} {path}: no such file; counted as no evidence", file=sys.stderr)
    return None


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.compare_kfold", description=__doc__.split("\n")[0]
    )
    parser.add_argument("results", nargs="*", help="NAME=RESULTS.json (k-fold results files)")
    parser.add_argument("--pick", type=Path, help="candidate relation k-fold results")
    parser.add_argument("--against", type=Path, help="reference relation k-fold results, with --pick")
    parser.add_argument("--margin", type=float, default=1.0, help="points of end-to-end F1 the candidate may lose")
    parser.add_argument("--pooled", action="store_true", help="the folds' counts added up, not the mean of their F1")
    args = parser.parse_args(argv)
    if args.pick is not None and args.against is None:
        parser.error("--pick needs --against")
    if args.pick is None and not args.results:
        parser.error("give NAME=RESULTS.json files to compare, or --pick CANDIDATE.json --against REFERENCE.json")
    named = []
    for item in args.results:
        name, sep, path = item.partition("=")
        if not sep:
            parser.error(f"{item!r}: expected NAME=RESULTS.json")
        named.append((name, path))
    try:
        if args.pick is not None:
            print(pick(args.pick, args.against, args.margin))
        else:
            rows = [row for name, path in named for row in rows_of(path, name, args.pooled)]
            print("\n".join((POOLED_HEADER if args.pooled else TABLE_HEADER) + rows))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
