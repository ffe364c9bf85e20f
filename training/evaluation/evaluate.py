"""Evaluate a model on annotated documents, or estimate one by k-fold cross-validation.

    python -m training.evaluation.evaluate ner --model DIR --data FILE [--docs test] [--out results.json]
    python -m training.evaluation.evaluate ner --kfold K --config configs/ner.yaml --data FILE [--docs train,dev]
    python -m training.evaluation.evaluate re ...   (relation evaluation: training.evaluation.relations)

NER is scored twice (SCHEMA.md): seqeval strict IOB2 on the gold words (the gold entity
boundaries force word breaks), and exact character spans from the full `Extractor` path on
the raw text (real segmentation, no gold boundaries). Both come with per-label rows and an
error breakdown (training.evaluation.ner). k-fold splits the documents into K folds, trains one
model per fold on the other K-1 with the config's epochs (no early stopping: the held-out
fold is never used to choose a model) and reports mean ± std over the folds (training.evaluation.kfold).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from viextract.ner import DECODINGS

from ..data.documents import DataError, printed_in_capitals
from ..data.files import check_output_file, load_documents
from ..fit.config import ConfigError
from ..fit.ner import NerConfig
from ..pipes import quiet_pipe
from .kfold import add_kfold_options, check_kfold_arguments, extra_train_documents, fold_data_source
from .ner import evaluate_model_dir, format_results, kfold_ner
from .runs import (
    add_docs_options,
    add_model_run_options,
    command_record,
    resolve_splits,
    scored_weights,
    select_documents,
    write_out,
)

logger = logging.getLogger(__name__)


def build_parser(prog: str = "python -m training.evaluation.evaluate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("ner", "re"))
    parser.add_argument("--model", help="model directory (or Hub id) to evaluate")
    parser.add_argument("--data", required=True, help="annotated documents (JSONL), e.g. data/corpus.jsonl")
    add_docs_options(parser)
    add_kfold_options(parser)
    parser.add_argument("--out", help="write the results as JSON here")
    add_model_run_options(parser)
    parser.add_argument(
        "--capitals",
        action="store_true",
        help="score the texts in capitals, as headlines are printed (a --model, or --kfold with --rescore)",
    )
    parser.add_argument(
        "--decoding",
        choices=DECODINGS,
        default="viterbi",
        help="how word tags are read: the best valid IOB2 sequence with the model's tag bigrams (viterbi, what "
        "extract() does), without them (constrained), or each word's most probable tag (argmax)",
    )
    return parser


@quiet_pipe
def main(argv: Sequence[str] | None = None, prog: str = "python -m training.evaluation.evaluate") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["re"]:
        from . import relations as evaluate_re  # relation evaluation has its own module

        return evaluate_re.main(argv[1:], prog=f"{prog} re")
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    try:
        results = _run(args)
    except (ConfigError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C in a long k-fold: one line, not a traceback from inside the Trainer
        print("interrupted: no results written", file=sys.stderr)
        return 130
    status = write_out(args.out, results)  # before printing: a reader that stops (`| head`) must not cost the file
    print(format_results(results))
    return status


def _run(args) -> dict[str, Any]:
    resolve_splits(args)
    check_output_file(args.out, [args.data, args.splits, args.config])
    documents = select_documents(load_documents(args.data), args.docs, args.splits, args.data)
    if args.capitals:
        if args.kfold is not None and not args.rescore:
            raise ConfigError("--capitals with --kfold needs --rescore: it scores fold models, it does not train them")
        documents = [printed_in_capitals(doc) for doc in documents]
    meta = {
        "task": "ner",
        "data": args.data,
        "docs": args.docs or "all",
        "document_ids": [d.id for d in documents],
        "decoding": args.decoding,
        "capitals": args.capitals,
        **command_record(args),
    }
    check_kfold_arguments(args, documents)
    if args.kfold is not None:
        config = NerConfig.load(args.config, args.overrides)
        work_dir = Path(args.work_dir or f"{config.output_dir}-kfold")
        extra = extra_train_documents(args)
        results = kfold_ner(
            config,
            documents,
            args.kfold,
            work_dir,
            args.device,
            args.batch_size,
            extra,
            args.decoding,
            args.rescore,
            args.fold,
            fold_data_source(args, extra),
        )
        meta["extra_train_documents"] = len(extra)
        return {**meta, "config": config.to_dict(), **results}
    scores = evaluate_model_dir(args.model, documents, args.device, args.batch_size, args.decoding)
    return {**meta, "model": args.model, "weights": scored_weights(args.model, "ner"), **scores}


if __name__ == "__main__":
    raise SystemExit(main())
