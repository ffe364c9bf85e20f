"""Run a file of shell commands as parallel jobs: a cap on how many at once, dependencies, a deadline.

    python -m training.fit.jobs JOBS.json [--max-parallel 12] [--deadline-s 480] [--log-dir DIR]

JOBS.json is a list of {"name": ..., "cmd": ..., "after": [names]} in priority order: a job starts,
first come first served, once every job it names in `after` has succeeded, and is skipped if one of
them failed. At the deadline, running jobs are stopped (their whole process group) and the rest
skipped, so a time-boxed machine (a rented GPU) still returns what finished. Each job's output
goes to LOG_DIR/NAME.log; a summary table goes to stdout and LOG_DIR/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Job:
    name: str
    cmd: str
    after: list[str] = field(default_factory=list)
    state: str = "waiting"  # waiting | running | ok | failed | killed | skipped
    seconds: float = 0.0
    returncode: int | None = None


class JobsError(ValueError):
    """The jobs file is wrong; the message names the file, the job and the field."""


# A job's name is its log file's name: no folders, no hidden files.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]*")


def load_jobs(path: Path) -> list[Job]:
    """The jobs of `path`, checked: unique names, known dependencies that come earlier in the file."""
    # Here, not at the top: the data package imports viextract and with it torch, which the runner never needs.
    from ..data.documents import DataError
    from ..data.files import read_json

    try:
        entries = read_json(path, "jobs file")
    except DataError as error:
        raise JobsError(str(error)) from None
    return check_jobs(entries, str(path))


def check_jobs(entries: object, where: str) -> list[Job]:
    """`entries` as jobs: a list of {name, cmd, after}, names unique, each `after` naming earlier jobs."""
    if not isinstance(entries, list):
        raise JobsError(f"{where}: expected a JSON list of jobs, got {type(entries).__name__}")
    jobs: list[Job] = []
    for index, entry in enumerate(entries):
        job = _job(entry, f"{where}: job {index}")
        known = {j.name for j in jobs}
        if job.name in known:
            raise JobsError(f"{where}: job {index}: name {job.name!r} is used twice")
        unknown = [a for a in job.after if a not in known]
        if unknown:
            raise JobsError(f"{where}: job {job.name!r}: 'after' names {unknown}, not earlier jobs")
        jobs.append(job)
    return jobs


def _job(entry: object, where: str) -> Job:
    if not isinstance(entry, dict):
        raise JobsError(f"{where}: expected an object with 'name' and 'cmd', got {type(entry).__name__}")
    unknown = sorted(set(entry) - {"name", "cmd", "after"})
    if unknown:  # a misspelt "after" would start the job before the ones it needs
        raise JobsError(f"{where}: {unknown[0]}: unknown key; expected name, cmd and after")
    name, cmd, after = entry.get("name"), entry.get("cmd"), entry.get("after", [])
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise JobsError(f"{where}: name: {name!r} is not a name (letters, digits, '.', '_', '-', '=')")
    if not isinstance(cmd, str) or not cmd.strip():
        raise JobsError(f"{where}: cmd: expected a shell command, got {cmd!r}")
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        raise JobsError(f"{where}: after: expected a list of job names, got {after!r}")
    return Job(name=name, cmd=cmd, after=list(after))


def _ready(job: Job, by_name: dict[str, Job]) -> bool | None:
    """True: can start; False: must wait; None: can never run (a dependency did not succeed)."""
    states = [by_name[a].state for a in job.after]
    if any(s in ("failed", "killed", "skipped") for s in states):
        return None
    return all(s == "ok" for s in states)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_jobs(jobs: Sequence[Job], max_parallel: int, deadline_s: float, log_dir: Path) -> list[Job]:
    """Run `jobs` as described in the module docstring; returns them with their final state."""
    log_dir.mkdir(parents=True, exist_ok=True)
    by_name = {job.name: job for job in jobs}
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    try:
        _loop(jobs, by_name, running, max_parallel, deadline_s, log_dir)
    except BaseException:  # Ctrl-C, SIGTERM (main makes it one), or a failure here: no job left running
        for name, (process, began) in running.items():
            _stop(process)
            by_name[name].state, by_name[name].seconds = "killed", time.monotonic() - began
        raise
    finally:
        for job in jobs:
            if job.state == "waiting":
                job.state = "skipped"
    return list(jobs)


def _loop(jobs, by_name, running, max_parallel: int, deadline_s: float, log_dir: Path) -> None:
    start = time.monotonic()
    while True:
        for name, (process, began) in list(running.items()):
            if process.poll() is not None:
                job = by_name[name]
                job.returncode, job.seconds = process.returncode, time.monotonic() - began
                job.state = "ok" if process.returncode == 0 else "failed"
                del running[name]
                print(f"[{time.monotonic() - start:6.0f}s] {job.state:6} {name} ({job.seconds:.0f}s)", flush=True)
        if time.monotonic() - start > deadline_s:
            for name, (process, began) in list(running.items()):
                _stop(process)
                by_name[name].state, by_name[name].seconds = "killed", time.monotonic() - began
                del running[name]
            break
        for job in jobs:
            if job.state == "waiting":
                ready = _ready(job, by_name)
                if ready is None:
                    job.state = "skipped"
                elif ready and len(running) < max_parallel:
                    with open(log_dir / f"{job.name}.log", "w", encoding="utf-8") as log:  # the child keeps its copy
                        process = subprocess.Popen(
                            job.cmd, shell=True, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                        )
                    running[job.name] = (process, time.monotonic())
                    job.state = "running"
        if not running and not any(job.state == "waiting" for job in jobs):
            break
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.fit.jobs", description=__doc__.split("\n")[0])
    parser.add_argument("jobs", type=Path, help="JSON list of {name, cmd, after}")
    parser.add_argument("--max-parallel", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--deadline-s", type=float, default=float("inf"), help="stop everything after this long")
    parser.add_argument("--log-dir", type=Path, default=Path("outputs/jobs"))
    args = parser.parse_args(argv)
    if args.max_parallel < 1:
        parser.error("--max-parallel: must be at least 1")
    try:
        jobs = load_jobs(args.jobs)
        _make_log_dir(args.log_dir)
    except JobsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # `timeout` and schedulers stop with SIGTERM: stop the jobs too
    interrupted, failure = False, None
    try:
        run_jobs(jobs, args.max_parallel, args.deadline_s, args.log_dir)
    except KeyboardInterrupt:
        interrupted = True
    except OSError as error:  # a job's log could not be opened (a full disk): the running jobs were stopped
        failure = f"error: {error.filename or args.log_dir}: {error.strerror or error}; the running jobs were stopped"
    for job in jobs:
        print(f"{job.state:8} {job.seconds:7.0f}s  {job.name}")
    failure = _write_summary(args.log_dir, jobs) or failure
    if interrupted:
        print("interrupted: the running jobs were stopped", file=sys.stderr)
        return 130
    if failure:
        print(failure, file=sys.stderr)
        return 1
    return 0 if all(job.state == "ok" for job in jobs) else 1


def _make_log_dir(log_dir: Path) -> None:
    """JobsError before any job starts when --log-dir cannot hold the logs (a file of that name, no permission)."""
    if log_dir.exists() and not log_dir.is_dir():
        raise JobsError(f"--log-dir: {log_dir}: is a file, not a folder")
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise JobsError(f"--log-dir: {log_dir}: {error.strerror or error}") from None


def _write_summary(log_dir: Path, jobs: Sequence[Job]) -> str | None:
    """LOG_DIR/summary.json, renamed into place; the error line when it cannot be written (the table is printed)."""
    summary, staging = log_dir / "summary.json", log_dir / f".summary.json.{os.getpid()}.tmp"
    try:
        staging.write_text(json.dumps([asdict(j) for j in jobs], indent=2) + "\n", encoding="utf-8")
        staging.replace(summary)
    except OSError as error:
        staging.unlink(missing_ok=True)
        return f"error: {summary}: cannot write the summary ({error.strerror or error})"
    return None


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
