import re

import pytest
import torch
from safetensors.torch import load_file
from transformers import RobertaConfig, RobertaForMaskedLM

from tests.conftest import build_tiny_token_classifier
from training.pretraining.random_base import main


def test_random_twin_keeps_shape_and_tokenizer_but_not_weights(tiny_tokenizer_dir, tmp_path, capsys):
    base = tmp_path / "base"
    _, tokenizer = build_tiny_token_classifier(tiny_tokenizer_dir, base)
    config = RobertaConfig.from_pretrained(base)
    RobertaForMaskedLM(config).save_pretrained(base)  # a masked LM, as pretraining writes
    capsys.readouterr()
    assert main(["--like", str(base), "--out", str(tmp_path / "twin")]) == 0
    assert capsys.readouterr().err == ""  # transformers' "Writing model shards" bar was printed
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


# The wording mlm and build_e5_base use too (training/pretraining/folders.py).
NO_BPE = r"no bpe\.codes there \(a tokenizer folder has vocab\.txt and bpe\.codes\)"


def _refusals(base, tmp_path) -> dict:
    """name -> (base, out, what the refusal must say)."""
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(base, bare)
    (bare / "bpe.codes").unlink()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    return {
        "out is the base": (base, base, r"--out .*base is the base itself: writing there would replace its weights"),
        "out is the base, spelled otherwise": (base, base / ".." / "base", r"is the base itself"),
        "out inside the base": (base, base / "small", r"--out .*small is inside the base"),
        "no tokenizer": (bare, tmp_path / "new", rf"--(like|base): .*bare: {NO_BPE}"),
        "not a model": (tmp_path / "nowhere", tmp_path / "new", r"nowhere: no config.json there"),
        "out is a file": (base, tmp_path / "a-file", r"--out: .*a-file: exists and is not a directory"),
    }


@pytest.mark.parametrize("case", ["out is the base", "out is the base, spelled otherwise", "out inside the base",
                                  "no tokenizer", "not a model", "out is a file"])  # fmt: skip
@pytest.mark.parametrize("command", ["random_base", "truncate"])
def test_a_base_that_cannot_be_copied_is_refused_and_left_as_it_was(
    tiny_tokenizer_dir, tmp_path, capsys, command, case
):
    from training.pretraining import truncate

    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "base")
    before = {p.name: p.read_bytes() for p in (tmp_path / "base").rglob("*")}
    base, out, message = _refusals(tmp_path / "base", tmp_path)[case]
    if command == "random_base":
        argv = ["--like", str(base), "--out", str(out)]
    else:
        argv = ["--base", str(base), "--layers", "1", "--out", str(out)]
    with pytest.raises(SystemExit) as refused:
        (main if command == "random_base" else truncate.main)(argv)
    assert refused.value.code == 2 and re.search(message, capsys.readouterr().err)
    assert {p.name: p.read_bytes() for p in (tmp_path / "base").rglob("*")} == before
    assert not (tmp_path / "new").exists()
