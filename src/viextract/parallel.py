"""Documents through worker processes: text preparation alone, or the whole extraction.

`Extractor.pipe(..., n_process=N)` uses N spawned processes. With the model on a GPU they
prepare text (normalise, split, segment, tokenize) while the model runs in the caller's, so the
GPU never waits for text. On the CPU each worker runs the whole extraction with its share of the
threads: there the model, not text, takes most of the time (benchmarks/RESULTS-speed.md).
Either way documents come back in input order, an error in a worker comes back with the index
of the document that raised it, and what a worker had to cut is counted into the caller's
summary (truncation.py).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .align import SubwordAligner, Window
from .arguments import check_positive_int
from .capitals import recase_capitals
from .dates import blank_header
from .markup import blank_markup
from .text import Sentence, prepare_text
from .truncation import add_truncations, counting_truncations

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


class DocumentError(RuntimeError):
    """One document failed in a worker process; `index` is its position in the input."""

    def __init__(self, index: int, message: str):
        super().__init__(f"document {index}: {message}")
        self.index = index


class TextPreparationError(DocumentError):
    """Preparing one document (normalise, split, segment, tokenize) failed in a worker process."""


@dataclass(frozen=True)
class Failed:
    """What a worker sends back for a document that raised: its index in the input and the error."""

    index: int
    message: str
    preparing: bool = True

    @classmethod
    def of(cls, index: int, error: BaseException, preparing: bool = True) -> Failed:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return cls(index, detail, preparing)

    def error(self) -> DocumentError:
        return (TextPreparationError if self.preparing else DocumentError)(self.index, self.message)


class DocumentPreparer:
    """Text to `PreparedDocument` with the extractor's segmenter and windows; picklable for workers."""

    def __init__(self, segmenter: str, aligner: SubwordAligner):
        self.segmenter = segmenter
        self.aligner = aligner

    def __call__(self, text: str) -> PreparedDocument:
        # What the models read: same length as `text`, so every offset still indexes it.
        model_text = recase_capitals(blank_markup(blank_header(text)), self.aligner.tokenizer)
        sentences = prepare_text(model_text, self.segmenter).sentences
        windows = tuple(tuple(self.aligner.windows([w.text for w in s.words])) if s.words else () for s in sentences)
        return PreparedDocument(text, sentences, windows)

    def each(self, first: int, texts: list[str]) -> list[PreparedDocument | Failed]:
        """Each text prepared, or `Failed` for one that raised (`first` is the index of texts[0])."""
        results: list[PreparedDocument | Failed] = []
        for offset, text in enumerate(texts):
            try:
                results.append(self(text))
            except Exception as error:  # carried back whole: the worker must outlive one bad document
                results.append(Failed.of(first + offset, error))
        return results

    def __reduce__(self):  # a worker gets a fresh aligner (same tokenizer and window sizes), not the parent's cache
        aligner = self.aligner
        return (_make_preparer, (type(self), self.segmenter, aligner.tokenizer, aligner.max_subwords, aligner.overlap))


def _make_preparer(kind: type, segmenter: str, tokenizer, max_subwords: int, overlap: int) -> DocumentPreparer:
    return kind(segmenter, SubwordAligner(tokenizer, max_subwords, overlap))


def prepare_documents(
    texts: Iterable[str], preparer: DocumentPreparer, n_process: int = 1
) -> Iterator[PreparedDocument]:
    """`preparer(text)` for each text, in input order; in `n_process` spawned workers when above 1."""
    check_positive_int("n_process", n_process)
    if n_process == 1:
        yield from map(preparer, texts)
        return
    for text, (sentences, windows) in map_in_workers(iter(texts), _PrepareTask(preparer), n_process):
        yield PreparedDocument(text, sentences, windows)


class _PrepareTask:
    """A worker's task: (sentences, windows) of each document, without its text, which the parent holds."""

    def __init__(self, preparer: DocumentPreparer):
        self.preparer = preparer

    def __call__(self, first: int, texts: list[str]) -> list:
        return [r if isinstance(r, Failed) else (r.sentences, r.windows) for r in self.preparer.each(first, texts)]


def map_in_workers(
    texts: Iterator[str], task: Callable[[int, list[str]], list], n_process: int, threads: int | None = None
) -> Iterator[tuple[str, Any]]:
    """(text, result) of `task(first, chunk)` over chunks of `texts` in `n_process` spawned workers, in input order.

    `task` returns one result per text of its chunk (`first` is the index of the chunk's first
    text); it is pickled once, and unpickled once in each worker, which sets torch to `threads`
    threads first when given. A `Failed` result is raised here as its `DocumentError`, after
    every earlier document has been yielded.
    """
    # spawn, not fork: forking a process that holds torch threads (or a CUDA context) can hang.
    context = multiprocessing.get_context("spawn")
    pending: deque[tuple[Future, list[str]]] = deque()
    first = 0
    with _pickled_to_file(task) as task_path, ExitStack() as cleanup:
        pool = ProcessPoolExecutor(
            n_process, mp_context=context, initializer=_start_worker, initargs=(task_path, threads)
        )
        # The caller stopped early, or an error: drop what is queued, and do not wait for what is running.
        cleanup.callback(pool.shutdown, wait=False, cancel_futures=True)
        while True:
            while len(pending) < n_process * TASKS_AHEAD:
                chunk = list(islice(texts, DOCS_PER_TASK))
                if not chunk:
                    break
                pending.append((pool.submit(_run_task, first, chunk), chunk))
                first += len(chunk)
            if not pending:
                return
            future, chunk = pending.popleft()
            results, cuts = future.result()
            add_truncations(cuts)
            for text, result in zip(chunk, results):
                if isinstance(result, Failed):
                    raise result.error()
                yield text, result


@contextmanager
def _pickled_to_file(task: Any) -> Iterator[str]:
    """The path of a temporary file holding `task` pickled, removed on leaving.

    The task (a whole extractor, 100s of MB) goes to workers by a file, not through the spawn pipe: a
    worker that dies while starting (a script without `if __name__ == "__main__":`) left the parent
    blocked for ever writing the rest of it into that pipe; with a file name to send, the pool reports
    itself broken at once. Workers read it when they start; one still starting at the end is shut down.
    """
    descriptor, path = tempfile.mkstemp(prefix="viextract-task-", suffix=".pkl")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(task, handle)
        yield path
    finally:
        os.unlink(path)


_worker_task: Callable[[int, list[str]], list] | None = None


def _start_worker(blob_path: str, threads: int | None) -> None:
    global _worker_task
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    with warnings.catch_warnings(), open(blob_path, "rb") as handle:  # torch warns about TypedStorage
        warnings.simplefilter("ignore")  # while rebuilding a model's tensors
        _worker_task = pickle.load(handle)


def _run_task(first: int, texts: list[str]) -> tuple[list, dict[str, int]]:
    """The task's results for one chunk, and what it had to cut, for the caller's summary."""
    assert _worker_task is not None
    with counting_truncations() as cuts:
        results = _worker_task(first, texts)
    return results, dict(cuts)
