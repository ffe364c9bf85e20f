"""Fine-tuning starts from the base's own weights: int8-stored bases (viextract's models, the e5 base) are
dequantised, and a base whose encoder weights do not load is refused instead of trained from random ones."""

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import RobertaConfig, RobertaModel

from tests.conftest import build_tiny_token_classifier, tiny_config_values
from training.fit.trainer import BaseModelError
from viextract.labels import bio_labels
from viextract.storage import convert_directory, load_state

ENCODER_WEIGHT = "encoder.layer.1.attention.self.query.weight"


@pytest.fixture(scope="module")
def float_base(tiny_tokenizer_dir, tmp_path_factory):
    directory = tmp_path_factory.mktemp("float_base") / "ner"
    build_tiny_token_classifier(tiny_tokenizer_dir, directory, seed=3)
    return directory


@pytest.fixture(scope="module")
def int8_base(float_base, tmp_path_factory):
    return convert_directory(float_base, tmp_path_factory.mktemp("int8_base") / "ner", to_int8=True)


def ner_base(directory, labels=None):
    from training.fit.ner import NerConfig, load_base_model

    model, _ = load_base_model(NerConfig(base_model=str(directory)), labels or bio_labels())
    return model


def test_an_int8_stored_model_as_base_keeps_its_weights(int8_base):
    # Before: from_pretrained found only `*.int8`/`*.scale` tensors and fine-tuned a random encoder.
    model = ner_base(int8_base, bio_labels()[:5])  # another label set: a fresh head, the same encoder
    stored = load_state(int8_base)["roberta." + ENCODER_WEIGHT]
    assert torch.equal(model.state_dict()["roberta." + ENCODER_WEIGHT], stored)
    assert model.config.num_labels == 5 and not hasattr(model.config, "viextract_storage")
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_an_int8_stored_bare_encoder_goes_under_the_relation_models_prefix(tiny_tokenizer_dir, tmp_path):
    from tests.relation_helpers import copy_tokenizer_with_markers, load_tokenizer
    from training.fit.relations import ReConfig, load_base_model

    base = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path / "float")
    tokenizer = load_tokenizer(base)
    torch.manual_seed(5)
    RobertaModel(RobertaConfig(**tiny_config_values(tokenizer)), add_pooling_layer=False).save_pretrained(base)
    tokenizer.save_pretrained(base)
    packed = convert_directory(base, tmp_path / "int8", to_int8=True)
    config = ReConfig(base_model=str(packed), output_dir=str(tmp_path / "out"))
    model, _ = load_base_model(config, ["no_relation", *config.relation_labels])
    assert torch.equal(model.state_dict()["roberta." + ENCODER_WEIGHT], load_state(packed)[ENCODER_WEIGHT])


def test_a_base_whose_encoder_weights_do_not_load_is_refused(float_base, tmp_path):
    import shutil

    broken = tmp_path / "renamed"
    shutil.copytree(float_base, broken)
    weights = load_file(str(broken / "model.safetensors"))
    save_file(
        {name.replace("roberta.", "encoder_v2."): t for name, t in weights.items()}, str(broken / "model.safetensors")
    )
    with pytest.raises(BaseModelError, match=r"encoder weights are not in .*renamed.* random"):
        ner_base(broken)
