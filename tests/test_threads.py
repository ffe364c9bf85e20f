"""First calls from several threads at once, in a fresh process: the web-server case (issue 17, item 2).

The tests read one subprocess's run, since the race is in the first import of transformers and the
first load of the default model, which this test process has long done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Four threads call `extract` (the default model's first load) while four others load a model themselves.
EIGHT_THREADS = textwrap.dedent("""
    import json, sys, threading
    import viextract
    from viextract import extractor as module

    assert "transformers" not in sys.modules  # the race is in its first, lazy import
    loads = []
    load = module.Extractor.from_pretrained.__func__

    def counted(cls, *args, **kwargs):
        loads.append(str(args[0]) if args else repr(kwargs))
        return load(cls, *args, **kwargs)

    module.Extractor.from_pretrained = classmethod(counted)
    calls = [lambda: EXTRACT] * 4 + [lambda: LOAD] * 4
    start = threading.Barrier(len(calls))
    results, errors = {}, {}

    def work(worker):
        start.wait()
        try:
            results[worker] = calls[worker]()
        except BaseException as error:
            errors[worker] = repr(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({
        "default_loads": loads.count(str(module.BUNDLED_MODEL_DIR)),
        "errors": [errors.get(i) for i in range(len(calls))],
        "results": [results.get(i) for i in range(len(calls))],
    }))
""")


@pytest.fixture(scope="module")
def first_calls(tiny_ner_dir) -> dict:
    """One fresh process for both cases: each costs seconds of importing torch and transformers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    script = EIGHT_THREADS.replace("EXTRACT", 'viextract.extract("Bộ trưởng Bùi Thanh Sơn thăm Lào.").to_dict()')
    script = script.replace(
        "LOAD", f'viextract.Extractor.from_pretrained({str(tiny_ner_dir)!r}, device="cpu")("Hà Nội").text'
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_four_threads_calling_extract_first_load_the_default_model_once(first_calls):
    assert first_calls["errors"][:4] == [None] * 4
    assert first_calls["default_loads"] == 1
    first = first_calls["results"][0]
    assert first is not None and all(result == first for result in first_calls["results"][:4])


def test_four_threads_loading_models_at_once_all_succeed(first_calls):
    assert first_calls["errors"][4:] == [None] * 4
    assert first_calls["results"][4:] == ["Hà Nội"] * 4
