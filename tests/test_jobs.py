import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.fit.jobs import JobsError, Signals, _terminate, load_jobs, main, run_jobs


def write(tmp_path, entries):
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return load_jobs(path)


def test_jobs_follow_dependencies_and_skip_after_a_failure(tmp_path):
    out = tmp_path / "order.txt"
    jobs = write(
        tmp_path,
        [
            {"name": "a", "cmd": f"echo a >> {out}"},
            {"name": "b", "cmd": f"echo b >> {out}", "after": ["a"]},
            {"name": "bad", "cmd": "exit 3"},
            {"name": "c", "cmd": f"echo c >> {out}", "after": ["bad"]},
        ],
    )
    states = {job.name: (job.state, job.returncode) for job in run_jobs(jobs, 2, 60, tmp_path / "logs")}
    assert states == {"a": ("ok", 0), "b": ("ok", 0), "bad": ("failed", 3), "c": ("skipped", None)}
    assert out.read_text().split() == ["a", "b"]


def test_jobs_past_the_deadline_are_stopped_and_the_rest_skipped(tmp_path, capsys):
    """The summary did not say the deadline had stopped or skipped a job: skipped looked like after a failure."""
    entries = [
        {"name": "quick", "cmd": "true"},
        {"name": "slow", "cmd": "sleep 30"},
        {"name": "next", "cmd": "true", "after": ["slow"]},
        {"name": "bad", "cmd": "exit 3"},
        {"name": "child", "cmd": "true", "after": ["bad"]},
    ]
    (tmp_path / "jobs.json").write_text(json.dumps(entries), encoding="utf-8")
    command = [str(tmp_path / "jobs.json"), "--log-dir", str(tmp_path / "logs"), "--deadline-s", "1.5"]
    assert main(command + ["--max-parallel", "4"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "deadline: 1.5 s reached: 1 job stopped, 1 not started\n"
    assert "killed" in captured.out and "slow  (deadline)" in captured.out
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [(job["name"], job["state"], job["why"]) for job in summary] == [
        ("quick", "ok", ""),
        ("slow", "killed", "deadline"),
        ("next", "skipped", "deadline"),
        ("bad", "failed", ""),
        ("child", "skipped", "after bad: failed"),
    ]


def test_jobs_file_must_name_earlier_dependencies(tmp_path):
    import pytest

    with pytest.raises(JobsError, match="'after' names \\['later'\\]"):
        write(tmp_path, [{"name": "a", "cmd": "true", "after": ["later"]}, {"name": "later", "cmd": "true"}])


def test_bad_jobs_files_are_one_line_errors_with_exit_2(tmp_path, capsys):
    cases = [
        ("null", "expected a JSON list of jobs, got NoneType"),
        ('{"name": "a", "cmd": "true"}', "expected a JSON list of jobs, got dict"),
        ('[{"name": "x/y", "cmd": "true"}]', "job 0: name: 'x/y' is not a name"),
        ('[{"name": "../../escape", "cmd": "true"}]', "is not a name"),
        ('[{"name": "a", "cmd": null}]', "job 0: cmd: expected a shell command, got None"),
        ('[{"name": "a", "cmd": "true"}, {"name": "b", "cmd": "true", "after": "a"}]', "job 1: after: expected a list"),
        # A misspelt "after" started the job at once, before the job it needs.
        ('[{"name": "a", "cmd": "true"}, {"name": "b", "cmd": "true", "afer": ["a"]}]', "job 1: afer: unknown key"),
    ]
    for text, message in cases:
        path = tmp_path / "jobs.json"
        path.write_text(text, encoding="utf-8")
        assert main([str(path), "--log-dir", str(tmp_path / "logs")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "logs").exists()


def test_unreadable_jobs_files_name_the_file_and_line(tmp_path, capsys):
    """A jobs file saved as latin-1 or cut short said 'position 14' or 'char 41' of its bytes."""
    cases = [
        ('[{"name": "caf\xe9", "cmd": "true"}]'.encode("latin-1"), "jobs.json:1: encoding: not UTF-8 text (byte 0xe9"),
        (
            b'[{"name": "a", "cmd": "true"},\n {"name": }]',
            "jobs.json:2: json: invalid JSON: Expecting value at column 11",
        ),
        (b'[{"name": "a",\n  "name": "b", "cmd": "true"}]', "jobs.json:2: name: given twice (first on line 1)"),
    ]
    for data, message in cases:
        (tmp_path / "jobs.json").write_bytes(data)
        assert main([str(tmp_path / "jobs.json"), "--log-dir", str(tmp_path / "logs")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert main([str(tmp_path / "gone.json")]) == 2
    assert "gone.json: no such jobs file" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("signum", "status", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted"), (signal.SIGHUP, 129, "hung up")],
)
def test_a_stopped_runner_stops_its_jobs_and_writes_the_summary(tmp_path, signum, status, word):
    """SIGTERM exited 130 too, and said 'interrupted', where `viextract extract` (and the shell) report 143.
    SIGHUP (the terminal closed) killed the runner outright: no summary, the jobs left to the watchdog."""
    done = tmp_path / "long.done"
    # the job has started (and the runner's handlers are set) once its log has a line
    runner = start_runner(
        tmp_path, [{"name": "long", "cmd": f"echo; sleep 1; touch {done}"}], [tmp_path / "logs/long.log"]
    )
    try:
        runner.send_signal(signum)
        _, err = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == status and err.endswith(f"{word}: the running jobs were stopped\n"), err
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [(job["name"], job["state"]) for job in summary] == [("long", "killed")]
    time.sleep(1.5)  # past the job's own end, had it been left running
    assert not done.exists()  # the job's process group was stopped, not left running detached


def test_logs_and_summary_that_cannot_be_written_are_one_line(tmp_path, capsys):
    """A --log-dir that is a file, a log that cannot be opened mid-run, or a summary.json that cannot be
    written was a traceback (the last one after every job had run, with no table)."""
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([{"name": "slow", "cmd": "sleep 30"}, {"name": "b", "cmd": "true"}]), encoding="utf-8")
    (tmp_path / "file").write_text("")
    assert main([str(path), "--log-dir", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == f"error: --log-dir: {tmp_path / 'file'}: is a file, not a folder\n"

    logs = tmp_path / "logs"
    (logs / "b.log").mkdir(parents=True)  # b's log cannot be opened: slow, already running, is stopped
    assert main([str(path), "--log-dir", str(logs)]) == 1
    captured = capsys.readouterr()
    assert "killed" in captured.out and "skipped" in captured.out
    assert captured.err == f"error: {logs / 'b.log'}: Is a directory; the running jobs were stopped\n"
    assert json.loads((logs / "summary.json").read_text(encoding="utf-8"))[0]["state"] == "killed"

    path.write_text(json.dumps([{"name": "a", "cmd": "true"}]), encoding="utf-8")
    (tmp_path / "other" / "summary.json").mkdir(parents=True)
    assert main([str(path), "--log-dir", str(tmp_path / "other")]) == 1
    captured = capsys.readouterr()
    assert "ok" in captured.out and "a" in captured.out
    assert captured.err.endswith(
        f"error: {tmp_path / 'other' / 'summary.json'}: cannot write the summary (Is a directory)\n"
    )
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["a.log", "summary.json"]


def test_the_runner_does_not_import_torch(tmp_path):
    """It only starts and watches commands, on a lent GPU machine among others; torch costs it seconds and memory.
    Reading the jobs file counts: the data package's document checks import viextract, and with it torch."""
    import subprocess
    import sys

    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"name": "a", "cmd": "true"}]), encoding="utf-8")
    check = f"import sys, training.fit.jobs as j; j.load_jobs(j.Path({str(jobs)!r})); sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], timeout=120).returncode == 0


def start_runner(tmp_path: Path, entries: list[dict], ready: list[Path], *args: str, hup=signal.SIG_DFL):
    """`python -m training.fit.jobs` on `entries`, returned once every file of `ready` exists (the jobs are set);
    `hup`: SIGHUP's action at start (SIG_IGN: under nohup)."""
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "training.fit.jobs", str(path), "--log-dir", str(tmp_path / "logs"), *args]

    # Ctrl-C's default action even when the suite runs in the background (a script's `cmd &` ignores SIGINT).
    def actions():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, hup)

    runner = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=actions
    )
    deadline = time.monotonic() + 120
    while not all(p.exists() and p.stat().st_size for p in ready) and time.monotonic() < deadline:
        time.sleep(0.1)
    return runner


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, which no init reaps in some containers, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def kill_left(pid_files: list[Path]) -> list[int]:
    """The pids of `pid_files` still running after 2 s, killed so that a failing test leaves nothing behind.

    The wait: a process sent SIGKILL runs on until it is next scheduled, which on a busy machine can be later
    than the runner's return."""
    pids = [int(p.read_text()) for p in pid_files if p.exists()]
    end = time.monotonic() + 2
    while any(map(alive, pids)) and time.monotonic() < end:
        time.sleep(0.05)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_a_stop_signals_every_job_at_once_and_reaches_their_children(tmp_path):
    """Jobs were stopped one after another, each given up to 10 s; a child that ignored SIGTERM outlived its shell."""
    stopped, kid = tmp_path / "stopped.txt", tmp_path / "kid.pid"
    slow = [{"name": f"slow{i}", "cmd": f"trap 'date +%s.%N >> {stopped}; sleep 1; exit' TERM; echo > {tmp_path}/{i}; "
             "sleep 30 & wait"} for i in range(3)]  # fmt: skip
    kids = {"name": "kids", "cmd": f"(trap '' TERM; exec sleep 30) & echo $! > {kid}; wait"}
    ready = [tmp_path / str(i) for i in range(3)] + [kid]
    runner = start_runner(tmp_path, [*slow, kids], ready, "--max-parallel", "4")
    try:
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=60) == 143
    finally:
        runner.kill()
        assert kill_left([kid]) == []
    times = [float(t) for t in stopped.read_text().split()]
    assert len(times) == 3 and max(times) - min(times) < 0.8, times
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [job["state"] for job in summary] == ["killed"] * 4


def test_a_second_signal_before_the_wait_began_ends_it_at_once():
    """The loop sleeps up to 0.5 s between checks: a second Ctrl-C in that time was taken as the first, and the
    jobs got the full grace period (seen in a loaded suite run as the test below timing out)."""
    signals = Signals()
    signals.count, signals.first = 2, signal.SIGTERM
    started = time.monotonic()
    _terminate([], gone=lambda: False, grace_s=5, signals=signals)
    assert time.monotonic() - started < 1


def test_a_second_ctrl_c_kills_every_job_at_once(tmp_path):
    """A second Ctrl-C while the jobs were being stopped left the rest running, in their own sessions."""
    pids = [tmp_path / f"{i}.pid" for i in range(3)]
    entries = [
        {"name": f"stubborn{i}", "cmd": f"trap '' TERM; echo $$ > {pid}; exec sleep 30"} for i, pid in enumerate(pids)
    ]
    runner = start_runner(tmp_path, entries, pids, "--max-parallel", "4")
    try:
        runner.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        runner.send_signal(signal.SIGINT)
        out, err = runner.communicate(timeout=8)  # well within the 10 s the jobs were given after the first
    finally:
        runner.kill()
        assert kill_left(pids) == []
    assert runner.returncode == 143 and err == "terminated: the running jobs were stopped\n"
    assert [(w[0], w[2:]) for w in map(str.split, out.splitlines())] == [
        ("killed", [f"stubborn{i}", "(interrupted)"]) for i in range(3)
    ]
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [job["state"] for job in summary] == ["killed"] * 3


def test_a_deadline_or_cap_that_cannot_work_is_a_usage_error(tmp_path, capsys):
    """--deadline-s nan never came (every job ran on), 0 or -5 started nothing yet made the logs, exit 1."""
    import pytest

    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([{"name": "a", "cmd": "true"}]), encoding="utf-8")
    cases = [("--deadline-s", v, "a finite number of seconds above 0") for v in ("nan", "inf", "1e400", "0", "-5", "x")]
    cases += [("--max-parallel", v, "a whole number of jobs of at least 1") for v in ("0", "-1", "2.5")]
    for option, value, expected in cases:
        with pytest.raises(SystemExit) as exit_info:
            main([str(path), "--log-dir", str(tmp_path / "logs"), f"{option}={value}"])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and f"argument {option}: expected {expected}, got '{value}'" in err, err
    assert not (tmp_path / "logs").exists()


def test_a_missing_command_fails_and_a_removed_log_folder_is_made_again(tmp_path, capsys):
    """A job that removed the log folder (cleaning its outputs) stopped every other job; the summary was lost."""
    logs, kid = tmp_path / "logs", tmp_path / "kid.pid"
    entries = [
        {"name": "nocmd", "cmd": "no-such-command-viextract --flag"},
        {"name": "kids", "cmd": f"bash -c 'sleep 100 & echo $! > {kid}; wait'"},
        {"name": "clean", "cmd": f"rm -rf {logs}"},
        {"name": "after", "cmd": "echo after", "after": ["clean"]},
    ]
    (tmp_path / "jobs.json").write_text(json.dumps(entries), encoding="utf-8")
    try:
        assert (
            main([str(tmp_path / "jobs.json"), "--log-dir", str(logs), "--deadline-s", "3", "--max-parallel", "4"]) == 1
        )
    finally:
        assert kill_left([kid]) == []  # the deadline reached the job's child, not only its shell
    assert capsys.readouterr().err.splitlines() == [
        f"warning: {logs}: removed while the jobs ran; made again (the logs in it are lost)",
        "deadline: 3 s reached: 1 job stopped, 0 not started",
    ]
    summary = json.loads((logs / "summary.json").read_text(encoding="utf-8"))
    assert [(job["name"], job["state"], job["returncode"]) for job in summary] == [
        ("nocmd", "failed", 127),
        ("kids", "killed", None),
        ("clean", "ok", 0),
        ("after", "ok", 0),
    ]
    assert (logs / "after.log").read_text() == "after\n"


def test_ctrl_c_while_the_jobs_file_is_read_is_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    """A Ctrl-C before the handlers were set (reading the file, importing the JSON reader) was a traceback."""
    import training.fit.jobs as jobs_module

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs_module, "load_jobs", interrupted)
    assert main([str(tmp_path / "jobs.json"), "--log-dir", str(tmp_path / "logs")]) == 130
    assert capsys.readouterr().err == "interrupted: no job was started\n"
    assert not (tmp_path / "logs").exists()


def test_what_a_finished_job_leaves_running_is_stopped_and_counted(tmp_path, capsys):
    """Background children of a job's shell outlived it, never stopped, not even at the deadline: on the GPU."""
    kids = [tmp_path / "kid.pid", tmp_path / "stubborn.pid"]
    entries = [
        {
            "name": "leaves",
            "cmd": f"sleep 100 & echo $! > {kids[0]}; (trap '' TERM; exec sleep 100) & echo $! > {kids[1]}",
        },
        {"name": "clean", "cmd": "sleep 0.2 & wait"},
    ]
    (tmp_path / "jobs.json").write_text(json.dumps(entries), encoding="utf-8")
    began = time.monotonic()
    try:
        assert main([str(tmp_path / "jobs.json"), "--log-dir", str(tmp_path / "logs"), "--deadline-s", "60"]) == 0
    finally:
        assert kill_left(kids) == []
    assert time.monotonic() - began < 10  # the stubborn one got 2 s after SIGTERM, not the deadline
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [(job["name"], job["state"], job["strays"]) for job in summary] == [("leaves", "ok", 2), ("clean", "ok", 0)]
    assert re.search(r"^ok +\d+s  leaves  \(2 stray processes stopped\)$", capsys.readouterr().out, re.M)


def test_a_runner_killed_outright_leaves_no_job_running(tmp_path):
    """A kill -9 of the runner left its jobs (in sessions of their own) running on the GPU until the deadline."""
    shell, kid = tmp_path / "shell.pid", tmp_path / "kid.pid"
    entries = [{"name": "long", "cmd": f"sleep 100 & echo $! > {kid}; echo $$ > {shell}; wait"}]
    runner = start_runner(tmp_path, entries, [shell, kid])
    try:
        runner.kill()
        runner.wait(timeout=60)
        end = time.monotonic() + 5
        while (alive(int(shell.read_text())) or alive(int(kid.read_text()))) and time.monotonic() < end:
            time.sleep(0.1)
    finally:
        assert kill_left([shell, kid]) == []


def test_the_summary_is_written_by_the_evaluation_results_writer():
    """One atomic JSON writer (training/data/json_text.py, standard library only) for the summary and --out."""
    import training.evaluation.runs as runs
    import training.fit.jobs as jobs
    from training.data import json_text

    assert jobs.write_json is json_text.write_json
    assert runs.write_json is json_text.write_json


def test_a_reader_that_stops_early_does_not_cost_the_summary(tmp_path, monkeypatch):
    """`jobs ... | head`: the table's broken pipe ended the runner before summary.json was written."""
    (tmp_path / "jobs.json").write_text(json.dumps([{"name": "quick", "cmd": "true"}]), encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone
    with open(write_end, "w", encoding="utf-8", buffering=1) as closed_pipe:  # line-buffered: each line breaks it
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        assert main([str(tmp_path / "jobs.json"), "--log-dir", str(tmp_path / "logs")]) == 141
        monkeypatch.undo()
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [(job["name"], job["state"]) for job in summary] == [("quick", "ok")]


def test_a_reader_that_stops_mid_run_does_not_stop_the_jobs(tmp_path, monkeypatch, capsys):
    """`jobs ... | tee log` with tee gone: the progress line's broken pipe was reported as a log-folder error
    and every running job was stopped."""
    done = tmp_path / "slow.done"
    entries = [{"name": "quick", "cmd": "true"}, {"name": "slow", "cmd": f"sleep 1.5; echo slow; touch {done}"}]
    (tmp_path / "jobs.json").write_text(json.dumps(entries), encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8", buffering=1) as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        status = main([str(tmp_path / "jobs.json"), "--log-dir", str(tmp_path / "logs"), "--max-parallel", "2"])
        monkeypatch.undo()
    assert status == 141 and capsys.readouterr().err == ""
    assert done.exists() and (tmp_path / "logs" / "slow.log").read_text() == "slow\n"
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text(encoding="utf-8"))
    assert [(job["name"], job["state"]) for job in summary] == [("quick", "ok"), ("slow", "ok")]


def test_a_runner_started_under_nohup_runs_on_after_sighup(tmp_path):
    """nohup's ignored SIGHUP is kept: closing the terminal it was started from must not stop the jobs."""
    done = tmp_path / "long.done"
    entries = [{"name": "long", "cmd": f"echo; sleep 1; touch {done}"}]
    runner = start_runner(tmp_path, entries, [tmp_path / "logs/long.log"], hup=signal.SIG_IGN)
    try:
        runner.send_signal(signal.SIGHUP)
        _, err = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == 0 and err == "" and done.exists()
