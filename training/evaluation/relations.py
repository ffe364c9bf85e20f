"""Score a relation model on annotated documents, twice: from gold entities, and end to end.

    python -m training.evaluation.evaluate re --model DIR --data FILE [--docs test] [--out scores.json]
    python -m training.evaluation.evaluate re --kfold K --config CONFIG [--set threshold=0.5] --data FILE
        [--ner-kfold NER.json]

`DIR` is a full model directory (`ner/` and `re/`): relations are scored given the gold
entities (the relation model alone), then end to end through `viextract.Extractor` from the
entities it predicts. A bare relation directory (its own config.json) gets the first score
only. A relation counts when head span, tail span (character offsets) and label all match
gold (SCHEMA.md, Scoring); micro P/R/F1 and one row per relation label.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viextract.errors import ModelLoadError
from viextract.labels import ENTITY_LABELS, RELATION_LABELS, entity_types

from ..data.documents import DataError, Document
from ..data.features import align_document
from ..data.files import check_output_file, load_documents
from ..data.stats import counted
from ..pipes import quiet_pipe
from .metrics import format_table, score_items, score_spans
from .runs import scored_weights

RelationItem = tuple[int, int, int, int, str]  # head start, head end, tail start, tail end, label (characters)


def gold_relations(doc: Document) -> set[RelationItem]:
    entities = {e.id: e for e in doc.entities}
    return {
        (entities[r.head].start, entities[r.head].end, entities[r.tail].start, entities[r.tail].end, r.label)
        for r in doc.relations
    }


def gold_of_model_labels(
    documents: Sequence[Document], relation_labels: Sequence[str]
) -> tuple[list[set[RelationItem]], dict[str, int]]:
    """Per document, the gold relations of the labels the model predicts; and the count left out per label.

    A model trained on some relation labels (relation_labels) never predicts the others, as its dev F1 knew;
    scored here, each of them was a miss that pulled its recall and F1 down (and its k-fold's)."""
    from .ner import count_unscored

    gold = [gold_relations(doc) for doc in documents]
    unscored = count_unscored((item[-1] for items in gold for item in items), relation_labels, "relations")
    known = set(relation_labels)
    return [{item for item in items if item[-1] in known} for items in gold], unscored


def gold_of_marked_types(
    documents: Sequence[Document], gold: Sequence[set[RelationItem]], entity_labels: Sequence[str]
) -> tuple[list[set[RelationItem]], dict[str, int]]:
    """Of `gold` (per document), the relations whose head and tail types the relation model marks (its
    entity_labels); and the count left out per label. It never scores a pair of other types (nor did its dev F1),
    even from gold entities: each was a certain miss."""
    return _split_by_types(
        documents,
        gold,
        set(entity_labels),
        "relations",
        "with a head or tail entity type the relation model does not mark (its entity_labels)",
    )


def gold_of_ner_types(
    documents: Sequence[Document], gold: Sequence[set[RelationItem]], tags: Sequence[str]
) -> tuple[list[set[RelationItem]], dict[str, int]]:
    """Of `gold` (per document), the relations whose head and tail types the NER model (`tags`) predicts; and the
    count left out per label. End to end, no relation model could find the others: each was a certain miss."""
    return _split_by_types(
        documents,
        gold,
        entity_types(tags),
        "relations end to end",
        "with a head or tail entity type the NER model does not predict",
    )


def _split_by_types(
    documents: Sequence[Document], gold: Sequence[set[RelationItem]], known: set[str], what: str, why: str
) -> tuple[list[set[RelationItem]], dict[str, int]]:
    """`gold` less the relations with a head or tail type outside `known`, and those counted per label (and told)."""
    from .ner import count_unscored

    outside = [items & _relations_touching_other_types(doc, known) for doc, items in zip(documents, gold)]
    unscored = count_unscored((item[-1] for items in outside for item in items), (), what, why)
    return [items - left_out for items, left_out in zip(gold, outside)], unscored


def _relations_touching_other_types(doc: Document, known: set[str]) -> set[RelationItem]:
    entities = {e.id: e for e in doc.entities}
    return {
        (entities[r.head].start, entities[r.head].end, entities[r.tail].start, entities[r.tail].end, r.label)
        for r in doc.relations
        if entities[r.head].label not in known or entities[r.tail].label not in known
    }


def relations_from_gold_entities(
    relation_extractor, documents: Sequence[Document], segmenter: str, batch_size: int = 32
) -> list[set[RelationItem]]:
    """Per document: the relations the model finds between the gold entities of each sentence."""
    items, spans, owners = [], [], []
    for d_index, doc in enumerate(documents):
        for aligned in align_document(doc, segmenter):
            if len(aligned.entities) < 2:
                continue
            items.append((aligned.tokens, [(e.start, e.end, e.entity.label) for e in aligned.entities]))
            spans.append([(e.entity.start, e.entity.end) for e in aligned.entities])
            owners.append(d_index)
    found: list[set[RelationItem]] = [set() for _ in documents]
    for d_index, sentence_spans, relations in zip(owners, spans, relation_extractor.predict(items, batch_size)):
        for head, tail, label, _ in relations:
            found[d_index].add((*sentence_spans[head], *sentence_spans[tail], label))
    return found


def evaluate(
    model_dir: Path,
    documents: Sequence[Document],
    device: str | None = None,
    batch_size: int = 32,
    threshold: float | None = None,
    single_head: bool = True,
    adjacent: bool = True,
    single_choice: str | None = None,
    single_tail: bool = True,
    ner_decoding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Scores as plain dicts (training.evaluation.metrics' layout) for `documents`.

    `threshold` and `single_choice` replace the model's; `single_head=False` drops its
    single-head labels, `single_tail=False` its single-tail labels and `adjacent=False` its
    adjacency rules. `ner_decoding` (keyword arguments of training.evaluation.ner.set_ner_decoding)
    sets how a full model decodes its entities.
    """
    from viextract import Extractor
    from viextract.extractor import resolve_device
    from viextract.relations import RelationExtractor

    if (model_dir / "ner").is_dir():
        if not (model_dir / "re").is_dir():
            raise ModelLoadError(f"{model_dir}: no 're/' relation model to evaluate")
        extractor = Extractor.from_pretrained(model_dir, device=device)
        relation_extractor, segmenter = extractor.relation_extractor, extractor.segmenter
        if ner_decoding:
            from .ner import set_ner_decoding

            set_ner_decoding(extractor, model_dir / "ner", **ner_decoding)
    else:
        from viextract.segment import DEFAULT_SEGMENTER

        extractor = None
        relation_extractor = RelationExtractor.from_pretrained(model_dir, [], device=resolve_device(device))
        settings = getattr(relation_extractor.config, "viextract", None) or {}
        segmenter = settings.get("segmenter", DEFAULT_SEGMENTER)
    if threshold is not None:
        relation_extractor.model.config.threshold = threshold
    if not single_head:
        relation_extractor.model.config.single_head_labels = []
    if not single_tail:
        relation_extractor.model.config.single_tail_labels = []
    if not adjacent:
        relation_extractor.model.config.adjacent_relations = []
    if single_choice is not None:
        relation_extractor.model.config.single_choice = single_choice
    gold, unscored = gold_of_model_labels(documents, relation_extractor.config.relation_labels)
    gold, unmarked = gold_of_marked_types(documents, gold, relation_extractor.config.entity_labels)
    report: dict[str, Any] = {
        "model": str(model_dir),
        "weights": scored_weights(model_dir, "re"),
        "documents": len(documents),
        "gold_relations": sum(map(len, gold)),
        **({"unscored_gold": unscored} if unscored else {}),
        **({"unscored_gold_entity_types": unmarked} if unmarked else {}),
        **({"ner_decoding": dict(ner_decoding)} if extractor is not None and ner_decoding else {}),
    }
    labels = [label for label in RELATION_LABELS if label in relation_extractor.config.relation_labels]
    with_gold = relations_from_gold_entities(relation_extractor, documents, segmenter, batch_size)
    report["threshold"] = relation_extractor.threshold
    report["single_choice"] = relation_extractor.config.single_choice
    report["relations_gold_entities"] = score_items(gold, with_gold, labels).to_dict()
    if extractor is not None:
        results = list(extractor.pipe([doc.text for doc in documents], batch_size=batch_size))
        predicted = [
            {(r.head.start, r.head.end, r.tail.start, r.tail.end, r.label) for r in result.relations}
            for result in results
        ]
        reachable, unreachable = gold_of_ner_types(documents, gold, extractor.tagger.labels)
        report["relations_end_to_end"] = score_items(reachable, predicted, labels).to_dict()
        if unreachable:
            report["unscored_gold_end_to_end"] = unreachable
        report.update(_entities_end_to_end(extractor, documents, results))
    return report


def _entities_end_to_end(extractor, documents: Sequence[Document], results) -> dict[str, Any]:
    """The full model's entity scores, over the entity types its NER model predicts (as evaluate ner scores it)."""
    from .ner import gold_of_model_types

    documents, unscored = gold_of_model_types(documents, extractor.tagger.labels)
    known = entity_types(extractor.tagger.labels)
    scores = score_spans(
        [[(e.start, e.end, e.label) for e in doc.entities] for doc in documents],
        [[(e.start, e.end, e.label) for e in result.entities] for result in results],
        [label for label in ENTITY_LABELS if label in known],
    ).to_dict()
    return {"entities_end_to_end": scores, **({"unscored_gold_entities": unscored} if unscored else {})}


def kfold_re(
    config,
    documents: Sequence[Document],
    k: int,
    work_dir: Path,
    device: str | None,
    batch_size: int,
    extra_train: Sequence[Document] = (),
    ner_folds: NerFolds | None = None,
    rescore: bool = False,
    only_fold: int | None = None,
    source: str = "the documents given",
) -> dict[str, Any]:
    """Train a relation model on K-1 folds of whole documents, score it on the held-out one, K times.

    Scores are relations from the gold entities (the relation model alone). Folds have no dev
    set, so they train the config's epochs and use its fixed `threshold`. `extra_train` (the
    written training-only documents) joins every fold's training set and is never held out.
    With `ner_folds` (held-out document ids -> the NER fold model that never saw them, from
    `read_ner_folds`), each fold is also scored end to end: that NER model's entities, decoded
    as the NER k-fold scored them, feed this fold's relation model, so neither has seen the
    held-out documents. `rescore` scores the fold models already in `work_dir` (at the config's
    threshold, single_head, single_tail, single_choice and adjacent_rules) instead of training them.
    `source` says what `documents` are (e.g. `--data FILE`), for errors.
    """
    from ..fit.config import ConfigError
    from ..fit.relations import train_documents
    from .kfold import fold_summary, reuse_fold_model, run_folds

    if config.threshold is None:
        raise ConfigError(
            "threshold: folds have no dev set to choose the relation threshold on; give one, e.g. --set threshold=0.5"
        )
    if ner_folds is not None:
        from .kfold import make_folds

        folds = make_folds(documents, k, config.seed)
        if only_fold is not None:  # one fold scored: its NER fold model is all it needs (run_folds checks the range)
            folds = folds[only_fold : only_fold + 1]
        for fold in folds:
            if frozenset(doc.id for doc in fold) not in ner_folds.models:
                raise ConfigError(
                    f"--ner-kfold: no NER fold holds out exactly {sorted(doc.id for doc in fold)}; run both "
                    f"k-folds on the same documents with the same K and seed"
                )

    def check_fold(where: str, train: list[Document], held_out: list[Document]) -> None:
        # Without a gold relation (and no silver file to bring one) the fold would fail after the others trained.
        if not config.silver_files and not any(
            relation.label in config.relation_labels for doc in train for relation in doc.relations
        ):
            raise DataError(f"{where}: relations: no example of {list(config.relation_labels)}; nothing to learn")

    def train_fold(fold_config, train: list[Document], held_out: list[Document], where: str) -> dict[str, Any]:
        train_documents(fold_config, train, None, source=where)
        return {}

    def score_fold(fold_dir: Path, held_out: list[Document]) -> dict[str, Any]:
        # At the config's decoding settings: what --rescore varies.
        decoding = {
            "threshold": config.threshold,
            "single_head": config.single_head,
            "single_tail": config.single_tail,
            "single_choice": config.single_choice,
            "adjacent": config.adjacent_rules,
        }
        if ner_folds is None:
            return evaluate(fold_dir, held_out, device, batch_size, **decoding)
        ner_dir = ner_folds.models[frozenset(doc.id for doc in held_out)]
        # A full model directory (ner/ + re/) made of links, so that Extractor runs the pair as one.
        with tempfile.TemporaryDirectory(prefix="pipeline-", dir=work_dir) as pipeline:
            (Path(pipeline) / "ner").symlink_to(ner_dir.resolve(), target_is_directory=True)
            (Path(pipeline) / "re").symlink_to(fold_dir.resolve(), target_is_directory=True)
            report = evaluate(Path(pipeline), held_out, device, batch_size, **decoding, ner_decoding=ner_folds.decoding)
        return {**report, "ner_model": str(ner_dir)}

    train, check = (reuse_fold_model, None) if rescore else (train_fold, check_fold)
    results = run_folds(config, documents, k, work_dir, extra_train, train, score_fold, only_fold, source, check)
    levels = ("relations_gold_entities",) + (KFOLD_END_TO_END if ner_folds is not None else ())
    return {"k": k, "folds": results, "summary": fold_summary(results, levels)}


KFOLD_END_TO_END = ("relations_end_to_end", "entities_end_to_end")


@dataclass(frozen=True)
class NerFolds:
    """What `evaluate ner --kfold --out` wrote, for end-to-end relation folds."""

    models: dict[frozenset[str], Path]  # held-out document ids -> fold model directory
    # How its folds were decoded (training.evaluation.ner.set_ner_decoding's keywords); empty: as stored.
    decoding: dict[str, Any] = field(default_factory=dict)


def read_ner_folds(path: Path) -> NerFolds:
    """The fold models of a NER k-fold's results and the decoding they were scored with.

    A `--rescore --set context_weight=W` run scored fold models that store another weight, so
    end to end they must decode at W too, or the two k-folds would not describe the same tagger.
    """
    from ..fit.config import ConfigError

    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        folds = results["folds"]
        pairs = {frozenset(fold["test_ids"]): Path(fold["model"]) for fold in folds}
    except (OSError, ValueError) as error:
        raise ConfigError(f"--ner-kfold: {path}: cannot read ({error})") from error
    except (KeyError, TypeError) as error:
        raise ConfigError(
            f"--ner-kfold: {path}: field {error} missing: not the results of `evaluate ner --kfold` "
            f"(results written before fold models were recorded need the k-fold run again)"
        ) from error
    for test_ids, model in pairs.items():
        if not (model / "config.json").is_file():
            raise ConfigError(f"--ner-kfold: {path}: its fold model {model} is gone (no config.json)")
        _check_held_out(path, model, test_ids)
    from .ner import NER_WEIGHTS

    config = results.get("config") or {}
    recorded = {"decoding": results.get("decoding"), **{key: config.get(key) for key in NER_WEIGHTS}}
    decoding = {key: value for key, value in recorded.items() if value is not None}
    return NerFolds(pairs, decoding)


def _check_held_out(path: Path, model: Path, test_ids: frozenset[str]) -> None:
    """ConfigError when `model` now holds out other documents than `path` says: a NER k-fold run again on other data
    into the same work dir replaced it, and end to end its entities came from a model trained on the documents."""
    from ..data.json_text import read_json
    from ..fit.config import ConfigError
    from .kfold import FOLD_DOCUMENTS

    record = model / FOLD_DOCUMENTS
    if record.is_file():  # fold models trained before the record was written: nothing to check against
        recorded = read_json(record, "fold documents file")
        if not isinstance(recorded, dict) or set(recorded.get("test_ids") or ()) != test_ids:
            raise ConfigError(
                f"--ner-kfold: {path}: its fold model {model} now holds out other documents ({record.name}): "
                f"trained again since; run the NER k-fold again, or give the results of the run that trained it"
            )


def format_report(report: dict[str, Any]) -> str:
    from .ner import unscored_lines

    parts = [
        f"{report['model']}: {counted(report['documents'], 'document')}, "
        f"{counted(report['gold_relations'], 'gold relation')}, "
        f"threshold {report['threshold']:.2f}"
    ]
    titles = {
        "relations_gold_entities": "Relations from gold entities",
        "relations_end_to_end": "Relations end to end (predicted entities)",
        "entities_end_to_end": "Entities (character spans)",
    }
    for key, title in titles.items():
        if key in report:
            parts.append(format_table(title, report[key]))
    return "\n\n".join([*parts, *unscored_lines(report)])


def build_parser(prog: str = "python -m training.evaluation.evaluate re") -> argparse.ArgumentParser:
    from .kfold import add_kfold_options
    from .runs import add_docs_options, add_model_run_options

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory (ner/ and re/) or Hub id, or a re/ directory")
    parser.add_argument("--data", required=True, type=Path, help="annotated JSONL documents (data/corpus.jsonl format)")
    add_docs_options(parser)
    add_kfold_options(parser)
    parser.add_argument(
        "--ner-kfold",
        type=Path,
        help="--kfold: results of `evaluate ner --kfold` on the same documents, K and seed; each relation fold "
        "is then also scored end to end from its NER fold model's entities",
    )
    parser.add_argument("--out", "--output", dest="out", type=Path, help="also write the scores as JSON here")
    add_model_run_options(parser)
    return parser


@quiet_pipe
def main(argv: Sequence[str] | None = None, prog: str = "python -m training.evaluation.evaluate re") -> int:
    import logging

    from ..fit.config import ConfigError

    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    try:
        report = _run(args)
    except (ConfigError, DataError, ModelLoadError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C in a long k-fold: one line, not a traceback from inside the Trainer
        print("interrupted: no results written", file=sys.stderr)
        return 130
    from .kfold import format_fold_summary
    from .runs import write_out

    status = write_out(args.out, report)  # before printing: a reader that stops (`| head`) must not cost the file
    if "summary" in report:
        names = {
            "relations_gold_entities": "relations from gold entities",
            "relations_end_to_end": "relations end to end",
            "entities_end_to_end": "entities end to end",
        }
        print(format_fold_summary(report, [(level, names[level]) for level in report["summary"]]))
    else:
        print(format_report(report))
    return status


def _run(args) -> dict[str, Any]:
    from viextract.loading import resolve_model_dir

    from ..fit.config import ConfigError
    from ..fit.relations import ReConfig
    from .kfold import check_kfold_arguments, extra_train_documents, fold_data_source
    from .runs import command_record, resolve_splits, select_documents

    resolve_splits(args)
    check_output_file(args.out, [args.data, args.splits, args.config, args.ner_kfold])
    documents = select_documents(load_documents(args.data), args.docs, args.splits, args.data)
    check_kfold_arguments(args, documents)
    if args.ner_kfold is not None and args.kfold is None:
        raise ConfigError("--ner-kfold: only used with --kfold")
    if args.kfold is None:
        report = evaluate(resolve_model_dir(args.model), documents, args.device, args.batch_size)
        # As `evaluate ner` records them: the model card names the split and reruns the command from these.
        report.update(task="re", data=str(args.data), docs=args.docs or "all", document_ids=[d.id for d in documents])
        report.update(command_record(args))
        return report
    config = ReConfig.load(args.config, args.overrides)
    work_dir = Path(args.work_dir or f"{config.output_dir}-kfold")
    extra = extra_train_documents(args)
    ner_folds = read_ner_folds(args.ner_kfold) if args.ner_kfold is not None else None
    results = kfold_re(
        config, documents, args.kfold, work_dir, args.device, args.batch_size, extra, ner_folds, args.rescore,
        args.fold, fold_data_source(args, extra),
    )  # fmt: skip
    return {
        "task": "re",
        "data": str(args.data),
        "docs": args.docs or "all",
        "document_ids": [d.id for d in documents],
        "extra_train_documents": len(extra),
        **command_record(args),
        "config": config.to_dict(),
        **({"ner_kfold": str(args.ner_kfold)} if args.ner_kfold is not None else {}),
        **results,
    }


if __name__ == "__main__":
    raise SystemExit(main())
