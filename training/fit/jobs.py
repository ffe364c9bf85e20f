"""Run a file of shell commands as parallel jobs: a cap on how many at once, dependencies, a deadline.

    python -m training.fit.jobs JOBS.json [--max-parallel 12] [--deadline-s 480] [--log-dir DIR]

JOBS.json is a list of {"name": ..., "cmd": ..., "after": [names]} in priority order: a job starts,
first come first served, once every job it names in `after` has succeeded, and is skipped if one of
them failed. At the deadline, running jobs are stopped and the rest skipped, so a time-boxed machine
(a rented GPU) still returns what finished; Ctrl-C, SIGTERM or SIGHUP (the terminal closed; not under
nohup) stops them the same way. Stopping sends SIGTERM to every job's process group at once, then SIGKILL
10 s later, or at once on a second such signal. Each job's output goes to LOG_DIR/NAME.log; a summary
table goes to stdout and LOG_DIR/summary.json, saying why each killed or skipped job was (the deadline, a
failed dependency).
Background processes a job's shell leaves running in its group when it exits are stopped then (SIGTERM,
SIGKILL 2 s later), so that none holds the GPU; the table and summary count them (Linux only: /proc).
A runner killed outright (kill -9) leaves no job running: a watchdog process stops them (see Watchdog).
The exit status is 0 only when every job succeeded; 130 when stopped by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP
(128 + the first signal, as the shell and `viextract extract` report them). A reader of stdout that goes away (`| tee`
stopped) ends the output, not the jobs: they run on, the logs and summary are written, and the status is 141.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

# json_text, not files: files checks documents with viextract, which imports torch, never needed here.
from ..data.documents import DataError
from ..data.json_text import read_json, write_json
from ..pipes import SIGPIPE_STATUS, quiet_pipe, reader_left


@dataclass
class Job:
    name: str
    cmd: str
    after: list[str] = field(default_factory=list)
    state: str = "waiting"  # waiting | running | ok | failed | killed | skipped
    seconds: float = 0.0
    returncode: int | None = None
    why: str = ""  # of a killed or skipped job: "deadline", "interrupted", "runner error", "after NAME: STATE"
    strays: int = 0  # processes the job's shell left running in its group, stopped when it exited


class JobsError(ValueError):
    """The jobs file is wrong; the message names the file, the job and the field."""


# A job's name is its log file's name: no folders, no hidden files.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]*")


def load_jobs(path: Path) -> list[Job]:
    """The jobs of `path`, checked: unique names, known dependencies that come earlier in the file."""
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


def _ready(job: Job, by_name: dict[str, Job]) -> bool | str:
    """True: can start; False: must wait; a string: why it can never run (a dependency did not succeed)."""
    for name in job.after:
        if by_name[name].state in ("failed", "killed", "skipped"):
            return f"after {name}: {by_name[name].state}"
    return all(by_name[name].state == "ok" for name in job.after)


_GRACE_S = 10.0  # how long stopped jobs get to exit on SIGTERM (flush a log, save) before SIGKILL
_STRAY_GRACE_S = 2.0  # the same for what a finished job left behind: shorter, since no job starts meanwhile


_STOPS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}  # stderr says which


class Signals:
    """Counts SIGINT, SIGTERM and SIGHUP while installed: the first stops the jobs, a second kills what is left of
    them. SIGHUP as SIGTERM: the jobs, in sessions of their own, would outlive a runner it killed, until the
    watchdog stopped them with no summary written."""

    def __init__(self) -> None:
        self.count = 0
        self.first: int | None = None  # the exit status says which signal stopped the jobs
        self._saved: dict[int, object] = {}

    def __enter__(self) -> Signals:
        for signum in _STOPS:
            # Ignored at start: Ctrl-C under a script's `&` is not for the runner, nor SIGHUP under nohup.
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._saved[signum] = signal.signal(signum, self._count)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)

    def _count(self, signum, frame) -> None:
        self.count += 1
        if self.first is None:
            self.first = signum


class Progress:
    """The live line on stdout as each job ends. A reader that goes away (`| tee` stopped) ends the lines, not the
    jobs: stdout is pointed at /dev/null and `lost` set, for the exit status."""

    def __init__(self) -> None:
        self.lost = False

    def say(self, line: str) -> None:
        try:
            print(line, flush=True)
        except BrokenPipeError:
            self.lost = True
            reader_left()


class Watchdog:
    """A process that stops the running jobs if the runner dies without stopping them (kill -9, the OOM killer).

    The jobs run in sessions of their own (a Ctrl-C for the runner is not theirs to get), so nothing else ends
    them with the runner: they would hold the GPU until the machine is returned. The watchdog, in a session of
    its own too (a kill of the runner's group misses it), holds the reading end of a pipe and stops the groups
    the runner has listed when the pipe ends (training/fit/watchdog.py). PR_SET_PDEATHSIG would reach only a
    job's shell, not what it started, and is Linux-only."""

    def __enter__(self) -> Watchdog:
        script = Path(__file__).with_name("watchdog.py")  # run as a plain file: the runner may be imported
        self._process = subprocess.Popen(  # from anywhere; -I: nothing from the environment or the folder
            [sys.executable, "-I", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
        )
        return self

    def watch(self, process: subprocess.Popen) -> None:
        self._tell(f"+{process.pid}")

    def forget(self, process: subprocess.Popen) -> None:
        """Called before the job's shell is reaped: until then its pid, the group's id, names no other group."""
        self._tell(f"-{process.pid}")

    def _tell(self, line: str) -> None:
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except OSError:  # the watchdog was killed: the jobs run on, stopped by the runner alone
            pass

    def __exit__(self, *exc_info) -> None:
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # every process of the job has exited


def _exited(process: subprocess.Popen) -> bool:
    """Whether the job's shell has exited, leaving it unreaped: its pid, the group's id, cannot be reused yet."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _live_members(pgid: int) -> int:
    """How many processes of group `pgid` still run (zombies aside); 0 where there is no /proc to tell."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:  # exited while we looked
            continue
        count += state != "Z" and int(group) == pgid
    return count


def _stop_strays(process: subprocess.Popen, signals: Signals) -> int:
    """Stop what the exited shell of a job left running in its group (SIGTERM, then SIGKILL); their count.
    Called before the shell is reaped: until then its pid, the group's id, cannot name another group."""
    strays = _live_members(process.pid)
    if strays:
        _terminate([process], lambda: not _live_members(process.pid), _STRAY_GRACE_S, signals)
    return strays


def _terminate(processes: Sequence[subprocess.Popen], gone: Callable[[], bool], grace_s: float, signals) -> None:
    """SIGTERM the process groups of `processes`, wait until `gone()` (at most `grace_s`, cut short by another
    Ctrl-C or SIGTERM), then SIGKILL them: what ignored SIGTERM, and what a shell left behind."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    # Only a first signal asks for a graceful stop: a second that came before this wait began (the loop was
    # still asleep after the first) cuts it short too.
    graceful, end = min(signals.count, 1), time.monotonic() + grace_s
    while signals.count <= graceful and time.monotonic() < end and not gone():
        time.sleep(0.05)
    for process in processes:
        _signal_group(process, signal.SIGKILL)


def _stop_all(running: dict[str, tuple[subprocess.Popen, float]], by_name, signals, why: str, watchdog) -> None:
    """SIGTERM every running job's process group at once, wait once for all (at most _GRACE_S, cut short by
    another Ctrl-C or SIGTERM), then SIGKILL every group: what ignored SIGTERM, and children a shell left."""
    now = time.monotonic()
    for name, (_, began) in running.items():
        by_name[name].state, by_name[name].seconds, by_name[name].why = "killed", now - began, why
    processes = [process for process, _ in running.values()]
    _terminate(processes, lambda: all(map(_exited, processes)), _GRACE_S, signals)
    for process in processes:
        watchdog.forget(process)
    for process in processes:
        try:
            process.wait(timeout=_GRACE_S)
        except subprocess.TimeoutExpired:  # stuck in the kernel (a driver call): SIGKILL lands when it returns
            pass
    running.clear()


def run_jobs(
    jobs: Sequence[Job],
    max_parallel: int,
    deadline_s: float,
    log_dir: Path,
    signals: Signals | None = None,
    progress: Progress | None = None,
) -> list[Job]:
    """Run `jobs` as described in the module docstring; returns them with their final state.

    A Ctrl-C or SIGTERM (counted by `signals`, installed here when not given) stops every running job, then
    raises KeyboardInterrupt. A line goes to `progress` as each job ends."""
    if signals is None:
        with Signals() as signals:
            return run_jobs(jobs, max_parallel, deadline_s, log_dir, signals, progress)
    progress = progress or Progress()
    log_dir.mkdir(parents=True, exist_ok=True)
    by_name = {job.name: job for job in jobs}
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    why = "runner error"  # a log that cannot be opened, or a bug here
    with Watchdog() as watchdog:
        try:
            why = _loop(jobs, by_name, running, max_parallel, deadline_s, log_dir, signals, watchdog, progress)
        finally:  # no job left running, whatever ended the loop
            _stop_all(running, by_name, signals, "interrupted" if signals.count else why, watchdog)
            for job in jobs:
                if job.state == "waiting":
                    job.state, job.why = "skipped", "interrupted" if signals.count else why
    if signals.count:
        raise KeyboardInterrupt
    return list(jobs)


def _loop(jobs, by_name, running, max_parallel: int, deadline_s: float, log_dir: Path, signals, watchdog, progress):
    """Start and watch jobs until every one has ended ("" returned), the deadline or a signal ("interrupted")."""
    start = time.monotonic()
    while not signals.count:
        _reap(by_name, running, start, signals, watchdog, progress)
        if time.monotonic() - start > deadline_s:
            return "deadline"
        _start_ready(jobs, by_name, running, max_parallel, log_dir, watchdog)
        if not running and not any(job.state == "waiting" for job in jobs):
            return ""
        time.sleep(0.5)
    return "interrupted"


def _reap(by_name, running: dict[str, tuple[subprocess.Popen, float]], start: float, signals, watchdog, progress):
    """Record the jobs whose shell has exited, once what it left running in its group is stopped."""
    for name, (process, began) in list(running.items()):
        if _exited(process):
            job = by_name[name]
            job.seconds = time.monotonic() - began
            job.strays = _stop_strays(process, signals)
            watchdog.forget(process)
            job.returncode = process.wait()
            job.state = "ok" if process.returncode == 0 else "failed"
            del running[name]
            notes = ", ".join([f"{job.seconds:.0f}s", *_notes(job)])
            progress.say(f"[{time.monotonic() - start:6.0f}s] {job.state:6} {name} ({notes})")


def _notes(job: Job) -> list[str]:
    """What the table says of `job` besides its state: why it was killed or skipped, what it left running."""
    strays = f"{job.strays} stray process{'es' if job.strays > 1 else ''} stopped"
    return [note for note in (job.why, job.strays and strays) if note]


def _start_ready(jobs, by_name, running, max_parallel: int, log_dir: Path, watchdog: Watchdog) -> None:
    """Start, in file order, the waiting jobs whose dependencies succeeded, up to `max_parallel` running."""
    for job in jobs:
        if job.state != "waiting":
            continue
        ready = _ready(job, by_name)
        if isinstance(ready, str):
            job.state, job.why = "skipped", ready
        elif ready and len(running) < max_parallel:
            _remake_log_dir(log_dir)
            with open(log_dir / f"{job.name}.log", "w", encoding="utf-8") as log:  # the child keeps its copy
                process = subprocess.Popen(
                    job.cmd, shell=True, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            watchdog.watch(process)
            running[job.name] = (process, time.monotonic())
            job.state = "running"


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.fit.jobs", description=__doc__.split("\n")[0])
    parser.add_argument("jobs", type=Path, help="JSON list of {name, cmd, after}")
    parser.add_argument("--max-parallel", type=_job_count, default=os.cpu_count() or 1)
    parser.add_argument("--deadline-s", type=_seconds, default=math.inf, help="stop everything after this long")
    parser.add_argument("--log-dir", type=Path, default=Path("outputs/jobs"))
    args = parser.parse_args(argv)
    try:
        jobs = load_jobs(args.jobs)
        _make_log_dir(args.log_dir)
    except JobsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the handlers are set: reading the file, importing what reads it
        print("interrupted: no job was started", file=sys.stderr)
        return 130
    interrupted, failure, progress = False, None, Progress()
    with Signals() as signals:  # held past the jobs: a second Ctrl-C while the summary is written cannot cut it
        try:
            run_jobs(jobs, args.max_parallel, args.deadline_s, args.log_dir, signals, progress)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM (`timeout`, a scheduler) or SIGHUP: the running jobs were stopped
            interrupted = True
        except OSError as error:  # a job's log could not be opened (a full disk): the running jobs were stopped
            failure = (
                f"error: {error.filename or args.log_dir}: {error.strerror or error}; the running jobs were stopped"
            )
        # The summary before the table: a reader that stops (`| head`) must not cost the file.
        failures = [line for line in (failure, _write_summary(args.log_dir, jobs)) if line]
        for job in jobs:
            notes = ", ".join(_notes(job))
            print(f"{job.state:8} {job.seconds:7.0f}s  {job.name}" + (f"  ({notes})" if notes else ""))
    if any(job.why == "deadline" for job in jobs):
        print(_deadline_line(jobs, args.deadline_s), file=sys.stderr)
    if interrupted:
        word = _STOPS.get(signals.first, "interrupted")
        failures.append(f"{word}: the running jobs were stopped")
    for line in failures:
        print(line, file=sys.stderr)
    if interrupted:
        return 128 + (signals.first or signal.SIGINT)
    if progress.lost:  # as quiet_pipe reports a reader that left during the table
        return SIGPIPE_STATUS
    return 0 if not failures and all(job.state == "ok" for job in jobs) else 1


def _deadline_line(jobs: Sequence[Job], deadline_s: float) -> str:
    stopped = sum(job.why == "deadline" and job.state == "killed" for job in jobs)
    skipped = sum(job.why == "deadline" and job.state == "skipped" for job in jobs)
    return f"deadline: {deadline_s:g} s reached: {_count(stopped)} stopped, {skipped} not started"


def _count(jobs: int) -> str:
    return f"{jobs} job" if jobs == 1 else f"{jobs} jobs"


def _job_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of jobs of at least 1, got {text!r}")
    return count


def _seconds(text: str) -> float:
    """A deadline: nan never came (every comparison false), 0 or less started nothing, inf is no deadline."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds above 0, got {text!r}")
    return seconds


def _make_log_dir(log_dir: Path) -> None:
    """JobsError before any job starts when --log-dir cannot hold the logs (a file of that name, no permission)."""
    if log_dir.exists() and not log_dir.is_dir():
        raise JobsError(f"--log-dir: {log_dir}: is a file, not a folder")
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise JobsError(f"--log-dir: {log_dir}: {error.strerror or error}") from None


def _remake_log_dir(log_dir: Path) -> None:
    """A job that cleans its output folder may take the logs with it: the jobs go on, with a word on stderr."""
    if not log_dir.is_dir():
        log_dir.mkdir(parents=True)
        print(f"warning: {log_dir}: removed while the jobs ran; made again (the logs in it are lost)", file=sys.stderr)


def _write_summary(log_dir: Path, jobs: Sequence[Job]) -> str | None:
    """LOG_DIR/summary.json, renamed into place; the error line when it cannot be written (the table is printed)."""
    try:
        _remake_log_dir(log_dir)
        write_json(log_dir / "summary.json", [asdict(j) for j in jobs], "summary")
    except OSError as error:
        return f"error: {error}"
    return None


if __name__ == "__main__":
    sys.exit(main())
