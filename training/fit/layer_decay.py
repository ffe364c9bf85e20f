"""Layer-wise learning-rate decay: lower layers of the encoder learn more slowly than the top.

With decay d < 1 and L encoder layers, layer i (0-based) trains at `learning_rate * d ** (L - i)`,
the embeddings at `learning_rate * d ** (L + 1)`, and everything above the encoder (pooler,
classifier heads, the relation model's pair layers) at the full rate: the general knowledge of a
pretrained base sits low, the task high (ELECTRA, Clark et al. 2020; BEiT). Weight decay skips
biases and LayerNorm weights, as the Trainer's own optimizer does.
"""

from __future__ import annotations

import re
from typing import Any

import torch

_LAYER = re.compile(r"(?:^|\.)encoder\.layer\.(\d+)\.")
_EMBEDDINGS = re.compile(r"(?:^|\.)embeddings\.")


def depth(name: str, num_layers: int) -> int:
    """0 for the embeddings, i + 1 for encoder layer i, num_layers + 1 for anything above the encoder."""
    layer = _LAYER.search(name)
    if layer:
        return int(layer.group(1)) + 1
    return 0 if _EMBEDDINGS.search(name) else num_layers + 1


def parameter_groups(model: torch.nn.Module, learning_rate: float, weight_decay: float, decay: float) -> list[dict]:
    """AdamW parameter groups: one per (depth, decayed or not), each with its own `lr`."""
    num_layers = int(model.config.num_hidden_layers)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        level = depth(name, num_layers)
        decayed = parameter.ndim > 1
        group = groups.setdefault(
            (level, decayed),
            {
                "params": [],
                "lr": learning_rate * decay ** (num_layers + 1 - level),
                "weight_decay": weight_decay if decayed else 0.0,
            },
        )
        group["params"].append(parameter)
    return [groups[key] for key in sorted(groups)]


def layer_decay_optimizer(model: torch.nn.Module, learning_rate: float, weight_decay: float, decay: float):
    """AdamW over `parameter_groups`, with the Trainer's default betas and epsilon; the Trainer's
    scheduler then scales every group's rate by the same warm-up and decay schedule."""
    groups = parameter_groups(model, learning_rate, weight_decay, decay)
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)
