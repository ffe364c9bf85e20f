"""The relation model: a RoBERTa (PhoBERT) encoder that classifies marked pairs of entities.

Two architectures share one config and model class (`RelationConfig.architecture`):
"typed_markers" encodes each candidate pair on its own, with `@`/`#` markers around head and
tail (`markers.py`); "one_pass" marks every entity of a sentence at once, encodes the sentence
(or each window of it) once and scores all its pairs from that encoding (`onepass.py`).

`RelationConfig` and `RobertaForRelationClassification` are registered with `AutoConfig` and
`AutoModel` under `model_type = "viextract_relation"`, so once `viextract.relations` is
imported, `AutoModel.from_pretrained(dir)`, `save_pretrained` and `push_to_hub` work as for
any `transformers` model. `RelationExtractor` adds the tokenizer, candidate generation,
batching and the decision threshold; `Extractor` calls it for each sentence with two or
more entities.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, RobertaConfig, RobertaModel, RobertaPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .align import MAX_LENGTH, SubwordAligner
from .errors import ModelLoadError
from .labels import ENTITY_LABELS, NO_RELATION, RELATION_LABELS, allowed_relations
from .loading import (
    RELATION_MODEL_TYPE,
    check_loading_info,
    check_relation_labels,
    load_tokenizer,
    read_config,
    refuse_ner_model,
)
from .markers import (
    ADJACENT_ORDERS,
    MARKER_FORMAT,
    MARKER_FORMATS,
    SYMBOL_MARKER_FORMAT,
    Mention,
    PairInput,
    adjacent_rule_key,
    candidate_pairs,
    check_mentions,
    default_type_words,
    encode_pair,
    mark_pair,
    same_name,
    words_between,
)
from .ner import pad_batch, plan_batches
from .onepass import NUM_DISTANCE_BUCKETS, WindowInput, encode_sentence
from .quiet import quiet_unless_verbose
from .saving import atomic_directory, check_save_target, refuse_quantized
from .truncation import note_truncation, reports_truncations

MODEL_TYPE = RELATION_MODEL_TYPE
DEFAULT_THRESHOLD = 0.5
# How a tail of a single-head label (a head of a single-tail label) picks the one it keeps.
SINGLE_CHOICES = ("nearest", "probability")
TYPED_MARKERS, ONE_PASS = "typed_markers", "one_pass"
# A label slot with no pair behind it (one_pass labels are padded per window); cross-entropy ignores it.
PADDED_LABEL = -100
ARCHITECTURES = (TYPED_MARKERS, ONE_PASS)


class RelationConfig(RobertaConfig):
    """A RoBERTa config plus what the relation model needs to read its own inputs.

    `id2label` holds SCHEMA.md relation labels and `no_relation`; `entity_labels` the entity
    types it can mark (with `marker_type_words[label]` written between the type markers);
    `marker_format` how an entity is marked: "typed_entity_marker_punct" (`@ * người * ... @`)
    or, with one_pass only, "typed_symbol" (`marker_type_words[label]` is a symbol that opens the
    entity and `@` closes it: `* ... @`);
    `threshold` the probability a relation needs to be returned (chosen on dev in training);
    `max_input_length` the subwords per input, <s> and </s> included (not `max_length`, which
    `transformers` reserves for generation); `single_head_labels` the relation labels whose
    tail takes at most one head (no tail had two in the training data: a title mention belongs
    to one person), so that only one head of each tail is returned, and `single_tail_labels`
    those whose head takes at most one tail (an event has one date); `single_choice` which one
    is kept: the nearest in words of those that reach the threshold ("nearest"; the probability
    breaks ties) or the most probable ("probability", what a config without the field means);
    `adjacent_relations` the pairs of types that, written with no word between them, always held
    one relation in the training data (`Trung tướng Lê Đức Thái`: has_title), each as
    {"head": type, "tail": type, "order": "head_first" | "tail_first", "label": relation};
    `architecture` how pairs are encoded: "typed_markers" (one input per pair, what a config
    without the field means: models saved before it existed) or "one_pass" (one per sentence).
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        entity_labels: Sequence[str] | None = None,
        marker_format: str = MARKER_FORMAT,
        marker_type_words: dict[str, str] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        max_input_length: int = MAX_LENGTH,
        class_weights: Sequence[float] | None = None,
        single_head_labels: Sequence[str] = (),
        single_tail_labels: Sequence[str] = (),
        adjacent_relations: Sequence[dict[str, str]] = (),
        single_choice: str = "probability",
        architecture: str = TYPED_MARKERS,
        **kwargs: Any,
    ):
        if "id2label" not in kwargs and "label2id" not in kwargs and "num_labels" not in kwargs:
            labels = [NO_RELATION, *RELATION_LABELS]
            kwargs["id2label"] = dict(enumerate(labels))
            kwargs["label2id"] = {label: i for i, label in enumerate(labels)}
        super().__init__(**kwargs)
        self.entity_labels = list(entity_labels) if entity_labels is not None else list(ENTITY_LABELS)
        self.marker_format = marker_format
        self.marker_type_words = (
            dict(marker_type_words)
            if marker_type_words is not None
            else default_type_words(marker_format, self.entity_labels)
        )
        self.threshold = float(threshold)
        self.max_input_length = int(max_input_length)
        self.class_weights = list(class_weights) if class_weights is not None else None
        self.single_head_labels = list(single_head_labels)
        self.single_tail_labels = list(single_tail_labels)
        self.adjacent_relations = [dict(rule) for rule in adjacent_relations]
        self.single_choice = single_choice
        self.architecture = architecture

    @property
    def relation_labels(self) -> list[str]:
        """The relation labels this model predicts, `no_relation` excluded, in id order."""
        return [self.id2label[i] for i in sorted(self.id2label) if self.id2label[i] != NO_RELATION]

    def problems(self) -> list[str]:
        """What is inconsistent in this config (empty when it can be used), each naming its field."""
        found = []
        labels = [self.id2label[i] for i in sorted(self.id2label)]
        allowed = {NO_RELATION, *RELATION_LABELS}
        if unknown := sorted(set(labels) - allowed):
            found.append(f"field 'id2label': relation labels {unknown} are not in SCHEMA.md")
        if NO_RELATION not in labels:
            found.append(f"field 'id2label': label {NO_RELATION!r} is missing")
        if len(set(labels)) != len(labels):
            found.append("field 'id2label': a label is listed twice")
        if {label: i for i, label in enumerate(labels)} != {k: int(v) for k, v in self.label2id.items()}:
            found.append("field 'label2id': does not invert 'id2label'")
        if unknown := sorted(set(self.entity_labels) - set(ENTITY_LABELS)):
            found.append(f"field 'entity_labels': {unknown} are not SCHEMA.md entity labels")
        if missing := [label for label in self.entity_labels if not self.marker_type_words.get(label)]:
            found.append(f"field 'marker_type_words': no type word for {missing}")
        if self.marker_format not in MARKER_FORMATS:
            found.append(f"field 'marker_format': {self.marker_format!r} is not one of {list(MARKER_FORMATS)}")
        elif self.marker_format == SYMBOL_MARKER_FORMAT and self.architecture != ONE_PASS:
            found.append(f"field 'marker_format': {SYMBOL_MARKER_FORMAT!r} needs architecture {ONE_PASS!r}")
        if not 0.0 <= self.threshold <= 1.0:
            found.append(f"field 'threshold': must be in [0, 1], got {self.threshold}")
        if not 4 <= self.max_input_length <= self.max_position_embeddings - 2:
            found.append(
                f"field 'max_input_length': {self.max_input_length} does not fit max_position_embeddings "
                f"{self.max_position_embeddings}"
            )
        for key in ("single_head_labels", "single_tail_labels"):
            if unknown := sorted(set(getattr(self, key)) - set(self.relation_labels)):
                found.append(f"field '{key}': {unknown} are not relation labels of this model")
        if self.single_choice not in SINGLE_CHOICES:
            found.append(f"field 'single_choice': {self.single_choice!r} is not one of {list(SINGLE_CHOICES)}")
        if self.architecture not in ARCHITECTURES:
            found.append(f"field 'architecture': {self.architecture!r} is not one of {list(ARCHITECTURES)}")
        found.extend(self._adjacent_problems())
        if self.class_weights is not None and len(self.class_weights) != len(labels):
            found.append(f"field 'class_weights': {len(self.class_weights)} weights for {len(labels)} labels")
        return found

    def _adjacent_problems(self) -> list[str]:
        found, seen = [], set()
        for index, rule in enumerate(self.adjacent_relations):
            where = f"field 'adjacent_relations'[{index}]"
            keys = {"head", "tail", "order", "label"}
            if not isinstance(rule, dict) or set(rule) != keys or not all(isinstance(v, str) for v in rule.values()):
                found.append(f"{where}: expected the strings head, tail, order, label; got {rule!r}")
                continue
            if rule["order"] not in ADJACENT_ORDERS:
                found.append(f"{where}: order {rule['order']!r} is not one of {list(ADJACENT_ORDERS)}")
            if rule["label"] not in self.relation_labels:
                found.append(f"{where}: {rule['label']!r} is not a relation label of this model")
            elif rule["label"] not in allowed_relations(rule["head"], rule["tail"]):
                found.append(f"{where}: SCHEMA.md does not allow {rule['label']} from {rule['head']} to {rule['tail']}")
            key = (rule["head"], rule["tail"], rule["order"])
            if key in seen:
                found.append(f"{where}: a second rule for {key}")
            seen.add(key)
        return found

    def adjacent_rules(self) -> dict[tuple[str, str, str], str]:
        """(head type, tail type, order) -> the relation adjacent mentions of those types hold."""
        return {(r["head"], r["tail"], r["order"]): r["label"] for r in self.adjacent_relations}


class RobertaForRelationClassification(RobertaPreTrainedModel):
    """Encoder, then a pair classifier; which one follows `config.architecture`.

    typed_markers: one input per pair, classified from [h(head `@`); h(tail `#`)], the hidden
    states at the two start markers. one_pass: one input per sentence window, every pair of it
    classified from [head; tail; head * tail] (each entity read at its opening and closing `@`)
    plus a learned embedding of the pair's distance bucket (`onepass.distance_bucket`).
    """

    config_class = RelationConfig

    def __init__(self, config: RelationConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        size = config.hidden_size
        if getattr(config, "architecture", TYPED_MARKERS) == ONE_PASS:
            # Own names, so that a typed-marker model used as base leaves this head freshly initialised.
            self.pair_dense = nn.Linear(6 * size, size)
            self.distance_embeddings = nn.Embedding(NUM_DISTANCE_BUCKETS, size)
            self.pair_classifier = nn.Linear(size, config.num_labels)
        else:
            self.dense = nn.Linear(2 * size, size)
            self.classifier = nn.Linear(size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_positions: torch.Tensor | None = None,
        tail_positions: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        label_mask: torch.Tensor | None = None,
        pair_rows: torch.Tensor | None = None,
        pair_positions: torch.Tensor | None = None,
        pair_buckets: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput:
        """Logits per pair: per row of the batch (typed_markers) or per pair of `pair_rows` (one_pass).

        typed_markers: `head_positions`/`tail_positions` (batch,): the `@` and `#` start markers.
        one_pass: `pair_rows` (pairs,) the batch row of each pair, `pair_positions` (pairs, 4) its
        head `@`, head closing `@`, tail `@`, tail closing `@`, `pair_buckets` (pairs,).
        `label_mask` (pairs, num_labels), optional: True where SCHEMA.md allows the label for the
        pair's types; other labels get probability 0, in training and prediction alike. `labels`:
        (pairs,), or for one_pass (windows, pairs of the fullest window) padded with -100, so that an
        evaluation loop that keeps one row per window keeps every pair.
        """
        hidden = self.roberta(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.config.architecture == ONE_PASS:
            if pair_rows is None or pair_positions is None or pair_buckets is None:
                raise ValueError("pair_rows, pair_positions and pair_buckets are required (architecture one_pass)")
            logits = self._score_pairs(hidden, pair_rows, pair_positions, pair_buckets)
        else:
            if head_positions is None or tail_positions is None:
                raise ValueError("head_positions and tail_positions are required")
            rows = torch.arange(hidden.size(0), device=hidden.device)
            pair = torch.cat([hidden[rows, head_positions], hidden[rows, tail_positions]], dim=-1)
            pair = torch.tanh(self.dense(self.dropout(pair)))
            logits = self.classifier(self.dropout(pair))
        if label_mask is not None:
            logits = logits.masked_fill(~label_mask.bool(), torch.finfo(logits.dtype).min)
        loss = None
        if labels is not None:
            weight = None
            if self.config.class_weights is not None:
                weight = torch.tensor(self.config.class_weights, dtype=logits.dtype, device=logits.device)
            targets = labels[labels != PADDED_LABEL] if labels.dim() > 1 else labels.view(-1)
            loss = nn.functional.cross_entropy(
                logits.float().view(-1, self.num_labels),
                targets,
                weight=None if weight is None else weight.float(),
            )
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def _score_pairs(
        self, hidden: torch.Tensor, rows: torch.Tensor, positions: torch.Tensor, buckets: torch.Tensor
    ) -> torch.Tensor:
        states = hidden[rows.unsqueeze(-1), positions]  # (pairs, 4, hidden)
        head = torch.cat([states[:, 0], states[:, 1]], dim=-1)
        tail = torch.cat([states[:, 2], states[:, 3]], dim=-1)
        pair = torch.cat([head, tail, head * tail], dim=-1)
        pair = self.pair_dense(self.dropout(pair)) + self.distance_embeddings(buckets)
        return self.pair_classifier(self.dropout(torch.tanh(pair)))


AutoConfig.register(MODEL_TYPE, RelationConfig)
AutoModel.register(RelationConfig, RobertaForRelationClassification)


class RelationEncoder:
    """Candidates of one sentence to model inputs; shared by training and `RelationExtractor`."""

    def __init__(self, config: RelationConfig, tokenizer, aligner: SubwordAligner | None = None):
        self.config = config
        self.tokenizer = tokenizer
        self.aligner = aligner or SubwordAligner(tokenizer)
        self.max_subwords = config.max_input_length - 2
        self.label2id = {label: int(i) for label, i in config.label2id.items()}
        self.relation_labels = config.relation_labels
        self.truncated = 0  # candidates whose sentence was cut to a window (counted, and logged)
        self.lost = 0  # one_pass: candidates no window held, so never scored (counted, and logged)

    def candidates(self, mentions: Sequence[Mention]) -> list[tuple[int, int]]:
        """Scored pairs of a sentence: types this model can mark, and that SCHEMA.md allows."""
        known = set(self.config.entity_labels)
        pairs = candidate_pairs(mentions, self.relation_labels)
        return [(h, t) for h, t in pairs if mentions[h][2] in known and mentions[t][2] in known]

    def encode(self, words: Sequence[str], head: Mention, tail: Mention) -> PairInput:
        type_words = self.config.marker_type_words
        marked = mark_pair(words, head[:2], tail[:2], type_words[head[2]], type_words[tail[2]])
        encoded = encode_pair(self.aligner, marked, self.max_subwords)
        self.truncated += encoded.truncated
        return encoded

    def encode_sentence(
        self, words: Sequence[str], mentions: Sequence[Mention], pairs: Sequence[tuple[int, int]]
    ) -> tuple[list[WindowInput], list[tuple[int, int]]]:
        """one_pass inputs: the windows scoring `pairs`, and the pairs no window holds (counted in `lost`).

        The mentions marked are those of some candidate pair of the sentence, whichever of the pairs
        are scored: what training marks (its rows hold candidate pairs only) and no wasted subwords.
        """
        paired = {i for pair in self.candidates(mentions) for i in pair}
        windows, lost = encode_sentence(
            self.aligner,
            words,
            mentions,
            pairs,
            self.config.marker_type_words,
            self.max_subwords,
            paired,
            self.config.marker_format,
        )
        self.lost += len(lost)
        return windows, lost

    def label_mask(self, head_label: str, tail_label: str) -> list[bool]:
        """True for `no_relation` and each label SCHEMA.md allows between these types."""
        allowed = {NO_RELATION, *allowed_relations(head_label, tail_label)}
        id2label = self.config.id2label
        return [id2label[i] in allowed for i in range(len(id2label))]


def collate_pairs(
    inputs: Sequence[PairInput], masks: Sequence[Sequence[bool]], pad_id: int, labels: Sequence[int] | None = None
) -> dict[str, torch.Tensor]:
    """Right-padded tensors for `RobertaForRelationClassification.forward`."""
    ids, attention = pad_batch(inputs, pad_id)
    batch = {
        "input_ids": ids,
        "attention_mask": attention,
        "head_positions": torch.tensor([x.head_position for x in inputs], dtype=torch.long),
        "tail_positions": torch.tensor([x.tail_position for x in inputs], dtype=torch.long),
        "label_mask": torch.tensor([list(m) for m in masks], dtype=torch.bool),
    }
    if labels is not None:
        batch["labels"] = torch.tensor(list(labels), dtype=torch.long)
    return batch


def collate_windows(
    inputs: Sequence[WindowInput],
    masks: Sequence[Sequence[Sequence[bool]]],
    pad_id: int,
    labels: Sequence[Sequence[int]] | None = None,
) -> dict[str, torch.Tensor]:
    """Right-padded tensors for the one_pass forward: `masks[i]` (and `labels[i]`) per pair of input i."""
    ids, attention = pad_batch(inputs, pad_id)
    batch = {
        "input_ids": ids,
        "attention_mask": attention,
        "pair_rows": torch.tensor([row for row, x in enumerate(inputs) for _ in x.pairs], dtype=torch.long),
        "pair_positions": torch.tensor([p for x in inputs for p in x.positions], dtype=torch.long).view(-1, 4),
        "pair_buckets": torch.tensor([b for x in inputs for b in x.buckets], dtype=torch.long),
        "label_mask": torch.tensor([list(m) for window in masks for m in window], dtype=torch.bool),
    }
    if labels is not None:
        widest = max((len(window) for window in labels), default=0)
        padded = [list(window) + [PADDED_LABEL] * (widest - len(window)) for window in labels]
        batch["labels"] = torch.tensor(padded, dtype=torch.long).view(len(labels), widest)
    return batch


class RelationExtractor:
    """Relations between the entities of sentences: candidates, marked inputs, model, threshold."""

    def __init__(self, model: RobertaForRelationClassification, tokenizer, aligner: SubwordAligner | None = None):
        problems = model.config.problems()
        if problems:
            raise ValueError(f"relation model config: {'; '.join(problems)}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.encoder = RelationEncoder(model.config, tokenizer, aligner)

    @property
    def config(self) -> RelationConfig:
        return self.model.config

    @property
    def threshold(self) -> float:
        return float(self.model.config.threshold)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @classmethod
    @quiet_unless_verbose
    def from_pretrained(
        cls,
        directory: str | os.PathLike,
        ner_entity_labels: Sequence[str] | None = None,
        device: str | torch.device | None = None,
        attn_implementation: str | None = None,
        *,
        verbose: bool = False,
    ) -> RelationExtractor:
        """Load and check a relation model directory (config.json, model.safetensors, vocab.txt, bpe.codes).

        `ner_entity_labels`: the types the NER model in front of it predicts; each must be one this
        model can mark. `attn_implementation` ("sdpa", "eager"): the attention kernel; None keeps
        transformers' default. Every problem is a ModelLoadError naming the directory or file.
        Nothing is printed unless `verbose=True`.
        """
        directory = Path(directory)
        raw = read_config(directory)
        path = directory / "config.json"
        refuse_ner_model(directory, raw)
        check_relation_labels(directory, raw, list(ner_entity_labels or []))
        if raw.get("model_type") != MODEL_TYPE:
            raise ModelLoadError(
                f"{path}: field 'model_type' is {raw.get('model_type')!r}; a relation model needs {MODEL_TYPE!r}"
            )
        try:
            config = RelationConfig.from_pretrained(str(directory))
        except Exception as error:
            raise ModelLoadError(f"{path}: not a valid relation model config ({error})") from error
        problems = config.problems()
        if problems:
            raise ModelLoadError(f"{path}: {'; '.join(problems)}")
        tokenizer = load_tokenizer(directory, int(config.vocab_size), config.pad_token_id)
        from .storage import load_model  # here, so `python -m viextract.storage` runs without a warning

        try:
            options = {"attn_implementation": attn_implementation} if attn_implementation else {}
            model, info = load_model(
                RobertaForRelationClassification, directory, config=config, dtype=torch.float32, **options
            )
        except ModelLoadError:
            raise
        except Exception as error:
            raise ModelLoadError(f"{directory}: cannot load the relation model ({error})") from error
        check_loading_info(directory, info, MODEL_TYPE)
        if device is not None:
            model.to(torch.device(device))
        return cls(model, tokenizer)

    @quiet_unless_verbose
    def save_pretrained(self, directory: str | os.PathLike, atomic: bool = True, *, verbose: bool = False) -> None:
        """Write config.json, model.safetensors, vocab.txt and bpe.codes, staged beside `directory` and then
        moved in, so that a save that fails or is killed leaves the previous model whole. `atomic=False`
        writes straight into `directory`: for a caller that is itself writing into a staging folder.

        Other files in `directory` are left alone. An int8-quantized model cannot be saved. Nothing is
        printed unless `verbose=True`.
        """
        refuse_quantized(self.model, "this relation model")
        directory = check_save_target(directory)
        if atomic:
            with atomic_directory(directory) as staging:
                self.save_pretrained(staging, atomic=False, verbose=verbose)
            return
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(directory), safe_serialization=True)
        self.tokenizer.save_pretrained(str(directory))

    @reports_truncations
    def predict(
        self,
        items: Sequence[tuple[Sequence[str], Sequence[Mention]]],
        batch_size: int = 32,
        *,
        threshold: float | None = None,
        batch_tokens: int | None = None,
    ) -> list[list[tuple[int, int, str, float]]]:
        """Relations of each sentence: (head mention index, tail mention index, label, probability).

        Each item is one sentence's words and its mentions (word_start, word_end, label). A pair is
        returned when its most probable relation label (never `no_relation`) reaches `threshold`,
        and, for a label of `single_head_labels` (`single_tail_labels`), it is the one head its tail
        (the one tail its head) keeps (`single_choice`).
        A pair that an adjacency rule of the config covers (`adjacent_relations`: the two mentions
        touch, in the rule's order) is returned with the rule's label whatever its probability,
        and is the head of its tail for a single-head label.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        return self._decide(self.score(items, batch_size, batch_tokens), items, threshold)

    @reports_truncations
    def score(
        self,
        items: Sequence[tuple[Sequence[str], Sequence[Mention]]],
        batch_size: int = 32,
        batch_tokens: int | None = None,
    ) -> list[list[tuple[int, int, str, float]]]:
        """For every candidate pair: its best relation label and that label's probability, no threshold.

        Two mentions of one name (`same_name`) are no pair: the one entity never relates to itself.
        A mention that is not a span of its sentence's words is a ValueError naming it.
        A pair an adjacency rule covers gets the rule's label instead, with that label's probability.
        With architecture one_pass a pair that no window holds is not scored: such pairs are
        counted into the call's one warning of what had to be cut (truncation.py). Inputs of all
        sentences are sorted by length and batched, `batch_size` at a time and, when `batch_tokens`
        is set, at most that many tokens once padded.
        """
        check_mentions(items)
        batching = (batch_size, batch_tokens)
        if self.config.architecture == ONE_PASS:
            keys, probs = self._one_pass_probabilities(items, batching)
        else:
            keys, probs = self._typed_probabilities(items, batching)
        return self._best_labels(items, keys, probs)

    def _forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits
        return torch.softmax(logits.float(), dim=-1).cpu()

    def _typed_probabilities(
        self, items: Sequence[tuple[Sequence[str], Sequence[Mention]]], batching: tuple[int, int | None]
    ) -> tuple[list[tuple[int, int, int]], list[torch.Tensor]]:
        """(sentence, head, tail) per candidate and its label probabilities: one input per pair."""
        pending: list[tuple[tuple[int, int, int], PairInput, list[bool]]] = []
        for s_index, (words, mentions) in enumerate(items):
            for h, t in self._scored_pairs(words, mentions):
                encoded = self.encoder.encode(words, mentions[h], mentions[t])
                pending.append(((s_index, h, t), encoded, self.encoder.label_mask(mentions[h][2], mentions[t][2])))
        batches = self._sorted_batches(pending, batching, collate_pairs)
        return [c[0] for chosen, _ in batches for c in chosen], [probs for _, probs in batches]

    def _scored_pairs(self, words: Sequence[str], mentions: Sequence[Mention]) -> list[tuple[int, int]]:
        """The candidates of a sentence but pairs of one name written twice: two PER mentions of
        `Phan Văn Giang` in a sentence are one person, who does not `meets` himself (the only SCHEMA
        relation between two entities of one type). Training keeps them, as `no_relation` rows."""
        return [(h, t) for h, t in self.encoder.candidates(mentions) if not same_name(words, mentions[h], mentions[t])]

    def _sorted_batches(
        self, pending: list, batching: tuple[int, int | None], collate
    ) -> list[tuple[list, torch.Tensor]]:
        """(items, label probabilities) per forward pass over `pending` (key, input, masks) items.

        Sorting by length keeps padding, and so wasted compute, small; `batching` is (batch_size,
        batch_tokens) as `plan_batches` takes them.
        """
        pending.sort(key=lambda p: len(p[1].input_ids))
        batches = []
        for start, end in plan_batches([len(p[1].input_ids) for p in pending], *batching):
            chosen = pending[start:end]
            inputs = collate([c[1] for c in chosen], [c[2] for c in chosen], self.tokenizer.pad_token_id)
            batches.append((chosen, self._forward(inputs)))
        return batches

    def _one_pass_probabilities(
        self, items: Sequence[tuple[Sequence[str], Sequence[Mention]]], batching: tuple[int, int | None]
    ) -> tuple[list[tuple[int, int, int]], list[torch.Tensor]]:
        """(sentence, head, tail) per scored candidate and its label probabilities: one input per window.

        Windows of all sentences are sorted by length and batched together (`_sorted_batches`).
        """
        pending: list[tuple[int, WindowInput, list[list[bool]]]] = []
        for s_index, (words, mentions) in enumerate(items):
            windows, missed = self.encoder.encode_sentence(words, mentions, self._scored_pairs(words, mentions))
            for h, t in missed:  # counted into the call's one summary of what had to be cut
                note_truncation("unscored", f"mentions {h} and {t}: no window of {self.encoder.max_subwords} subwords")
            for window in windows:
                masks = [self.encoder.label_mask(mentions[h][2], mentions[t][2]) for h, t in window.pairs]
                pending.append((s_index, window, masks))
        batches = self._sorted_batches(pending, batching, collate_windows)
        keys = [(s_index, h, t) for chosen, _ in batches for s_index, window, _ in chosen for h, t in window.pairs]
        probs = [probs for _, probs in batches]
        return keys, probs

    def _best_labels(
        self,
        items: Sequence[tuple[Sequence[str], Sequence[Mention]]],
        keys: list[tuple[int, int, int]],
        probs: list[torch.Tensor],
    ) -> list[list[tuple[int, int, str, float]]]:
        """Per sentence, (head, tail, best relation label, its probability); a rule's label where one applies."""
        results: list[list[tuple[int, int, str, float]]] = [[] for _ in items]
        if not keys:
            return results
        rules = self.config.adjacent_rules()
        probs_all = torch.cat(probs)
        fixed = []
        for s_index, h, t in keys:
            mentions = items[s_index][1]
            label = rules.get(adjacent_rule_key(mentions[h], mentions[t]))
            fixed.append(None if label is None else int(self.config.label2id[label]))
        fixed_prob = [None if i is None else float(probs_all[row, i]) for row, i in enumerate(fixed)]
        probs_all[:, int(self.config.label2id[NO_RELATION])] = -1.0  # the best label that is a relation
        best_prob, best_id = probs_all.max(dim=-1)
        id2label = self.config.id2label
        for (s_index, h, t), prob, label_id, rule_id, rule_prob in zip(
            keys, best_prob.tolist(), best_id.tolist(), fixed, fixed_prob
        ):
            if rule_id is not None:
                label_id, prob = rule_id, rule_prob
            results[s_index].append((h, t, id2label[label_id], max(prob, 0.0)))
        for found in results:
            found.sort()
        return results

    def _decide(
        self,
        scored: list[list[tuple[int, int, str, float]]],
        items: Sequence[tuple[Sequence[str], Sequence[Mention]]] | None = None,
        threshold: float | None = None,
    ) -> list[list[tuple[int, int, str, float]]]:
        """Threshold (the model's unless given), adjacency rules (they need each sentence's mentions:
        `items`), single heads and tails."""
        threshold = self.threshold if threshold is None else threshold
        rules = self.config.adjacent_rules() if items is not None else {}
        # Nearest needs the mentions too; without them the probability decides.
        nearest = self.config.single_choice == "nearest" and items is not None
        decided = []
        for s_index, found in enumerate(scored):
            mentions = items[s_index][1] if items is not None else ()
            # The pairs whose label an adjacency rule fixed (score() gave them the rule's label).
            ruled = {
                (h, t, label)
                for h, t, label, _ in found
                if rules and rules.get(adjacent_rule_key(mentions[h], mentions[t])) == label
            }
            kept = [r for r in found if r[3] > 0.0 and (r[3] >= threshold or r[:3] in ruled)]
            # A rule's pair first; then, for "nearest", fewer words between head and tail (in the
            # bundled model's training relations 387 of 401 single heads were the nearest one).
            ranks = {
                r[:3]: (r[:3] in ruled, -words_between(mentions[r[0]], mentions[r[1]]) if nearest else 0, r[3])
                for r in kept
            }
            kept = _keep_one(kept, set(self.config.single_head_labels), 1, ranks)
            decided.append(_keep_one(kept, set(self.config.single_tail_labels), 0, ranks))
        return decided


def _keep_one(
    relations: list[tuple[int, int, str, float]], labels: set[str], shared: int, ranks: dict[tuple, tuple]
) -> list[tuple[int, int, str, float]]:
    """For a label of `labels`, only the best-ranked (`ranks[relation[:3]]`) of the relations that
    share argument `shared` (1: the tail, so one head per tail; 0: the head, so one tail per
    head). A tie keeps the first in (head, tail) order."""
    best: dict[tuple[int, str], tuple[int, int, str, float]] = {}
    for relation in relations:
        key = (relation[shared], relation[2])
        if relation[2] in labels and (key not in best or ranks[relation[:3]] > ranks[best[key][:3]]):
            best[key] = relation
    return [r for r in relations if r[2] not in labels or best[(r[shared], r[2])] is r]
