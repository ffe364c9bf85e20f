"""Worker processes (whole extraction on CPU, text preparation for a GPU) and token-budget batches:
same results, input order, errors located, cuts counted."""

import copy
import gc
import logging
import multiprocessing
import operator
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.test_robustness import ODD_INPUTS
from viextract import Extractor
from viextract.extractor import BUNDLED_MODEL_DIR, _ExtractTask
from viextract.ner import plan_batches
from viextract.parallel import DocumentError, DocumentPreparer, TextPreparationError, prepare_documents, task_key


@pytest.fixture(scope="module")
def bundled():
    return Extractor.from_pretrained(BUNDLED_MODEL_DIR, device="cpu")


class FailingExtractor(Extractor):
    """The bundled model, failing in the model stage on one document, in whichever process runs it."""

    def _extract_prepared(self, documents, *args, **kwargs):
        if any(doc.text == "boom" for doc in documents):
            raise ValueError("the model cannot read this document")
        return super()._extract_prepared(documents, *args, **kwargs)


class FailingPreparer(DocumentPreparer):
    """Fails on one text, in whichever process prepares it."""

    def __call__(self, text):
        if text == "boom":
            raise ValueError("this document cannot be prepared")
        return super().__call__(text)


@pytest.fixture(scope="module")
def short_texts(corpus):
    """Each corpus article's first paragraphs: worker processes are slow to start on a busy machine."""
    return [text[:800] for text in corpus]


@dataclass
class Run:
    """What one `pipe` call gave: its results up to the error, its warnings, and the error."""

    results: list
    warnings: list[str]
    error: BaseException | None


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _run(extractor, texts, **kwargs) -> Run:
    logger, handler = logging.getLogger("viextract"), _Warnings()
    level, results, error = logger.level, [], None
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        for result in extractor.pipe(texts, batch_size=4, **kwargs):
            results.append(result)
    except Exception as raised:
        error = raised
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return Run(results, handler.messages, error)


@pytest.fixture(scope="module")
def texts(short_texts):
    """Articles, odd strings (words longer than a model window among them: cut and counted), empty and
    one-word texts, and a non-str last (a TypeError)."""
    return short_texts + list(ODD_INPUTS.values()) + short_texts[:2] + ["", "Lào.", 3]


@pytest.fixture(scope="module")
def one_process(bundled, texts) -> Run:
    return _run(bundled, texts)


@pytest.fixture(scope="module")
def two_processes(bundled, texts) -> dict[bool, Run]:
    """One `pipe(n_process=2)` run each way: models in the workers (the CPU route), or only text
    preparation there and the models in the caller's process (the GPU route). Spawning workers costs
    seconds, so the tests below check different properties of these two runs."""
    runs = {}
    for models_in_workers in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("viextract.extractor._models_in_workers", lambda device, answer=models_in_workers: answer)
            runs[models_in_workers] = _run(bundled, texts, n_process=2)
    return runs


def test_two_worker_processes_give_the_results_of_one(one_process, two_processes, texts):
    assert len(one_process.results) == len(texts) - 1
    assert two_processes[True].results == one_process.results
    assert sum(len(result.entities) for result in one_process.results) > 50  # the bundled model finds things


def test_workers_that_only_prepare_text_give_the_same_results(one_process, two_processes):
    """The GPU route: text prepared in the workers, the model run in the caller's process."""
    assert two_processes[False].results == one_process.results


@pytest.mark.parametrize("models_in_workers", [True, False])
def test_what_workers_cut_is_in_the_callers_one_warning(one_process, two_processes, models_in_workers):
    assert len(one_process.warnings) == 1 and "words longer than a model window were cut" in one_process.warnings[0]
    assert two_processes[models_in_workers].warnings == one_process.warnings


def test_a_model_error_in_a_worker_names_the_document_and_comes_after_the_ones_before(bundled):
    failing = FailingExtractor.__new__(FailingExtractor)
    failing.__dict__.update(bundled.__dict__)
    texts = ["Việt Nam.", "Lào.", "boom", "Campuchia."]
    results = failing.pipe(texts, n_process=2)
    assert [next(results).text for _ in range(2)] == texts[:2]
    with pytest.raises(DocumentError, match=r"document 2: ValueError: the model cannot read this document") as error:
        next(results)
    assert error.value.index == 2 and not isinstance(error.value, TextPreparationError)


def test_an_error_in_a_worker_names_the_document_and_comes_after_the_ones_before(bundled):
    preparer = FailingPreparer(bundled.segmenter, bundled.tagger.aligner)
    texts = ["Việt Nam.", "Lào.", "boom", "Campuchia."]
    results = prepare_documents(iter(texts), preparer, n_process=2)
    assert [next(results).text for _ in range(2)] == texts[:2]
    with pytest.raises(TextPreparationError, match=r"document 2: ValueError: this document cannot be prepared"):
        next(results)


def test_on_the_gpu_route_a_text_error_in_a_worker_comes_after_the_documents_before_it(bundled, monkeypatch):
    """With the model in the caller's process, prepared documents wait to be tagged together: a document that
    failed in a worker dropped the ones before it still waiting, though they had been prepared."""
    monkeypatch.setattr("viextract.extractor._models_in_workers", lambda device: False)
    monkeypatch.setattr("viextract.extractor.DocumentPreparer", FailingPreparer)
    texts = ["Việt Nam.", "Lào.", "boom", "Campuchia."]
    results = bundled.pipe(texts, n_process=2)
    assert [next(results).text for _ in range(2)] == texts[:2]
    with pytest.raises(TextPreparationError, match=r"document 2: ValueError: this document cannot be prepared"):
        next(results)


@pytest.mark.parametrize("n_process", [1, 2])
def test_empty_texts_are_yielded_as_they_are_read(bundled, monkeypatch, n_process):
    """Documents are tagged in chunks of sentences; empty texts, which have none, made a chunk that never
    filled: a stream of them (blank records of a queue) yielded nothing, and held everything read."""
    monkeypatch.setattr("viextract.extractor._models_in_workers", lambda device: False)  # the GPU route
    read = 0

    def stream():
        nonlocal read
        for _ in range(10_000):
            read += 1
            yield ""

    results = bundled.pipe(stream(), batch_size=1, n_process=n_process)
    assert next(results).text == "" and read < 100
    results.close()


def test_a_caller_that_stops_early_leaves_no_worker_behind(bundled, short_texts):
    results = bundled.pipe(iter(short_texts * 4), n_process=2, batch_size=1)
    assert next(results).text == short_texts[0]
    results.close()  # shuts the pool down; a hang here fails the run


def test_bad_arguments_are_refused(bundled, one_process, two_processes):
    for n_process in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_process"):
            bundled.pipe(["Lào."], n_process=n_process)  # at the call, before any iteration
    with pytest.raises(ValueError, match="batch_tokens"):
        list(bundled.pipe(["Lào."], batch_tokens=0))
    for run in (one_process, *two_processes.values()):  # a non-str, after the documents before it
        assert isinstance(run.error, TypeError), run.error


def test_a_daemonic_process_is_told_to_use_one_process(bundled, monkeypatch):
    """In a multiprocessing.Pool's worker, multiprocessing's bare AssertionError came from the first iteration."""
    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)
    with pytest.raises(ValueError, match="daemonic.*use n_process=1 here"):
        bundled.pipe(["Lào."], n_process=2)  # at the call
    assert [r.text for r in bundled.pipe(["Lào."])] == ["Lào."]


def test_a_main_script_piped_into_python_is_told_to_be_saved(bundled, monkeypatch):
    """`python - <<EOF`: spawned workers re-read the main script from '<stdin>', each died of a FileNotFoundError,
    and pipe said only that a worker had died (killed, out of memory, ...)."""
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__spec__", None)
    monkeypatch.setattr(main, "__file__", "<stdin>", raising=False)
    with pytest.raises(ValueError, match="'<stdin>', which is not a file .* save it to a file, or use n_process=1"):
        bundled.pipe(["Lào."], n_process=2)  # at the call
    assert [r.text for r in bundled.pipe(["Lào."])] == ["Lào."]


def _found(results) -> list[tuple[list, list]]:
    return [
        (
            [(e.start, e.end, e.label) for e in r.entities],
            [(x.head.start, x.tail.start, x.label, round(x.score, 3)) for x in r.relations],
        )
        for r in results
    ]


def test_a_token_budget_changes_batches_not_results(bundled, short_texts):
    expected = _found(bundled.pipe(short_texts, batch_size=32))
    assert any(relations for _, relations in expected)  # the relation model's batches are covered too
    for budget in (64, 100_000):
        assert _found(bundled.pipe(short_texts, batch_size=1000, batch_tokens=budget)) == expected


@given(st.lists(st.integers(1, 300), max_size=60), st.integers(1, 10), st.one_of(st.none(), st.integers(1, 2000)))
def test_batches_cover_every_window_once_within_both_limits(lengths, batch_size, batch_tokens):
    lengths = sorted(lengths)
    batches = plan_batches(lengths, batch_size, batch_tokens)
    assert [i for start, end in batches for i in range(start, end)] == list(range(len(lengths)))
    for start, end in batches:
        rows, width = end - start, max(lengths[start:end])
        assert rows <= batch_size
        if batch_tokens is not None and rows > 1:
            assert rows * width <= batch_tokens
    for (start, end), (next_start, _) in zip(batches, batches[1:]):  # each batch is as full as allowed
        rows, width = end - start + 1, lengths[next_start]
        assert rows > batch_size or (batch_tokens is not None and rows * width > batch_tokens)


def test_a_script_without_a_main_guard_fails_instead_of_hanging(tmp_path):
    """Spawned workers re-run such a script and die starting; the parent used to block for ever writing
    the whole extractor into the dying worker's pipe. Now the task goes by a file and the pool breaks."""
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "from viextract import Extractor\n"
        f"extractor = Extractor.from_pretrained({str(BUNDLED_MODEL_DIR)!r}, device='cpu')\n"
        "print(len(list(extractor.pipe(['Sáng 5/3, tại Hà Nội.'] * 4, n_process=2))))\n",
        encoding="utf-8",
    )
    temporary = tmp_path / "tmp"  # its own: another process's pipe() may have a task file in the shared one
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=environment)
    assert done.returncode != 0 and "BrokenProcessPool" in done.stderr, done.stderr[-2000:]
    assert not list(temporary.glob("viextract-task-*.pkl"))


@pytest.fixture
def own(bundled):
    """The bundled extractor with workers of its own, the only ones running (`bundled` may keep some)."""
    bundled.close()
    extractor = copy.copy(bundled)
    yield extractor
    extractor.close()


def _worker_pids(others: frozenset[int] = frozenset()) -> set[int]:
    """This process's children but `others`: those of other extractors, kept by earlier tests or modules."""
    return {process.pid for process in multiprocessing.active_children()} - others


def _others_of(extractor) -> frozenset[int]:
    """The children not `extractor`'s, once its own kept workers (from an earlier test) are stopped."""
    extractor.close()
    return frozenset(_worker_pids())


def _stopped(pids: set[int]) -> bool:
    """Whether every process of `pids` has ended (each waited for: a hang fails the run, not a timer)."""
    for process in multiprocessing.active_children():
        # join() returns at once, the process still listed, where the executor's own thread reaped it a moment
        # before setting its exit code; is_alive() sees that code once set.
        while process.pid in pids and process.is_alive():
            process.join(0.1)
    return not pids & _worker_pids()


class _Unloadable:
    """A task that pickles, and cannot be unpickled (in a worker: a class defined in `python -c`, say)."""

    def __reduce__(self):
        return operator.truediv, (1, 0)


def test_a_task_the_workers_cannot_load_says_why_and_quietly(capfd):
    """Each worker printed the initializer's traceback and died; pipe said only that a worker had died (killed,
    out of memory, ...), not that a class of the extractor could not be found in the workers."""
    from viextract import parallel

    pool = parallel.WorkerPool(_Unloadable(), 2)
    try:
        with pytest.raises(RuntimeError, match=r"could not load the extractor \(ZeroDivisionError: division by zero"):
            list(pool.map(iter(["Lào."] * 8)))
        assert not pool.usable()
    finally:
        pool.close()
    assert "Traceback" not in capfd.readouterr().err


def test_a_second_call_keeps_the_workers_and_their_results(bundled, own, short_texts):
    """A caller that sends batch after batch pays the workers' start (seconds) once, not on each call."""
    extractor = copy.copy(own)  # not held by the fixture: collected at the end
    expected = list(bundled.pipe(short_texts))
    others = _others_of(extractor)
    assert list(extractor.pipe(short_texts, n_process=2)) == expected  # two chunks: both workers start
    workers = _worker_pids(others)
    assert len(workers) == 2
    assert list(extractor.pipe(short_texts, n_process=2)) == expected
    assert _worker_pids(others) == workers
    half_read = extractor.pipe(iter(short_texts * 4), n_process=2, batch_size=1)
    assert next(half_read).text == short_texts[0]
    abandoned = extractor.pipe(iter(short_texts * 4), n_process=2, batch_size=1)
    assert next(abandoned).text == short_texts[0]
    half_read.close()  # and `abandoned` is left as it is, neither closed nor collected
    assert list(extractor.pipe(short_texts, n_process=2)) == expected
    assert _worker_pids(others) == workers
    extractor.close()
    assert _stopped(workers)
    assert list(extractor.pipe(short_texts[:1], n_process=2)) == expected[:1]  # new workers after close()
    workers = _worker_pids(others)
    del extractor, half_read, abandoned
    gc.collect()
    assert _stopped(workers)


def test_workers_never_use_models_that_changed_since_they_started(bundled, own, short_texts):
    extractor = own
    assert any(r.relations for r in extractor.pipe(short_texts, n_process=2))
    extractor.relation_extractor = None
    assert not any(r.relations for r in extractor.pipe(short_texts, n_process=2))
    assert list(extractor.pipe(short_texts, n_process=2)) == list(extractor.pipe(short_texts))


def test_the_task_key_follows_the_models_not_the_callers_caches(bundled, short_texts):
    extractor = copy.deepcopy(bundled)
    key = task_key(_ExtractTask(extractor))
    list(extractor.pipe(short_texts))  # fills the aligners' caches
    assert task_key(_ExtractTask(extractor)) == key
    with torch.no_grad():
        extractor.ner_model.classifier.bias.add_(1.0)  # in place, as training or load_state_dict would
    changed = task_key(_ExtractTask(extractor))
    assert changed != key
    with torch.no_grad():  # through .data, which counts no version: the values tell
        extractor.ner_model.classifier.bias.data.copy_(extractor.ner_model.classifier.bias.data + 1.0)
    through_data = task_key(_ExtractTask(extractor))
    assert through_data not in (key, changed)
    changed = through_data
    extractor.segmenter = "pyvi" if extractor.segmenter != "pyvi" else "syllables"
    assert task_key(_ExtractTask(extractor)) not in (key, changed)


def test_kept_workers_are_not_reused_once_a_tensor_their_key_names_by_id_is_gone(monkeypatch):
    """The key names tensors by id(), version and address: a model swapped out and freed can leave both to a
    new one of the same shape, whose key then matched the old workers' though they hold the old weights."""
    from viextract import parallel

    class Pool:  # stands for WorkerPool: records each start, runs nothing
        started = 0

        def __init__(self, task, n_process, threads=None):
            Pool.started += 1

        def usable(self):
            return True

        def map(self, texts, settings=None):
            yield from ((text, None) for text in texts)

        def close(self):
            pass

    class Task:
        def __init__(self):
            self.weights = torch.zeros(3)

    def same_key_for_any_task(task, identities=None):  # as a new tensor at a freed one's id and address would get
        identities.append(__import__("weakref").ref(task.weights))
        return b"same"

    monkeypatch.setattr(parallel, "WorkerPool", Pool)
    monkeypatch.setattr(parallel, "task_key", same_key_for_any_task)
    workers = parallel.KeptWorkers()
    first = Task()
    list(workers.map(iter(["a"]), first, 2, 1, None))
    list(workers.map(iter(["a"]), Task(), 2, 1, None))
    assert Pool.started == 1  # same key, and the kept task's tensor lives: it is that tensor
    del first
    gc.collect()
    list(workers.map(iter(["a"]), Task(), 2, 1, None))
    assert Pool.started == 2


def test_an_iteration_whose_workers_close_stops_says_so(bundled):
    """close() during an iteration: concurrent.futures' 'cannot schedule new futures after shutdown' (or a
    bare CancelledError) left the caller to guess which pool had shut down, and why."""
    from viextract import parallel

    workers = parallel.KeptWorkers()
    preparer = DocumentPreparer(bundled.segmenter, bundled.tagger.aligner)
    prepared = prepare_documents(iter(["Ông Nguyễn Văn An đến Hà Nội."] * 200), preparer, 2, workers)
    next(prepared)
    workers.close()
    with pytest.raises(RuntimeError, match=r"stopped \(Extractor\.close\(\)\) while this iteration ran"):
        list(prepared)


def test_a_worker_that_dies_gives_a_clear_error_and_the_next_call_starts_anew(bundled, own, short_texts):
    extractor = own
    expected = list(bundled.pipe(short_texts[:2]))
    others = _others_of(extractor)
    assert list(extractor.pipe(short_texts[:2], n_process=2)) == expected
    for pid in _worker_pids(others):  # between calls (out of memory, say): the next call does not notice
        os.kill(pid, signal.SIGKILL)
    assert _stopped(_worker_pids(others))
    assert list(extractor.pipe(short_texts[:2], n_process=2)) == expected
    results = extractor.pipe(iter(short_texts * 8), n_process=2, batch_size=1)
    next(results)
    for pid in _worker_pids(others):  # during a call
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool, match="next pipe\\(\\) call starts new workers"):
        list(results)
    assert list(extractor.pipe(short_texts[:2], n_process=2)) == expected


def test_two_threads_can_share_one_extractors_workers(bundled, own, short_texts):
    extractor = own
    expected = list(bundled.pipe(short_texts))
    others = _others_of(extractor)
    with ThreadPoolExecutor(2) as threads:
        runs = list(threads.map(lambda _: list(extractor.pipe(short_texts, n_process=2)), range(2)))
    assert runs == [expected, expected]
    assert len(_worker_pids(others)) == 2


def test_kept_workers_end_with_the_interpreter(tmp_path):
    """Left running at exit, they stop without a traceback, and their task file goes with them."""
    import subprocess
    import sys

    import psutil

    script = tmp_path / "kept.py"
    script.write_text(
        "import multiprocessing\n"
        "from viextract import Extractor\n"
        "if __name__ == '__main__':\n"
        f"    extractor = Extractor.from_pretrained({str(BUNDLED_MODEL_DIR)!r}, device='cpu')\n"
        "    print(len(list(extractor.pipe(['Sáng 5/3, tại Hà Nội.'] * 8, n_process=2))))\n"
        "    print(*[process.pid for process in multiprocessing.active_children()])\n",
        encoding="utf-8",
    )
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=environment)
    assert done.returncode == 0 and not done.stderr, done.stderr[-2000:]
    count, pids = done.stdout.splitlines()
    assert count == "8" and len(pids.split()) == 2  # two chunks of 4: both workers started
    assert not [pid for pid in map(int, pids.split()) if psutil.pid_exists(pid)]
    assert not list(temporary.glob("viextract-task-*.pkl"))
