"""Which documents an evaluation reads (splits named by --docs) and where its results are written."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from viextract.arguments import BATCH_SIZE_HELP, check_device, check_positive_int

from ..data.documents import DEFAULT_SPLITS_FILE, DataError, Document
from ..data.files import require_documents
from ..data.json_text import write_json
from ..data.splits import select_split_documents
from ..fit.config import ConfigError

logger = logging.getLogger(__name__)


SPLITS = ("train", "dev", "test")


def add_docs_options(parser: argparse.ArgumentParser) -> None:
    """--docs SPLITS and --splits FILE, shared by the NER and relation evaluations."""
    parser.add_argument(
        "--docs",
        help="only the documents of --data whose ids --splits lists under these splits, e.g. test or train,dev "
        "(default: all)",
    )
    parser.add_argument(
        "--splits",
        help="splits file: the document ids that --docs picks from --data, and the train_extra files of --kfold "
        f"(default: {DEFAULT_SPLITS_FILE}; its train_extra join the folds only when --data is its corpus.jsonl)",
    )


def add_model_run_options(parser: argparse.ArgumentParser) -> None:
    """--batch-size and --device, checked as they are parsed: a bad value was a traceback at the first
    prediction, which with --kfold came after every fold model had been trained."""
    parser.add_argument("--batch-size", type=_batch_size, default=32, help=BATCH_SIZE_HELP)
    parser.add_argument("--device", type=_device, help="cpu, cuda, cuda:1 ... (default: cuda if available)")


def _batch_size(text: str) -> int:
    try:
        return check_positive_int("--batch-size", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None


def _device(text: str) -> str:
    try:
        return check_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def resolve_splits(args: argparse.Namespace) -> None:
    """`args.splits` made the default file when not given; `args.splits_given` says whether it was."""
    args.splits_given = args.splits is not None
    args.splits = args.splits or DEFAULT_SPLITS_FILE


def select_documents(
    documents: list[Document], docs: str | None, splits_file: str | Path, data_file: str | Path
) -> list[Document]:
    """The documents of `data_file` whose ids the splits file lists under the named splits (comma-separated).

    Every document when `docs` is None or `all`; an empty `docs` is an error. The splits file names ids only: a
    user's own data file need not be called corpus.jsonl nor lie beside it. DataError when `data_file` holds no
    document: scored, it was a table of zeros and exit 0.
    """
    require_documents(documents, data_file)
    if docs is None or docs == "all":
        return documents
    names = [name.strip() for name in docs.split(",") if name.strip()]
    if not names:  # `--docs "$SPLIT"` with SPLIT unset scored every document, training ones included
        raise ConfigError(f"--docs: {docs!r} names no split; choose from {list(SPLITS)} or all (comma-separated)")
    unknown = [name for name in names if name not in SPLITS]
    if unknown:
        raise ConfigError(f"--docs: unknown split {unknown}; choose from {list(SPLITS)} or all (comma-separated)")
    if not Path(splits_file).exists():  # said only 'data/splits.json: no such splits file', not where it came from
        default = " (the default, a viextract checkout's)" if str(splits_file) == DEFAULT_SPLITS_FILE else ""
        raise DataError(
            f"--splits: {splits_file}: no such splits file{default}; --docs {docs} takes its ids from one: give "
            f"yours with --splits FILE, or --docs all for every document of {data_file}"
        )
    # read_splits validates the splits file (and that no document is in two splits).
    selected = select_split_documents(documents, names, splits_file, data_file)
    if not selected:
        raise DataError(f"{splits_file}: {docs}: the splits file lists no document of these splits")
    return selected


def command_record(args: Any) -> dict[str, Any]:
    """What a results file keeps of its command line so that the model card can give the command again:
    the splits file (read for --docs, and for k-fold's train_extra documents), the --set overrides and
    --no-extra (k-fold only: a --model evaluation trains nothing)."""
    kfold = getattr(args, "kfold", None) is not None
    record: dict[str, Any] = {}
    if args.docs or (kfold and not args.no_extra):
        record["splits"] = str(args.splits)
    if kfold:
        record["overrides"] = list(args.overrides)
        record["no_extra"] = bool(args.no_extra)
    return record


def write_out(out: str | Path | None, results: Any, what: str = "results") -> int:
    """Exit status after writing --out (if given): 1 with one line when it cannot be written (the results are
    printed too, hours of k-fold are not lost to a traceback)."""
    if out:
        try:
            write_json(out, results, what)
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


def scored_weights(model: str | Path, task: str) -> list[str]:
    """sha256 of each weights file whose predictions a `task` evaluation of `model` scores: the NER model's for
    `ner`, both for `re` (its end-to-end scores read the NER model's entities). A card checks them against the
    model it describes (training.release.card), so that scores of weights since retrained are not shown as its.
    [] where `model` is no local model folder (a Hub id)."""
    from viextract.errors import ModelLoadError
    from viextract.loading import WEIGHTS_FILE, split_model_dir
    from viextract.onnx import weights_digest

    try:
        ner_dir, re_dir = split_model_dir(Path(model))
    except ModelLoadError:
        return []
    parts = [ner_dir] if task == "ner" else [ner_dir, re_dir]
    return sorted(weights_digest(part) for part in parts if part is not None and (part / WEIGHTS_FILE).is_file())
