"""Quiet by default: no transformers progress bars or log lines from our own loads and saves.

The user's settings are only changed while one of our calls runs, and restored after it: the
first call in saves them, the last one out (calls may nest or run in threads) puts them back.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .loading import IMPORT_LOCK

_lock = threading.Lock()
_depth = 0
# (progress bars enabled, transformers verbosity, Python warning filters) before the first call
_saved: tuple[bool, int, warnings.catch_warnings] | None = None

F = TypeVar("F", bound=Callable[..., Any])


def _hf_logging():
    with IMPORT_LOCK:
        from transformers.utils import logging

        return logging


@contextlib.contextmanager
def quiet_transformers(quiet: bool = True) -> Iterator[None]:
    """Inside: no transformers progress bars ("Loading weights", "Writing model shards"), only its errors,
    and no Python warnings (a dependency's warning is two lines on stderr; ours are log records)."""
    global _depth, _saved
    if not quiet:
        yield
        return
    logging = _hf_logging()
    with _lock:
        if _depth == 0:
            caught = warnings.catch_warnings()
            caught.__enter__()
            warnings.simplefilter("ignore")
            _saved = (logging.is_progress_bar_enabled(), logging.get_verbosity(), caught)
            logging.disable_progress_bar()
            logging.set_verbosity_error()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                bars, verbosity, caught = _saved
                logging.set_verbosity(verbosity)
                caught.__exit__(None, None, None)
                if bars:
                    logging.enable_progress_bar()
                _saved = None


def quiet_unless_verbose(function: F) -> F:
    """Run `function` under quiet_transformers unless it is called with `verbose=True`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with quiet_transformers(not kwargs.get("verbose", False)):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def no_quantization_deprecation() -> Iterator[None]:
    """torch deprecates torch.ao dynamic quantization (its successor, torchao, is not a dependency of ours):
    hide those two warnings around our own call only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)
        yield
