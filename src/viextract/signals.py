"""SIGTERM handled as Ctrl-C by the commands: `timeout`, a scheduler or `kill` stop a run as cleanly as Ctrl-C."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a scheduler, `kill`): stops the run as Ctrl-C does, so `json` still gets its `]`."""


@contextmanager
def terminate_as_interrupt():
    """SIGTERM raises Terminated while extracting (its default ends the process with the output cut anywhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum, frame) -> None:
    raise Terminated
