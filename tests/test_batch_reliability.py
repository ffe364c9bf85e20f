"""`viextract batch` on hostile ground: read-only output folders, old manifests, odd inputs and odd --out paths."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from tests.batch_helpers import gives_up_after, write_jsonl
from tests.batch_helpers import options as batch_options
from viextract.batch import BatchOptions, BatchWarning, read_documents, read_shard, run_batch
from viextract.batch.documents import check_unique_ids, input_content_digest
from viextract.batch.loader import ExtractorSpec
from viextract.batch.shards import OutputDir, OutputInUseError
from viextract.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def texts(corpus) -> list[str]:
    return [line for text in corpus for line in text.splitlines() if len(line) > 40][:10]


def options(source: Path, out: Path, model: Path, **overrides) -> BatchOptions:
    """Smaller shards than test_batch's: these tests' inputs are ten lines."""
    return batch_options(source, out, model, **{"shard_size": 4, "chunk_size": 2, **overrides})


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def cannot_write(path):  # what os.open raises for the lock file in a folder on a read-only mount
    raise OSError(errno.EROFS, "Read-only file system", str(path))


def test_a_finished_run_in_a_read_only_folder_reruns_as_complete_and_writes_nothing(
    tmp_path, tiny_ner_dir, texts, monkeypatch, capsys
):
    """The rerun stopped at making `.batch.lock` ("[Errno 30] Read-only file system: 'out/.batch.lock'"), though
    it had nothing to write; tests run as root, so the read-only folder is simulated where the lock is made."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "out"
    run_batch(options(source, out, tiny_ner_dir))
    (out / ".shard-00009.jsonl.tmp-1").write_text("left by a killed run")  # removed by a writable rerun
    os.utime(source, ns=(1, 1))  # touched: a writable rerun records the new times in the manifest
    before = snapshot(out)
    monkeypatch.setattr("viextract.batch.shards._acquire_lock", cannot_write)
    summary = run_batch(options(source, out, tiny_ner_dir))
    assert (summary.shards_skipped, summary.shards_written, summary.documents) == (3, 0, 0)
    assert snapshot(out) == before
    (out / "shard-00001.jsonl").unlink()  # an unfinished run: it has to write, and cannot
    loads = []
    monkeypatch.setattr(ExtractorSpec, "load", lambda spec: loads.append(spec))
    args = ["batch", str(source), "--out", str(out), "--model", str(tiny_ner_dir), "--shard-size", "4"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err == (
        f"viextract: {out}: cannot write here (Read-only file system) and shard 00001 and those after it are "
        f"not complete; make the folder writable, or copy it to a writable place and give that as --out\n"
    )
    assert loads == []  # refused before the model loads, not after a shard's extraction
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*args[:3], str(empty), *args[4:]]) == 1
    assert capsys.readouterr().err == f"viextract: {empty}: cannot write here (Read-only file system); " + (
        "choose a writable --out\n"
    )
    assert list(empty.iterdir()) == []


def test_an_out_that_is_a_file_or_cannot_be_made_is_one_line_naming_it(tmp_path, tiny_ner_dir, texts, capsys):
    """They printed "[Errno 17] File exists: 'notes.txt'" and "[Errno 20] Not a directory: ...": not which flag."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": texts[0]}])
    afile = tmp_path / "notes.txt"
    afile.write_text("user data")
    args = ["batch", str(source), "--model", str(tiny_ner_dir), "--out"]
    assert main([*args, str(afile)]) == 1
    assert capsys.readouterr().err == f"viextract: {afile}: not a folder; --out names the folder the shards go to\n"
    assert main([*args, str(afile / "out")]) == 1
    assert capsys.readouterr().err == f"viextract: {afile / 'out'}: cannot make the output folder (Not a directory)\n"
    assert afile.read_text() == "user data"


def same_length_edit(text: str, at: int) -> str:
    """`text` with the character at `at` replaced by another of as many UTF-8 bytes."""
    choices = {1: "QZ", 2: "éè", 3: "ạả"}[len(text[at].encode("utf-8"))]
    return text[:at] + (choices[0] if text[at] != choices[0] else choices[1]) + text[at + 1 :]


def test_an_output_made_before_input_sha256_resumes_after_a_touch_and_refuses_an_edit(
    tmp_path, tiny_ner_dir, texts, capsys
):
    """Such a folder could only compare modification times: a `touch` of the input refused every rerun."""
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    run_batch(options(source, out, tiny_ner_dir, shard_size=3))
    (out / "shard-00003.jsonl").unlink()  # an unfinished run
    manifest = json.loads((out / "_batch.json").read_text(encoding="utf-8"))
    del manifest["input_sha256"]  # as viextract wrote it before it recorded one
    (out / "_batch.json").write_text(json.dumps(manifest), encoding="utf-8")
    old = tmp_path / "old"
    shutil.copytree(out, old)
    os.utime(source, ns=(1, 1))
    args = ["batch", str(source), "--out", str(out), "--model", str(tiny_ner_dir), "--shard-size", "3"]
    assert main(args) == 0
    note, summary = capsys.readouterr().err.splitlines()
    # a touch sets both times; a chmod or `cp -p` back only the change time, which the stamp holds too
    assert note.startswith("viextract batch: note: the input has new modification or change times")
    assert "3 already complete" in summary and "1 shard written" in summary
    assert "input_sha256" in json.loads((out / "_batch.json").read_text(encoding="utf-8"))
    assert main(args) == 0 and "note" not in capsys.readouterr().err  # recorded: the next rerun just resumes
    (record,) = [r for r in read_shard(old / "shard-00001.jsonl") if r["entities"]][:1]
    entity = record["entities"][0]
    index = int(record["id"][1:])
    for edited in (
        {**rows[index], "id": "x" + record["id"][1:]},
        {**rows[index], "text": same_length_edit(texts[index], entity["start"])},
    ):
        write_jsonl(source, [edited if i == index else row for i, row in enumerate(rows)])
        assert source.stat().st_size == sum(len(json.dumps(r, ensure_ascii=False).encode()) + 1 for r in rows)
        shutil.rmtree(out)
        shutil.copytree(old, out)
        with pytest.raises(ValueError, match="input_files: was '1 file, "):
            run_batch(options(source, out, tiny_ner_dir, shard_size=3))


def test_a_device_this_machine_lacks_is_one_line_before_anything_is_written(
    tmp_path, tiny_ner_dir, monkeypatch, capsys
):
    """`--device cuda` on a CPU-only torch was an AssertionError traceback from the model load, after `--out`
    was made; `extract --device cuda` says it in one line."""
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "Hà Nội"}])
    out = tmp_path / "out"
    assert main(["batch", str(source), "--out", str(out), "--model", str(tiny_ner_dir), "--device", "cuda"]) == 2
    assert capsys.readouterr().err == "viextract: cuda is not available on this machine\n"
    assert not out.exists()


def test_a_run_whose_model_does_not_load_leaves_no_manifest_to_refuse_the_corrected_command(
    tmp_path, tiny_ner_dir, capsys
):
    """The manifest recorded the wrong --model, so the rerun with the right one was refused as other settings."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "Hà Nội"}])
    (tmp_path / "not_a_model").mkdir()
    out, kept = tmp_path / "out", tmp_path / "kept"
    kept.mkdir()  # made by the user: it stays, empty
    for folder in (out, kept):
        args = ["batch", str(source), "--out", str(folder), "--model"]
        assert main([*args, str(tmp_path / "not_a_model")]) == 1
        assert "not a viextract model directory" in capsys.readouterr().err
        assert (folder.exists(), list(folder.iterdir()) if folder.exists() else []) == (folder == kept, [])
        assert main([*args, str(tiny_ner_dir)]) == 0
        assert [p.name for p in folder.glob("shard-*")] == ["shard-00000.jsonl"]


def test_a_pipe_as_input_is_refused_not_read_as_empty(tmp_path, tiny_ner_dir, capsys):
    """`cat in.jsonl | viextract batch /dev/stdin ...`: the id check read the pipe to its end, the run then found
    0 documents, and it exited 0 with an output folder holding none of them."""
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"id": "a", "text": "H\xc3\xa0 N\xe1\xbb\x99i"}\n')
    os.close(write_end)
    pipe = Path(f"/dev/fd/{read_end}")
    if not pipe.exists():
        os.close(read_end)
        pytest.skip("no /dev/fd here")
    out = tmp_path / "out"
    try:
        code = main(["batch", str(pipe), "--input-format", "jsonl", "--out", str(out), "--model", str(tiny_ner_dir)])
    finally:
        os.close(read_end)
    assert code == 2 and capsys.readouterr().err == (
        f"viextract: {pipe}: not a file or folder but a pipe or device; viextract batch reads its input more than "
        f"once (to check ids, and to resume), so save it to a file first\n"
    )
    assert not out.exists()


def test_a_file_that_is_not_parquet_is_one_line_naming_it(tmp_path, tiny_ner_dir, capsys):
    """It printed only pyarrow's "Parquet magic bytes not found in footer...", with no file name."""
    pytest.importorskip("pyarrow")
    source = tmp_path / "in.parquet"
    source.write_text('{"id": "a", "text": "saved as JSON under the wrong name"}\n')
    out = tmp_path / "out"
    assert main(["batch", str(source), "--out", str(out), "--model", str(tiny_ner_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"viextract: {source}: not a readable Parquet file (") and err.count("\n") == 1
    assert not out.exists()


def test_a_byte_order_mark_at_the_start_of_a_later_line_is_not_a_failure(tmp_path):
    """`cat a.jsonl b.jsonl > all.jsonl` of files saved by Notepad puts one at each file's start: b's first
    document failed as "not JSON (Unexpected UTF-8 BOM ...)"."""
    bom = b"\xef\xbb\xbf"
    source = tmp_path / "all.jsonl"
    source.write_bytes(bom + b'{"id": "a", "text": "x"}\n' + bom + b'{"id": "b", "text": "y"}\n')
    assert [(d.id, d.text, d.error) for d in read_documents(source)] == [("a", "x", None), ("b", "y", None)]


def test_a_wrong_kind_of_value_is_named_in_json_words(tmp_path):
    """Failures said "not a JSON object but NoneType" and "field 'text' is list, not a string": Python's names."""
    rows = ["null", '"s"', "[1]", '{"id": "a", "text": null}', '{"id": "b", "text": ["x"]}', '{"id": "c", "text": 7}']
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert [d.error for d in read_documents(source)] == [
        "not a JSON object but null",
        "not a JSON object but a string",
        "not a JSON object but an array",
        "field 'text' is null, not a string",
        "field 'text' is an array, not a string",
        "field 'text' is a number, not a string",
    ]


def test_a_rerun_of_a_complete_run_loads_no_model(tmp_path, tiny_ner_dir, texts, monkeypatch):
    """It loaded the model (with --engine ray, started a Ray) only to find every shard complete."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(texts[:5])])
    out = tmp_path / "out"
    run_batch(options(source, out, tiny_ner_dir))
    loads = []
    monkeypatch.setattr(ExtractorSpec, "load", lambda spec: loads.append(spec))
    summary = run_batch(options(source, out, tiny_ner_dir))
    assert (summary.shards_skipped, summary.shards_written, loads) == (2, 0, [])


def test_sigterm_stops_the_worker_processes_too(tmp_path, tiny_ner_dir, texts):
    """`timeout` or a scheduler's SIGTERM ended the main process alone: its worker processes, each holding a
    model, waited for work forever (and held its stderr open, so whoever read it waited too)."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": texts[i % 10]} for i in range(30)])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "viextract", "batch", str(source), "--out", str(out), "--workers", "2"]
    command += ["--model", str(tiny_ner_dir), "--shard-size", "2", "--chunk-size", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        while not (out / "shard-00000.jsonl").exists() and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # to the main process only, as `kill PID` sends it
        err = process.communicate(timeout=60)[1]
        assert (process.returncode, err[-22:]) == (143, "viextract: terminated\n")
        for _ in range(100):  # the resource tracker may take a moment after the workers
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("processes of the run are still alive")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("module", ["viextract", "viextract.cli"])
def test_sigterm_is_terminated_whichever_module_is_run(tmp_path, module):
    """`python -m viextract.cli batch` stopped by SIGTERM said 'interrupted' and exited 130: run as __main__,
    cli.py was a second copy whose Terminated was not the one the batch command raised."""
    # The signal arrives while the run is under way, as `kill PID` sends it, without loading a model.
    script = (
        "import os, runpy, signal, sys, time\n"
        "import viextract.batch.runner as runner\n"
        "runner.run_batch = lambda options: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(60))\n"
        "sys.argv = ['viextract', 'batch', 'in.jsonl', '--out', 'out']\n"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    process = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert (process.returncode, process.stderr) == (143, "viextract: terminated\n")


def test_an_input_without_documents_is_warned_about(tmp_path, tiny_ner_dir, capsys):
    """An empty file or one of blank lines finished '0 documents', exit 0, with nothing to say the input was
    empty (a wrong path, an export that failed); from Python, run_batch said nothing either."""
    source = tmp_path / "in.jsonl"
    source.write_text("\n  \n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_batch(options(source, tmp_path / "api", tiny_ner_dir))  # from Python: a warning, once
        assert [(w.category, w.filename) for w in caught] == [(BatchWarning, __file__)]
        assert str(caught[0].message).startswith(f"{source} holds no documents (")
        caught.clear()
        assert main(["batch", str(source), "--out", str(tmp_path / "out"), "--model", str(tiny_ner_dir)]) == 0
    assert caught == []  # the CLI says it once, in its own words, not again as a Python warning
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"viextract batch: warning: {source} holds no documents (")
    assert len(err) == 2 and err[1].startswith("viextract batch: 0 documents")


def test_a_text_or_id_given_twice_in_a_line_is_a_failure_naming_it(tmp_path):
    """`{"text": "a", "text": "b"}` was extracted as "b", the first text lost without a word; keys the batch
    does not read, or nested ones, may repeat."""
    rows = [
        '{"text": "a", "text": "b"}',
        '{"id": "x", "text": "t", "id": "y"}',
        '{"id": "z", "text": "t", "m": 1, "m": 2}',
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(rows + ['{"id": "w", "text": "t", "meta": {"text": 1, "text": 2}}']) + "\n")
    assert [(d.id, d.text, d.source, d.error) for d in read_documents(source)] == [
        ("1", None, f"{source}:1", "field 'text' given twice; JSON would keep only the last"),
        ("2", None, f"{source}:2", "field 'id' given twice; JSON would keep only the last"),
        ("z", "t", f"{source}:3", None),
        ("w", "t", f"{source}:4", None),
    ]


def test_a_signal_inside_the_pools_own_code_waits_for_a_safe_point(monkeypatch):
    """SIGTERM raised as an exception inside ProcessPoolExecutor.submit, which holds the pool's lock, could leave
    the pool deadlocked: the run hung instead of stopping. It now waits, and is delivered once the pool closed."""
    from concurrent.futures import ThreadPoolExecutor

    from viextract.batch import local
    from viextract.signals import Terminated, terminate_as_interrupt

    events = []

    class Pool(ThreadPoolExecutor):  # the process pool's interface, in threads, its submit slow enough to be hit
        def __init__(self, workers, mp_context, initializer, initargs):
            super().__init__(workers)

        def submit(self, fn, *args):
            events.append("submit")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # a handler that raises does so here, inside the pool's code
            events.append("submitted")
            return super().submit(lambda: [{"chunk": args[0]}])

        def shutdown(self, *args, **kwargs):
            events.append("closed")
            super().shutdown(*args, **kwargs)

    monkeypatch.setattr(local, "ProcessPoolExecutor", Pool)
    chunks = ([i] for i in range(10))
    with terminate_as_interrupt(), pytest.raises(Terminated):
        list(local.map_chunks_local(None, chunks, workers=2, batch_size=1, max_chars=None))
    assert events == ["submit", "submitted", "closed"]


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ("utf-16", "UTF-16"),  # with a byte-order mark, as Windows' "Unicode" save writes it
        ("utf-16-le", "UTF-16LE"),  # no mark: told by its NUL bytes
        ("utf-16-be", "UTF-16BE"),
        ("utf-32", "UTF-32"),
        ("utf-32-be", "UTF-32BE"),
    ],
)
def test_a_utf16_or_utf32_jsonl_is_one_error_naming_it_before_the_output_folder(tmp_path, encoding, named):
    """Each of its lines was a failure ('not UTF-8', 'not JSON'), none saying the file was in another encoding."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "Hà Nội"}\n{"id": "b", "text": "Huế"}\n', encoding=encoding)
    with pytest.raises(
        ValueError,
        match=rf"^{re.escape(str(source))}: encoded as {named}, not UTF-8; .* \(iconv -f {named} -t UTF-8\)$",
    ):
        run_batch(options(source, tmp_path / "out", tmp_path))
    assert not (tmp_path / "out").exists()


def test_txt_files_of_another_case_are_not_read_but_counted(tmp_path, tiny_ner_dir, capsys):
    """A folder's `A.TXT` was skipped without a word (`*.txt` is case-sensitive). Still not read, as an output
    folder's input stamp would change, but the run says how many, naming the first."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Hà Nội", encoding="utf-8")
    for name in ("C.TXT", "b.Txt", ".d.TXT"):  # hidden files stay out, as for .txt
        (folder / name).write_text("Huế", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run_batch(options(folder, tmp_path / "api", tiny_ner_dir))
    assert summary.documents == 1 and [str(w.message) for w in caught] == list(summary.warnings)
    assert summary.warnings == (
        f"{folder}: 2 files named .TXT or another case of .txt not read, 'C.TXT' first (only names ending in "
        "lower-case .txt are documents: rename them to include them)",
    )
    (folder / "b.Txt").unlink()
    assert main(["batch", str(folder), "--out", str(tmp_path / "out"), "--model", str(tiny_ner_dir)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"viextract batch: warning: {folder}: 1 file named .TXT or another case of .txt not read, " + (
        "'C.TXT' first (only names ending in lower-case .txt are documents: rename them to include them)"
    )
    (folder / "C.TXT").unlink()
    assert run_batch(options(folder, tmp_path / "out2", tiny_ner_dir)).warnings == ()


def test_the_progress_bar_is_closed_when_a_shard_write_fails(tmp_path, tiny_ner_dir, monkeypatch):
    """A full disk while writing a shard left the bar open: the error was printed after a half-drawn line."""
    import viextract.batch.runner as runner

    bars = []

    class Bar:
        closed = False

        def update(self, n):
            pass

        def close(self):
            self.closed = True

    def full_disk(self, shard, records, failures):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "_progress_bar", lambda enabled: bars.append(Bar()) or bars[-1])
    monkeypatch.setattr(OutputDir, "write_shard", full_disk)
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "Hà Nội"}])
    with pytest.raises(OSError, match="No space left"):
        run_batch(options(source, tmp_path / "out", tiny_ner_dir, progress=True))
    assert [bar.closed for bar in bars] == [True]


def test_an_out_folder_holding_only_os_metadata_is_empty(tmp_path, tiny_ner_dir):
    """A folder opened in Finder or Explorer (`.DS_Store`, `Thumbs.db`) was refused as 'not empty and not a
    viextract batch output'; it is written into, and those files are left alone."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "Hà Nội"}])
    out = tmp_path / "out"
    out.mkdir()
    (out / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (out / "Thumbs.db").write_bytes(b"\xd0\xcf")
    assert run_batch(options(source, out, tiny_ner_dir)).documents == 1
    assert (out / ".DS_Store").read_bytes() == b"\x00\x00\x00\x01Bud1" and (out / "Thumbs.db").exists()
    assert run_batch(options(source, out, tiny_ner_dir)).shards_skipped == 1  # and resumes
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / ".DS_Store").write_bytes(b"")
    (mine / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="not a viextract batch output"):  # other files still refuse it
        run_batch(options(source, mine, tiny_ner_dir))


def test_a_utf16_txt_file_fails_naming_its_encoding(tmp_path):
    """A folder's file is one document: it fails alone, but its error says UTF-16, not a byte at a position."""
    (tmp_path / "a.txt").write_text("Hà Nội", encoding="utf-16")
    (tmp_path / "b.txt").write_text("Huế", encoding="utf-8")
    documents = list(read_documents(tmp_path))
    assert [d.text for d in documents] == [None, "Huế"]
    assert documents[0].error.startswith("not UTF-8 but UTF-16 (")


def test_a_line_python_cannot_parse_fails_alone_naming_its_line(tmp_path):
    """A number of over 4300 digits (a ValueError, not a JSONDecodeError) stopped the run with a message naming
    no file or line; a line nested 100,000 deep stopped it with a RecursionError traceback."""
    lines = [
        '{"id": "a", "text": "t", "n": ' + "9" * 5000 + "}",
        '{"id": "b", "x": ' + "[" * 100_000 + "]" * 100_000 + ', "text": "t"}',
        '{"id": "c", "text": "t"}',
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    documents = list(read_documents(source))
    assert [(d.id, d.text, d.source) for d in documents] == [
        ("1", None, f"{source}:1"),
        ("2", None, f"{source}:2"),
        ("c", "t", f"{source}:3"),
    ]
    assert documents[0].error.startswith("JSON that Python cannot read (Exceeds the limit (4300 digits)")
    assert documents[1].error.startswith("JSON that Python cannot read (maximum recursion depth exceeded")


def test_hidden_files_of_a_txt_folder_are_not_documents(tmp_path):
    """macOS leaves `._a.txt` (AppleDouble metadata) beside `a.txt` on copied folders, editors leave `.#a.txt`
    (a dangling link): each was read as a document, a failure or binary junk extracted, as `*.txt` in a shell
    would not."""
    (tmp_path / "a b.txt").write_text("Hà Nội", encoding="utf-8")
    (tmp_path / "._a b.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (tmp_path / ".#a b.txt").symlink_to("user@host.1234:1700000000")
    (tmp_path / "link.txt").symlink_to(tmp_path / "a b.txt")  # a visible link is read as its file
    assert [(d.id, d.text) for d in read_documents(tmp_path)] == [("a b.txt", "Hà Nội"), ("link.txt", "Hà Nội")]


def test_a_parquet_id_that_is_not_a_string_is_its_json_text_as_in_jsonl(tmp_path):
    """Parquet ids were Python's text: `True`, `{'a': 1}`, `b'x7'`, where the same ids in JSONL were `true` and
    `{"a": 1}`: one corpus exported both ways got two sets of ids."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    columns = {"flag": [True, None], "nested": [{"a": 1}, {"a": None}], "raw": [b"x7", "ý".encode()]}
    pq.write_table(
        pa.table({**columns, "when": pa.array([0, 1], pa.timestamp("s")), "text": ["a", "b"]}), tmp_path / "in.parquet"
    )
    ids = {name: [d.id for d in read_documents(tmp_path / "in.parquet", id_field=name)] for name in [*columns, "when"]}
    assert ids == {
        "flag": ["true", "2"],  # no id: the row number, as before
        "nested": ['{"a": 1}', '{"a": null}'],
        "raw": ["x7", "ý"],
        "when": ["1970-01-01 00:00:00", "1970-01-01 00:00:01"],
    }


def test_a_nan_id_fails_its_document_naming_the_field_not_as_a_duplicate(tmp_path):
    """Two NaN ids were both the id 'NaN', so the run was refused as duplicates; NaN names nothing (it is not
    equal even to itself). Its document fails at its row or line, with the row or line number as id, as in JSONL."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    ids = {"id": pa.array([1.0, float("nan"), float("nan"), None]), "text": ["a", "b", "c", "d"]}
    pq.write_table(pa.table(ids), tmp_path / "in.parquet")
    (tmp_path / "in.jsonl").write_text(
        '{"id": 1.0, "text": "a"}\n{"id": NaN, "text": "b"}\n{"id": NaN, "text": "c"}\n{"id": null, "text": "d"}\n'
    )
    why = "field 'id' is NaN, which names no document; give it an id, or null for its line or row number"
    for name, where in (("in.parquet", "row "), ("in.jsonl", "")):
        source = tmp_path / name
        check_unique_ids(source, name.split(".")[1])
        assert [(d.id, d.text, d.source, d.error) for d in read_documents(source)] == [
            ("1.0", "a", f"{source}:{where}1", None),
            ("2", None, f"{source}:{where}2", why),
            ("3", None, f"{source}:{where}3", why),
            ("4", "d", f"{source}:{where}4", None),
        ]


def test_lines_parted_by_a_carriage_return_alone_fail_saying_so(tmp_path):
    """Mixed line endings: `\\r\\n` and a final line without one are read; two objects parted by a lone `\\r`
    (old Mac endings) are one line of JSON Lines, and its failure said only 'Extra data'."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"id": "a", "text": "x"}\r\n{"id": "b", "text": "y"}\r{"id": "c", "text": "z"}\n{"id": "d", "text": "w"}'
    )
    documents = list(read_documents(source))
    assert [(d.id, d.text) for d in documents] == [("a", "x"), ("2", None), ("d", "w")]
    assert documents[1].error.startswith("not JSON (Extra data: line 1 column 26 (char 25)); ")
    assert "carriage return" in documents[1].error


def test_a_file_system_without_locks_is_not_called_another_run(tmp_path, monkeypatch):
    """Where file locks are not supported (some network mounts: ENOLCK), every run was refused as 'another
    viextract batch run is writing this folder', with no other run anywhere."""
    import fcntl

    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(OSError, match=r"cannot lock .*\.batch\.lock \(No locks available\)") as raised:
        with OutputDir(tmp_path / "out", "jsonl").locked():
            pass
    assert not isinstance(raised.value, OutputInUseError) and not (tmp_path / "out").exists()


def test_a_full_disk_when_the_lock_records_its_pid_neither_stops_the_run_nor_keeps_the_lock(tmp_path, monkeypatch):
    """The pid only names the holder to a refused run; failing to write it (ENOSPC) stopped even a rerun that had
    nothing to write, and its descriptor, still locked, kept every later run in this process out."""
    write = os.write

    def full(handle, data):
        if data == f"{os.getpid()}\n".encode():
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(handle, data)

    monkeypatch.setattr(os, "write", full)
    output = OutputDir(tmp_path / "out", "jsonl")
    with output.locked():
        with pytest.raises(OutputInUseError, match=r"out: another viextract batch run is writing"):
            with OutputDir(tmp_path / "out", "jsonl").locked():
                pass
    monkeypatch.setattr(os, "write", write)
    with OutputDir(tmp_path / "out", "jsonl").locked():
        assert (tmp_path / "out" / ".batch.lock").read_text() == f"{os.getpid()}\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_or_device_named_txt_in_the_folder_is_not_read(tmp_path):
    """A named pipe `p.txt` (or a link to /dev/zero) in the folder was opened as a document: the run waited
    forever on the pipe, or read the device until memory ran out."""
    (tmp_path / "a.txt").write_text("Hà Nội", encoding="utf-8")
    os.mkfifo(tmp_path / "p.txt")
    (tmp_path / "z.txt").symlink_to("/dev/zero")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing")  # a dangling link is still a failure, as before

    with gives_up_after(10):
        documents = [(d.id, d.text) for d in read_documents(tmp_path)]
        input_content_digest(tmp_path)
    assert documents == [("a.txt", "Hà Nội"), ("gone.txt", None)]


def test_reading_a_pipe_from_python_loses_none_of_it_to_the_encoding_check(tmp_path):
    """read_documents reads a pipe once, which is fine from Python; the check for UTF-16 took its first bytes."""
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"id": "a", "text": "x"}\n')
    os.close(write_end)
    pipe = Path(f"/dev/fd/{read_end}")
    try:
        if not pipe.exists():
            pytest.skip("no /dev/fd here")
        assert [(d.id, d.text) for d in read_documents(pipe, "jsonl")] == [("a", "x")]
    finally:
        os.close(read_end)


def test_an_id_equal_to_a_line_number_is_not_said_to_be_missing(tmp_path):
    """Two lines with `"id": 2` were refused with 'in.jsonl:2 has no 'id' field', though line 2 has one."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": 2, "text": "a"}, {"id": 2, "text": "b"}])
    with pytest.raises(ValueError, match=r"in.jsonl:2: id '2' is also the id of .*in.jsonl:1 \(") as raised:
        check_unique_ids(source, "jsonl")
    assert "has no" not in str(raised.value)
    write_jsonl(source, [{"id": None, "text": "a"}, {"id": "1", "text": "b"}])
    with pytest.raises(ValueError, match=r"\(a line without an 'id', or with null there, has its line number as id\)"):
        check_unique_ids(source, "jsonl")


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="no SIGALRM here")
def test_an_object_with_many_keys_and_one_repeated_is_read_in_linear_time(tmp_path):
    """The check for a text or id given twice counted each key against all the others, in every object of the
    line: 30,000 keys with one repeated took 30 s, 200,000 took half an hour; 2 s is a hundred times enough."""
    meta = ", ".join(f'"k{i}": 1' for i in range(200_000))
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "t", "meta": {' + meta + ', "k0": 2}}\n', encoding="utf-8")
    with gives_up_after(10):
        assert [(d.id, d.text) for d in read_documents(source)] == [("a", "t")]


def test_a_non_utf8_file_name_whose_escape_is_another_files_name_is_refused(tmp_path, tiny_ner_dir):
    """`caf\\xe9.txt` is written as id `caf\\udce9.txt`, a name another file of the folder may hold: both
    records went out under one id, and a join kept one of the two documents."""
    folder = tmp_path / "articles"
    folder.mkdir()
    try:
        (folder / os.fsdecode(b"caf\xe9.txt")).write_text("Hà Nội", encoding="utf-8")
    except OSError:
        pytest.skip("this file system takes only UTF-8 names")
    (folder / "caf\\udce9.txt").write_text("Huế", encoding="utf-8")
    message = r"the files named b'caf\\\\udce9.txt' and b'caf\\xe9.txt' would both have the id 'caf\\\\udce9.txt'"
    with pytest.raises(ValueError, match=message):
        run_batch(options(folder, tmp_path / "out", tiny_ner_dir))
    assert not (tmp_path / "out").exists()


def test_a_number_id_is_written_as_the_input_spells_it(tmp_path, tiny_ner_dir):
    """`1e3` was written `1000.0`, `1.50` as `1.5`, `-0` as `0` and `1e400` as `Infinity`: ids the input does not
    hold, and `1.0` beside `1.00` was refused as one id twice."""
    source = tmp_path / "in.jsonl"
    spellings = ["1e3", "1.0", "1.00", "-0", "0", "1e400", "[1E5, 2.50]"]
    source.write_text("".join(f'{{"id": {id_}, "text": "Huế"}}\n' for id_ in spellings), encoding="utf-8")
    assert [d.id for d in read_documents(source)] == spellings
    run_batch(options(source, tmp_path / "out", tiny_ner_dir))
    records = [r for shard in sorted((tmp_path / "out").glob("shard-*")) for r in read_shard(shard)]
    assert [r["id"] for r in records] == spellings


def test_a_folder_whose_number_ids_an_earlier_version_wrote_otherwise_is_not_resumed(tmp_path, tiny_ner_dir):
    """Its complete shards hold `1000.0` where the rest would hold `1e3`: one output, two spellings of ids."""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(f'{{"id": {i}e3, "text": "Huế"}}\n' for i in range(6)), encoding="utf-8")
    run_batch(options(source, tmp_path / "out", tiny_ner_dir))
    forget_id_numbers(tmp_path / "out")
    with pytest.raises(ValueError, match=r"id_numbers: was 'as Python reads them \(.*in.jsonl:1 was written") as error:
        run_batch(options(source, tmp_path / "out", tiny_ner_dir))
    # no option brings the old spelling back: "rerun with the same ones" sent the user round in a circle
    assert str(error.value).endswith("no option sets id_numbers back, so choose a new --out")
    source.write_text("".join(f'{{"id": {i}, "text": "Huế"}}\n' for i in range(6)), encoding="utf-8")
    out = tmp_path / "ints"
    run_batch(options(source, out, tiny_ner_dir))
    forget_id_numbers(out)
    assert run_batch(options(source, out, tiny_ner_dir)).shards_skipped == 2  # ints: spelled as before
    assert json.loads((out / "_batch.json").read_text(encoding="utf-8"))["id_numbers"] == "as spelled"


def forget_id_numbers(out: Path) -> None:
    """The manifest as a version before `id_numbers` wrote it."""
    manifest = json.loads((out / "_batch.json").read_text(encoding="utf-8"))
    del manifest["id_numbers"]
    (out / "_batch.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_parquet_float32_id_is_its_shortest_decimal(tmp_path, tiny_ner_dir):
    """Arrow hands a float32 over as a double: `0.1` was written `0.10000000149011612`, which no tool shows."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    ids = pa.array([0.1, 1.0, 3.4028234663852886e38, None, float("nan")], pa.float32())
    pq.write_table(pa.table({"id": ids, "text": ["a", "b", "c", "d", "e"]}), tmp_path / "in.parquet")
    documents = list(read_documents(tmp_path / "in.parquet"))
    assert [d.id for d in documents] == ["0.1", "1.0", "3.4028235e+38", "4", "5"]  # NaN fails, with its row number
    assert documents[4].error.startswith("field 'id' is NaN")
    doubles = pa.array([0.1, 1.0], pa.float64())  # as Python writes them, already
    pq.write_table(pa.table({"id": doubles, "text": ["a", "b"]}), tmp_path / "doubles.parquet")
    assert [d.id for d in read_documents(tmp_path / "doubles.parquet")] == ["0.1", "1.0"]
    run_batch(options(tmp_path / "in.parquet", tmp_path / "out", tiny_ner_dir))
    forget_id_numbers(tmp_path / "out")  # made by an earlier version, which wrote 0.10000000149011612
    with pytest.raises(ValueError, match=r"id_numbers: was 'as Python reads them \(.*in.parquet:row 1 was"):
        run_batch(options(tmp_path / "in.parquet", tmp_path / "out", tiny_ner_dir))


def test_an_edit_of_the_same_size_whose_modification_time_was_put_back_is_refused(tmp_path, tiny_ner_dir, texts):
    """`touch -r` or `cp -p` of another version keeps size and modification time: the rerun skipped the complete
    shards, made from the old lines, and wrote the rest from the new ones."""
    rows = [{"id": f"d{i}", "text": text} for i, text in enumerate(texts[:6])]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    run_batch(options(source, out, tiny_ner_dir))
    before = source.stat()
    (out / "shard-00001.jsonl").unlink()  # as if the run had been killed before its second shard
    original = source.read_bytes()
    source.write_bytes(original.replace(b'"d0"', b'"e0"'))
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert source.stat().st_size == before.st_size and source.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(ValueError, match="input_files: was '1 file, "):
        run_batch(options(source, out, tiny_ner_dir))
    source.write_bytes(original)  # the same bytes again: the digest tells, and the run resumes
    summary = run_batch(options(source, out, tiny_ner_dir))
    assert (summary.shards_skipped, summary.shards_written) == (1, 1)


def test_a_closed_stderr_keeps_a_finished_run_at_exit_status_0(tmp_path, tiny_ner_dir, texts, monkeypatch):
    """Under `2>&-` the summary line's failing write made a run that had written every shard exit 1, and
    `--progress` ended it at the bar's first write."""
    from tests.test_cli_reliability import ClosedStream

    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(texts)])
    monkeypatch.setattr("sys.stderr", ClosedStream())
    for out, progress in [("out", []), ("shown", ["--progress"])]:
        args = ["batch", str(source), "--out", str(tmp_path / out), "--model", str(tiny_ner_dir), *progress]
        assert main(args) == 0
        assert sum(len(read_shard(p)) for p in (tmp_path / out).glob("shard-*")) == len(texts)
    usage_error = ["batch", str(source), "--out", str(tmp_path / "x"), "--model", str(tiny_ner_dir), "--workers", "0"]
    assert main(usage_error) == 2
