"""The dequantised e5 file as a `transformers` BertModel, and e5's own sentence embedding with it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .e5_file import E5File
from .unigram import UnigramTokenizer

# (e5.c name suffix, BertLayer parameter prefix, is a matrix [out, in] whose `in` is `hidden`?)
LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def layer_state(e5: E5File, layer: int) -> dict[str, np.ndarray]:
    """One encoder layer's parameters under BertLayer's names, matrices shaped [out, in]."""
    hidden, ff = e5.dims.hidden, e5.dims.intermediate
    state: dict[str, np.ndarray] = {}
    for short, prefix in LAYER_TENSORS.items():
        weight, bias = e5.tensors[f"l{layer}.{short}.w"], e5.tensors[f"l{layer}.{short}.b"]
        if short in ("aln", "oln"):
            state[f"{prefix}.weight"] = weight
        else:
            rows = ff if short == "fi" else hidden  # fi: hidden -> ff; fo: ff -> hidden
            state[f"{prefix}.weight"] = weight.reshape(rows, -1)
        state[f"{prefix}.bias"] = bias
    return state


def embedding_state(e5: E5File) -> dict[str, np.ndarray]:
    hidden = e5.dims.hidden
    return {
        "word_embeddings.weight": e5.tensors["emb.word"].reshape(-1, hidden),
        "position_embeddings.weight": e5.tensors["emb.pos"].reshape(-1, hidden),
        "token_type_embeddings.weight": e5.tensors["emb.type"].reshape(-1, hidden),
        "LayerNorm.weight": e5.tensors["emb.ln.w"],
        "LayerNorm.bias": e5.tensors["emb.ln.b"],
    }


def build_bert(e5: E5File):
    """A BertModel (no pooler) holding the dequantised e5 weights, in eval mode."""
    import torch
    from transformers import BertConfig, BertModel

    dims = e5.dims
    config = BertConfig(
        vocab_size=e5.tensors["emb.word"].size // dims.hidden,
        hidden_size=dims.hidden,
        num_hidden_layers=dims.layers,
        num_attention_heads=dims.heads,
        intermediate_size=dims.intermediate,
        max_position_embeddings=dims.max_positions,
        type_vocab_size=dims.type_vocab,
        layer_norm_eps=dims.layer_norm_eps,
        pad_token_id=e5.vocab.pad,
        hidden_act="gelu",
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {f"embeddings.{k}": v for k, v in embedding_state(e5).items()}
    for layer in range(dims.layers):
        state.update({f"encoder.layer.{layer}.{k}": v for k, v in layer_state(e5, layer).items()})
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False
    )
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ValueError(f"{e5.path}: tensors do not fit BertModel (missing {missing}, unexpected {unexpected})")
    return model.eval()


def e5_embed(model, tokenizer: UnigramTokenizer, texts: Sequence[str], prefix: str = "passage: ") -> np.ndarray:
    """e5's sentence embedding: mean of the last hidden states over <s> text </s>, L2-normalised."""
    import torch

    rows = []
    with torch.no_grad():
        for text in texts:
            ids = tokenizer.encode_with_specials(prefix + text)[: model.config.max_position_embeddings]
            hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
            rows.append(torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy())
    return np.stack(rows)
