"""`viextract batch`: inputs, shards, failures, resume after a crash or a kill, and equal results on every engine."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from tests.batch_helpers import options, write_jsonl
from tests.relation_helpers import build_tiny_full_model
from viextract.batch import Document, extract_chunk, read_documents, read_shard, run_batch, to_record
from viextract.batch.loader import ExtractorSpec
from viextract.batch.local import map_chunks_local
from viextract.batch.plugins import ENGINE_GROUP, PLUGIN_ENGINES
from viextract.batch.shards import MANIFEST, OutputDir
from viextract.cli import main

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = "importlib.metadata.entry_points"  # what the engine lookup calls, for monkeypatch


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_tokenizer_dir) -> Path:
    """ner/ and re/ (threshold 0: every candidate pair is a relation, so relation checks are never vacuous)."""
    return build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("batch_model"))


@pytest.fixture(scope="module")
def paragraphs(corpus) -> list[str]:
    """Many short documents: the corpus articles' paragraphs, so the tests stay quick."""
    return [line for text in corpus for line in text.splitlines() if len(line) > 40]


def read_output(out: Path) -> tuple[list[dict], list[dict]]:
    records = [r for shard in sorted(out.glob("shard-*")) for r in read_shard(shard)]
    failures = [json.loads(line) for f in sorted(out.glob("failures-*.jsonl")) for line in f.open(encoding="utf-8")]
    return records, failures


def test_jsonl_records_keep_order_and_offsets_index_the_input(tmp_path, model_dir, paragraphs):
    docs = paragraphs[:20]
    rows = [{"id": f"doc{i}", "text": text} for i, text in enumerate(docs)]
    rows[4] = {"text": docs[4]}  # no id: its line number
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    summary = run_batch(options(source, tmp_path / "out", model_dir))
    records, failures = read_output(tmp_path / "out")
    assert failures == []
    assert [r["id"] for r in records] == [row.get("id", "5") for row in rows]
    assert summary.documents == 20 and summary.shards_written == 3 and summary.failures == 0
    assert summary.entities == sum(len(r["entities"]) for r in records) > 0
    assert summary.relations == sum(len(r["relations"]) for r in records) > 0
    for record, text in zip(records, docs):
        for entity in record["entities"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
        for relation in record["relations"]:
            assert 0 <= relation["head"] < len(record["entities"]) and 0 <= relation["tail"] < len(record["entities"])


def test_failures_are_recorded_with_id_and_source_and_never_stop_the_run(tmp_path, model_dir, paragraphs):
    lines = [
        json.dumps({"id": "ok1", "text": paragraphs[0]}),
        "{not json",
        json.dumps({"id": "num", "text": 5}),
        json.dumps({"id": "long", "text": "Hà Nội " * 1000}),
        json.dumps({"id": "ok2", "text": paragraphs[1]}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "latin", "text": "H\xe0 N\xf4i"}\n')
    summary = run_batch(options(source, tmp_path / "out", model_dir, max_chars=6000))
    records, failures = read_output(tmp_path / "out")
    assert [r["id"] for r in records] == ["ok1", "ok2"]
    by_id = {f["id"]: f for f in failures}
    assert set(by_id) == {"2", "num", "long", "6"} and summary.failures == 4 and summary.documents == 6
    assert by_id["2"]["source"].endswith("in.jsonl:2") and "not JSON" in by_id["2"]["error"]
    assert "not a string" in by_id["num"]["error"] and "--max-chars" in by_id["long"]["error"]
    assert "not UTF-8" in by_id["6"]["error"]


def test_an_exception_in_one_document_spares_its_neighbours():
    class Flaky:
        def pipe(self, texts, batch_size):
            from viextract.results import Extraction

            for text in texts:
                if "boom" in text:
                    raise RuntimeError("model exploded")
            return iter([Extraction(t) for t in texts])

    chunk = [Document("a", "fine", "f:1"), Document("b", "boom", "f:2"), Document("c", "also fine", "f:3")]
    outcomes = extract_chunk(Flaky(), chunk, batch_size=8, max_chars=None)
    assert [o.get("record", {}).get("id") for o in outcomes] == ["a", None, "c"]
    assert outcomes[1]["failure"] == {"id": "b", "source": "f:2", "error": "RuntimeError: model exploded"}


def test_a_document_over_max_chars_is_refused_in_words_of_the_python_argument_and_the_option():
    """It said "(--max-chars)" only, though extract_dataset(max_chars=...) sets the limit too."""

    class Unused:
        def pipe(self, texts, batch_size):
            return iter([])

    outcomes = extract_chunk(Unused(), [Document("a", "Hà Nội", "f:1")], batch_size=8, max_chars=5)
    error = "text has 6 characters, over the max_chars (--max-chars) limit of 5"
    assert outcomes == [{"failure": {"id": "a", "source": "f:1", "error": error}}]


def test_a_byte_order_mark_before_the_first_jsonl_line_is_not_a_failure(tmp_path):
    """Files saved by Notepad start with one; the first document kept its id and text."""
    source = tmp_path / "bom.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + '{"id": "a", "text": "Sáng 5/3"}\n{"id": "b", "text": "Lào"}\n'.encode())
    documents = list(read_documents(source))
    assert [(d.id, d.text, d.error) for d in documents] == [("a", "Sáng 5/3", None), ("b", "Lào", None)]


def test_lone_surrogates_in_an_id_text_or_file_name_fail_one_document_not_the_run(tmp_path, model_dir, paragraphs):
    """UTF-8 cannot hold them: the shard holding one could not be written, and every rerun stopped there."""
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "\udc80", "text": paragraphs[0]}),  # JSON escapes: lone surrogates once parsed
        json.dumps({"id": "bad", "text": paragraphs[1][:10] + "\ud800" + paragraphs[1][10:]}),
        json.dumps({"id": "ok", "text": paragraphs[2]}),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_batch(options(source, tmp_path / "out", model_dir)).failures == 1
    records, failures = read_output(tmp_path / "out")
    assert [r["id"] for r in records] == ["\\udc80", "ok"]
    assert failures == [
        {
            "id": "bad",
            "source": f"{source}:2",
            "error": "field 'text' is not valid Unicode (surrogates not allowed at character 10)",
        }
    ]
    folder = tmp_path / "articles"
    folder.mkdir()
    try:
        (folder / os.fsdecode(b"caf\xe9.txt")).write_text(paragraphs[0], encoding="utf-8")
    except OSError:
        pytest.skip("this file system takes only UTF-8 names")
    run_batch(options(folder, tmp_path / "txt_out", model_dir))
    assert [r["id"] for r in read_output(tmp_path / "txt_out")[0]] == ["caf\\udce9.txt"]


def test_an_id_that_is_not_a_string_is_its_json_text(tmp_path):
    """`true` was written `True` and `{"a": 1}` as `{'a': 1}`: ids the input does not hold, so no join found them."""
    rows = [{"id": 7, "text": "a"}, {"id": 1.5, "text": "b"}, {"id": True, "text": "c"}, {"id": {"a": 1}, "text": "d"}]
    ids = [d.id for d in read_documents(write_jsonl(tmp_path / "in.jsonl", rows))]
    assert ids == ["7", "1.5", "true", '{"a": 1}']


def test_two_documents_with_one_id_are_refused_before_anything_is_written(tmp_path, model_dir):
    """Both records were written under one id (a line without one takes its line number), so a join lost one."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}, {"text": "y"}, {"id": "2", "text": "z"}])
    at = re.escape(str(source))
    with pytest.raises(ValueError, match=rf"{at}:3: id '2' is also the id of {at}:2 \(a line without an 'id'"):
        run_batch(options(source, tmp_path / "out", model_dir))
    write_jsonl(source, [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "a", "text": "z"}])
    with pytest.raises(ValueError, match=rf"{at}:3: id 'a' is also the id of {at}:1; "):
        run_batch(options(source, tmp_path / "out", model_dir))
    assert not (tmp_path / "out").exists()
    assert main(["batch", str(source), "--out", str(tmp_path / "out"), "--model", str(model_dir)]) == 2
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["x", None, "2"], "text": ["a", "b", "c"]}), tmp_path / "in.parquet")
    with pytest.raises(ValueError, match=r"in.parquet:row 3: id '2' is also the id of .*in.parquet:row 2 \("):
        run_batch(options(tmp_path / "in.parquet", tmp_path / "out", model_dir))


def test_txt_folder_in_parquet_out(tmp_path, model_dir, paragraphs, capsys):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "articles"
    folder.mkdir()
    for i, text in enumerate(paragraphs[:5]):
        (folder / f"a{i}.txt").write_text(text, encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"H\xe0 N\xf4i")
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    out = tmp_path / "out"
    args = f"batch {folder} --out {out} --format parquet --model {model_dir} --shard-size 4 --progress"
    assert main(args.split()) == 0
    err = capsys.readouterr().err
    assert "doc" in err  # the progress bar, asked for
    assert "viextract batch: 6 documents, " in err and " 1 failure; 2 shards written" in err
    records, failures = read_output(out)
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.parquet", "shard-00001.parquet"]
    assert [r["id"] for r in records] == [f"a{i}.txt" for i in range(5)]
    assert [f["id"] for f in failures] == ["bad.txt"]
    for record, text in zip(records, paragraphs):
        assert all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])


def test_parquet_input_with_configured_fields(tmp_path, model_dir, paragraphs):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"key": ["x", "y", None], "body": [paragraphs[0], None, paragraphs[2]]}), source)
    docs = list(read_documents(source, text_field="body", id_field="key"))
    assert [(d.id, d.error is None) for d in docs] == [("x", True), ("y", False), ("3", True)]
    with pytest.raises(ValueError, match="no column 'text'"):
        list(read_documents(source))


def test_a_crash_while_writing_leaves_no_half_shard_and_a_rerun_completes(tmp_path, model_dir, paragraphs, monkeypatch):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(paragraphs[:20])])
    clean = tmp_path / "clean"
    run_batch(options(source, clean, model_dir))
    out = tmp_path / "out"
    original = OutputDir.write_shard

    def crash_on_second_shard(self, shard, records, failures):
        if shard == 1:  # half a shard on disk, then the process dies
            (self.path / ".shard-00001.jsonl.tmp-99999").write_text(json.dumps(records[0]) + "\n")
            raise KeyboardInterrupt
        original(self, shard, records, failures)

    monkeypatch.setattr(OutputDir, "write_shard", crash_on_second_shard)
    with pytest.raises(KeyboardInterrupt):
        run_batch(options(source, out, model_dir))
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.jsonl"]
    monkeypatch.setattr(OutputDir, "write_shard", original)
    summary = run_batch(options(source, out, model_dir))
    assert summary.shards_skipped == 1 and summary.shards_written == 2 and summary.documents == 13
    assert read_output(out) == read_output(clean)
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_a_full_disk_names_the_shard_and_frees_the_partial_file(tmp_path, monkeypatch):
    """It said only "[Errno 28] No space left on device", and its partial file kept the space until a rerun."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    output = OutputDir(tmp_path / "out", "jsonl")
    output.open({"input": "in.jsonl"})
    full = tmp_path / "out" / ".shard-00000.jsonl.tmp-1"
    full.symlink_to("/dev/full")  # every write to it fails with ENOSPC, as on a full disk
    monkeypatch.setattr("viextract.batch.shards._temp_path", lambda path: full)
    with pytest.raises(OSError, match=r"writing .*shard-00000\.jsonl: No space left on device"):
        output.write_shard(0, [{"id": "a", "entities": [], "relations": []}], [])
    assert not output.is_complete(0) and not full.exists() and not full.is_symlink()


def test_a_failures_file_left_by_a_killed_run_goes_when_its_shard_is_redone_without_failures(tmp_path):
    """A run killed between a shard's failures file and the shard left the file; a rerun in which the document
    succeeded (a model error that did not recur: out of memory) kept it, listing a document the shard holds."""
    output = OutputDir(tmp_path / "out", "jsonl")
    output.open({"input": "in.jsonl"})
    output.write_shard(0, [], [{"id": "a", "source": "in.jsonl:1", "error": "RuntimeError: CUDA out of memory"}])
    output.shard_path(0).unlink()  # as the kill left it: the failures file, no shard
    output.write_shard(0, [{"id": "a", "entities": [], "relations": []}], [])
    assert read_output(tmp_path / "out") == ([{"id": "a", "entities": [], "relations": []}], [])


def test_temporary_files_of_a_killed_run_are_removed_past_shard_99999_and_before_the_manifest(tmp_path):
    """Shard 100000 has six digits and its temporary file was never removed; a run killed while writing the
    manifest left a folder holding only its temporary file, and every rerun refused it as someone else's."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "._batch.json.tmp-41").write_text('{"input": ')
    output = OutputDir(out, "jsonl")
    output.open({"input": "in.jsonl"})
    assert sorted(p.name for p in out.iterdir()) == ["_batch.json"]
    (out / ".shard-100000.jsonl.tmp-42").write_text("half")
    (out / ".failures-100000.jsonl.tmp-42").write_text("half")
    output.open({"input": "in.jsonl"})
    assert sorted(p.name for p in out.iterdir()) == ["_batch.json"]


def test_a_second_run_on_the_same_folder_is_refused_and_leaves_the_first_ones_files(
    tmp_path, model_dir, paragraphs, monkeypatch, capsys
):
    """Started while the first was writing, it deleted the first's temporary files: the first crashed renaming."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(paragraphs[:10])])
    out = tmp_path / "out"
    original = OutputDir.write_shard
    seen = {}

    def second_run_meanwhile(self, shard, records, failures):
        if shard == 1 and not seen:  # the first run between its temporary file and the rename
            seen["code"] = None  # once: without the lock, the second run comes here too
            temp = self.path / f".shard-00001.jsonl.tmp-{os.getpid()}"
            temp.write_text("half")
            second = ["batch", str(source), "--out", str(out), "--model", str(model_dir), "--shard-size", "7"]
            seen["code"] = main(second)
            seen["temp left"] = temp.exists()
            temp.unlink()
        original(self, shard, records, failures)

    monkeypatch.setattr(OutputDir, "write_shard", second_run_meanwhile)
    assert run_batch(options(source, out, model_dir)).shards_written == 2
    assert seen == {"code": 1, "temp left": True}
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and f"{out}: another viextract batch run (pid {os.getpid()})" in message
    assert sorted(p.name for p in out.iterdir()) == ["_batch.json", "shard-00000.jsonl", "shard-00001.jsonl"]


def test_the_lock_of_a_killed_run_does_not_block_the_next(tmp_path, model_dir, paragraphs):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": paragraphs[0]}])
    out = tmp_path / "out"
    holder = (
        "import os, sys; from viextract.batch.shards import OutputDir\n"
        "with OutputDir(sys.argv[1], 'jsonl').locked():\n    print('held', flush=True); os.kill(os.getpid(), 9)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    killed = subprocess.run([sys.executable, "-c", holder, str(out)], env=env, capture_output=True, text=True)
    assert killed.stdout == "held\n" and (out / ".batch.lock").exists()  # as a SIGKILL leaves it
    assert run_batch(options(source, out, model_dir)).documents == 1
    assert not (out / ".batch.lock").exists()


def test_killed_midway_then_rerun_completes_without_duplicates(tmp_path, tiny_ner_dir, paragraphs):
    texts = (paragraphs * 2)[:80]
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "viextract.cli",
        "batch",
        str(source),
        "--out",
        str(out),
        "--model",
        str(tiny_ner_dir),
        "--shard-size",
        "5",
        "--chunk-size",
        "5",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (out / "shard-00000.jsonl").exists() and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before = len(list(out.glob("shard-*")))
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    records, _ = read_output(out)
    assert [r["id"] for r in records] == [f"d{i}" for i in range(80)]
    assert written_before >= 1


def test_rerun_with_other_settings_or_into_a_foreign_folder_is_refused(tmp_path, model_dir, paragraphs):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": paragraphs[0]}])
    run_batch(options(source, tmp_path / "out", model_dir))
    with pytest.raises(ValueError, match="shard_size: was 7, now 9"):
        run_batch(options(source, tmp_path / "out", model_dir, shard_size=9))
    with pytest.raises(ValueError, match="quantize: was None, now 'int8'"):  # int8 moves some spans
        run_batch(options(source, tmp_path / "out", model_dir, quantize="int8"))
    # A folder started before a setting was recorded resumes: its value then is unknown, not different.
    manifest = tmp_path / "out" / "_batch.json"
    settings = json.loads(manifest.read_text(encoding="utf-8"))
    del settings["quantize"]
    manifest.write_text(json.dumps(settings), encoding="utf-8")
    assert run_batch(options(source, tmp_path / "out", model_dir, quantize="int8")).shards_skipped == 1
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="not a viextract batch output"):
        run_batch(options(source, foreign, model_dir))
    assert (foreign / "keep.txt").read_text() == "user data"


def test_a_rerun_that_spells_the_same_format_or_model_otherwise_resumes(tmp_path, model_dir, paragraphs, monkeypatch):
    """`--input-format jsonl` against the guess, and `--model <the bundled model's folder>` against the default,
    were refused as other settings though they read the same documents with the same model."""
    monkeypatch.setattr("viextract.loading.BUNDLED_MODEL_DIR", model_dir)
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": paragraphs[0]}])
    out = tmp_path / "out"
    run_batch(options(source, out, model_dir, input_format=None, model=None))
    resumed = run_batch(options(source, out, model_dir, input_format="jsonl", model=str(model_dir)))
    assert resumed.shards_skipped == 1 and resumed.shards_written == 0
    manifest = json.loads((out / "_batch.json").read_text(encoding="utf-8"))
    assert (manifest["input_format"], manifest["model"]) == ("jsonl", "bundled")
    # A folder started before the resolved values were recorded resumes too.
    manifest.update(input_format=None, model=str(model_dir.resolve()))
    (out / "_batch.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert run_batch(options(source, out, model_dir, input_format="jsonl", model=None)).shards_skipped == 1
    with pytest.raises(ValueError, match="input_format: was 'jsonl', now 'txt'"):
        run_batch(options(source, out, model_dir, input_format="txt"))


def test_a_rerun_on_a_changed_input_is_refused(tmp_path, model_dir, paragraphs):
    """A line appended to the last, complete shard or a file added before the others was skipped, never read."""
    rows = [{"id": f"d{i}", "text": text} for i, text in enumerate(paragraphs[:5])]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    run_batch(options(source, tmp_path / "out", model_dir))
    write_jsonl(source, [*rows, {"id": "new", "text": paragraphs[5]}])
    with pytest.raises(ValueError, match="input_files: was '1 file, "):
        run_batch(options(source, tmp_path / "out", model_dir))
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "b.txt").write_text(paragraphs[0], encoding="utf-8")
    run_batch(options(folder, tmp_path / "txt_out", model_dir))
    (folder / "a.txt").write_text(paragraphs[1], encoding="utf-8")
    with pytest.raises(ValueError, match="input_files: was '1 file, .*now '2 files, "):
        run_batch(options(folder, tmp_path / "txt_out", model_dir))
    assert read_output(tmp_path / "txt_out")[0][0]["id"] == "b.txt"
    (folder / "a.txt").unlink()
    assert run_batch(options(folder, tmp_path / "txt_out", model_dir)).shards_skipped == 1


def test_a_rerun_on_an_input_only_touched_resumes_and_one_edited_in_place_is_refused(
    tmp_path, model_dir, paragraphs, monkeypatch
):
    """`touch` or a `git checkout` gave the unchanged input new modification times, and the rerun was refused."""
    import viextract.batch.runner as runner

    hashed = []
    digest = runner.input_content_digest
    monkeypatch.setattr(runner, "input_content_digest", lambda *args: hashed.append(args) or digest(*args))
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "Hà Nội"}, {"id": "b", "text": "Huế"}])
    out = tmp_path / "out"
    run_batch(options(source, out, model_dir))
    assert len(hashed) == 1  # recorded once, when the folder is made
    os.utime(source, ns=(1, 1))
    assert run_batch(options(source, out, model_dir)).shards_skipped == 1 and len(hashed) == 2
    assert run_batch(options(source, out, model_dir)).shards_skipped == 1 and len(hashed) == 2  # times recorded
    source.write_text(source.read_text(encoding="utf-8").replace("Huế", "Huề"), encoding="utf-8")  # same size
    with pytest.raises(ValueError, match="input_files: was '1 file, "):
        run_batch(options(source, out, model_dir))
    write_jsonl(source, [{"id": "a", "text": "Hà Nội"}])
    with pytest.raises(ValueError, match="input_files: was '1 file, "):
        run_batch(options(source, out, model_dir))
    assert len(hashed) == 3  # another size: refused without reading the input
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(paragraphs[0], encoding="utf-8")
    run_batch(options(folder, tmp_path / "txt_out", model_dir))
    os.utime(folder / "a.txt", ns=(1, 1))
    assert run_batch(options(folder, tmp_path / "txt_out", model_dir)).shards_skipped == 1


def test_a_rerun_with_other_weights_in_the_model_folder_is_refused(tmp_path, model_dir, paragraphs):
    """A model retrained into the same folder resumed the run: one output mixed two models' extractions."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": paragraphs[0]}])
    run_batch(options(source, tmp_path / "out", model))
    for file in model.rglob("*"):  # copied again, unchanged (a reinstall): resumes
        os.utime(file, ns=(1, 1))
    assert run_batch(options(source, tmp_path / "out", model)).shards_skipped == 1
    weights = model / "ner" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # other weights of the same shapes: the same size
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model_files: was '12 files, "):
        run_batch(options(source, tmp_path / "out", model))


def test_a_hub_model_is_pinned_to_one_commit_and_a_moved_repo_is_refused(tmp_path, model_dir, paragraphs, monkeypatch):
    """A Hub id was recorded as the id alone: a repo updated between two runs resumed, mixing two models."""
    commits = {"1" * 40: model_dir, "2" * 40: model_dir}
    head = ["1" * 40]
    asked: list[str | None] = []

    def snapshot(name, revision, token, **options):  # huggingface_hub's cache: snapshots/<commit>
        asked.append(revision)
        commit = revision or head[0]
        folder = tmp_path / "hub" / "snapshots" / commit
        if not folder.exists():
            shutil.copytree(commits[commit], folder)
        return str(folder)

    monkeypatch.setattr("viextract.loading.download_snapshot", snapshot)
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": paragraphs[0]}])
    run_batch(options(source, tmp_path / "out", "owner/model"))
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert (manifest["model"], manifest["model_revision"]) == ("owner/model", "1" * 40)
    assert asked == [None, "1" * 40]  # resolved once, then every worker loads that commit
    assert run_batch(options(source, tmp_path / "out", "owner/model")).shards_skipped == 1
    head[0] = "2" * 40  # a new commit pushed to the repo
    with pytest.raises(ValueError, match="model_revision: was '1111"):
        run_batch(options(source, tmp_path / "out", "owner/model"))


def test_an_input_that_cannot_be_read_leaves_no_output_folder(tmp_path, model_dir):
    """Otherwise its settings file would refuse the corrected command as a change of settings."""
    unknown = tmp_path / "in.csv"
    unknown.write_text("x\n")
    with pytest.raises(ValueError, match="input format"):
        run_batch(options(unknown, tmp_path / "out", model_dir))
    with pytest.raises(FileNotFoundError, match="no such input"):
        run_batch(options(tmp_path / "missing.jsonl", tmp_path / "out", model_dir))
    assert not (tmp_path / "out").exists()
    write_jsonl(unknown, [{"id": "a", "text": "Hà Nội."}])
    assert run_batch(options(unknown, tmp_path / "out", model_dir, input_format="jsonl")).documents == 1


def test_core_package_imports_no_engine():
    code = (
        "import sys, viextract, viextract.cli, viextract.batch; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'datasets', 'ray', 'pyarrow'}))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "[]"


@pytest.fixture(scope="module")
def engine_input(tmp_path_factory, paragraphs) -> Path:
    folder = tmp_path_factory.mktemp("engines")
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(paragraphs[:24])]
    rows.insert(5, {"id": "long", "text": "Hà Nội " * 1000})
    return write_jsonl(folder / "in.jsonl", rows)


@pytest.fixture(scope="module")
def local_output(tmp_path_factory, engine_input, model_dir):
    out = tmp_path_factory.mktemp("local") / "out"
    run_batch(options(engine_input, out, model_dir, max_chars=6000))
    return read_output(out)


def test_local_worker_processes_equal_in_process(tmp_path, engine_input, model_dir, local_output):
    run_batch(options(engine_input, tmp_path / "out", model_dir, max_chars=6000, workers=2))
    assert read_output(tmp_path / "out") == local_output


class _DiesOnPipe:
    def pipe(self, texts, batch_size):
        os._exit(9)  # as the kernel's out-of-memory killer ends a process: no exception, no cleanup


@dataclass(frozen=True)
class DyingWorkerSpec(ExtractorSpec):
    def load(self):
        return _DiesOnPipe()


def test_a_worker_killed_midway_is_one_line_that_says_to_rerun():
    """It was a BrokenProcessPool traceback; an OSError is what `main` prints as one line."""
    chunks = [[Document("a", "Hà Nội", "in.jsonl:1")]]
    with pytest.raises(ChildProcessError, match="worker process stopped abruptly.*rerun the same command"):
        list(map_chunks_local(DyingWorkerSpec(), chunks, workers=2, batch_size=8, max_chars=None))


def declared_engines() -> list[EntryPoint]:
    """pyproject's `viextract.batch_engines` entry points under the clone's name (`training.`): installed or not."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["entry-points"][ENGINE_GROUP]
    return [
        EntryPoint(name, value.replace("viextract_training.", "training.", 1), ENGINE_GROUP)
        for name, value in declared.items()
    ]


def test_every_plugin_engine_is_declared_in_pyproject():
    assert {point.name for point in declared_engines()} == set(PLUGIN_ENGINES)


def test_datasets_engine_and_extract_dataset_equal_local(tmp_path, engine_input, model_dir, local_output, monkeypatch):
    datasets = pytest.importorskip("datasets")
    from training.engines.datasets_engine import extract_dataset

    # The entry point as pyproject declares it: an editable install made before it was added does not list it.
    monkeypatch.setattr(ENTRY_POINTS, lambda group: [p for p in declared_engines() if p.group == group])
    run_batch(options(engine_input, tmp_path / "out", model_dir, max_chars=6000, engine="datasets"))
    assert read_output(tmp_path / "out") == local_output
    # Two processes take whole chunks (a row is a chunk), so the model's batches are local's too.
    run_batch(options(engine_input, tmp_path / "out2", model_dir, max_chars=6000, engine="datasets", workers=2))
    assert read_output(tmp_path / "out2") == local_output
    rows = [json.loads(line) for line in engine_input.open(encoding="utf-8")][:7]
    mapped = extract_dataset(
        datasets.Dataset.from_list(rows), str(model_dir), id_field="id", chunk_size=3, max_chars=6000
    )
    assert mapped.column_names == ["id", "text", "entities", "relations", "error"]
    records, failures = local_output
    expected = [r for r in records if r["id"] in {row["id"] for row in rows}]
    assert [
        {"id": r["id"], "entities": r["entities"], "relations": r["relations"]} for r in mapped if r["error"] is None
    ] == expected
    assert [r["id"] for r in mapped if r["error"]] == [f["id"] for f in failures]


def test_extract_dataset_draws_no_progress_bar_unless_asked(tiny_ner_dir, capfd):
    """A library is quiet by default; datasets' switch is global, so the user's setting must come back."""
    datasets = pytest.importorskip("datasets")
    from training.engines.datasets_engine import extract_dataset

    rows = datasets.Dataset.from_list([{"text": "Ông Nam ở Hà Nội."}, {"text": "Bà Lan."}])
    user_setting = datasets.are_progress_bars_disabled()
    assert extract_dataset(rows, str(tiny_ner_dir))["error"] == [None, None]
    assert "Map" not in capfd.readouterr().err
    assert datasets.are_progress_bars_disabled() == user_setting
    extract_dataset(rows, str(tiny_ner_dir), progress=True)
    assert ("Map" in capfd.readouterr().err) is not user_setting
    assert datasets.are_progress_bars_disabled() == user_setting


class _NoEntities:
    def pipe(self, texts, batch_size):
        from viextract.results import Extraction

        return iter([Extraction(text) for text in texts])


@dataclass(frozen=True)
class LoadCountingSpec(ExtractorSpec):
    """Writes one line to `log` for each process that loads it."""

    log: str = ""

    def load(self):
        if self not in _counted_loads:
            with open(self.log, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()}\n")
            _counted_loads[self] = _NoEntities()
        return _counted_loads[self]


_counted_loads: dict = {}


def test_the_datasets_engine_starts_its_workers_once_not_at_every_shard(tmp_path):
    """Shards of 1000 in chunks of 32 end on a short chunk, which ended the window: 2 new processes per shard."""
    pytest.importorskip("datasets")
    from training.engines.datasets_engine import map_chunks_datasets

    documents = [Document(f"d{i}", "Hà Nội", f"in.jsonl:{i + 1}") for i in range(21)]
    shards = [documents[0:7], documents[7:14], documents[14:21]]  # shard size 7, chunk size 3: 3 + 3 + 1
    chunks = [shard[start : start + 3] for shard in shards for start in (0, 3, 6)]
    spec = LoadCountingSpec(log=str(tmp_path / "loads"))
    outcomes = list(map_chunks_datasets(spec, chunks, workers=2, batch_size=8, max_chars=None))
    assert [[o["record"]["id"] for o in chunk] for chunk in outcomes] == [[d.id for d in c] for c in chunks]
    assert len((tmp_path / "loads").read_text().splitlines()) == 2


def test_a_missing_plugin_engine_says_what_to_install_and_writes_nothing(
    tmp_path, engine_input, model_dir, monkeypatch, capsys
):
    monkeypatch.setattr(ENTRY_POINTS, lambda group: [])
    out = tmp_path / "out"
    with pytest.raises(ImportError, match=r'--engine datasets is not installed .*pip install "viextract\[datasets\]"'):
        run_batch(options(engine_input, out, model_dir, engine="datasets"))
    assert not out.exists()
    assert main(["batch", str(engine_input), "--out", str(out), "--engine", "datasets"]) == 2
    assert 'pip install "viextract[datasets]"' in capsys.readouterr().err and not out.exists()
    broken = EntryPoint("datasets", "no_such_module_here:map_chunks", ENGINE_GROUP)
    monkeypatch.setattr(ENTRY_POINTS, lambda group: [broken])
    with pytest.raises(ImportError, match="could not be loaded: No module named 'no_such_module_here'"):
        run_batch(options(engine_input, out, model_dir, engine="datasets"))


def test_the_datasets_engine_without_datasets_says_what_to_install(tmp_path, engine_input, model_dir, monkeypatch):
    monkeypatch.setattr(ENTRY_POINTS, lambda group: declared_engines())
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` raises ImportError
    monkeypatch.delitem(sys.modules, "training.engines.datasets_engine", raising=False)
    with pytest.raises(ImportError, match=r'needs Hugging Face datasets: pip install "viextract\[datasets\]"'):
        run_batch(options(engine_input, tmp_path / "out", model_dir, engine="datasets"))
    assert not (tmp_path / "out").exists()


def test_ray_engine_equals_local(tmp_path, engine_input, model_dir, local_output):
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'viextract[ray]'")
    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'viextract[ray]'")
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=env)
    try:
        run_batch(options(engine_input, tmp_path / "out", model_dir, max_chars=6000, engine="ray", workers=2))
    finally:
        ray.shutdown()
    assert read_output(tmp_path / "out") == local_output


def test_benchmark_quick_run_prints_its_table(tiny_ner_dir, capsys):
    from benchmarks.batch import main as benchmark

    assert benchmark(["--quick", "--model", str(tiny_ner_dir)]) == 0
    out = capsys.readouterr().out
    assert "| local | 1 | 6 |" in out and "command:" in out


def test_records_carry_date_values_and_parquet_keeps_them(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    from viextract.batch.shards import parquet_schema
    from viextract.results import Entity, Extraction

    text = "Ngày 15/3/2026, tại Hà Nội."
    extraction = Extraction(
        text, (Entity("15/3/2026", "DATE", 5, 14, 0.9, "2026-03-15"), Entity("Hà Nội", "LOC", 20, 26, 0.9))
    )
    record = to_record("d1", extraction)
    assert [e["value"] for e in record["entities"]] == ["2026-03-15", None]
    pq.write_table(pa.Table.from_pylist([record], schema=parquet_schema()), tmp_path / "x.parquet")
    assert pq.read_table(tmp_path / "x.parquet").to_pylist()[0]["entities"] == record["entities"]


def test_an_out_folder_named_like_a_txt_file_inside_the_input_folder_is_not_an_input(tmp_path, model_dir, paragraphs):
    """`--out articles/extracted.txt` was read as a document (a failure, 'Is a directory'), and as the files written
    into it changed its modification time, every rerun was refused as a changed input."""
    folder = tmp_path / "articles"
    (folder / "notes.txt").mkdir(parents=True)  # any folder named *.txt is not a .txt file
    (folder / "a.txt").write_text(paragraphs[0], encoding="utf-8")
    out = folder / "extracted.txt"
    run_batch(options(folder, out, model_dir))
    records, failures = read_output(out)
    assert [r["id"] for r in records] == ["a.txt"] and failures == []
    assert run_batch(options(folder, out, model_dir)).shards_skipped == 1


def test_extract_dataset_reads_only_the_text_of_a_row(tiny_ner_dir):
    """A user's column named `read_error` or `source` is their data, passed through: not a reason to fail the row."""
    datasets = pytest.importorskip("datasets")
    from training.engines.datasets_engine import extract_dataset

    rows = [{"text": "Ông Nam ở Hà Nội.", "read_error": "timeout", "source": "vnexpress"}]
    rows.append({"text": None, "read_error": None, "source": "tuoitre"})
    mapped = extract_dataset(datasets.Dataset.from_list(rows), str(tiny_ner_dir))
    assert mapped["error"] == [None, "field 'text' is NoneType, not a string"]
    assert mapped["read_error"] == ["timeout", None] and mapped["source"] == ["vnexpress", "tuoitre"]


def test_extract_dataset_leaves_ids_as_they_are_and_refuses_a_missing_id_column(tiny_ner_dir):
    """Results go back onto their rows, never keyed by id: null, NaN, 1.0 and repeats stay the user's own values."""
    datasets = pytest.importorskip("datasets")
    from training.engines.datasets_engine import extract_dataset

    ids = [None, None, float("nan"), 1.0, 1.0]
    rows = datasets.Dataset.from_list([{"id": i, "text": "Ông Nam ở Hà Nội."} for i in ids])
    mapped = extract_dataset(rows, str(tiny_ner_dir), id_field="id")
    assert mapped["error"] == [None] * 5
    assert mapped["id"][:2] == [None, None] and math.isnan(mapped["id"][2]) and mapped["id"][3:] == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"the dataset has no column 'url' \(columns: id, text\)"):
        extract_dataset(rows, str(tiny_ner_dir), id_field="url")
