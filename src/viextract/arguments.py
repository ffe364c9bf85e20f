"""Checks of public calls' arguments: a ValueError that names the argument and the value given."""

from __future__ import annotations

from typing import Any


def check_positive_int(name: str, value: Any) -> int:
    """`value` itself if it is a positive int (bool excluded), else ValueError naming `name` and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value
