"""`viextract --version`, `python -m viextract`, and `extract --device/--quantize`."""

import json
import subprocess
import sys

import pytest

import viextract
from viextract.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"viextract {viextract.__version__}"


def test_python_dash_m_is_the_command():
    done = subprocess.run([sys.executable, "-m", "viextract", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"viextract {viextract.__version__}"


@pytest.fixture
def text_file(tmp_path, corpus):
    path = tmp_path / "a.txt"
    path.write_text(corpus[0], encoding="utf-8")
    return str(path)


def test_device_cpu_and_quantize_give_results(text_file, tiny_ner_dir, capsys):
    args = ["extract", text_file, "--model", str(tiny_ner_dir), "--format", "jsonl"]
    assert main([*args, "--device", "cpu"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*args, "--quantize", "int8"]) == 0
    quantized = json.loads(capsys.readouterr().out)
    assert plain["text"] == quantized["text"]


@pytest.mark.parametrize("device, message", [("tpu9", "is not a device"), ("cuda:99", "not available")])
def test_an_unusable_device_is_one_line(text_file, tiny_ner_dir, capsys, device, message):
    assert main(["extract", text_file, "--model", str(tiny_ner_dir), "--device", device]) == 1
    err = capsys.readouterr().err
    assert message in err and "--device" in err and err.count("\n") == 1


def test_quantize_on_a_gpu_device_is_refused(text_file, tiny_ner_dir, capsys, monkeypatch):
    import viextract.cli

    monkeypatch.setattr(viextract.cli, "_check_device", lambda device: device)  # as if a GPU were here
    assert main(["extract", text_file, "--model", str(tiny_ner_dir), "--device", "cuda", "--quantize", "int8"]) == 1
    assert "CPU only" in capsys.readouterr().err
    assert main(["extract", text_file, "--model", str(tiny_ner_dir), "--device", "mps", "--quantize", "int8"]) == 1
    assert "CPU only" in capsys.readouterr().err


def test_quantize_accepts_only_int8(text_file, tiny_ner_dir):
    with pytest.raises(SystemExit):
        main(["extract", text_file, "--model", str(tiny_ner_dir), "--quantize", "int4"])
