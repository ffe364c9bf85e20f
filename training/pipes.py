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


def write_stdout(text: str) -> None:
    """`text` on stdout, all of it or an OSError. With PYTHONUNBUFFERED=1 (as containers often set) sys.stdout.write
    hands its text to one system call and takes a partial write (a disk filling up under `> out.jsonl`) as done:
    the rest was dropped without an error, a file cut short and status 0."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a StringIO, pytest's capture: no file below it
        fd = None
    # A terminal takes no file's bytes, nor does Windows' text-mode stdout (`\r\n`): the stream's own write.
    if fd is None or os.name != "posix" or sys.stdout.isatty():
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    data = memoryview(text.encode(sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict"))
    try:
        while data:
            data = data[os.write(fd, data) :]  # the next call after a short write raises the disk's error
    except BrokenPipeError:
        raise  # a reader that stopped: quiet_pipe's
    except OSError as error:  # '[Errno 28] No space left on device' did not say of which file
        named = OSError(f"stdout: cannot write ({error.strerror or error})")
        named.errno = error.errno
        raise named from error
