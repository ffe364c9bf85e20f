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
