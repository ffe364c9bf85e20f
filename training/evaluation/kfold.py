"""k-fold cross-validation: folds of whole documents, one model per fold, mean ± std over the folds."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..data.documents import DataError, Document
from ..data.files import load_documents
from ..data.json_text import read_json, write_json
from ..data.splits import load_train_extra, read_splits
from ..data.stats import counted
from ..fit.config import CONFIG_FILENAME, ConfigError, TrainConfig, add_overrides_option
from .metrics import mean_std

logger = logging.getLogger(__name__)

T = TypeVar("T")


def check_fold_count(k: int) -> int:
    """`k` if it can make folds (at least 2), else ConfigError naming --kfold."""
    if k < 2:
        raise ConfigError(f"--kfold: needs at least 2 folds, got {k}")
    return k


def _fold_count(text: str) -> int:
    """--kfold as parsed: `--kfold 0` stops at the command line, before any data, config or warning is read."""
    try:
        return check_fold_count(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer of at least 2, got {text!r}") from None


def make_folds(documents: Sequence[T], k: int, seed: int) -> list[list[T]]:
    """K folds of whole documents (or of their ids), shuffled with `seed`; sizes differ by at most one."""
    check_fold_count(k)
    if k > len(documents):
        raise ConfigError(f"--kfold: {k} folds but only {counted(len(documents), 'document')}")
    order = list(documents)
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


# Beside each fold model: the documents it trained on and held out, which --rescore checks against its own fold.
FOLD_DOCUMENTS = "kfold_documents.json"


def fold_documents(train: Sequence[Document], held_out: Sequence[Document]) -> dict[str, list[str]]:
    return {"test_ids": sorted(doc.id for doc in held_out), "train_ids": sorted(doc.id for doc in train)}


def check_fold_documents(fold_dir: Path, train: list[Document], held_out: list[Document]) -> None:
    """ConfigError when the fold model at `fold_dir` was trained on other documents than this run's fold: after a
    document was added to --data (or --docs, the data file's order, train_extra changed) the folds reshuffle, and
    --rescore scored each old fold model on documents it had trained on, with no word."""
    path = fold_dir / FOLD_DOCUMENTS
    if not path.is_file():  # fold models trained before the record was written: nothing to check against
        logger.warning("--rescore: %s has no %s: cannot check it held out this fold's documents", fold_dir, path.name)
        return
    recorded, wanted = read_json(path, "fold documents file"), fold_documents(train, held_out)
    for key, what in (("test_ids", "held out"), ("train_ids", "trained on")):
        if not isinstance(recorded, dict) or recorded.get(key) != wanted[key]:
            raise ConfigError(
                f"--rescore: {fold_dir} {what} other documents than this run's fold (its {path.name} differs: "
                f"--data, --docs or the splits file's train_extra changed since it trained); train the folds again"
            )


def reuse_fold_model(
    fold_config: TrainConfig, train: list[Document], held_out: list[Document], where: str = ""
) -> dict[str, Any]:
    """--rescore's stand-in for training: the fold model must exist, trained with this config bar decoding keys,
    on this fold's documents."""
    path = Path(fold_config.output_dir) / CONFIG_FILENAME
    if not path.is_file():
        raise ConfigError(f"--rescore: {path} is missing: run the k-fold without --rescore first")
    check_fold_documents(path.parent, train, held_out)
    saved = type(fold_config).load(path).to_dict()
    wanted = fold_config.to_dict()
    # Folds train without a dev set, so nothing that only acts on dev can have changed them.
    ignored = fold_config.decoding_keys | {"output_dir", "checkpoint_dir", "early_stopping_patience", "select_on_dev"}
    changed = sorted(key for key in wanted if key not in ignored and saved.get(key) != wanted[key])
    if changed:
        raise ConfigError(f"--rescore: {path} was trained with other values of {changed}; train the folds again")
    return {"rescored": True}


def run_folds(
    config: TrainConfig,
    documents: Sequence[Document],
    k: int,
    work_dir: Path,
    extra_train: Sequence[Document],
    train_fold: Callable[[Any, list[Document], list[Document], str], dict[str, Any]],
    score_fold: Callable[[Path, list[Document]], dict[str, Any]],
    only_fold: int | None = None,
    source: str = "the documents given",
    check_fold: Callable[[str, list[Document], list[Document]], None] | None = None,
) -> list[dict[str, Any]]:
    """K folds of whole documents: train on the others (+ `extra_train`) into work_dir/fold-N, score on the fold.

    Each fold's result is `score_fold`'s dict with its `model` directory, the held-out `test_ids`
    and what `train_fold` returned. Folds never resume: checkpoints left by an earlier (or killed) run are stale.
    `only_fold` runs that fold alone, so that folds can train as parallel processes (then --rescore gathers them).
    `source` says what the folds are made of (e.g. `--data FILE`); `train_fold` and `check_fold` get each
    fold's description (`fold 2 of 5 (trains on ...)`) to name in their errors. `check_fold` runs for
    every fold before any trains, so that a fold its data dooms stops the run before hours of training.
    """
    folds = make_folds(documents, k, config.seed)
    if only_fold is not None and not 0 <= only_fold < k:
        raise ConfigError(f"--fold: {only_fold} is not a fold of --kfold {k} (0 to {k - 1})")
    runs = []
    for index, held_out in enumerate(folds):
        train = [doc for j, fold in enumerate(folds) if j != index for doc in fold] + list(extra_train)
        runs.append((index, train, held_out, describe_fold(index, k, len(train) - len(extra_train), source)))
    if check_fold is not None:  # every fold, --fold or not: one doomed fold dooms the whole k-fold
        for _, train, held_out, where in runs:
            check_fold(where, train, held_out)
    results = []
    for index, train, held_out, where in runs:
        if only_fold is not None and index != only_fold:
            continue
        fold_dir = work_dir / f"fold-{index}"
        checkpoints = work_dir / f"fold-{index}.checkpoints"
        fold_config = dataclasses.replace(config, output_dir=str(fold_dir), checkpoint_dir=str(checkpoints))
        logger.info(
            "fold %d/%d: training on %s, testing on %d", index + 1, k, counted(len(train), "document"), len(held_out)
        )
        shutil.rmtree(checkpoints, ignore_errors=True)
        trained = train_fold(fold_config, train, held_out, where)
        shutil.rmtree(checkpoints, ignore_errors=True)
        if not trained.get("rescored"):  # a rescored model keeps the record it was trained with (or none)
            write_json(fold_dir / FOLD_DOCUMENTS, fold_documents(train, held_out), "fold documents file")
        scores = score_fold(fold_dir, held_out)
        scores["model"] = str(fold_dir)
        scores["test_ids"] = [doc.id for doc in held_out]
        scores.update(trained)
        results.append(scores)
    return results


def describe_fold(index: int, k: int, documents: int, source: str) -> str:
    """`fold 2 of 5 (fold-1: trains on 8 documents of --data FILE ...)`: where a fold's training data comes from."""
    return f"fold {index + 1} of {k} (fold-{index}: trains on {counted(documents, 'document')} of {source})"


def fold_data_source(args: argparse.Namespace, extra_train: Sequence[Document]) -> str:
    """What k-fold's training documents are, for errors: the other folds of --data (--docs), and train_extra."""
    extra = f" and {len(extra_train)} train_extra documents of {args.splits}" if extra_train else ""
    return data_source(args) + extra


def data_source(args: argparse.Namespace) -> str:
    """`--data FILE --docs SPLIT`: the documents the folds hold out, for errors."""
    return f"--data {args.data}" + (f" --docs {args.docs}" if args.docs else "")


def fold_summary(results: Sequence[dict[str, Any]], levels: Sequence[str]) -> dict[str, Any]:
    """Mean ± std over folds of micro P/R/F1, and of each label's F1 over the folds that have the label.

    A fold whose held-out documents neither hold nor predict a label says nothing of it: counting
    its F1 as 0 would halve a label found perfectly in the two folds that have it. `folds` says
    how many folds a label's mean is over. The same holds for the micro scores of a fold with no
    gold and no predicted item at all (a held-out document without relations); their `folds` is
    given only when such a fold was left out.
    """
    summary: dict[str, Any] = {}
    for level in levels:
        summary[level] = {}
        micro = [fold[level]["micro"] for fold in results]
        scored = [row for row in micro if _has_label(row)] or micro
        over = {"folds": len(scored)} if len(scored) < len(micro) else {}
        for key in ("precision", "recall", "f1"):
            mean, std = mean_std([row[key] for row in scored])
            summary[level][key] = {"mean": mean, "std": std, **over}
        labels = sorted({label for fold in results for label in fold[level]["per_label"]})
        summary[level]["per_label_f1"] = {}
        for label in labels:
            rows = [fold[level]["per_label"].get(label) for fold in results]
            values = [row["f1"] for row in rows if row is not None and _has_label(row)]
            if values:
                mean, std = mean_std(values)
                summary[level]["per_label_f1"][label] = {"mean": mean, "std": std, "folds": len(values)}
    return summary


def _has_label(row: dict[str, Any]) -> bool:
    """Whether a fold's row for a label has gold or predicted items (rows without counts are kept)."""
    return bool(row.get("support", 1) or row.get("predicted", 1))


def missing_folds(k: Any, folds: Any) -> str | None:
    """Why a k-fold results file that holds fewer `folds` than its `k` (an `evaluate --kfold K --fold F --out` run)
    is not the k-fold: its mean was one fold's score, with a std of 0. None for a whole one."""
    if not (isinstance(k, int) and isinstance(folds, list) and len(folds) < k):
        return None
    return (
        f"holds {len(folds)} of its {k} folds (a --fold run): gather every fold into one file first "
        f"(python -m training.evaluation.merge_folds --out KFOLD.json FOLD0.json ...)"
    )


def format_fold_summary(results: dict[str, Any], levels: Sequence[tuple[str, str]]) -> str:
    """K-fold mean ± std, one line per (level, title), then one per label."""
    lines = [f"{results['k']}-fold cross-validation (micro, mean ± std over folds)"]
    folds = results.get("folds")
    if isinstance(folds, list) and len(folds) < results["k"]:  # --fold F: one fold's scores read as the k-fold's
        over = "it" if len(folds) == 1 else "them"
        lines = [
            f"{counted(len(folds), 'fold')} of a {results['k']}-fold cross-validation only (micro, mean ± std over "
            f"{over}; not the k-fold figure: merge_folds or --rescore gathers every fold)"
        ]
    for level, title in levels:
        s = results["summary"][level]
        lines.append(
            f"  {title}: P {s['precision']['mean'] * 100:.2f} ± {s['precision']['std'] * 100:.2f}  "
            f"R {s['recall']['mean'] * 100:.2f} ± {s['recall']['std'] * 100:.2f}  "
            f"F1 {s['f1']['mean'] * 100:.2f} ± {s['f1']['std'] * 100:.2f}"
            + (f"  ({s['f1']['folds']} of {results['k']} folds)" if "folds" in s["f1"] else "")
        )
        for label, v in s["per_label_f1"].items():
            over = f"  ({v['folds']} of {results['k']} folds)" if "folds" in v else ""
            lines.append(f"    {label:<12} F1 {v['mean'] * 100:6.2f} ± {v['std'] * 100:.2f}{over}")
    return "\n".join(lines)


def add_kfold_options(parser: argparse.ArgumentParser) -> None:
    """--kfold K --config FILE [--set KEY=VALUE] [--work-dir DIR] [--no-extra] [--rescore], for NER and relations."""
    parser.add_argument("--kfold", type=_fold_count, help="k-fold cross-validation by document (needs --config)")
    parser.add_argument("--config", help="training config of the fold models, for --kfold")
    add_overrides_option(parser, help="override a key of --config (repeatable)")
    parser.add_argument("--work-dir", help="where --kfold writes its fold models (default: <output_dir>-kfold)")
    parser.add_argument(
        "--no-extra", action="store_true", help="--kfold: leave out the splits file's train_extra documents"
    )
    parser.add_argument(
        "--fold",
        type=int,
        help="--kfold: train and score only this fold (0-based), e.g. one process per fold on a GPU; "
        "then a --rescore run over the same --work-dir gathers every fold",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="--kfold: score the fold models already in --work-dir (trained with this config) instead of "
        "training them, under other decoding settings (ner: --decoding, transition_weight, context_weight, "
        "shape_weight; re: threshold, single_head, single_tail, single_choice, adjacent_rules)",
    )


def check_kfold_arguments(args: argparse.Namespace, documents: Sequence[Document]) -> None:
    """--kfold trains its own fold models from --config, one fold at least per document of --data (`documents`);
    otherwise --model is scored and --config/--set unused."""
    if args.kfold is not None:
        if not args.config:
            raise ConfigError("--kfold: needs --config (the training config of the fold models)")
        if args.model:
            raise ConfigError("--model: not used with --kfold (the folds train their own models)")
        if args.kfold > len(documents):  # make_folds says so too, but knows nothing of the file
            only = counted(len(documents), "document")
            raise ConfigError(f"--kfold: {args.kfold} folds but only {only} in {data_source(args)}")
        warn_of_test_documents(args, documents)
        return
    if args.rescore or args.fold is not None:
        raise ConfigError("--rescore/--fold: only used with --kfold")
    if not args.model:
        raise ConfigError("--model: needed (or --kfold K --config FILE)")
    if args.overrides or args.config:
        raise ConfigError("--config/--set: only used with --kfold")


def warn_of_test_documents(args: argparse.Namespace, documents: Sequence[Document]) -> None:
    """A warning when the folds hold documents the splits file keeps for testing: settings chosen by k-fold
    scores are then tuned on the test set, which the project never does (a broken splits file is reported
    where it is read, not here)."""
    try:
        test_ids = set(read_splits(args.splits).get("test", [])) if Path(args.splits).is_file() else set()
    except DataError:
        return
    held = sum(doc.id in test_ids for doc in documents)
    if held:
        logger.warning(
            "k-fold on %s: the folds hold %s of the test split of %s; settings chosen by these scores are tuned on "
            "the test set. Give --docs train,dev to keep the test documents for the final score",
            data_source(args),
            counted(held, "document"),
            args.splits,
        )


def extra_train_documents(args: argparse.Namespace) -> list[Document]:
    """The splits file's train_extra documents (not in --data), which join every fold's training set."""
    if args.no_extra:
        return []
    own_corpus = Path(args.splits).parent / "corpus.jsonl"
    if not getattr(args, "splits_given", True) and not (own_corpus.is_file() and own_corpus.samefile(args.data)):
        # The default splits file's train_extra are the project's written documents, not the user's data.
        logger.warning(
            "k-fold on --data %s: the train_extra files of %s (the project's, not yours) are not added to the "
            "folds; pass --splits FILE to add a splits file's train_extra",
            args.data,
            args.splits,
        )
        return []
    if not Path(args.splits).is_file():
        raise ConfigError(
            f"--splits: {args.splits}: no such splits file (its train_extra files join every fold's training "
            f"set); give one with --splits, or --no-extra to train the folds on --data alone"
        )
    corpus_ids = {doc.id for doc in load_documents(args.data)}
    return [doc for doc in load_train_extra(args.splits) if doc.id not in corpus_ids]
