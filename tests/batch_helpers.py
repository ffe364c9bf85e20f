"""What the batch tests share: JSONL inputs written and run options built one way."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from viextract.batch import BatchOptions


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def options(source: Path, out: Path, model_dir: Path, **overrides) -> BatchOptions:
    values = dict(model=str(model_dir), shard_size=7, chunk_size=3, threads_per_worker=1)
    return BatchOptions(str(source), str(out), **{**values, **overrides})


class StillRunning(Exception):
    """Not TimeoutError: that is an OSError, which the batch reader catches as an unreadable file."""


@contextmanager
def gives_up_after(seconds: int) -> Iterator[None]:
    """Raise StillRunning in a call that hangs (a pipe read, quadratic work), so that the test fails, not waits."""

    def stop(signum, frame):
        raise StillRunning(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
