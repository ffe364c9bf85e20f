"""First calls from several threads at once, in a fresh process: the web-server case (issue 17, item 2).

Each test runs in a subprocess, since the race is in the first import of transformers and the
first load of the default model, which this test process has long done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FOUR_THREADS = textwrap.dedent("""
    import json, sys, threading
    import viextract
    from viextract import extractor as module

    assert "transformers" not in sys.modules  # the race is in its first, lazy import
    loads = []
    load = module.Extractor.from_pretrained.__func__

    def counted(cls, *args, **kwargs):
        loads.append(args[0] if args else kwargs)
        return load(cls, *args, **kwargs)

    module.Extractor.from_pretrained = classmethod(counted)
    start = threading.Barrier(4)
    results, errors = {}, []

    def work(worker):
        start.wait()
        try:
            results[worker] = CALL
        except BaseException as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"loads": len(loads), "errors": errors, "results": [results.get(i) for i in range(4)]}))
""")


def run_four_threads(call: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    script = FOUR_THREADS.replace("CALL", call)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_four_threads_calling_extract_first_load_the_default_model_once():
    outcome = run_four_threads('viextract.extract("Bộ trưởng Bùi Thanh Sơn thăm Lào.").to_dict()')
    assert outcome["errors"] == []
    assert outcome["loads"] == 1
    first = outcome["results"][0]
    assert first is not None and all(result == first for result in outcome["results"])


def test_four_threads_loading_models_at_once_all_succeed(tiny_ner_dir):
    call = f'viextract.Extractor.from_pretrained({str(tiny_ner_dir)!r}, device="cpu")("Hà Nội").text'
    outcome = run_four_threads(call)
    assert outcome["errors"] == []
    assert outcome["results"] == ["Hà Nội"] * 4
