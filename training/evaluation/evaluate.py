"""Evaluate a model on annotated documents, or estimate one by k-fold cross-validation.

    python -m training.evaluation.evaluate ner --model DIR --data FILE [--docs test] [--out results.json]
    python -m training.evaluation.evaluate ner --kfold K --config configs/ner.yaml --data FILE [--docs train,dev] [--out ...]
    python -m training.evaluation.evaluate re ...   (relation evaluation: training.evaluation.relations)

NER is scored twice (SCHEMA.md): seqeval strict IOB2 on the gold words (the gold entity
boundaries force word breaks), and exact character spans from the full `Extractor` path on
the raw text (real segmentation, no gold boundaries). Both come with per-label rows and an
error breakdown (training.evaluation.metrics). k-fold splits the documents into K folds, trains one
model per fold on the other K-1 with the config's epochs (no early stopping: the held-out
fold is never used to choose a model) and reports mean ± std over the folds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from viextract.ner import DECODINGS

from ..data.documents import DataError, Document, load_documents, load_split
from ..fit.config import CONFIG_FILENAME, ConfigError, NerConfig, TrainConfig, add_overrides_option
from .metrics import format_table, mean_std, schema_order, score_spans, score_tags

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


def select_documents(documents: list[Document], docs: str | None, splits_file: str | Path) -> list[Document]:
    """The documents whose ids are in the named splits (comma-separated); all of them when `docs` is None."""
    if not docs:
        return documents
    names = [name.strip() for name in docs.split(",") if name.strip()]
    unknown = [name for name in names if name not in SPLITS]
    if unknown:
        raise ConfigError(f"--docs: unknown split {unknown}; choose from {list(SPLITS)} (comma-separated)")
    ids: set[str] = set()
    for name in names:
        # load_split validates the splits file (and that no document is in two splits).
        ids |= {doc.id for doc in load_split(name, splits_file)}
    selected = [doc for doc in documents if doc.id in ids]
    if not selected:
        raise DataError(f"{splits_file}: {docs}: none of these documents is in the data file")
    return selected


# ---- scoring one model --------------------------------------------------------------------------


def evaluate_ner(extractor, documents: Sequence[Document], batch_size: int = 32) -> dict[str, Any]:
    """Word-level (gold words) and character-level (full pipeline) scores of `extractor` on `documents`."""
    from ..data.documents import ner_dataset

    dataset = ner_dataset(documents, segmenter=extractor.segmenter)
    names = dataset.features["ner_tags"].feature.names
    sentences = [list(tokens) for tokens in dataset["tokens"]]
    gold_tags = [[names[i] for i in ids] for ids in dataset["ner_tags"]]
    predicted = extractor.tagger.tag(sentences, batch_size=batch_size)
    pred_tags = [[tag.label for tag in tags] for tags in predicted]
    words = score_tags(gold_tags, pred_tags)

    gold_chars = [[(e.start, e.end, e.label) for e in doc.entities] for doc in documents]
    pred_chars = [
        [(e.start, e.end, e.label) for e in result.entities]
        for result in extractor.pipe([doc.text for doc in documents], batch_size=batch_size)
    ]
    chars = score_spans(gold_chars, pred_chars, labels=_labels_seen(gold_chars, pred_chars)).to_dict()
    return {
        "documents": len(documents),
        "sentences": len(sentences),
        "gold_entities": sum(len(doc.entities) for doc in documents),
        "words": words,
        "chars": chars,
    }


def _labels_seen(*groups) -> list[str]:
    return schema_order(span[-1] for group in groups for unit in group for span in unit)


# NerConfig's decoding weights, and the table of viextract.ner.TokenTagger each one weighs.
NER_WEIGHTS = {
    "transition_weight": ("bigrams", "tag bigrams"),
    "context_weight": ("context", "word context"),
    "shape_weight": ("shapes", "word shapes"),
}


def evaluate_model_dir(
    model_dir: str | Path,
    documents: Sequence[Document],
    device: str | None,
    batch_size: int,
    decoding: str = "viterbi",
    **weights: float | None,
):
    """Score a saved model; `weights` (keys of NER_WEIGHTS) replace the weights of its stored tables."""
    from viextract import Extractor

    extractor = Extractor.from_pretrained(model_dir, device=device)
    set_ner_decoding(extractor, model_dir, decoding, **weights)
    return evaluate_ner(extractor, documents, batch_size)


def set_ner_decoding(extractor, model_dir: str | Path, decoding: str = "viterbi", **weights: float | None) -> None:
    """Decode `extractor`'s entities this way; a weight (keys of NER_WEIGHTS) of None keeps the stored one."""
    if unknown := sorted(set(weights) - set(NER_WEIGHTS)):
        raise ValueError(f"unknown decoding weights {unknown}; expected some of {list(NER_WEIGHTS)}")
    extractor.tagger.decoding = decoding
    tagger = extractor.tagger
    for key, weight in weights.items():
        attribute, what = NER_WEIGHTS[key]
        if weight is None:
            continue
        stored = getattr(tagger, attribute)
        if stored is None and weight > 0:
            raise ConfigError(
                f"{key}: {model_dir} has no {what} in its config.json to weigh (trained with {key} 0, "
                f"or by an older viextract): train it again"
            )
        if stored is not None:
            setattr(tagger, attribute, dataclasses.replace(stored, weight=weight))


# ---- k-fold -------------------------------------------------------------------------------------


def make_folds(documents: Sequence[Document], k: int, seed: int) -> list[list[Document]]:
    """K folds of whole documents, shuffled with `seed`; sizes differ by at most one."""
    if k < 2:
        raise ConfigError(f"--kfold: needs at least 2 folds, got {k}")
    if k > len(documents):
        raise ConfigError(f"--kfold: {k} folds but only {len(documents)} documents")
    order = list(documents)
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def kfold_ner(
    config: NerConfig,
    documents: Sequence[Document],
    k: int,
    work_dir: Path,
    device: str | None,
    batch_size: int,
    extra_train: Sequence[Document] = (),
    decoding: str = "viterbi",
    rescore: bool = False,
    only_fold: int | None = None,
) -> dict[str, Any]:
    """Train on K-1 folds, evaluate on the held-out one, K times; per-fold results and mean ± std.

    `extra_train` (the training-only written documents) joins every fold's training set and is
    never held out, so the folds follow the same recipe as a model trained on the train split.
    The config's silver files join too, less every sentence naming an entity of the held-out
    fold that its training documents never name (training.weak.silver.without_leaks).

    Folds are scored with the config's decoding weights (NER_WEIGHTS). `rescore` scores
    the fold models an earlier run left in `work_dir` instead of training them, to compare
    decoding settings: a fold trained without a dev set does not depend on them.
    """
    from ..fit.ner import train_documents
    from ..weak.silver import held_out_strings, load_silver, without_leaks

    silver = load_silver(config.silver_files) if config.silver_files else []

    def train_fold(fold_config: NerConfig, train: list[Document], held_out: list[Document]) -> dict[str, Any]:
        fold_silver = without_leaks(silver, held_out_strings(held_out, train)) if silver else []
        train_documents(fold_config, train, None, silver=fold_silver)
        return {"silver_documents": len(fold_silver)}

    def score_fold(fold_dir: Path, held_out: list[Document]) -> dict[str, Any]:
        return evaluate_model_dir(
            fold_dir, held_out, device, batch_size, decoding, **{key: getattr(config, key) for key in NER_WEIGHTS}
        )

    train = reuse_fold_model if rescore else train_fold
    results = run_folds(config, documents, k, work_dir, extra_train, train, score_fold, only_fold)
    return {"k": k, "folds": results, "summary": fold_summary(results, ("words", "chars"))}


def reuse_fold_model(fold_config: TrainConfig, train: list[Document], held_out: list[Document]) -> dict[str, Any]:
    """--rescore's stand-in for training: the fold model must exist, trained with this config bar decoding keys."""
    path = Path(fold_config.output_dir) / CONFIG_FILENAME
    if not path.is_file():
        raise ConfigError(f"--rescore: {path} is missing: run the k-fold without --rescore first")
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
    train_fold: Callable[[Any, list[Document], list[Document]], dict[str, Any]],
    score_fold: Callable[[Path, list[Document]], dict[str, Any]],
    only_fold: int | None = None,
) -> list[dict[str, Any]]:
    """K folds of whole documents: train on the others (+ `extra_train`) into work_dir/fold-N, score on the fold.

    Each fold's result is `score_fold`'s dict with its `model` directory, the held-out `test_ids`
    and what `train_fold` returned. Folds never resume: checkpoints left by an earlier (or killed) run are stale.
    `only_fold` runs that fold alone, so that folds can train as parallel processes (then --rescore gathers them).
    """
    folds = make_folds(documents, k, config.seed)
    if only_fold is not None and not 0 <= only_fold < k:
        raise ConfigError(f"--fold: {only_fold} is not a fold of --kfold {k} (0 to {k - 1})")
    results = []
    for index, held_out in enumerate(folds):
        if only_fold is not None and index != only_fold:
            continue
        train = [doc for j, fold in enumerate(folds) if j != index for doc in fold] + list(extra_train)
        fold_dir = work_dir / f"fold-{index}"
        checkpoints = work_dir / f"fold-{index}.checkpoints"
        fold_config = dataclasses.replace(config, output_dir=str(fold_dir), checkpoint_dir=str(checkpoints))
        logger.info("fold %d/%d: training on %d documents, testing on %d", index + 1, k, len(train), len(held_out))
        shutil.rmtree(checkpoints, ignore_errors=True)
        trained = train_fold(fold_config, train, held_out)
        shutil.rmtree(checkpoints, ignore_errors=True)
        scores = score_fold(fold_dir, held_out)
        scores["model"] = str(fold_dir)
        scores["test_ids"] = [doc.id for doc in held_out]
        scores.update(trained)
        results.append(scores)
    return results


def fold_summary(results: Sequence[dict[str, Any]], levels: Sequence[str]) -> dict[str, Any]:
    """Mean ± std over folds of micro P/R/F1 and of each label's F1 (0 in a fold without the label)."""
    summary: dict[str, Any] = {}
    for level in levels:
        summary[level] = {}
        for key in ("precision", "recall", "f1"):
            mean, std = mean_std([fold[level]["micro"][key] for fold in results])
            summary[level][key] = {"mean": mean, "std": std}
        labels = sorted({label for fold in results for label in fold[level]["per_label"]})
        summary[level]["per_label_f1"] = {}
        for label in labels:
            values = [fold[level]["per_label"].get(label, {}).get("f1", 0.0) for fold in results]
            mean, std = mean_std(values)
            summary[level]["per_label_f1"][label] = {"mean": mean, "std": std}
    return summary


# ---- command line -------------------------------------------------------------------------------


def format_results(results: dict[str, Any]) -> str:
    if "summary" in results:
        return format_fold_summary(
            results, (("words", "gold words, seqeval strict IOB2"), ("chars", "character spans, full pipeline"))
        )
    return "\n\n".join(
        [
            format_table("Gold words (seqeval strict IOB2)", results["words"]),
            format_table("Character spans (full Extractor pipeline)", results["chars"]),
        ]
    )


def format_fold_summary(results: dict[str, Any], levels: Sequence[tuple[str, str]]) -> str:
    """K-fold mean ± std, one line per (level, title), then one per label."""
    lines = [f"{results['k']}-fold cross-validation (micro, mean ± std over folds)"]
    for level, title in levels:
        s = results["summary"][level]
        lines.append(
            f"  {title}: P {s['precision']['mean'] * 100:.2f} ± {s['precision']['std'] * 100:.2f}  "
            f"R {s['recall']['mean'] * 100:.2f} ± {s['recall']['std'] * 100:.2f}  "
            f"F1 {s['f1']['mean'] * 100:.2f} ± {s['f1']['std'] * 100:.2f}"
        )
        for label, v in s["per_label_f1"].items():
            lines.append(f"    {label:<12} F1 {v['mean'] * 100:6.2f} ± {v['std'] * 100:.2f}")
    return "\n".join(lines)


def add_kfold_options(parser: argparse.ArgumentParser) -> None:
    """--kfold K --config FILE [--set KEY=VALUE] [--work-dir DIR] [--no-extra] [--rescore], for NER and relations."""
    parser.add_argument("--kfold", type=int, help="k-fold cross-validation by document (needs --config)")
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


def check_kfold_arguments(args: argparse.Namespace) -> None:
    """--kfold trains its own fold models from --config; otherwise --model is scored and --config/--set unused."""
    if args.kfold is not None:
        if not args.config:
            raise ConfigError("--kfold: needs --config (the training config of the fold models)")
        if args.model:
            raise ConfigError("--model: not used with --kfold (the folds train their own models)")
        return
    if args.rescore or args.fold is not None:
        raise ConfigError("--rescore/--fold: only used with --kfold")
    if not args.model:
        raise ConfigError("--model: needed (or --kfold K --config FILE)")
    if args.overrides or args.config:
        raise ConfigError("--config/--set: only used with --kfold")


def extra_train_documents(args: argparse.Namespace) -> list[Document]:
    """The splits file's train_extra documents (not in --data), which join every fold's training set."""
    if args.no_extra:
        return []
    corpus_ids = {doc.id for doc in load_documents(args.data)}
    return [doc for doc in load_split("train", args.splits) if doc.id not in corpus_ids]


def write_results(path: str | Path, results: dict[str, Any]) -> None:
    """Results as JSON, written beside and renamed into place: never half a file under `path`."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)


def build_parser(prog: str = "python -m training.evaluation.evaluate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("ner", "re"))
    parser.add_argument("--model", help="model directory (or Hub id) to evaluate")
    parser.add_argument("--data", required=True, help="annotated documents (JSONL), e.g. data/corpus.jsonl")
    parser.add_argument("--docs", help="only the documents of these splits, e.g. test or train,dev")
    parser.add_argument("--splits", default="data/splits.json", help="splits file that --docs refers to")
    add_kfold_options(parser)
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--decoding",
        choices=DECODINGS,
        default="viterbi",
        help="how word tags are read: the best valid IOB2 sequence with the model's tag bigrams (viterbi, what "
        "extract() does), without them (constrained), or each word's most probable tag (argmax)",
    )
    return parser


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
    print(format_results(results))
    if args.out:
        write_results(args.out, results)
    return 0


def _run(args) -> dict[str, Any]:
    documents = select_documents(load_documents(args.data), args.docs, args.splits)
    meta = {
        "task": "ner",
        "data": args.data,
        "docs": args.docs or "all",
        "document_ids": [d.id for d in documents],
        "decoding": args.decoding,
    }
    check_kfold_arguments(args)
    if args.kfold is not None:
        config = NerConfig.load(args.config, args.overrides)
        work_dir = Path(args.work_dir or f"{config.output_dir}-kfold")
        extra = extra_train_documents(args)
        results = kfold_ner(
            config, documents, args.kfold, work_dir, args.device, args.batch_size, extra, args.decoding, args.rescore,
            args.fold,
        )
        meta["extra_train_documents"] = len(extra)
        return {**meta, "config": config.to_dict(), **results}
    scores = evaluate_model_dir(args.model, documents, args.device, args.batch_size, args.decoding)
    return {**meta, "model": args.model, **scores}


if __name__ == "__main__":
    raise SystemExit(main())
