"""The one place a PhoBERT-shaped `RobertaConfig` is built: PhoBERT's positions, segments and special ids."""

from __future__ import annotations

from typing import Any

# 256 subwords plus RoBERTa's padding offset (positions are numbered from pad_token_id + 1).
MAX_POSITIONS = 258
# PhoBERT's vocabulary starts <s> <pad> </s> <unk>; training.pretraining.bpe writes ours the same way.
BOS_ID, PAD_ID, EOS_ID = 0, 1, 2


def phobert_config(
    vocab_size: int, hidden_size: int, num_hidden_layers: int, num_attention_heads: int, intermediate_size: int,
    **extra: Any,
):  # fmt: skip
    """A RobertaConfig of this size with PhoBERT's shape; `extra` adds or overrides keys (dropout, labels, ids)."""
    from transformers import RobertaConfig

    values: dict[str, Any] = dict(
        max_position_embeddings=MAX_POSITIONS,
        type_vocab_size=1,  # one segment type, as PhoBERT
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        tokenizer_class="PhobertTokenizer",
    )
    values.update(extra)
    return RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        **values,
    )
