"""Training commands piped into a reader that stops early (`| head`) end quietly with SIGPIPE's status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_reader_that_leaves_gets_no_traceback():
    """`python -m training.data validate ... | head -1` ended in a BrokenPipeError traceback."""
    command = ["training.data", "validate", "data/corpus.jsonl", "data/challenge.jsonl"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    process = subprocess.Popen(
        [sys.executable, "-m", *command], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # the reader has gone before the first line: every write breaks the pipe
    try:
        err = process.stderr.read().decode("utf-8")
        process.wait(timeout=120)
    finally:
        process.kill()
    assert err == ""
    assert process.returncode == 141  # as training.weak.annotate and viextract extract


def test_every_training_command_is_quiet_on_a_broken_pipe():
    """One shared wrapper, on every module's `main` that runs as `python -m training.x`."""
    for path in sorted((REPO / "training").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if 'if __name__ == "__main__"' in text and "\ndef main(" in text:
            assert "\n@quiet_pipe\ndef main(" in text, path
