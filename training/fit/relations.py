"""Fine-tune the relation model (`viextract.relations.RobertaForRelationClassification`).

Examples are training.data.features's relation rows: every ordered pair of gold entities in a sentence
that SCHEMA.md allows, labelled with its gold relation or `no_relation`. They become model
inputs through viextract's own `RelationEncoder` (typed entity markers, windows of at most
`max_length` subwords), the code that runs at prediction time. `no_relation` pairs of the
training split are sampled down to `negative_ratio` per relation; dev keeps every pair. Each
epoch dev relation F1 (at the best threshold) drives early stopping and the choice of the best
checkpoint; at the end the decision threshold is chosen on dev and stored in config.json. The
final directory is written atomically and is the `re/` of a model directory next to `ner/`.

    python -m training.fit.train re --config configs/re.yaml [--set key=value ...] [--resume]
"""

from __future__ import annotations

import inspect
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from viextract.card import kept_dev_f1
from viextract.labels import ENTITY_LABELS, NO_RELATION, RELATION_LABELS, SCHEMA_VERSION
from viextract.markers import MARKER_FORMAT, MARKER_FORMATS, SYMBOL_MARKER_FORMAT, default_type_words, pair_labels
from viextract.relations import (
    ARCHITECTURES,
    ONE_PASS,
    PADDED_LABEL,
    SINGLE_CHOICES,
    TYPED_MARKERS,
    RelationConfig,
    RelationEncoder,
    RelationExtractor,
    RobertaForRelationClassification,
)
from viextract.saving import atomic_directory

from ..data.documents import DataError, Document
from ..data.sizes import training_data_sizes
from ..release.provenance import PROVENANCE_KEY, gold_origins, trained_provenance
from .config import ConfigError, TrainConfig
from .relation_examples import (
    RelationExample,
    adjacent_relations,
    class_weights,
    nearest_counts,
    relation_examples,
    sample_negatives,
    single_counts,
    single_labels,
)
from .relation_features import PairCollator, PairDataset, WindowCollator, encode_features, unknown_marker_words
from .trainer import (
    METRICS_FILENAME,
    add_silver,
    augment_documents,
    check_checkpoint_dir,
    check_paths,
    check_resumable,
    checkpoint_to_resume,
    describe_split,
    dev_callbacks,
    jsonable,
    load_base,
    load_base_weights,
    load_training_documents,
    make_trainer,
    record_config,
    training_arguments,
)

logger = logging.getLogger(__name__)

CLASS_WEIGHTINGS = ("none", "balanced", "sqrt_balanced")
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95


@dataclass
class ReConfig(TrainConfig):
    task: ClassVar[str] = "re"
    decoding_keys: ClassVar[frozenset[str]] = frozenset(
        {"threshold", "single_head", "single_tail", "single_choice", "adjacent_rules"}
    )

    output_dir: str = "outputs/re"
    learning_rate: float = 3e-5
    epochs: float = 10
    early_stopping_patience: int = 3
    # Relation labels to learn (SCHEMA.md names); gold relations of other labels are trained as no_relation.
    relation_labels: list[str] = field(default_factory=lambda: list(RELATION_LABELS))
    # Entity types the model can mark; pairs with an argument of another type are never scored.
    entity_labels: list[str] = field(default_factory=lambda: list(ENTITY_LABELS))
    # no_relation training pairs kept per relation pair (sampled once with `seed`); -1 keeps them all.
    negative_ratio: float = 3.0
    # Loss weight per label from the sampled training pairs: none, balanced (n / (k * count)) or sqrt_balanced.
    class_weights: str = "none"
    # Decision threshold on a relation's probability; null chooses it on dev (F1-best on a 0.05 grid).
    threshold: float | None = None
    # Labels whose tails have a single head in the training relations (has_title: one holder per
    # title mention) keep one head of each tail at prediction; false keeps all.
    single_head: bool = True
    # Likewise labels whose heads have a single tail in the training relations (an event has one
    # date, a person signs one agreement per sentence) keep one tail of each head.
    single_tail: bool = True
    # The share of a label's tails (heads) that must have a single head (tail) in the training
    # relations for single_head (single_tail) to claim it; 1.0 asks it of every one. Below 1, a
    # few annotated exceptions (a date shared by an agreement and the meeting that signed it) do
    # not turn the rule off for the label: the shares are in training_metrics.json.
    single_share: float = 0.95
    # Which one is kept: the nearest (fewest words between head and tail) of those that reach the
    # threshold, or the most probable ("probability"). In the bundled model's training relations the
    # single head was the nearest one 387 times in 401 (nearest_counts, docs/training.md).
    single_choice: str = "nearest"
    # Pairs of types that, written with no word between them, held one relation every time in the
    # training relations (at least ADJACENT_MIN_COUNT times: `Trung tướng Lê Đức Thái` is has_title)
    # are stored as rules; at prediction such a pair gets that relation whatever its probability.
    adjacent_rules: bool = True
    # Add marker words the base tokenizer can only write as <unk> (a small vocabulary without `#`,
    # `*`, `^`) as new tokens, with embeddings learned in fine-tuning. PhoBERT's vocabulary has them all.
    add_missing_marker_tokens: bool = True
    # typed_markers: one input per candidate pair; one_pass: one input per sentence (window), every
    # pair scored from it (viextract.onepass). A config without the key trains what it always did.
    architecture: str = TYPED_MARKERS
    # How one_pass marks an entity: typed_entity_marker_punct (`@ * người * ... @`, five subwords) or
    # typed_symbol (`* ... @`, two: one symbol per type opens it); typed_markers takes only the first.
    marker_format: str = MARKER_FORMAT

    def validate(self, source: str = "config") -> None:
        super().validate(source)
        for key, known in (("relation_labels", RELATION_LABELS), ("entity_labels", ENTITY_LABELS)):
            values = getattr(self, key)
            if unknown := [v for v in values if v not in known]:
                raise ConfigError(f"{source}: {key}: {unknown} are not SCHEMA.md labels {list(known)}")
            if not values:
                raise ConfigError(f"{source}: {key}: must not be empty")
            if len(set(values)) != len(values):
                raise ConfigError(f"{source}: {key}: listed twice: {values}")
        if not any(pair_labels(h, t, self.relation_labels) for h in self.entity_labels for t in self.entity_labels):
            raise ConfigError(f"{source}: entity_labels: no relation of relation_labels links these types")
        if self.negative_ratio != -1 and self.negative_ratio < 0:
            raise ConfigError(f"{source}: negative_ratio: must be -1 (keep all) or >= 0, got {self.negative_ratio}")
        if self.class_weights not in CLASS_WEIGHTINGS:
            raise ConfigError(f"{source}: class_weights: expected one of {list(CLASS_WEIGHTINGS)}")
        if self.single_choice not in SINGLE_CHOICES:
            raise ConfigError(
                f"{source}: single_choice: expected one of {list(SINGLE_CHOICES)}, got {self.single_choice!r}"
            )
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(
                f"{source}: architecture: expected one of {list(ARCHITECTURES)}, got {self.architecture!r}"
            )
        if self.marker_format not in MARKER_FORMATS:
            raise ConfigError(
                f"{source}: marker_format: expected one of {list(MARKER_FORMATS)}, got {self.marker_format!r}"
            )
        if self.marker_format == SYMBOL_MARKER_FORMAT and self.architecture != ONE_PASS:
            raise ConfigError(f"{source}: marker_format: {SYMBOL_MARKER_FORMAT} needs architecture: {ONE_PASS}")
        if not 0.0 < self.single_share <= 1.0:
            raise ConfigError(f"{source}: single_share: must be in (0, 1], got {self.single_share}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"{source}: threshold: must be in [0, 1] or null, got {self.threshold}")


CONFIG_CLASS = ReConfig  # training.fit.train finds the `re` config here


# ---- scoring ------------------------------------------------------------------------------------


def best_relations(probs: Any, no_relation_id: int) -> tuple[list[int], list[float]]:
    """Per row: the most probable label that is not no_relation, and its probability."""
    probs = torch.as_tensor(probs, dtype=torch.float32).clone()
    probs[:, no_relation_id] = -1.0
    best_prob, best_id = probs.max(dim=-1)
    return best_id.tolist(), best_prob.clamp(min=0.0).tolist()


def pair_scores(
    gold: Sequence[int], best_id: Sequence[int], best_prob: Sequence[float], threshold: float, no_relation_id: int
) -> dict[str, float]:
    """Micro P/R/F1 over candidate pairs: a pair is predicted when its best relation reaches `threshold`."""
    correct = predicted = golden = 0
    for g, b, p in zip(gold, best_id, best_prob):
        golden += g != no_relation_id
        if p >= threshold and p > 0.0:
            predicted += 1
            correct += g == b
    precision = correct / predicted if predicted else 0.0
    recall = correct / golden if golden else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "gold": golden, "predicted": predicted}


def choose_threshold(
    gold: Sequence[int], probs: Any, no_relation_id: int, grid: Sequence[float] = THRESHOLD_GRID
) -> tuple[float, dict[str, float]]:
    """The grid threshold with the best dev F1 (ties: the one nearest 0.5), and the scores there."""
    best_id, best_prob = best_relations(probs, no_relation_id)
    scored = [(t, pair_scores(gold, best_id, best_prob, t, no_relation_id)) for t in grid]
    threshold, scores = max(scored, key=lambda item: (round(item[1]["f1"], 9), -abs(item[0] - 0.5)))
    return threshold, scores


def softmax_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Label probabilities per pair; for one_pass (labels per window) laid out as the labels are.

    The Trainer keeps as many output rows as its dataset has items: one per pair for typed
    markers, one per window for one_pass, so one_pass probabilities go one row per window too.
    """
    probs = torch.softmax(logits.float(), dim=-1)
    if labels.dim() < 2:
        return probs
    out = probs.new_full((*labels.shape, probs.size(-1)), float(PADDED_LABEL))
    out[labels != PADDED_LABEL] = probs
    return out


def scored_pairs(prediction) -> tuple[list[int], Any]:
    """(gold label, probabilities) of every scored pair of an evaluation, padding slots dropped."""
    labels = np.asarray(prediction.label_ids)
    probs = np.asarray(prediction.predictions)
    keep = labels != PADDED_LABEL
    return [int(x) for x in labels[keep]], probs[keep]


def make_compute_metrics(no_relation_id: int, fixed_threshold: float | None):
    def compute_metrics(prediction) -> dict[str, float]:
        gold, probs = scored_pairs(prediction)
        if fixed_threshold is None:
            threshold, scores = choose_threshold(gold, probs, no_relation_id)
        else:
            best_id, best_prob = best_relations(probs, no_relation_id)
            threshold = fixed_threshold
            scores = pair_scores(gold, best_id, best_prob, threshold, no_relation_id)
        return {
            "precision": scores["precision"],
            "recall": scores["recall"],
            "f1": scores["f1"],
            "threshold": threshold,
        }

    return compute_metrics


# ---- model --------------------------------------------------------------------------------------


def relation_head_keys() -> tuple[str, ...]:
    """config.json keys of a relation head, not of its encoder: labels, every RelationConfig argument, stamps."""
    parameters = inspect.signature(RelationConfig.__init__).parameters.values()
    own = [p.name for p in parameters if p.name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]
    labels = ("model_type", "architectures", "id2label", "label2id", "num_labels")
    return (*labels, *own, "transformers_version", "viextract")


def load_base_model(config: ReConfig, labels: Sequence[str]):
    """(model, tokenizer): the base encoder (Hub id or directory) under a fresh relation head."""
    return load_base(config, "a RoBERTa encoder", lambda directory: relation_model(config, labels, directory))


def relation_model(config: ReConfig, labels: Sequence[str], directory: str) -> tuple[Any, dict]:
    """(model, loading info): the encoder in `directory` under a fresh relation head over `labels`, in float32."""
    from transformers import AutoConfig

    base = AutoConfig.from_pretrained(directory).to_dict()
    # A relation model as base (training on) keeps its encoder; the head and its settings start afresh.
    for key in relation_head_keys():
        base.pop(key, None)
    relation_config = RelationConfig(
        **base,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        entity_labels=list(config.entity_labels),
        marker_format=config.marker_format,
        marker_type_words=default_type_words(config.marker_format, config.entity_labels),
        threshold=config.threshold if config.threshold is not None else 0.5,
        max_input_length=config.max_length,
        architecture=config.architecture,
    )
    # float32 whatever the stored dtype: a float16 model as base (the bundled one) would otherwise
    # train in float16 on the CPU and overflow.
    return load_base_weights(RobertaForRelationClassification, directory, config=relation_config, dtype=torch.float32)


# ---- training -----------------------------------------------------------------------------------


def train_examples(
    config: ReConfig,
    train: Sequence[RelationExample],
    dev: Sequence[RelationExample] | None,
    resume: bool = False,
    extra_metadata: dict[str, Any] | None = None,
    source: str | None = None,
) -> Path:
    """Fine-tune on relation examples, early-stop on dev F1, choose the threshold on dev, write the model.

    With `dev` None (k-fold folds), training runs the config's epochs and keeps the config's
    fixed `threshold`, which must then be set. `source` names the training data in errors.
    """
    from transformers import set_seed

    check_paths(config)
    labels = [NO_RELATION, *config.relation_labels]
    sampled, counts = sampled_examples(config, train, dev, source)
    resume_from, previous = checkpoint_to_resume(config, resume)

    set_seed(config.seed)  # before the head is initialised
    model, tokenizer = load_base_model(config, labels)
    model.config.class_weights = class_weights(sampled, labels, config.class_weights)
    encoder, unknown, added = marker_encoder(config, model, tokenizer)
    train_features = encode_features(train, encoder, sampled)
    dev_features = encode_features(dev, encoder) if dev is not None else None
    if encoder.truncated:
        logger.warning("%d candidate pairs were cut to a window around their arguments", encoder.truncated)
    if encoder.lost:
        logger.warning("%d candidate pairs lay in no window holding both arguments; not trained on", encoder.lost)
    dev_size = "none" if dev is None else f"{len(dev)} pairs ({sum(e.label != NO_RELATION for e in dev)} relations)"
    logger.info(
        "train: %d pairs (%s); dev: %s",
        len(sampled),
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        dev_size,
    )
    no_relation_id = labels.index(NO_RELATION)
    trainer = relation_trainer(config, model, tokenizer, train_features, dev_features, no_relation_id)
    check_resumable(model, resume_from)
    record_config(trainer, config, resume_from is not None, previous)
    result = trainer.train(resume_from_checkpoint=resume_from)
    # The kept checkpoint (the best on dev, or the last) is loaded: choose the threshold on dev with
    # it (every rank, same answer).
    threshold, dev_scores = dev_threshold(config, trainer, dev_features, no_relation_id)

    output_dir = Path(config.output_dir)
    if trainer.is_world_process_zero():
        final = trainer.accelerator.unwrap_model(trainer.model)
        final.config.threshold = float(threshold)
        shares, nearest = set_decision_rules(final.config, config, train)
        metadata = {
            "best_checkpoint": trainer.state.best_model_checkpoint,
            "best_dev_f1": trainer.state.best_metric,
            "kept_epoch": "best on dev" if config.select_on_dev else "last",
            "threshold": threshold,
            "dev_at_threshold": dev_scores,
            "train_pairs": len(sampled),
            "train_pairs_before_sampling": len(train),
            "train_labels": dict(sorted(counts.items())),
            "single": shares,
            "nearest": nearest,
            "dev_pairs": len(dev) if dev is not None else None,
            "truncated_pairs": encoder.truncated,
            "data": training_data_sizes(config.to_dict()),
            "pairs_in_no_window": encoder.lost,
            "unknown_marker_words": unknown,
            "added_marker_tokens": added,
            "global_step": result.global_step,
            "train_loss": result.training_loss,
            "log_history": trainer.state.log_history,
            **(extra_metadata or {}),
        }
        metadata["kept_dev_f1"] = kept_dev_f1(metadata)  # not the best epoch's when the last one is kept
        save_model(final, tokenizer, config, output_dir, metadata)
        logger.info("model written to %s", output_dir)
    trainer.accelerator.wait_for_everyone()
    return output_dir


def sampled_examples(
    config: ReConfig,
    train: Sequence[RelationExample],
    dev: Sequence[RelationExample] | None,
    source: str | None = None,
) -> tuple[list[RelationExample], Counter]:
    """The training examples after negative sampling, and their label counts; errors before any model loads.

    `source` names the training data in errors (default: the config's train files or split)."""
    sampled = sample_negatives(train, config.negative_ratio, config.seed)
    if not any(e.label != NO_RELATION for e in sampled):
        where = source or describe_split(config, "train")
        raise DataError(f"{where}: train: no relation example among the candidate pairs; nothing to learn")
    if dev is None:
        if config.threshold is None:
            raise ConfigError(
                "threshold: training without a dev set needs a fixed threshold (e.g. --set threshold=0.5)"
            )
    elif not dev:
        where = describe_split(config, "dev")
        raise DataError(f"{where}: dev: no candidate pair to early-stop and choose the threshold on")
    counts = Counter(e.label for e in sampled)
    if missing := [label for label in config.relation_labels if not counts[label]]:
        logger.warning("train: no example of %s; the model will not learn them", missing)
    return sampled, counts


def marker_encoder(config: ReConfig, model, tokenizer) -> tuple[RelationEncoder, list[str], list[str]]:
    """(encoder, marker words still <unk>, marker words added to the vocabulary): adds them if configured."""
    encoder = RelationEncoder(model.config, tokenizer)
    unknown = unknown_marker_words(encoder)
    added: list[str] = []
    if unknown and config.add_missing_marker_tokens:
        logger.warning("base model %r: adding marker words %s to its vocabulary", config.base_model, unknown)
        tokenizer.add_tokens(unknown)
        model.resize_token_embeddings(len(tokenizer))
        encoder = RelationEncoder(model.config, tokenizer)
        added, unknown = unknown, unknown_marker_words(encoder)
        if unknown:
            raise RuntimeError(f"marker words {unknown} are still <unk> after adding them to the tokenizer")
    elif unknown:
        logger.warning(
            "base model %r: the tokenizer writes the marker words %s as <unk>, so they look alike to the model; "
            "a vocabulary with them (PhoBERT's has) marks entities better",
            config.base_model,
            unknown,
        )
    return encoder, unknown, added


def relation_trainer(config: ReConfig, model, tokenizer, train_features, dev_features, no_relation_id: int):
    """The Hugging Face Trainer over pair (or sentence) features; dev F1 each epoch when there is a dev set."""
    evaluate = dev_features is not None
    args = training_arguments(config, evaluate=evaluate, label_names=["labels"])  # not label_mask, an input
    return make_trainer(
        config,
        model=model,
        args=args,
        data_collator=(WindowCollator if config.architecture == ONE_PASS else PairCollator)(tokenizer.pad_token_id),
        train_dataset=PairDataset(train_features),
        eval_dataset=PairDataset(dev_features) if evaluate else None,
        compute_metrics=make_compute_metrics(no_relation_id, config.threshold) if evaluate else None,
        preprocess_logits_for_metrics=softmax_logits if evaluate else None,
        callbacks=dev_callbacks(config, evaluate),
    )


def dev_threshold(config: ReConfig, trainer, dev_features, no_relation_id: int) -> tuple[float, dict | None]:
    """(threshold, dev scores at it): chosen on dev unless the config fixes it; no scores without dev."""
    threshold, dev_scores = config.threshold, None
    if dev_features is not None:
        gold, probs = scored_pairs(trainer.predict(PairDataset(dev_features)))
        if config.threshold is None:
            threshold, dev_scores = choose_threshold(gold, probs, no_relation_id)
        else:
            best_id, best_prob = best_relations(probs, no_relation_id)
            dev_scores = pair_scores(gold, best_id, best_prob, threshold, no_relation_id)
        logger.info("threshold %.2f: dev relation F1 %.4f", threshold, dev_scores["f1"])
    return threshold, dev_scores


def set_decision_rules(model_config, config: ReConfig, train: Sequence[RelationExample]) -> tuple[dict, dict]:
    """Write the single-head/tail, nearest-choice and adjacency rules learned from `train` into the model's
    config; returns the one-partner shares and nearest counts they came from, for the metrics."""
    shares = {kept: single_counts(train, config.relation_labels, kept) for kept in ("head", "tail")}
    heads = single_labels(shares["head"], config.single_share) if config.single_head else []
    tails = single_labels(shares["tail"], config.single_share) if config.single_tail else []
    model_config.single_head_labels, model_config.single_tail_labels = heads, tails
    model_config.single_choice = config.single_choice
    for kept, found in shares.items():
        logger.info(
            "single-%s shares (%ss with one partner): %s",
            kept,
            {"head": "tail", "tail": "head"}[kept],
            ", ".join(f"{label} {n} of {total}" for label, (n, total) in found.items()),
        )
    nearest = {"head": nearest_counts(train, heads, "head"), "tail": nearest_counts(train, tails, "tail")}
    for kept, found in nearest.items():
        if found:
            logger.info(
                "single-%s relations whose %s is the nearest of its type: %s",
                kept,
                kept,
                ", ".join(f"{label} {n} of {total}" for label, (n, total) in found.items()),
            )
    model_config.adjacent_relations = adjacent_relations(train, config.relation_labels) if config.adjacent_rules else []
    return shares, nearest


def save_model(model, tokenizer, config: ReConfig, output_dir: Path, metadata: dict[str, Any]) -> None:
    """The relation model (a `re/` directory), resolved config and training metrics; all or nothing."""
    model.config.viextract = {"segmenter": config.segmenter, "schema_version": SCHEMA_VERSION}
    # Licences flow from the base to what is trained from it (training.release.provenance).
    provenance = metadata.get("provenance") or trained_provenance(config.base_model, [], *gold_origins(config))
    model.config.viextract[PROVENANCE_KEY] = provenance
    with atomic_directory(output_dir) as staging:
        RelationExtractor(model, tokenizer).save_pretrained(staging, atomic=False)
        config.save(staging)
        (staging / METRICS_FILENAME).write_text(json.dumps(jsonable(metadata), indent=2) + "\n", encoding="utf-8")


def train_documents(
    config: ReConfig,
    train: Sequence[Document],
    dev: Sequence[Document] | None,
    resume: bool = False,
    source: str | None = None,
) -> Path:
    """Augment (if configured), add the config's silver documents, turn documents into candidate pairs and train.

    `dev` None trains without one (k-fold folds): the config's epochs and fixed threshold. `source`
    names the training documents in errors (default: the config's train files or split).
    """
    train = augment_documents(config, list(train))
    counts = {"train_documents": len(train), "dev_documents": len(dev) if dev is not None else 0}
    train, counts["silver_documents"] = add_silver(config, train)
    counts["provenance"] = trained_provenance(config.base_model, [doc.id for doc in train], *gold_origins(config))
    dev_examples = relation_examples(dev, config) if dev is not None else None
    return train_examples(config, relation_examples(train, config), dev_examples, resume, counts, source)


def run(config: ReConfig, resume: bool = False) -> Path:
    """Train from the config's data (train split, early stopping and threshold on dev) and write the model."""
    check_checkpoint_dir(config, resume)  # before the data: a wrong --resume costs no minutes
    train, dev = load_training_documents(config)
    return train_documents(config, train, dev, resume)
