"""Checks of public calls' arguments: a ValueError that names the argument and the value given."""

from __future__ import annotations

import numbers
from typing import Any

from .align import MAX_LENGTH

# What a `batch_size` counts (ner.plan_batches): every command's --batch-size help says it in these words.
BATCH_SIZE_HELP = f"sentence windows (up to {MAX_LENGTH} subwords each) per forward pass of a model (default 32)"


def check_positive_int(name: str, value: Any) -> int:
    """`value` as an int if it is a positive integer (numpy's included, bool not), else ValueError naming
    `name` and the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def parse_device(device: Any, shown: str | None = None):
    """`device` as a torch.device, else ValueError `SHOWN is not a device (try ...)` (SHOWN: the value's repr):
    torch's own errors ('Invalid device string', a TypeError for True) name no argument."""
    import torch

    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{shown or repr(device)} is not a device (try cpu, cuda, cuda:0 or mps)") from None


def check_device(device: str) -> str:
    """`device` if torch can use it on this machine, else ValueError naming it (a bad name, or no such GPU)."""
    import torch

    parsed = parse_device(device)
    if parsed.type == "cpu":
        return device
    if parsed.type == "mps":
        available = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    else:
        # cuda, xpu, an out-of-tree backend (torch.npu): its module says. `meta` (no weights: a model moved
        # there failed at its first text) and backends torch is not built with (hip, lazy) have none.
        backend = getattr(torch, parsed.type, None)
        available = callable(getattr(backend, "is_available", None)) and bool(backend.is_available())
        if available and parsed.index is not None and callable(getattr(backend, "device_count", None)):
            available = parsed.index < backend.device_count()
    if not available:
        raise ValueError(f"{device} is not available on this machine")
    return device
