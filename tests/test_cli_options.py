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
    assert main(["extract", text_file, "--model", str(tiny_ner_dir), "--device", device]) == 2
    err = capsys.readouterr().err
    assert message in err and "--device" in err and err.count("\n") == 1


def test_quantize_on_a_gpu_device_is_refused(text_file, tiny_ner_dir, capsys, monkeypatch):
    import viextract.cli

    monkeypatch.setattr(viextract.cli, "_check_device", lambda device: device)  # as if a GPU were here
    assert main(["extract", text_file, "--model", str(tiny_ner_dir), "--device", "cuda", "--quantize", "int8"]) == 2
    assert "CPU only" in capsys.readouterr().err
    assert main(["extract", text_file, "--model", str(tiny_ner_dir), "--device", "mps", "--quantize", "int8"]) == 2
    assert "CPU only" in capsys.readouterr().err


def test_quantize_accepts_only_int8(text_file, tiny_ner_dir):
    with pytest.raises(SystemExit):
        main(["extract", text_file, "--model", str(tiny_ner_dir), "--quantize", "int4"])


class _OneDate:
    """Finds `10/10` wherever it is: enough to see which year the command line gives it."""

    def pipe(self, texts, batch_size=32):
        from viextract import Entity, Extraction

        for text in texts:
            start = text.find("10/10")
            found = (Entity("10/10", "DATE", start, start + 5, 0.9),) if start >= 0 else ()
            yield Extraction(text, found, ())


@pytest.mark.parametrize("header, option, value", [
    ("", None, None), ("", "2024-05-01", "2024-10-10"), (" date 2025-10-11\n", None, "2025-10-10"),
    (" date 2025-10-11\n", "2024-05-01", "2024-10-10"),
])  # fmt: skip
def test_document_date_gives_the_year_and_wins_over_the_header(tmp_path, capsys, monkeypatch, header, option, value):
    import viextract.extractor

    monkeypatch.setattr(viextract.extractor, "default_extractor", _OneDate)
    path = tmp_path / "a.txt"
    path.write_text(f"{header}Chiều tối 10/10 tại thủ đô Vientiane.", encoding="utf-8")
    args = ["extract", str(path), "--format", "jsonl", *(["--document-date", option] if option else [])]
    assert main(args) == 0
    (entity,) = json.loads(capsys.readouterr().out)["entities"]
    assert entity["value"] == value


def test_a_bad_document_date_is_one_line_before_any_model_loads(tmp_path, capsys, monkeypatch):
    import viextract.extractor

    monkeypatch.setattr(viextract.extractor, "default_extractor", lambda: pytest.fail("the model was loaded"))
    assert main(["extract", str(tmp_path / "missing.txt"), "--document-date", "5/10/2025"]) == 2
    err = capsys.readouterr().err
    assert "--document-date" in err and "YYYY-MM-DD" in err and err.count("\n") == 1


@pytest.mark.parametrize("model", ["", " "])
def test_an_empty_model_is_a_usage_error_not_the_bundled_model(text_file, monkeypatch, capsys, model):
    import viextract.extractor

    monkeypatch.setattr(viextract.extractor, "default_extractor", lambda: pytest.fail("the bundled model was used"))
    assert main(["extract", text_file, "--model", model]) == 2
    err = capsys.readouterr().err
    assert "--model" in err and "empty" in err and err.count("\n") == 1


def test_an_empty_file_name_is_named_as_such(capsys):
    assert main(["extract", "", "--model", "m"]) == 1
    assert capsys.readouterr().err == "viextract: '': an empty file name\n"
