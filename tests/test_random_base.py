import torch
from safetensors.torch import load_file
from transformers import RobertaConfig, RobertaForMaskedLM

from tests.conftest import build_tiny_token_classifier
from training.pretraining.random_base import main


def test_random_twin_keeps_shape_and_tokenizer_but_not_weights(tiny_tokenizer_dir, tmp_path):
    base = tmp_path / "base"
    _, tokenizer = build_tiny_token_classifier(tiny_tokenizer_dir, base)
    config = RobertaConfig.from_pretrained(base)
    RobertaForMaskedLM(config).save_pretrained(base)  # a masked LM, as pretraining writes
    assert main(["--like", str(base), "--out", str(tmp_path / "twin")]) == 0
    twin = tmp_path / "twin"
    assert (twin / "vocab.txt").read_bytes() == (base / "vocab.txt").read_bytes()
    assert RobertaConfig.from_pretrained(twin).hidden_size == config.hidden_size
    original, fresh = load_file(base / "model.safetensors"), load_file(twin / "model.safetensors")
    key = "roberta.encoder.layer.0.attention.self.query.weight"
    assert original[key].shape == fresh[key].shape
    assert not torch.equal(original[key], fresh[key])


def test_the_twin_of_an_int8_stored_base_is_stored_and_described_as_floats(tiny_tokenizer_dir, tmp_path):
    import json

    from viextract.storage import convert_directory, load_model

    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "base")
    packed = convert_directory(tmp_path / "base", tmp_path / "int8", to_int8=True)
    assert main(["--like", str(packed), "--out", str(tmp_path / "twin")]) == 0
    assert "viextract_storage" not in json.loads((tmp_path / "twin" / "config.json").read_text())
    _, info = load_model(RobertaForMaskedLM, tmp_path / "twin")
    assert not info["missing_keys"] and not info["unexpected_keys"]
