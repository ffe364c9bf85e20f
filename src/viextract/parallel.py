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
import signal
import sys
import tempfile
import threading
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
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


def check_can_start_workers(n_process: int) -> None:
    """ValueError for `n_process` above 1 where spawned workers cannot start: in a daemonic process (a
    `multiprocessing.Pool` worker), which may not have children (multiprocessing's bare AssertionError came
    from deep inside the first iteration), or under a main script that is not a file they can re-read."""
    if n_process < 2:
        return
    if multiprocessing.current_process().daemon:
        raise ValueError(
            f"n_process={n_process}: this process is a daemonic one (a multiprocessing.Pool worker, say), "
            "which cannot start worker processes; use n_process=1 here"
        )
    main = _unreadable_main()
    if main is not None:
        raise ValueError(
            f"n_process={n_process}: spawned worker processes re-read the main script from its path, {main!r}, "
            "which is not a file (a script piped into `python -`); save it to a file, or use n_process=1"
        )


def _unreadable_main() -> str | None:
    """`__main__`'s path where spawn would re-run it from there and cannot: each worker died of a
    FileNotFoundError for '<stdin>', and pipe said only that a worker had died."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if getattr(getattr(main, "__spec__", None), "name", None) is not None or not isinstance(path, str):
        return None  # spawn imports it by name, or runs nothing (`python -c`, the interactive prompt)
    where = path if os.path.isabs(path) else os.path.join(multiprocessing.process.ORIGINAL_DIR or "", path)
    return None if os.path.isfile(where) else path


def prepare_documents(
    texts: Iterable[str], preparer: DocumentPreparer, n_process: int = 1, workers: KeptWorkers | None = None
) -> Iterator[PreparedDocument]:
    """`preparer(text)` for each text, in input order; in `n_process` spawned workers when above 1, kept
    in `workers` for the next call when given, else stopped at the end."""
    check_positive_int("n_process", n_process)
    if n_process == 1:
        yield from map(preparer, texts)
        return
    task = _PrepareTask(preparer)
    done = (
        map_in_workers(iter(texts), task, n_process)
        if workers is None
        else workers.map(iter(texts), task, n_process, None, None)
    )
    for text, (sentences, windows) in done:
        yield PreparedDocument(text, sentences, windows)


class _PrepareTask:
    """A worker's task: (sentences, windows) of each document, without its text, which the parent holds."""

    def __init__(self, preparer: DocumentPreparer):
        self.preparer = preparer

    def __call__(self, first: int, texts: list[str], settings: Any = None) -> list:
        return [r if isinstance(r, Failed) else (r.sentences, r.windows) for r in self.preparer.each(first, texts)]


def map_in_workers(
    texts: Iterator[str], task: Callable[..., list], n_process: int, threads: int | None = None
) -> Iterator[tuple[str, Any]]:
    """(text, result) of `task(first, chunk)` over chunks of `texts` in `n_process` workers started for this
    call alone and stopped at its end (`WorkerPool.map`; `KeptWorkers` keeps them for the next call)."""
    pool = WorkerPool(task, n_process, threads)
    try:
        yield from pool.map(texts)
    finally:
        pool.close()


class WorkerPool:
    """`n_process` spawned workers, each with its own copy of `task`, for as many `map` calls as asked.

    `task` is pickled once, and unpickled once in each worker, which sets torch to `threads` threads
    first when given. Workers ignore Ctrl-C: the caller's process gets it and stops them (`close`).
    """

    def __init__(self, task: Callable[..., list], n_process: int, threads: int | None = None):
        self.n_process = n_process
        self.broken = False  # set by an error that may have left a worker dead or busy: then `close` it
        path = _pickle_to_file(task)
        # spawn, not fork: forking a process that holds torch threads (or a CUDA context) can hang.
        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(
            n_process, mp_context=context, initializer=_start_worker, initargs=(path, threads)
        )
        self._executor = executor
        # Garbage collection and interpreter exit stop the workers too; the finalizer holds no reference to self.
        self._finalizer = weakref.finalize(self, _stop, executor, path)

    def usable(self) -> bool:
        """False once an error broke it, or a worker died (killed, out of memory) since the last call."""
        if self.broken or not self._finalizer.alive:
            return False
        # The executor notices a dead worker in its own thread, a moment later: ask the processes too.
        workers = (getattr(self._executor, "_processes", None) or {}).values()
        return not getattr(self._executor, "_broken", False) and all(worker.is_alive() for worker in workers)

    def map(self, texts: Iterator[str], settings: Any = None) -> Iterator[tuple[str, Any]]:
        """(text, result) of `task(first, chunk, settings)` over chunks of `texts`, in input order: one
        result per text of the chunk (`first` is the index of its first text in `texts`). A `Failed`
        result is raised here as its `DocumentError`, after every earlier document has been yielded.
        Stopped early, it cancels its queued chunks; the pool stays usable.
        """
        pending: deque[tuple[Future, list[str]]] = deque()
        try:
            yield from self._map(texts, settings, pending)
        except BrokenProcessPool as error:
            self.broken = True
            raise BrokenProcessPool(
                "a pipe() worker process died (killed, out of memory, a crash, or a script without "
                "`if __name__ == '__main__':`); the next pipe() call starts new workers"
            ) from error
        except (DocumentError, GeneratorExit):  # one bad document, or the caller stopped: the workers are fine
            raise
        except (RuntimeError, CancelledError) as error:
            self.broken = True
            if self._finalizer.alive:
                raise
            # concurrent.futures' "cannot schedule new futures after shutdown", or a bare CancelledError
            raise RuntimeError(
                "pipe(): its worker processes were stopped (Extractor.close()) while this iteration ran; "
                "call pipe() again for the documents not yet yielded"
            ) from error
        except BaseException:  # Ctrl-C, or an error the task could not send back: the workers' state is unknown
            self.broken = True
            raise
        finally:
            for future, _ in pending:  # what has not started never will
                future.cancel()

    def _map(self, texts: Iterator[str], settings: Any, pending: deque) -> Iterator[tuple[str, Any]]:
        first = 0
        while True:
            while len(pending) < self.n_process * TASKS_AHEAD:
                chunk = list(islice(texts, DOCS_PER_TASK))
                if not chunk:
                    break
                pending.append((self._executor.submit(_run_task, first, chunk, settings), chunk))
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

    def close(self) -> None:
        """Stop the workers: queued chunks are dropped, running ones are not waited for. Idempotent."""
        self._finalizer()


def _stop(executor: ProcessPoolExecutor, path: str) -> None:
    executor.shutdown(wait=False, cancel_futures=True)
    # A worker still starting then fails to read the task, and is stopped with the others.
    with suppress(FileNotFoundError):
        os.unlink(path)


class KeptWorkers:
    """One `WorkerPool` kept between calls, for as long as calls bring the same task, worker and thread counts.

    A call that brings another task (the models or options changed: `task_key`) or other counts replaces
    the kept pool, or, while another thread's call still uses it, gets a pool of its own for that call.
    Calls from several threads with the same task share the kept pool (submitting to it is thread-safe).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: WorkerPool | None = None
        self._key: tuple | None = None
        self._identities: list[Callable[[], Any]] = []  # what the kept key names by id(): see `_same_task`
        self._users = 0

    def map(
        self, texts: Iterator[str], task: Callable[..., list], n_process: int, threads: int | None, settings: Any
    ) -> Iterator[tuple[str, Any]]:
        """`WorkerPool.map` of `texts` on the kept pool for (task, n_process, threads), started if need be."""
        identities: list[Callable[[], Any]] = []
        key = (task_key(task, identities), n_process, threads)
        pool, kept = self._take(key, identities, task, n_process, threads)
        try:
            yield from pool.map(texts, settings)
        finally:
            self._give_back(pool, kept)

    def _take(self, key: tuple, identities: list, task, n_process: int, threads: int | None) -> tuple[WorkerPool, bool]:
        with self._lock:
            if self._pool is not None and not (self._same_task(key) and self._pool.usable()) and self._users == 0:
                self._drop()
            if self._pool is None:
                # Under the lock: it pickles the task (a second for the bundled model); others wait, not repeat it.
                self._pool, self._key, self._identities = WorkerPool(task, n_process, threads), key, identities
            if self._same_task(key) and self._pool.usable():
                self._users += 1
                return self._pool, True
        return WorkerPool(task, n_process, threads), False

    def _same_task(self, key: tuple) -> bool:
        """The kept key is `key`, and each tensor or tokenizer it names by id() still lives: one freed since
        (a model swapped out) may have left its id, and even its memory, to another that only looks the same."""
        return self._key == key and all(identity() is not None for identity in self._identities)

    def _give_back(self, pool: WorkerPool, kept: bool) -> None:
        with self._lock:
            if not (kept and pool is self._pool):
                pool.close()
                return
            self._users -= 1
            if self._users == 0 and not pool.usable():
                self._drop()

    def _drop(self) -> None:
        assert self._pool is not None
        self._pool.close()
        self._pool, self._key, self._identities, self._users = None, None, [], 0

    def close(self) -> None:
        """Stop the kept workers now (a call still iterating on them fails); the next call starts new ones."""
        with self._lock:
            if self._pool is not None:
                self._drop()


class _TensorsByIdentity(pickle.Pickler):
    """Pickles an object's structure with each tensor written as its identity and version, not its values;
    a reference to each object so named goes into `identities` (weak where the object allows it)."""

    def __init__(self, file: Any, identities: list[Callable[[], Any]]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.identities = identities

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, SubwordAligner):  # its cache grows with each call; its tokenizer is keyed elsewhere
            self._remember(obj.tokenizer)
            return ("aligner", id(obj.tokenizer), obj.max_subwords, obj.overlap)
        if _is_tensor(obj):  # `_version` counts in-place changes (training, load_state_dict); data_ptr a move
            self._remember(obj)
            where = (id(obj), obj._version, obj.data_ptr(), str(obj.dtype), tuple(obj.shape), str(obj.device))
            return ("tensor", *where, _sample(obj))
        return None

    def _remember(self, obj: Any) -> None:
        try:
            self.identities.append(weakref.ref(obj))
        except TypeError:  # no weak reference to it: a strong one, so that its id cannot pass to another
            self.identities.append(lambda: obj)


def _sample(tensor: Any) -> list | None:
    """Sixteen of a CPU tensor's values, spread over it: a write through `.data` (`p.data.copy_(x)`) counts
    no version, and the kept workers went on with the old weights. Microseconds a tensor."""
    if tensor.device.type != "cpu" or tensor.is_quantized or tensor.layout != sys.modules["torch"].strided:
        return None
    flat = tensor.detach().reshape(-1)
    return flat[:: max(1, flat.numel() // 16)][:16].tolist()


def _is_tensor(obj: Any) -> bool:
    torch = sys.modules.get("torch")  # a task without torch in the process holds no tensor
    return torch is not None and isinstance(obj, torch.Tensor)


def task_key(task: Any, identities: list[Callable[[], Any]] | None = None) -> bytes:
    """A digest that changes when anything `task` would give the workers changes: a model or tokenizer
    swapped or changed in place, the segmenter, a threshold. Tens of milliseconds, not a full pickle's seconds.
    It names tensors and tokenizers by id(): references to them go into `identities`, when given, to tell
    whether they still live."""
    import hashlib  # here: a text-only worker imports this module, and hashlib's OpenSSL costs it 3.5 MB

    digest = hashlib.sha256()

    class _Sink:
        write = digest.update

    _TensorsByIdentity(_Sink(), [] if identities is None else identities).dump(task)
    return digest.digest()


def _pickle_to_file(task: Any) -> str:
    """The path of a new temporary file holding `task` pickled; removed again if pickling fails.

    The task (a whole extractor, 100s of MB) goes to workers by a file, not through the spawn pipe: a
    worker that dies while starting (a script without `if __name__ == "__main__":`) left the parent
    blocked for ever writing the rest of it into that pipe; with a file name to send, the pool reports
    itself broken at once. Workers read it when they start (a pool starts them as calls need them).
    """
    descriptor, path = tempfile.mkstemp(prefix="viextract-task-", suffix=".pkl")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(task, handle)
    except BaseException:
        os.unlink(path)
        raise
    return path


_worker_task: Callable[[int, list[str], Any], list] | None = None
_load_error = ""  # why this worker could not load its task, told to the caller with each chunk sent to it


def _start_worker(blob_path: str, threads: int | None) -> None:
    global _worker_task, _load_error
    # Ctrl-C in a terminal reaches the whole process group: the caller's process handles it and stops the
    # workers; an idle kept worker would otherwise die of it between calls, printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings(), open(blob_path, "rb") as handle:  # torch warns about TypedStorage
            warnings.simplefilter("ignore")  # while rebuilding a model's tensors
            _worker_task = pickle.load(handle)
    except Exception as error:  # raised from an initializer it printed a traceback, and the caller heard
        _load_error = "".join(traceback.format_exception_only(type(error), error)).strip()  # "a worker died"


def _run_task(first: int, texts: list[str], settings: Any) -> tuple[list, dict[str, int]]:
    """The task's results for one chunk, and what it had to cut, for the caller's summary."""
    if _worker_task is None:
        raise RuntimeError(
            f"pipe(): a worker process could not load the extractor ({_load_error}); workers import each class "
            "it holds by name, so one defined in `python -c`, a notebook or stdin is not found there: "
            "define it in a module"
        )
    with counting_truncations() as cuts:
        results = _worker_task(first, texts, settings)
    return results, dict(cuts)
