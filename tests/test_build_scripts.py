"""The build scripts (training/*.sh) refuse arguments they do not take, before doing anything.

Each runs from a copy in a scratch tree whose `python`s do nothing, so a script that failed to refuse
could touch nothing of the repository's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

RESULTS = Path("model_cards/results/viextract-default")


def run_copy(tmp_path: Path, script: str, *args: str, stub: str = "exit 1") -> subprocess.CompletedProcess:
    env = copy_script(tmp_path, script, stub)
    command = ["bash", str(tmp_path / "training" / script), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)


def copy_script(tmp_path: Path, script: str, stub: str) -> dict[str, str]:
    """`script` copied into `tmp_path`, with `python`s that run `stub`: the environment to run it in."""
    (tmp_path / "training").mkdir(exist_ok=True)
    shutil.copy(REPO / "training" / script, tmp_path / "training" / script)
    (tmp_path / RESULTS).mkdir(parents=True, exist_ok=True)
    (tmp_path / RESULTS / "ner_dev.json").write_text("{}\n", encoding="utf-8")
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        (stubs / name).write_text(f"#!/bin/sh\n{stub}\n", encoding="utf-8")
        (stubs / name).chmod(0o755)
    return {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "WHEELS": str(tmp_path / "none")}


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("build_default.sh", ["--gpu"]),
        ("build_default.sh", ["gpu", "extra"]),
        ("build_default.sh", ["--phobert-tokenizer", "elsewhere"]),
        ("build_inputs.sh", ["--force"]),
        ("ablate_random_init.sh", ["gpu"]),
        ("gpu_build.sh", []),
        ("gpu_build.sh", ["out", "ten"]),
        ("gpu_build.sh", ["out", "0"]),  # training.fit.jobs refuses it: no job ran, yet the script packed
        ("gpu_build.sh", ["out", "470", "extra"]),
        ("gpu_build.sh", ["--help"]),
    ],
)
def test_an_argument_a_script_does_not_take_is_refused_with_its_usage(tmp_path, script, args):
    result = run_copy(tmp_path, script, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"usage: bash training/{script}") and result.stdout == ""
    # Refused before anything ran: build_default.sh deletes the card's results first.
    assert (tmp_path / RESULTS / "ner_dev.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_cards", "stubs", "training"]


@pytest.mark.parametrize(
    ("script", "args"),
    [("build_default.sh", []), ("build_default.sh", ["gpu"]), ("build_inputs.sh", []), ("gpu_build.sh", ["out"]),
     ("gpu_build.sh", ["out", "470"])],
)  # fmt: skip
def test_the_arguments_a_script_takes_get_past_the_check(tmp_path, script, args):
    result = run_copy(tmp_path, script, *args)  # then fails at a first step: the stubs do nothing
    assert "usage:" not in result.stderr
    assert not (tmp_path / RESULTS / "ner_dev.json").is_file() or (tmp_path / "outputs").is_dir()  # it went on


@pytest.mark.parametrize("status", [129, 130, 143])
def test_gpu_build_stops_after_packing_when_the_jobs_were_interrupted(tmp_path, status):
    """Ctrl-C (the runner's 130), SIGTERM (143) or SIGHUP (129) stopped the jobs, then the script went on to
    assemble and time a model."""
    stub = f'case "$*" in *training.fit.jobs*) exit {status} ;; *) exit 0 ;; esac'
    result = run_copy(tmp_path, "gpu_build.sh", "out", stub=stub)
    assert result.returncode == status, result.stderr
    assert (tmp_path / "out" / "results.tgz").is_file() and "results.tgz" not in result.stdout  # no final `ls`


# A runner that notes each SIGINT, SIGTERM or SIGHUP it gets, and exits as training.fit.jobs does 1 s after the first.
STOPPABLE = (
    "trap 'echo INT >> runner.got; s=${s:-130}' INT; trap 'echo TERM >> runner.got; s=${s:-143}' TERM; "
    "trap 'echo HUP >> runner.got; s=${s:-129}' HUP; "
    'echo $$ > runner.pid; s=; n=0; while [ -z "$s" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done; '
    "sleep 1; exit $s"
)


def default_stop_actions() -> None:
    """Ctrl-C and SIGHUP as a terminal's script gets them, even when the suite runs under `&` or nohup: an ignored
    signal cannot be trapped by the script."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("signum", "group", "status"),
    [
        (signal.SIGTERM, False, 143),
        (signal.SIGINT, False, 130),
        (signal.SIGTERM, True, 143),
        (signal.SIGHUP, False, 129),
    ],
)
def test_gpu_build_passes_a_stop_on_to_the_runner_once(tmp_path, signum, group, status):
    """A SIGTERM sent to the script's shell alone (not its process group) killed the shell and left the runner
    going until its deadline. Sent to the group as well, as `timeout` does, it must reach the runner once: a
    second stops the jobs without their grace. SIGHUP (the terminal closed) killed the shell the same way."""
    env = copy_script(tmp_path, "gpu_build.sh", f'case "$*" in *training.fit.jobs*) {STOPPABLE} ;; *) exit 0 ;; esac')
    pid = tmp_path / "runner.pid"
    with open(tmp_path / "stderr.txt", "w") as stderr:  # not a pipe: a runner left going would hold it open
        script = subprocess.Popen(["bash", "training/gpu_build.sh", "out"], env=env, cwd=tmp_path, stderr=stderr,
                                  stdout=subprocess.DEVNULL, start_new_session=True,
                                  preexec_fn=default_stop_actions)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (pid.exists() and pid.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        script.send_signal(signum)
        if group:
            os.killpg(script.pid, signum)
        assert script.wait(timeout=20) == status, (tmp_path / "stderr.txt").read_text()
    finally:
        script.kill()
        if pid.exists() and pid.read_text():  # a runner left going: ended here, not after the test
            subprocess.run(["kill", "-KILL", pid.read_text().strip()], stderr=subprocess.DEVNULL)
    assert (tmp_path / "runner.got").read_text().split() == [signum.name[3:]]
    assert (tmp_path / "out" / "results.tgz").is_file()  # what finished was packed
