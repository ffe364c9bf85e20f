"""The `local` engine: chunks in this process, or in spawned worker processes that each load the model once."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..signals import deferred_signals
from .documents import Document
from .loader import ExtractorSpec
from .records import extract_chunk

_worker_spec: ExtractorSpec | None = None


def map_chunks_local(
    spec: ExtractorSpec,
    chunks: Iterable[list[Document]],
    *,
    workers: int,
    batch_size: int,
    max_chars: int | None,
) -> Iterator[list[dict]]:
    """Outcomes of each chunk, in the order of `chunks`; at most 2 chunks per worker are in flight."""
    if workers <= 1:
        extractor = spec.load()
        for chunk in chunks:
            yield extract_chunk(extractor, chunk, batch_size, max_chars)
        return
    # spawn: a forked child would inherit torch's threads and locks mid-state; spawn is safe everywhere.
    context = multiprocessing.get_context("spawn")
    try:
        # Ctrl-C and SIGTERM wait for the next safe point: raised inside the pool's own code (a submit holding
        # its lock) they could leave it deadlocked, the run hanging instead of stopping.
        with deferred_signals() as received:
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(spec,)) as pool:
                yield from _in_order(pool, chunks, workers, batch_size, max_chars, received)
    except BrokenProcessPool as error:  # an OSError, so the CLI prints one line, not a traceback
        raise ChildProcessError(
            "a worker process stopped abruptly (killed, or out of memory); the shards written so far are complete: "
            "rerun the same command to resume (with fewer --workers, or a --max-chars, if memory ran out)"
        ) from error


class _Signalled(Exception):
    """Ctrl-C or SIGTERM arrived: stop submitting, and let the pool close before the signal is delivered."""


def _in_order(pool, chunks, workers: int, batch_size: int, max_chars: int | None, received: list[int]):
    pending: deque = deque()
    try:
        for chunk in chunks:
            if received:
                raise _Signalled
            pending.append(pool.submit(_extract_in_worker, chunk, batch_size, max_chars))
            if len(pending) >= 2 * workers:  # bounded: the input is never read far ahead of the output
                yield _result(pending.popleft(), received)
        while pending:
            yield _result(pending.popleft(), received)
    except _Signalled:
        return  # the pool's exit waits only for the running chunks; then deferred_signals delivers the signal
    finally:
        for future in pending:
            future.cancel()


def _result(future: Future, received: list[int]) -> list[dict]:
    while not received:
        if wait([future], timeout=0.1).done:
            return future.result()
    raise _Signalled


def _init_worker(spec: ExtractorSpec) -> None:
    global _worker_spec
    _worker_spec = spec
    spec.load()


def _extract_in_worker(chunk: list[Document], batch_size: int, max_chars: int | None) -> list[dict]:
    assert _worker_spec is not None, "worker not initialised"
    return extract_chunk(_worker_spec.load(), chunk, batch_size, max_chars)
