"""Every training command's stdout: a reader that stops early (`| head`) ends the command quietly, as Unix tools do.

Standard library only: the job runner uses it too and must not import torch.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

SIGPIPE_STATUS = 141  # 128 + SIGPIPE, what a shell reports for a command its reader stopped


def reader_left() -> int:
    """SIGPIPE's status, with stdout pointed at /dev/null: Python would report the broken pipe again when it
    flushes stdout at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return SIGPIPE_STATUS


def quiet_pipe(main: Callable[..., int]) -> Callable[..., int]:
    """`main`, returning `reader_left()` instead of a BrokenPipeError traceback when its reader stops."""

    @functools.wraps(main)
    def run(*args, **kwargs) -> int:
        try:
            status = main(*args, **kwargs)
            sys.stdout.flush()  # the last block is written here, not at exit where its error is a traceback
        except BrokenPipeError:
            return reader_left()
        return status

    return run
