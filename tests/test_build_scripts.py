"""The build scripts (training/*.sh) refuse arguments they do not take, before doing anything.

Each runs from a copy in a scratch tree whose `python`s do nothing, so a script that failed to refuse
could touch nothing of the repository's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

RESULTS = Path("model_cards/results/viextract-default")


def run_copy(tmp_path: Path, script: str, *args: str, stub: str = "exit 1") -> subprocess.CompletedProcess:
    (tmp_path / "training").mkdir(exist_ok=True)
    shutil.copy(REPO / "training" / script, tmp_path / "training" / script)
    (tmp_path / RESULTS).mkdir(parents=True, exist_ok=True)
    (tmp_path / RESULTS / "ner_dev.json").write_text("{}\n", encoding="utf-8")
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        (stubs / name).write_text(f"#!/bin/sh\n{stub}\n", encoding="utf-8")
        (stubs / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "WHEELS": str(tmp_path / "none")}
    command = ["bash", str(tmp_path / "training" / script), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)


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


@pytest.mark.parametrize("status", [130, 143])
def test_gpu_build_stops_after_packing_when_the_jobs_were_interrupted(tmp_path, status):
    """Ctrl-C (the runner's 130) or SIGTERM (143) stopped the jobs, then the script went on to assemble and time
    a model."""
    stub = f'case "$*" in *training.fit.jobs*) exit {status} ;; *) exit 0 ;; esac'
    result = run_copy(tmp_path, "gpu_build.sh", "out", stub=stub)
    assert result.returncode == status, result.stderr
    assert (tmp_path / "out" / "results.tgz").is_file() and "results.tgz" not in result.stdout  # no final `ls`
