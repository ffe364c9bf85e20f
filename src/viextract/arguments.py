"""Checks of public calls' arguments: a ValueError that names the argument and the value given."""

from __future__ import annotations

import numbers
from typing import Any


def check_positive_int(name: str, value: Any) -> int:
    """`value` as an int if it is a positive integer (numpy's included, bool not), else ValueError naming
    `name` and the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
