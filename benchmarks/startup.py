"""Start-up costs of viextract, each measured in a fresh interpreter (figures: RESULTS-speed.md).

    python benchmarks/startup.py [--model DIR] [--repeats 3] [--json out.json]

Rows: `import viextract` (and whether it imported torch); `python -m viextract --help`; the bundled
model's first result (`viextract.extract`, load included); `Extractor.pipe(n_process=2)` on two one-word
texts after loading, the models in the workers (CPU route) and only text preparation there (GPU route),
with each worker's peak RSS; and one worker's start alone (`parallel._start_worker` on the pickled task).
Each row gives the range over `--repeats` runs: on a shared machine the spread is part of the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks._models import format_machine, machine_info, resolve_model_dir  # noqa: E402

TEXT = "Thủ tướng Phạm Minh Chính tiếp Đại sứ Nhật Bản tại Hà Nội ngày 5/3/2024."

IMPORT = """
    import time
    started = time.perf_counter()
    import viextract
    seconds = time.perf_counter() - started
    import sys
    report(import_s=seconds, torch_imported="torch" in sys.modules)
"""

FIRST_RESULT = """
    import time
    started = time.perf_counter()
    import viextract
    imported = time.perf_counter()
    viextract.extract(TEXT)
    report(import_s=imported - started, first_result_s=time.perf_counter() - imported)
"""

# Two pipe calls on two one-word texts: the first starts the workers, the second finds them kept (before
# 2026-12-07 it paid their start again).
PIPE = """
    import threading, time
    import psutil
    import viextract.extractor as module
    extractor = module.Extractor.from_pretrained(MODEL, device="cpu")
    if not MODELS_IN_WORKERS:
        module._models_in_workers = lambda device: False  # the GPU route, on the CPU
    peaks, done = {}, threading.Event()

    def watch():  # each worker's peak RSS, sampled
        me = psutil.Process()
        while not done.wait(0.05):
            for child in me.children(recursive=True):
                try:
                    peaks[child.pid] = max(peaks.get(child.pid, 0), child.memory_info().rss)
                except psutil.Error:
                    pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    calls = []
    for _ in range(2):
        started = time.perf_counter()
        list(extractor.pipe(["Lào.", "Việt Nam."], n_process=2))
        calls.append(time.perf_counter() - started)
    done.set()
    watcher.join()
    report(first_call_s=calls[0], second_call_s=calls[1], worker_peak_mb=max(peaks.values()) / 2**20)
"""

# One worker's initializer alone, on the task pipe() pickles: its time and peak RSS (VmHWM; ru_maxrss would
# count the parent's RSS at the fork); in a second worker the same, split into the imports the task's classes
# need and reading the task; the file's size; and a second from_pretrained in the parent, what a worker loading
# the model from its directory would spend after its imports.
WORKER_START = """
    import os, subprocess, sys
    import torch
    import viextract.extractor as module
    from viextract.parallel import _pickle_to_file
    extractor = module.Extractor.from_pretrained(MODEL, device="cpu")
    started = time.perf_counter()
    extractor = module.Extractor.from_pretrained(MODEL, device="cpu")
    reloaded = time.perf_counter() - started
    task = module._ExtractTask(extractor)
    worker = (
        "import sys, time\\n"
        "started = time.perf_counter()\\n"
        "if sys.argv[2] == 'split':\\n"
        "    import torch, transformers.models.roberta.modeling_roberta, viextract.relations\\n"
        "from viextract.parallel import _start_worker\\n"
        "imported = time.perf_counter()\\n"
        "_start_worker(sys.argv[1], 1)\\n"
        "done = time.perf_counter()\\n"
        "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')).split()[1]\\n"
        "print(imported - started, done - imported, int(peak) / 1024)\\n"
    )
    started = time.perf_counter()
    path = _pickle_to_file(task)
    pickled = time.perf_counter() - started
    size = os.path.getsize(path)
    runs = [subprocess.run([sys.executable, "-c", worker, path, how], capture_output=True, text=True,
                           check=True).stdout.split() for how in ("plain", "split")]
    os.unlink(path)
    (_, start, peak), (imports, unpickle, _) = [map(float, run) for run in runs]
    report(reload_from_directory_s=reloaded, pickle_s=pickled, task_mb=size / 2**20, worker_start_s=start,
           worker_peak_mb=peak, of_which_imports_s=imports, of_which_unpickle_s=unpickle)
"""


def run_fresh(code: str, **values) -> dict:
    """`code` in a fresh interpreter, with `values` as globals and `report(**figures)` printing them."""
    header = "import json, time\n" + "".join(f"{name} = {value!r}\n" for name, value in values.items())
    header += "def report(**figures):\n    print('FIGURES', json.dumps(figures))\n"
    done = subprocess.run(
        [sys.executable, "-c", header + textwrap.dedent(code)], capture_output=True, text=True, cwd=REPO
    )
    if done.returncode != 0:
        raise SystemExit(f"a measurement failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("FIGURES "))
    return json.loads(line.removeprefix("FIGURES "))


def timed_fresh(argv: list[str]) -> dict:
    """The wall time of a fresh `python argv...` (interpreter start included)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *argv], capture_output=True, check=True, cwd=REPO)
    return {"wall_s": time.perf_counter() - started}


def measure(model: Path, repeats: int, only: str | None = None) -> dict[str, list[dict]]:
    rows = {
        "import viextract": lambda: run_fresh(IMPORT),
        "python -m viextract --help": lambda: timed_fresh(["-m", "viextract", "--help"]),
        "viextract.extract, first result": lambda: run_fresh(FIRST_RESULT, TEXT=TEXT),
        "pipe(n_process=2), models in workers (CPU)": lambda: run_fresh(PIPE, MODEL=str(model), MODELS_IN_WORKERS=True),
        "pipe(n_process=2), text-only workers": lambda: run_fresh(PIPE, MODEL=str(model), MODELS_IN_WORKERS=False),
        "one worker's start (CPU route)": lambda: run_fresh(WORKER_START, MODEL=str(model)),
    }
    rows = {name: row for name, row in rows.items() if only is None or only in name}
    figures: dict[str, list[dict]] = {name: [] for name in rows}
    for _ in range(repeats):  # interleaved, so a burst of load from other jobs spreads over the rows
        for name, row in rows.items():
            print(f"... {name}", file=sys.stderr, flush=True)
            figures[name].append(row())
    return figures


def spread(runs: list[dict], key: str) -> str:
    values = [run[key] for run in runs]
    if isinstance(values[0], bool):
        return "/".join(sorted({"yes" if value else "no" for value in values}))
    low, high = min(values), max(values)
    digits = 0 if key.endswith("_mb") else 2
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f} – {high:.{digits}f}"


def print_table(figures: dict[str, list[dict]]) -> None:
    print("| what | figure | range over runs |")
    print("|---|---|---|")
    for name, runs in figures.items():
        for key in runs[0]:
            print(f"| {name} | {key} | {spread(runs, key)} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the bundled one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="only the rows whose name contains this")
    parser.add_argument("--json", help="write every run's figures here")
    args = parser.parse_args(argv)
    model = resolve_model_dir(args.model)
    print(format_machine(machine_info()))
    print(f"\n{args.repeats} runs of each row, interleaved; model {model}\n")
    figures = measure(model, args.repeats, args.only)
    print_table(figures)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
