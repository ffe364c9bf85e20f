"""Relation examples as model inputs: pair (or whole-sentence) features through viextract's own encoder,
their dataset and collators."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from viextract.markers import (
    HEAD_MARKER,
    HEAD_TYPE_MARKER,
    TAIL_MARKER,
    TAIL_TYPE_MARKER,
    PairInput,
)
from viextract.onepass import WindowInput
from viextract.relations import (
    ONE_PASS,
    RelationEncoder,
    collate_pairs,
    collate_windows,
)

from .relation_examples import RelationExample

if TYPE_CHECKING:  # the trainer module imports this one
    pass

logger = logging.getLogger(__name__)


MARKER_WORDS = (HEAD_MARKER, HEAD_TYPE_MARKER, TAIL_MARKER, TAIL_TYPE_MARKER)


@dataclass(frozen=True)
class PairFeature:
    pair: PairInput
    label_mask: tuple[bool, ...]
    label: int


def unknown_marker_words(encoder: RelationEncoder) -> list[str]:
    """Marker and type words the tokenizer can only write as <unk> (they then look alike to the model)."""
    words = [*MARKER_WORDS, *(encoder.config.marker_type_words[label] for label in encoder.config.entity_labels)]
    unk = encoder.tokenizer.unk_token_id
    return [word for word in words if unk in encoder.aligner.word_ids(word)]


def encode_examples(examples: Sequence[RelationExample], encoder: RelationEncoder) -> list[PairFeature]:
    features = []
    for example in examples:
        pair = encoder.encode(example.tokens, example.head, example.tail)
        mask = tuple(encoder.label_mask(example.head[2], example.tail[2]))
        features.append(PairFeature(pair, mask, encoder.label2id[example.label]))
    return features


@dataclass(frozen=True)
class WindowFeature:
    """one_pass: one window of a sentence, with a label mask and a label per pair it scores."""

    window: WindowInput
    label_masks: tuple[tuple[bool, ...], ...]
    labels: tuple[int, ...]


def sentence_groups(examples: Sequence[RelationExample]) -> list[list[RelationExample]]:
    """Consecutive examples of one sentence (training.data.features writes a sentence's rows together)."""
    groups: list[list[RelationExample]] = []
    for example in examples:
        if groups and groups[-1][0].tokens == example.tokens:
            groups[-1].append(example)
        else:
            groups.append([example])
    return groups


def encode_sentences(
    examples: Sequence[RelationExample], encoder: RelationEncoder, scored: Sequence[RelationExample] | None = None
) -> list[WindowFeature]:
    """one_pass features: every entity of each sentence of `examples` is marked; only the pairs of
    `scored` (default: all, the sampled subset in training) carry a label into the loss."""
    keep = {id(e) for e in (examples if scored is None else scored)}
    features = []
    for group in sentence_groups(examples):
        mentions = sorted({argument for e in group for argument in (e.head, e.tail)})
        index = {mention: i for i, mention in enumerate(mentions)}
        labelled = {(index[e.head], index[e.tail]): e for e in group if id(e) in keep}
        windows, _ = encoder.encode_sentence(group[0].tokens, mentions, list(labelled))
        for window in windows:
            chosen = [labelled[pair] for pair in window.pairs]
            masks = tuple(tuple(encoder.label_mask(e.head[2], e.tail[2])) for e in chosen)
            features.append(WindowFeature(window, masks, tuple(encoder.label2id[e.label] for e in chosen)))
    return features


def encode_features(
    examples: Sequence[RelationExample], encoder: RelationEncoder, scored: Sequence[RelationExample] | None = None
) -> list[PairFeature] | list[WindowFeature]:
    """Model inputs for the config's architecture: one per pair of `scored` (or per window of a sentence)."""
    if encoder.config.architecture == ONE_PASS:
        return encode_sentences(examples, encoder, scored)
    return encode_examples(examples if scored is None else scored, encoder)


class PairDataset(torch.utils.data.Dataset):
    def __init__(self, features: Sequence[PairFeature]):
        self.features = list(features)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> PairFeature:
        return self.features[index]


@dataclass
class PairCollator:
    pad_token_id: int

    def __call__(self, features: Sequence[PairFeature]) -> dict[str, torch.Tensor]:
        return collate_pairs(
            [f.pair for f in features], [f.label_mask for f in features], self.pad_token_id, [f.label for f in features]
        )


@dataclass
class WindowCollator:
    pad_token_id: int

    def __call__(self, features: Sequence[WindowFeature]) -> dict[str, torch.Tensor]:
        return collate_windows(
            [f.window for f in features],
            [f.label_masks for f in features],
            self.pad_token_id,
            [f.labels for f in features],
        )
