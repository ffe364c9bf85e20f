"""Fine-tune a PhoBERT token classifier for NER with the Hugging Face Trainer.

Sentences become model inputs through viextract's own `SubwordAligner` (word by word,
first subword labelled, -100 elsewhere, windows of at most 254 subwords), the same code
that runs at prediction time, so training and prediction cannot disagree. Dev is scored
each epoch with seqeval's strict IOB2 entity F1, which drives early stopping and the choice
of the best checkpoint. The final model is written atomically and loads with
`viextract.Extractor.from_pretrained(output_dir)`.

    python -m training.fit.train ner --config configs/ner.yaml [--set key=value ...] [--resume]
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from viextract.align import SubwordAligner, Window, best_window_per_word
from viextract.bio import TagBigrams, WordContext, WordShapes, best_valid_tags
from viextract.card import kept_dev_f1
from viextract.labels import ENTITY_LABELS, SCHEMA_VERSION, bio_labels, entity_types
from viextract.saving import atomic_directory

from ..data.documents import DataError, Document
from ..data.features import ner_dataset
from ..data.sizes import training_data_sizes
from ..evaluation.metrics import score_tags
from ..release.provenance import PROVENANCE_KEY, gold_origins, trained_provenance
from .config import ConfigError, TrainConfig
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

IGNORE_INDEX = -100  # label of subwords that are not a word's first, and of padding


@dataclass
class NerConfig(TrainConfig):
    task: ClassVar[str] = "ner"
    decoding_keys: ClassVar[frozenset[str]] = frozenset({"transition_weight", "context_weight", "shape_weight"})

    # Entity types to learn (SCHEMA.md names); gold entities of other types are trained as O.
    entity_labels: list[str] = field(default_factory=lambda: list(ENTITY_LABELS))
    # An entity type with no training example is an error unless this is true (then a warning).
    allow_unseen_labels: bool = False
    # Weight of the training tags' bigram log-probabilities in Viterbi decoding (viextract.bio.TagBigrams),
    # stored in the model; 0 leaves them out. 0.75 was chosen by k-fold over the non-test documents
    # for the bundled small model (docs/training.md).
    transition_weight: float = 0.75
    # Weight of what the previous word tells about a word's tag (PMI from the training tags,
    # viextract.bio.WordContext), stored in the model; 0 leaves it out. 1.5: chosen like transition_weight.
    context_weight: float = 1.5
    # Weight of what a word's shape (capitals, digits, punctuation) tells about its tag (PMI from the
    # training tags, viextract.bio.WordShapes), stored in the model; 0 leaves it out. 0.5: likewise.
    shape_weight: float = 0.5
    # Two augmented copies of each training document: what the decoding weights above were chosen
    # with (the bundled recipe); relation training keeps TrainConfig's default (none).
    augment: bool = True
    augment_copies: int = 2

    def validate(self, source: str = "config") -> None:
        super().validate(source)
        unknown = [label for label in self.entity_labels if label not in ENTITY_LABELS]
        if unknown:
            raise ConfigError(f"{source}: entity_labels: {unknown} are not SCHEMA.md labels {list(ENTITY_LABELS)}")
        if not self.entity_labels:
            raise ConfigError(f"{source}: entity_labels: must not be empty")
        if len(set(self.entity_labels)) != len(self.entity_labels):
            raise ConfigError(f"{source}: entity_labels: listed twice: {self.entity_labels}")
        for key in ("transition_weight", "context_weight", "shape_weight"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{source}: {key}: must be finite and >= 0, got {value}")


CONFIG_CLASS = NerConfig  # training.fit.train finds the `ner` config here


@dataclass(frozen=True)
class TaggedSentence:
    tokens: list[str]
    tags: list[str]


# ---- data ---------------------------------------------------------------------------------------


def tagged_sentences(documents: Sequence[Document], config: NerConfig, skip_empty: bool = True) -> list[TaggedSentence]:
    """Word-level sentences (training.data.features's words, split at gold boundaries) with the config's tags.

    Tags of entity types outside `config.entity_labels` become O.
    """
    dataset = ner_dataset(documents, segmenter=config.segmenter)
    names = dataset.features["ner_tags"].feature.names
    keep = set(config.entity_labels)
    sentences = []
    for tokens, ids in zip(dataset["tokens"], dataset["ner_tags"]):
        if not tokens and skip_empty:
            continue
        tags = [names[i] for i in ids]
        tags = [t if t == "O" or t[2:] in keep else "O" for t in tags]
        sentences.append(TaggedSentence(list(tokens), tags))
    return sentences


def check_labels_seen(sentences: Sequence[TaggedSentence], config: NerConfig, source: str | None = None) -> None:
    """An entity type with no training example cannot be learned: error, or warn if allowed."""
    check_labels_present(entity_types(tag for s in sentences for tag in s.tags), config, source)


def check_labels_present(seen: set[str], config: NerConfig, source: str | None = None) -> None:
    """Error (or warning, if allowed) for the entity labels not in `seen`; `source` names the training
    data in the message (default: the config's train files or split)."""
    missing = [label for label in config.entity_labels if label not in seen]
    if not missing:
        return
    message = (
        f"{source or describe_split(config, 'train')}: entities: no training example of {missing}; the model "
        f"could never predict them"
    )
    if config.allow_unseen_labels:
        logger.warning("%s (allow_unseen_labels is set: training anyway)", message)
        return
    raise DataError(f"{message}. Add examples, drop them from entity_labels, or set allow_unseen_labels=true")


def encode_windows(
    sentences: Sequence[TaggedSentence], aligner: SubwordAligner, label2id: dict[str, int]
) -> tuple[list[dict[str, list[int]]], list[tuple[int, Window]]]:
    """Model inputs (one per window) with first-subword labels, and (sentence index, window) of each."""
    features, index = [], []
    for s_index, sentence in enumerate(sentences):
        for window in aligner.windows(sentence.tokens):
            labels = [IGNORE_INDEX] * len(window.input_ids)
            for offset, position in enumerate(window.word_positions):
                labels[position] = label2id[sentence.tags[window.first_word + offset]]
            features.append({"input_ids": list(window.input_ids), "labels": labels})
            index.append((s_index, window))
    return features, index


class WindowDataset(torch.utils.data.Dataset):
    def __init__(self, features: list[dict[str, list[int]]]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.features[index]


@dataclass
class WindowCollator:
    """Right-pads input_ids with the tokenizer's pad id and labels with -100; builds attention_mask."""

    pad_token_id: int

    def __call__(self, features: Sequence[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        input_ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(features), width), dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
        for row, feature in enumerate(features):
            n = len(feature["input_ids"])
            input_ids[row, :n] = torch.tensor(feature["input_ids"], dtype=torch.long)
            attention_mask[row, :n] = 1
            labels[row, :n] = torch.tensor(feature["labels"], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


# ---- scoring ------------------------------------------------------------------------------------


def words_from_windows(
    log_probs: Any,
    index: Sequence[tuple[int, Window]],
    sentence_lengths: Sequence[int],
    id2label: dict[int, str],
    tables: DecodingTables | None = None,
    sentence_words: Sequence[Sequence[str]] | None = None,
) -> list[list[str]]:
    """Each sentence's word tags from per-window (positions x labels) log-probabilities.

    Each word's row comes from its most central window, and the sentence's tags are decoded the
    way `Extractor` decodes them (viextract.bio.best_valid_tags, with the decoding `tables` the
    model will be saved with; word context and shapes need `sentence_words`), so dev F1 during
    training scores what the saved model will output.
    """
    tables = tables or DecodingTables()
    labels = [id2label[i] for i in range(len(id2label))]
    by_sentence: dict[int, list[int]] = {}
    for row, (s_index, _) in enumerate(index):
        by_sentence.setdefault(s_index, []).append(row)
    tags: list[list[str]] = [[] for _ in sentence_lengths]
    for s_index, rows in by_sentence.items():
        windows = [index[row][1] for row in rows]
        words = [
            np.asarray(log_probs[rows[w_local]][position], dtype=np.float32)
            for w_local, position in best_window_per_word(windows, sentence_lengths[s_index])
        ]
        sentence = sentence_words[s_index] if sentence_words is not None else None
        tags[s_index] = [labels[i] for i in tables.decode(np.stack(words), labels, sentence)]
    return tags


def make_compute_metrics(
    dev: Sequence[TaggedSentence],
    index: Sequence[tuple[int, Window]],
    id2label: dict[int, str],
    tables: DecodingTables | None = None,
):
    lengths = [len(s.tokens) for s in dev]
    gold = [s.tags for s in dev]
    words = [s.tokens for s in dev]

    def compute_metrics(prediction) -> dict[str, float]:
        predicted = words_from_windows(prediction.predictions, index, lengths, id2label, tables, words)
        scores = score_tags(gold, predicted)
        metrics = {k: scores["micro"][k] for k in ("precision", "recall", "f1")}
        metrics.update({f"f1_{label}": row["f1"] for label, row in scores["per_label"].items()})
        return metrics

    return compute_metrics


def log_softmax_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    # Decoding a valid tag sequence needs each word's whole distribution, not only its argmax.
    return torch.log_softmax(logits.float(), dim=-1)


# ---- model --------------------------------------------------------------------------------------


def load_base_model(config: NerConfig, labels: Sequence[str]):
    """(model, tokenizer) from base_model (Hub id or directory), with a fresh head over `labels`."""
    from transformers import AutoModelForTokenClassification

    def build(directory: str):
        from transformers import AutoConfig

        model_config = AutoConfig.from_pretrained(
            directory,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
        )
        # A base model with another head gets a fresh one; float32 whatever the stored dtype.
        return load_base_weights(AutoModelForTokenClassification, directory, config=model_config, dtype=torch.float32)

    return load_base(config, "a token-classification model", build)


# ---- training -----------------------------------------------------------------------------------


def train_sentences(
    config: NerConfig,
    train: Sequence[TaggedSentence],
    dev: Sequence[TaggedSentence] | None,
    resume: bool = False,
    extra_metadata: dict[str, Any] | None = None,
    source: str | None = None,
) -> Path:
    """Fine-tune on word-level sentences; early-stop on `dev` (None: train all epochs, keep the last).

    `source` names the training data in errors (a k-fold fold's, not the config's train files).
    Returns the output directory (written by the main process only).
    """
    from transformers import set_seed

    check_paths(config)
    if not train:
        raise DataError(f"{source or describe_split(config, 'train')}: train: no sentences")
    if dev is not None and not dev:
        raise DataError(f"{describe_split(config, 'dev')}: dev: no sentences")
    check_labels_seen(train, config, source)
    resume_from, previous = checkpoint_to_resume(config, resume)

    set_seed(config.seed)  # before the head is initialised
    labels = bio_labels(tuple(config.entity_labels))
    model, tokenizer = load_base_model(config, labels)
    label2id = {label: i for i, label in enumerate(labels)}
    id2label = dict(enumerate(labels))
    tables = DecodingTables.estimate(train, labels, config)
    aligner = SubwordAligner(tokenizer, max_subwords=config.max_length - 2)
    train_features, _ = encode_windows(train, aligner, label2id)
    trainer = ner_trainer(config, model, tokenizer, WindowDataset(train_features), dev, aligner, id2label, tables)
    if aligner.truncated_words:
        logger.warning("%d words longer than a whole window were cut", aligner.truncated_words)
    logger.info(
        "train: %d sentences, %d windows; dev: %s sentences",
        len(train),
        len(train_features),
        len(dev) if dev is not None else "no",
    )
    evaluate = dev is not None
    check_resumable(model, resume_from)
    record_config(trainer, config, resume_from is not None, previous)
    result = trainer.train(resume_from_checkpoint=resume_from)

    output_dir = Path(config.output_dir)
    if trainer.is_world_process_zero():
        best = {}
        if evaluate:
            best = {
                "best_checkpoint": trainer.state.best_model_checkpoint,
                "best_dev_f1": trainer.state.best_metric,
                "kept_epoch": "best on dev" if config.select_on_dev else "last",
            }
        metadata = {
            **best,
            "train_sentences": len(train),
            "train_windows": len(train_features),
            "dev_sentences": len(dev) if dev is not None else 0,
            "global_step": result.global_step,
            "world_size": trainer.args.world_size,
            "train_loss": result.training_loss,
            "log_history": trainer.state.log_history,
            **(extra_metadata or {}),
            "data": training_data_sizes(config.to_dict()),
        }
        if evaluate:  # what the saved weights score on dev, which is not the best epoch's when the last is kept
            metadata["kept_dev_f1"] = kept_dev_f1(metadata)
        model = trainer.accelerator.unwrap_model(trainer.model)
        save_model(model, tokenizer, config, output_dir, metadata, tables)
        logger.info("model written to %s", output_dir)
    trainer.accelerator.wait_for_everyone()
    return output_dir


def ner_trainer(config: NerConfig, model, tokenizer, train_dataset, dev, aligner, id2label, tables):
    """The Hugging Face Trainer over windows; with `dev`, entity F1 on it each epoch (decoded as Extractor does)."""
    eval_dataset = compute_metrics = None
    if dev is not None:
        dev_features, dev_index = encode_windows(dev, aligner, {label: i for i, label in id2label.items()})
        eval_dataset = WindowDataset(dev_features)
        compute_metrics = make_compute_metrics(dev, dev_index, id2label, tables)
    evaluate = dev is not None
    # The token classifier returns a mean loss and ignores num_items_in_batch, though its forward takes
    # **kwargs; left to guess, the Trainer would scale gradients by the number of GPUs and GA steps.
    model.accepts_loss_kwargs = False
    return make_trainer(
        config,
        model=model,
        args=training_arguments(config, evaluate),
        data_collator=WindowCollator(tokenizer.pad_token_id),
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        compute_metrics=compute_metrics,
        preprocess_logits_for_metrics=log_softmax_logits if evaluate else None,
        callbacks=dev_callbacks(config, evaluate),
    )


@dataclass(frozen=True)
class DecodingTables:
    """What Viterbi weighs besides the model's own probabilities (viextract.bio), estimated from
    the training tags; each is None when its config weight is 0, and stored in config.json."""

    bigrams: TagBigrams | None = None
    context: WordContext | None = None
    shapes: WordShapes | None = None

    @classmethod
    def estimate(cls, train: Sequence[TaggedSentence], labels: Sequence[str], config: NerConfig) -> DecodingTables:
        return cls(
            tag_bigrams(train, labels, config.transition_weight),
            word_context(train, labels, config.context_weight),
            word_shapes(train, labels, config.shape_weight),
        )

    def decode(self, log_probs: np.ndarray, labels: Sequence[str], words: Sequence[str] | None) -> list[int]:
        return best_valid_tags(log_probs, labels, self.bigrams, self.context, words, self.shapes)

    def settings(self) -> dict[str, Any]:
        """The `viextract` entries of config.json that viextract.ner reads back."""
        return {type(t).KEY: t.to_dict() for t in (self.bigrams, self.context, self.shapes) if t is not None}


def tag_bigrams(train: Sequence[TaggedSentence], labels: Sequence[str], weight: float) -> TagBigrams | None:
    """The training tags' bigram statistics that Viterbi decoding adds (None when the weight is 0)."""
    return TagBigrams.estimate((s.tags for s in train), labels, weight) if weight > 0 else None


def word_context(train: Sequence[TaggedSentence], labels: Sequence[str], weight: float) -> WordContext | None:
    """What each frequent previous word tells about the next tag, for decoding (None when the weight is 0)."""
    return WordContext.estimate(((s.tokens, s.tags) for s in train), labels, weight) if weight > 0 else None


def word_shapes(train: Sequence[TaggedSentence], labels: Sequence[str], weight: float) -> WordShapes | None:
    """What each word shape (capitals, digits) tells about its tag, for decoding (None when the weight is 0)."""
    return WordShapes.estimate(((s.tokens, s.tags) for s in train), labels, weight) if weight > 0 else None


def save_model(
    model,
    tokenizer,
    config: NerConfig,
    output_dir: Path,
    metadata: dict[str, Any],
    tables: DecodingTables | None = None,
) -> None:
    """Model, tokenizer, resolved config and training metrics; all or nothing (atomic_directory)."""
    settings: dict[str, Any] = {"segmenter": config.segmenter, "schema_version": SCHEMA_VERSION}
    settings.update(tables.settings() if tables is not None else {})
    # Licences flow from the base to what is trained from it (training.release.provenance).
    provenance = metadata.get("provenance") or trained_provenance(config.base_model, [], *gold_origins(config))
    settings[PROVENANCE_KEY] = provenance
    model.config.viextract = settings
    with atomic_directory(output_dir) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        config.save(staging)
        (staging / METRICS_FILENAME).write_text(json.dumps(jsonable(metadata), indent=2) + "\n", encoding="utf-8")


def train_documents(
    config: NerConfig,
    train: Sequence[Document],
    dev: Sequence[Document] | None,
    resume: bool = False,
    silver: Sequence[Document] | None = None,
    source: str | None = None,
) -> Path:
    """Augment (if configured), add the silver documents, turn documents into tagged sentences and train.

    `silver` replaces the config's silver_files when given (k-fold passes each fold its own, leak-free);
    `source` names the training documents in errors (default: the config's train files or split).
    """
    train = augment_documents(config, list(train))
    counts = {"train_documents": len(train), "dev_documents": len(dev or [])}
    train, counts["silver_documents"] = add_silver(config, train, silver)
    counts["provenance"] = trained_provenance(config.base_model, [doc.id for doc in train], *gold_origins(config))
    train_sentences_ = tagged_sentences(train, config)
    dev_sentences = tagged_sentences(dev, config) if dev is not None else None
    return train_sentences(config, train_sentences_, dev_sentences, resume, counts, source)


def run(config: NerConfig, resume: bool = False) -> Path:
    """Train from the config's data (train split, early stopping on dev) and write the model."""
    check_checkpoint_dir(config, resume)  # before the data: a wrong --resume costs no minutes
    train, dev = load_training_documents(config)
    return train_documents(config, train, dev, resume)
