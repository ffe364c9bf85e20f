"""One k-fold results file from per-fold ones, so that folds trained and scored one at a time need no rescoring.

    python -m training.evaluation.merge_folds --out KFOLD.json FOLD0.json FOLD1.json ...

Each input is what `evaluate ner|re --kfold K --fold F --out FILE` wrote (or `--fold F --rescore`);
together they must hold each of the K folds once, from one task, document list and config. The
output is what `evaluate --kfold K --rescore` would write over the same fold models: the folds in
order and their mean ± std (it can feed `--ner-kfold` and `compare_kfold`). Which fold a result
is comes from its held-out documents, recomputed from the document list and the config's seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data.documents import DataError
from ..data.files import check_output_file
from ..data.json_text import read_json
from ..fit.config import ConfigError
from ..pipes import quiet_pipe
from .kfold import fold_summary, format_fold_summary, make_folds
from .runs import write_out

# Keys every input must share; `ner_kfold` (the NER results each fold was scored with) may differ.
SHARED_KEYS = ("task", "data", "docs", "document_ids", "k", "config")
# Keys one task writes and not the other (NER: how tags were decoded, texts in capitals; both: the training-only
# documents each fold added): shared too where given, a fold decoded by argmax averaged with viterbi ones was no k-fold.
SHARED_IF_GIVEN = ("decoding", "capitals", "no_extra", "extra_train_documents")


def read_results(path: Path) -> dict[str, Any]:
    results = read_json(path, "k-fold results file")
    if not isinstance(results, dict):
        raise ConfigError(f"{path}: not an `evaluate --kfold` results file (a JSON {type(results).__name__})")
    missing = [key for key in (*SHARED_KEYS, "folds", "summary") if key not in results]
    if missing:
        raise ConfigError(f"{path}: not an `evaluate --kfold` results file (no {', '.join(missing)})")
    check_results(path, results)
    return results


def check_results(path: Path, results: dict[str, Any]) -> None:
    """ConfigError naming the field that merging reads and finds missing or of the wrong kind: a hand-edited
    or mixed-up file was a KeyError or TypeError traceback."""
    k = _expect(path, "k", results["k"], int, "a number of folds")
    _expect_ids(path, "document_ids", results["document_ids"])
    if not 2 <= k <= len(results["document_ids"]):
        raise ConfigError(f"{path}: k: {k} folds of {len(results['document_ids'])} document_ids cannot be a k-fold")
    config = _expect(path, "config", results["config"], dict, "the training config")
    _expect(path, "config.seed", config.get("seed"), int, "the folds' seed")
    levels = _expect(path, "summary", results["summary"], dict, "scores by level")
    for number, fold in enumerate(_expect(path, "folds", results["folds"], list, "a list of folds")):
        check_fold(path, f"folds[{number}]", fold, levels)


def check_fold(path: Path, where: str, fold: Any, levels: dict[str, Any]) -> None:
    """One fold's held-out ids and, at each level its file's summary has, the scores fold_summary reads."""
    _expect_ids(path, f"{where}.test_ids", _expect(path, where, fold, dict, "a fold's results").get("test_ids"))
    for level in levels:
        scores = _expect(
            path, f"{where}.{level}", fold.get(level), dict, "the fold's scores at a level the summary lists"
        )
        micro = _expect(path, f"{where}.{level}.micro", scores.get("micro"), dict, "micro scores")
        for key in ("precision", "recall", "f1"):
            _expect(path, f"{where}.{level}.micro.{key}", micro.get(key), (int, float), "a number")
        per_label = _expect(path, f"{where}.{level}.per_label", scores.get("per_label"), dict, "scores by label")
        for label, row in per_label.items():
            row = _expect(path, f"{where}.{level}.per_label.{label}", row, dict, "a label's scores")
            _expect(path, f"{where}.{level}.per_label.{label}.f1", row.get("f1"), (int, float), "a number")


def _expect(path: Path, field: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """`value` when it is of `kind` (a JSON true is no number), else ConfigError naming the file and field."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    problem = f"missing (expected {what})" if value is None else f"expected {what}, got {json.dumps(value)[:40]}"
    raise ConfigError(f"{path}: {field}: {problem}")


def _expect_ids(path: Path, field: str, value: Any) -> None:
    ids = _expect(path, field, value, list, "a list of document ids")
    wrong = next((item for item in ids if not isinstance(item, str)), None)
    if wrong is not None:
        raise ConfigError(f"{path}: {field}: expected document ids (strings), got {json.dumps(wrong)[:40]}")


def fold_index(path: Path, fold: dict[str, Any], folds: list[list[str]]) -> int:
    held_out = sorted(fold.get("test_ids", []))
    for index, ids in enumerate(folds):
        if sorted(ids) == held_out:
            return index
    raise ConfigError(f"{path}: test_ids {held_out} are not a fold of this document list and seed")


def merge(paths: Sequence[Path]) -> dict[str, Any]:
    """The k-fold results of `paths` taken together; every fold exactly once, else ConfigError."""
    if not paths:
        raise ConfigError("merge_folds: no results files given")
    first = read_results(paths[0])
    folds = make_folds(first["document_ids"], first["k"], first["config"]["seed"])
    by_index: dict[int, tuple[Path, dict[str, Any]]] = {}
    sources = []
    for number, path in enumerate(paths):
        results = first if number == 0 else read_results(path)
        if any(os.path.samefile(path, earlier) for earlier in paths[:number]):  # a shell glob and a name
            raise ConfigError(f"{path}: given twice")
        for key in SHARED_KEYS + SHARED_IF_GIVEN:
            if results.get(key) != first.get(key):
                raise ConfigError(f"{path}: {key} differs from {paths[0]}'s")
        # A relation fold run without --ner-kfold has no end-to-end scores: the summary would drop or lack them.
        if set(results["summary"]) != set(first["summary"]):
            raise ConfigError(
                f"{path}: scores {sorted(results['summary'])}, but {paths[0]} scores {sorted(first['summary'])}; "
                f"score every fold the same way (relations: all with --ner-kfold, or none)"
            )
        sources.append(results.get("ner_kfold"))
        for fold in results["folds"]:
            index = fold_index(path, fold, folds)
            if index in by_index:
                raise ConfigError(f"{path}: fold {index} is also in {by_index[index][0]}")
            by_index[index] = (path, fold)
    missing = [index for index in range(first["k"]) if index not in by_index]
    if missing:
        raise ConfigError(f"merge_folds: no results for fold(s) {missing} of {first['k']}")
    merged = {key: value for key, value in first.items() if key not in ("folds", "summary", "ner_kfold")}
    if any(source is not None for source in sources):
        merged["ner_kfold"] = sources[0] if len(set(map(str, sources))) == 1 else sources
    merged["folds"] = [by_index[index][1] for index in range(first["k"])]
    merged["summary"] = fold_summary(merged["folds"], list(first["summary"]))
    merged["merged_from"] = [str(path) for path in paths]
    return merged


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.merge_folds", description=__doc__.split("\n")[0]
    )
    parser.add_argument("results", nargs="+", type=Path, help="per-fold results files (evaluate --kfold --fold --out)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the k-fold results")
    args = parser.parse_args(argv)
    try:
        check_output_file(args.out, args.results)
        merged = merge(args.results)
    except (ConfigError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = write_out(args.out, merged)  # before printing: a closed pipe (`| head`) must not cost the file
    print(format_fold_summary(merged, [(level, level.replace("_", " ")) for level in merged["summary"]]))
    return status


if __name__ == "__main__":
    sys.exit(main())
