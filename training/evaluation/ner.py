"""NER scores of a model: seqeval on the gold words and exact character spans through `Extractor`; NER k-fold.

NER is scored twice (SCHEMA.md): seqeval strict IOB2 on the gold words (the gold entity
boundaries force word breaks), and exact character spans from the full `Extractor` path on
the raw text (real segmentation, no gold boundaries). Both come with per-label rows and an
error breakdown (training.evaluation.metrics).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from viextract.labels import entity_types

from ..data.documents import Document
from ..fit.config import ConfigError
from ..fit.ner import NerConfig
from .kfold import fold_summary, format_fold_summary, reuse_fold_model, run_folds
from .metrics import format_table, schema_order, score_spans, score_tags

logger = logging.getLogger(__name__)


def evaluate_ner(extractor, documents: Sequence[Document], batch_size: int = 32) -> dict[str, Any]:
    """Word-level (gold words) and character-level (full pipeline) scores of `extractor` on `documents`, over the
    entity types it predicts; gold entities of other types are counted in `unscored_gold`, not scored."""
    from ..data.features import ner_dataset

    documents, unscored = gold_of_model_types(documents, extractor.tagger.labels)
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
        **({"unscored_gold": unscored} if unscored else {}),
        "words": words,
        "chars": chars,
    }


def gold_of_model_types(documents: Sequence[Document], tags: Sequence[str]) -> tuple[list[Document], dict[str, int]]:
    """`documents` with only the entities of the types `tags` can predict, and the count left out per type.

    A model trained on some types (entity_labels) saw the others as O, as its dev F1 scored them; scored here,
    every one of them was a miss that pulled its recall and F1 down (and its k-fold's)."""
    known = entity_types(tags)
    unscored = count_unscored((e.label for doc in documents for e in doc.entities), known, "entities")
    if not unscored:
        return list(documents), {}
    kept = [dataclasses.replace(doc, entities=tuple(e for e in doc.entities if e.label in known)) for doc in documents]
    return kept, unscored


def count_unscored(
    gold_labels: Iterable[str], known: Collection[str], what: str, why: str = "of types the model does not predict"
) -> dict[str, int]:
    """How many gold `what` (entities, relations) per label outside `known`, with a warning (saying `why`)."""
    unscored: dict[str, int] = {}
    for label in gold_labels:
        if label not in known:
            unscored[label] = unscored.get(label, 0) + 1
    if unscored:
        left_out = ", ".join(f"{count} {label}" for label, count in unscored.items())
        logger.warning("gold %s %s are not scored: %s", what, why, left_out)
    return dict(sorted(unscored.items()))


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
    source: str = "the documents given",
) -> dict[str, Any]:
    """Train on K-1 folds, evaluate on the held-out one, K times; per-fold results and mean ± std.

    `extra_train` (the training-only written documents) joins every fold's training set and is
    never held out, so the folds follow the same recipe as a model trained on the train split.
    The config's silver files join too, less every sentence naming an entity of the held-out
    fold that its training documents never name (training.weak.silver.without_leaks).

    Folds are scored with the config's decoding weights (NER_WEIGHTS). `rescore` scores
    the fold models an earlier run left in `work_dir` instead of training them, to compare
    decoding settings: a fold trained without a dev set does not depend on them. `source` says what
    `documents` are (e.g. `--data FILE`), for errors; every fold's labels are checked before any trains.
    """
    from ..fit.ner import check_labels_present, train_documents
    from ..weak.silver import held_out_strings, load_silver, without_leaks

    silver = load_silver(config.silver_files) if config.silver_files else []

    silver_of: dict[str, list[Document]] = {}  # per fold (its description): checked, then trained on

    def fold_silver(where: str, train: list[Document], held_out: list[Document]) -> list[Document]:
        if where not in silver_of:
            silver_of[where] = without_leaks(silver, held_out_strings(held_out, train)) if silver else []
        return silver_of[where]

    def check_fold(where: str, train: list[Document], held_out: list[Document]) -> None:
        # The gold entity labels, not the tagged sentences: seconds for every fold; training checks the tags again.
        if not config.allow_unseen_labels:
            seen = {entity.label for doc in [*train, *fold_silver(where, train, held_out)] for entity in doc.entities}
            check_labels_present(seen, config, where)

    def train_fold(fold_config: NerConfig, train: list[Document], held_out: list[Document], where: str) -> dict:
        fold_silver_ = fold_silver(where, train, held_out)
        train_documents(fold_config, train, None, silver=fold_silver_, source=where)
        return {"silver_documents": len(fold_silver_)}

    def score_fold(fold_dir: Path, held_out: list[Document]) -> dict[str, Any]:
        return evaluate_model_dir(
            fold_dir, held_out, device, batch_size, decoding, **{key: getattr(config, key) for key in NER_WEIGHTS}
        )

    train, check = (reuse_fold_model, None) if rescore else (train_fold, check_fold)
    results = run_folds(config, documents, k, work_dir, extra_train, train, score_fold, only_fold, source, check)
    return {"k": k, "folds": results, "summary": fold_summary(results, ("words", "chars"))}


def format_results(results: dict[str, Any]) -> str:
    if "summary" in results:
        return format_fold_summary(
            results, (("words", "gold words, seqeval strict IOB2"), ("chars", "character spans, full pipeline"))
        )
    return "\n\n".join(
        [
            format_table("Gold words (seqeval strict IOB2)", results["words"]),
            format_table("Character spans (full Extractor pipeline)", results["chars"]),
            *unscored_lines(results),
        ]
    )


UNSCORED_KEYS = {
    "unscored_gold": "gold of labels the model does not predict",
    "unscored_gold_entity_types": "gold relations with a head or tail type its relation model does not mark",
    "unscored_gold_entities": "gold entities of types its NER does not predict",
    "unscored_gold_end_to_end": "gold relations end to end whose entity types its NER does not predict",
}


def unscored_lines(report: dict[str, Any]) -> list[str]:
    """A line per `unscored_*` count of `report`: the table's support leaves them out, and only the JSON said so."""
    return [
        f"Not scored, {what}: " + ", ".join(f"{count} {label}" for label, count in report[key].items())
        for key, what in UNSCORED_KEYS.items()
        if report.get(key)
    ]
