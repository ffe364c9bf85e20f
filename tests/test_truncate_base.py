import json

import pytest
import torch
from transformers import PhobertTokenizer, RobertaConfig, RobertaModel

from tests.conftest import tiny_config_values
from training.pretraining.truncate import main


@pytest.fixture()
def three_layer_base(tiny_tokenizer_dir, tmp_path):
    tokenizer = PhobertTokenizer(
        vocab_file=str(tiny_tokenizer_dir / "vocab.txt"), merges_file=str(tiny_tokenizer_dir / "bpe.codes")
    )
    torch.manual_seed(0)
    model = RobertaModel(RobertaConfig(**tiny_config_values(tokenizer, num_hidden_layers=3)), add_pooling_layer=False)
    base = tmp_path / "base"
    model.save_pretrained(base, safe_serialization=True)
    tokenizer.save_pretrained(base)
    return base, model.eval()


def test_truncated_base_is_the_lower_layers_of_the_original(three_layer_base, tmp_path, capfd):
    base, original = three_layer_base
    out = tmp_path / "l2"
    assert main(["--base", str(base), "--layers", "2", "--out", str(out)]) == 0
    assert capfd.readouterr().err == ""  # quiet: not transformers' report of the dropped layers
    truncated = RobertaModel.from_pretrained(out, add_pooling_layer=False).eval()
    assert truncated.config.num_hidden_layers == 2
    assert json.loads((out / "config.json").read_text())["viextract"]["truncated"] == {"from_layers": 3, "kept": "0-1"}
    assert (out / "vocab.txt").read_bytes() == (base / "vocab.txt").read_bytes()
    ids = torch.tensor([[0, 5, 9, 12, 2]])
    with torch.no_grad():
        expected = original(input_ids=ids, output_hidden_states=True).hidden_states[2]
        assert torch.allclose(truncated(input_ids=ids).last_hidden_state, expected, atol=1e-6)


@pytest.mark.parametrize("layers", ["0", "4"])
def test_truncate_refuses_a_depth_the_base_does_not_have(three_layer_base, tmp_path, layers):
    base, _ = three_layer_base
    with pytest.raises(SystemExit, match="has 3 layers"):
        main(["--base", str(base), "--layers", layers, "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_an_int8_stored_base_is_truncated_from_its_own_weights(three_layer_base, tmp_path):
    from safetensors.torch import load_file

    from viextract.storage import convert_directory, load_state

    base, _ = three_layer_base
    packed = convert_directory(base, tmp_path / "int8", to_int8=True)
    assert main(["--base", str(packed), "--layers", "2", "--out", str(tmp_path / "l2")]) == 0
    kept = load_file(str(tmp_path / "l2" / "model.safetensors"))
    name = "encoder.layer.1.attention.self.query.weight"
    assert torch.equal(kept[name], load_state(packed)[name])  # not a random layer of the same shape
    assert "viextract_storage" not in json.loads((tmp_path / "l2" / "config.json").read_text())


def test_a_base_without_the_kept_layers_weights_is_refused(three_layer_base, tmp_path):
    from safetensors.torch import load_file, save_file

    base, _ = three_layer_base
    weights = load_file(str(base / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if ".layer.1." not in k}, str(base / "model.safetensors"))
    with pytest.raises(SystemExit, match=r"weights of the kept layers are not in it \(e.g. encoder.layer.1."):
        main(["--base", str(base), "--layers", "2", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
