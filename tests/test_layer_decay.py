"""Layer-wise learning-rate decay (`layer_decay`): the rates each part of the model trains at."""

from __future__ import annotations

import pytest
import torch

from training.fit.config import ConfigError
from training.fit.layer_decay import depth, parameter_groups
from training.fit.ner import NerConfig
from training.pretraining.mlm_config import PretrainConfig


def tiny_classifier(layers: int = 3):
    from transformers import RobertaConfig, RobertaForTokenClassification

    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=40, type_vocab_size=1, num_labels=3,
    )  # fmt: skip
    return RobertaForTokenClassification(config)


def rates_by_name(model, groups) -> dict[str, tuple[float, float]]:
    names = {id(p): name for name, p in model.named_parameters()}
    return {names[id(p)]: (group["lr"], group["weight_decay"]) for group in groups for p in group["params"]}


def test_each_layer_trains_at_its_decayed_rate_and_the_head_at_the_full_rate():
    model = tiny_classifier(layers=3)
    rates = rates_by_name(model, parameter_groups(model, learning_rate=1.0, weight_decay=0.01, decay=0.5))
    assert set(rates) == {name for name, _ in model.named_parameters()}  # every parameter, once
    assert rates["roberta.embeddings.word_embeddings.weight"] == (0.5**4, 0.01)
    assert rates["roberta.encoder.layer.0.attention.self.query.weight"] == (0.5**3, 0.01)
    assert rates["roberta.encoder.layer.2.output.dense.weight"] == (0.5, 0.01)
    assert rates["classifier.weight"] == (1.0, 0.01)
    # Biases and LayerNorm weights are never weight-decayed, at any depth.
    assert rates["roberta.encoder.layer.1.output.LayerNorm.weight"] == (0.25, 0.0)
    assert rates["roberta.embeddings.LayerNorm.bias"] == (0.5**4, 0.0)
    assert rates["classifier.bias"] == (1.0, 0.0)


def test_depth_reads_layer_numbers_whole_and_puts_unknown_parts_on_top():
    assert depth("roberta.encoder.layer.11.attention.self.key.weight", 12) == 12
    assert depth("roberta.encoder.layer.1.attention.self.key.weight", 12) == 2  # not layer 11's prefix
    assert depth("encoder.layer.0.output.dense.bias", 12) == 1  # a bare RobertaModel
    assert depth("roberta.embeddings.position_embeddings.weight", 12) == 0
    assert depth("pair_distance.weight", 12) == 13


def test_frozen_parameters_are_left_out():
    model = tiny_classifier(layers=2)
    model.roberta.embeddings.word_embeddings.weight.requires_grad_(False)
    rates = rates_by_name(model, parameter_groups(model, 1.0, 0.0, 0.9))
    assert "roberta.embeddings.word_embeddings.weight" not in rates


def test_the_config_checks_the_range_and_pretraining_refuses_the_key():
    assert NerConfig().layer_decay == 1.0
    NerConfig(layer_decay=0.8)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ConfigError, match="layer_decay"):
            NerConfig(layer_decay=bad)
    assert "layer_decay" not in PretrainConfig.field_types()
