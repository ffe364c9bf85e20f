"""Text preparation (normalise, split, segment, tokenize into model windows), here or in worker processes.

`Extractor.pipe(..., n_process=N)` prepares documents in N spawned processes while the model
runs in the caller's: on a GPU, or on the CPU threads left, the model then never waits for
text. Documents come back in input order; an error in a worker comes back with the index of
the document that raised it.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice

from .align import SubwordAligner, Window
from .text import Sentence, prepare_text

# Documents per task sent to a worker: enough to pay for the round trip, few enough to keep order cheap.
DOCS_PER_TASK = 4
# Tasks in flight per worker: each worker has the next one queued while the parent reads results.
TASKS_AHEAD = 2


@dataclass(frozen=True)
class PreparedDocument:
    """A document ready for the models: its sentences of words, and each sentence's NER windows."""

    text: str
    sentences: tuple[Sentence, ...]
    windows: tuple[tuple[Window, ...], ...]


class TextPreparationError(RuntimeError):
    """Preparing one document failed in a worker process; `index` is its position in the input."""

    def __init__(self, index: int, message: str):
        super().__init__(f"document {index}: {message}")
        self.index = index


class DocumentPreparer:
    """Text to `PreparedDocument` with the extractor's segmenter and windows; picklable for workers."""

    def __init__(self, segmenter: str, aligner: SubwordAligner):
        self.segmenter = segmenter
        self.aligner = aligner

    def __call__(self, text: str) -> PreparedDocument:
        sentences = prepare_text(text, self.segmenter).sentences
        windows = tuple(tuple(self.aligner.windows([w.text for w in s.words])) if s.words else () for s in sentences)
        return PreparedDocument(text, sentences, windows)

    def __reduce__(self):  # a worker gets a fresh aligner (same tokenizer and window sizes), not the parent's cache
        aligner = self.aligner
        return (_make_preparer, (type(self), self.segmenter, aligner.tokenizer, aligner.max_subwords, aligner.overlap))


def _make_preparer(kind: type, segmenter: str, tokenizer, max_subwords: int, overlap: int) -> DocumentPreparer:
    return kind(segmenter, SubwordAligner(tokenizer, max_subwords, overlap))


def prepare_documents(
    texts: Iterable[str], preparer: DocumentPreparer, n_process: int = 1
) -> Iterator[PreparedDocument]:
    """`preparer(text)` for each text, in input order; in `n_process` spawned workers when above 1."""
    if n_process < 1:
        raise ValueError("n_process must be at least 1")
    if n_process == 1:
        yield from map(preparer, texts)
        return
    yield from _prepare_in_workers(iter(texts), preparer, n_process)


def _prepare_in_workers(texts: Iterator[str], preparer: DocumentPreparer, n_process: int) -> Iterator[PreparedDocument]:
    # spawn, not fork: forking a process that holds torch threads (or a CUDA context) can hang.
    context = multiprocessing.get_context("spawn")
    pending: deque[tuple[Future, list[str]]] = deque()
    first = 0
    pool = ProcessPoolExecutor(n_process, mp_context=context, initializer=_start_worker, initargs=(preparer,))
    try:
        while True:
            while len(pending) < n_process * TASKS_AHEAD:
                chunk = list(islice(texts, DOCS_PER_TASK))
                if not chunk:
                    break
                pending.append((pool.submit(_prepare_chunk, first, chunk), chunk))
                first += len(chunk)
            if not pending:
                return
            future, chunk = pending.popleft()
            for text, result in zip(chunk, future.result()):
                if isinstance(result, _Failed):
                    raise TextPreparationError(result.index, result.message)
                yield PreparedDocument(text, *result)
    finally:
        # The caller stopped early, or an error: drop what is queued, and do not wait for what is running.
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Failed:
    index: int
    message: str


_worker_preparer: DocumentPreparer | None = None


def _start_worker(preparer: DocumentPreparer) -> None:
    global _worker_preparer
    _worker_preparer = preparer


def _prepare_chunk(first: int, texts: list[str]) -> list[tuple | _Failed]:
    """Each document's (sentences, windows), without its text, which the parent still holds."""
    assert _worker_preparer is not None
    results: list[tuple | _Failed] = []
    for offset, text in enumerate(texts):
        try:
            document = _worker_preparer(text)
            results.append((document.sentences, document.windows))
        except Exception as error:  # carried back whole: the worker must outlive one bad document
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            results.append(_Failed(first + offset, detail))
    return results
