"""Ctrl-C and SIGTERM in the commands: `timeout`, a scheduler or `kill` stop a run as cleanly as Ctrl-C, and
neither cuts a write, or a process pool's locked code, in the middle."""

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


@contextmanager
def deferred_signals():
    """Ctrl-C and SIGTERM are recorded in the list this yields, not acted on, until the block ends; then the
    first is delivered again to the handler that was there before (Terminated, KeyboardInterrupt, or death
    by SIGTERM's default), so what the block does is never cut in the middle."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    received: list[int] = []
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM)}  # fmt: skip
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(signal.SIGTERM if signal.SIGTERM in received else signal.SIGINT)
