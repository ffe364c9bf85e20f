"""The trainer ships in the wheel: build it, install it into a fresh venv, and train from outside the repo.

The venv sees the system's torch and transformers (--system-site-packages) and installs the wheel with
--no-deps, so nothing is downloaded. The bundled model is left out of the wheel built here: it is not
what this test checks, and 58 MB of zipping would double its time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from viextract.batch.plugins import ENGINE_GROUP

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.wheel


def package_folders(root: Path, name: str) -> set[str]:
    """Dotted names of the packages (folders with __init__.py) under `root`, which installs as `name`."""
    return {
        ".".join([name, *init.parent.relative_to(root).parts])
        for init in root.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_pyproject_lists_every_package_folder():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    expected = package_folders(REPO / "src" / "viextract", "viextract")
    expected |= package_folders(REPO / "training", "viextract_training")
    assert set(setuptools["packages"]) == expected
    assert setuptools["package-dir"]["viextract_training"] == "training"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "default"))
    shutil.copytree(REPO / "training", source / "training", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work), str(source)])
    (wheel,) = work.glob("viextract-*.whl")
    venv.create(work / "venv", system_site_packages=True, with_pip=False)
    bin_dir = work / "venv" / "bin"
    # pip from the system, installing into the venv's interpreter: no pip bootstrap (ensurepip) needed.
    run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q", "--no-deps", str(wheel)])
    return bin_dir


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only what the venv installed
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result


# One interpreter of the venv answers three questions (each process costs seconds of imports): where both
# packages load from, which module the `datasets` engine's entry point loads, and `viextract publish --help`
# as the installed entry point of viextract.cli runs it.
INSTALLED_FACTS = f"""
import importlib.metadata, viextract, viextract_training
from viextract.cli import main
print(viextract_training.__file__); print(viextract.__file__)
print(importlib.metadata.entry_points(group={ENGINE_GROUP!r})["datasets"].load().__module__)
raise SystemExit(main(["publish", "--help"]))  # what the `viextract` script does with its arguments
"""


def test_wheel_carries_the_trainer_under_its_own_name(installed, tmp_path):
    training_file, viextract_file, engine, *publish_usage = run(
        [str(installed / "python"), "-c", INSTALLED_FACTS], cwd=tmp_path
    ).stdout.split("\n")
    site = installed.parent / "lib"
    paths = [training_file, viextract_file]
    assert all(Path(p).is_relative_to(site) for p in paths), paths  # not the checkout's copies
    assert not list(site.glob("python*/site-packages/training"))  # no generic top-level name
    usage = run([str(installed / "viextract"), "train", "--help"], cwd=tmp_path).stdout
    assert usage.startswith("usage: viextract train") and "--config" in usage
    assert "usage: viextract publish" in "\n".join(publish_usage)
    # `viextract batch --engine datasets` finds its engine in the trainer's package, by entry point.
    assert engine == "viextract_training.engines.datasets_engine"


def test_tiny_training_run_from_the_installed_wheel(installed, tmp_path, tiny_tokenizer_dir):
    import yaml

    from tests.conftest import build_tiny_token_classifier
    from training.data.files import load_documents, write_documents

    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "base")
    documents = load_documents(REPO / "data" / "corpus.jsonl")[:3]
    with (tmp_path / "docs.jsonl").open("w", encoding="utf-8") as handle:
        write_documents(documents, handle)
    config = {
        "base_model": "base", "train_files": ["docs.jsonl"], "dev_files": ["docs.jsonl"], "output_dir": "model",
        "max_steps": 1, "batch_size": 4, "eval_batch_size": 4, "allow_unseen_labels": True,
    }  # fmt: skip
    (tmp_path / "ner.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env_threads = ["env", "OMP_NUM_THREADS=1"]
    run([*env_threads, str(installed / "viextract"), "train", "ner", "--config", "ner.yaml"], cwd=tmp_path)
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "model" / "training_metrics.json").read_text(encoding="utf-8"))["global_step"] == 1
    evaluate = [str(installed / "viextract"), "evaluate", "ner", "--model", "model", "--data", "docs.jsonl"]
    run([*env_threads, *evaluate, "--out", "scores.json", "--device", "cpu"], cwd=tmp_path)
    scores = json.loads((tmp_path / "scores.json").read_text(encoding="utf-8"))
    assert scores["documents"] == 3 and scores["gold_entities"] == sum(len(d.entities) for d in documents)


def test_without_the_trainer_the_command_names_the_extra(monkeypatch, capsys):
    import importlib.metadata

    from viextract.cli import main

    class Broken:
        name = "train"

        def load(self):
            raise ModuleNotFoundError("No module named 'yaml'")

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [])
    assert main(["evaluate", "ner"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "viextract[train]"' in err and "not installed" in err
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [Broken()])
    assert main(["train", "--help"]) == 2
    assert "No module named 'yaml'" in capsys.readouterr().err


def test_training_commands_run_through_the_entry_point(monkeypatch, capsys):
    import importlib.metadata

    from viextract.cli import main

    calls = []

    class Point:
        name = "publish"

        def load(self):
            return lambda argv, prog: calls.append((argv, prog)) or 0

    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [Point()] if group == "viextract.commands" else []
    )
    assert main(["publish", "card", "--model", "m"]) == 0
    assert calls == [(["card", "--model", "m"], "viextract publish")]
