"""viextract.onnx: the ONNX Runtime engine gives torch's answers, and refuses a graph of other weights."""

import re

import pytest

from viextract import Extractor

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from viextract.onnx import export_ner, load_onnx_extractor  # noqa: E402


def spans(results) -> list:
    return [[(e.start, e.end, e.label) for e in r.entities] for r in results]


@pytest.fixture(scope="module")
def exported(tiny_ner_dir, tmp_path_factory):
    return export_ner(tiny_ner_dir, tmp_path_factory.mktemp("onnx") / "model.onnx")


def test_an_unpadded_batch_runs_as_on_torch(tiny_ner_dir, exported, corpus):
    """TokenTagger passes no attention mask when nothing is padded (one sentence, batch_size=1)."""
    texts = [corpus[0][:300], "Ông Nguyễn Văn An đến Hà Nội."]
    expected = spans(Extractor.from_pretrained(tiny_ner_dir, device="cpu").pipe(texts, batch_size=1))
    onnx = load_onnx_extractor(tiny_ner_dir, exported)
    assert spans(onnx.pipe(texts, batch_size=1)) == expected
    assert spans([onnx(texts[1])]) == expected[1:]


@pytest.mark.parametrize("int8", [False, True])
def test_a_graph_of_replaced_weights_is_refused(tiny_tokenizer_dir, tmp_path, int8):
    """Retraining into the same folder keeps the old model.onnx beside the new weights."""
    from tests.conftest import build_tiny_token_classifier
    from viextract.errors import ModelLoadError

    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "ner", seed=0)
    export_ner(tmp_path, int8=int8)
    load_onnx_extractor(tmp_path, int8=int8)  # the weights it came from
    build_tiny_token_classifier(tiny_tokenizer_dir, tmp_path / "ner", seed=1)
    with pytest.raises(ModelLoadError, match="exported from other weights .* export it again"):
        load_onnx_extractor(tmp_path, int8=int8)


def test_saving_an_onnx_extractor_says_why_it_cannot_and_writes_nothing(tiny_ner_dir, exported, tmp_path):
    onnx = load_onnx_extractor(tiny_ner_dir, exported)
    with pytest.raises(NotImplementedError, match="cannot be saved as a torch model; save from Extractor"):
        onnx.save_pretrained(tmp_path / "saved")
    assert not (tmp_path / "saved").exists()


def test_an_existing_folder_as_output_is_refused_before_loading(tiny_ner_dir, tmp_path, monkeypatch):
    """`output` is the file to write: a folder there was a bare IsADirectoryError after loading and tracing."""
    import viextract.storage

    monkeypatch.setattr(viextract.storage, "load_model", lambda *a, **k: pytest.fail("loaded the model first"))
    (tmp_path / "exports").mkdir()
    with pytest.raises(IsADirectoryError, match=r"exports: is a directory, not the ONNX file .* e\.g\. .*model\.onnx"):
        export_ner(tiny_ner_dir, tmp_path / "exports")
    (tmp_path / "model_int8.onnx").mkdir()
    with pytest.raises(IsADirectoryError, match=r"model_int8\.onnx: is a directory.*int8=True writes"):
        export_ner(tiny_ner_dir, tmp_path / "model.onnx", int8=True)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["exports", "model_int8.onnx"]
    # A folder not made yet, named with its slash: Path() dropped the slash and the graph became a file `new`.
    with pytest.raises(IsADirectoryError, match=r"new/: names a folder, not the ONNX file .* e\.g\. .*new/model\.onnx"):
        export_ner(tiny_ner_dir, f"{tmp_path}/new/")
    assert not (tmp_path / "new").exists()


def test_export_prints_nothing_by_default(tiny_ner_dir, tmp_path, capfd):
    export_ner(tiny_ner_dir, tmp_path / "model.onnx")
    assert capfd.readouterr() == ("", "")
    export_ner(tiny_ner_dir, tmp_path / "model.onnx", verbose=True)
    assert "Loading weights" in capfd.readouterr().err


def test_a_failed_export_leaves_the_previous_file_and_no_partial_one(tiny_ner_dir, exported, tmp_path, monkeypatch):
    import torch

    target = tmp_path / "model.onnx"
    target.write_bytes(exported.read_bytes())

    def half_export(model, args, path, **options):
        with open(path, "wb") as handle:
            handle.write(b"half a graph")
        raise RuntimeError("tracing failed")

    monkeypatch.setattr(torch.onnx, "export", half_export)
    with pytest.raises(RuntimeError, match="tracing failed"):
        export_ner(tiny_ner_dir, target)
    assert target.read_bytes() == exported.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_an_int8_export_interrupted_in_the_quantizer_leaves_no_inferred_copy(tiny_ner_dir, tmp_path, monkeypatch):
    """onnxruntime's quantize_dynamic writes a shape-inferred copy of the graph beside it (model-inferred.onnx, as
    large) and removes it only when it succeeds: a Ctrl-C in between left it in the export folder for good."""
    import onnx

    load, seen = onnx.load, []

    def interrupted_load(path, *args, **kwargs):
        if "inferred" in str(path):
            seen.append(path)
            raise KeyboardInterrupt
        return load(path, *args, **kwargs)

    monkeypatch.setattr(onnx, "load", interrupted_load)
    with pytest.raises(KeyboardInterrupt):
        export_ner(tiny_ner_dir, tmp_path / "model.onnx", int8=True)
    assert seen, "the quantizer no longer writes an inferred copy: this test checks nothing"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_exporting_a_relation_model_says_so_before_loading(tiny_ner_dir, tmp_path):
    # `viextract export-onnx model/re` was transformers' "does not recognize this architecture ... pip install
    # --upgrade transformers" advice, where loading it says which folder to give.
    import json
    import shutil

    from viextract.errors import ModelLoadError
    from viextract.loading import RELATION_MODEL_TYPE

    model = shutil.copytree(tiny_ner_dir / "ner", tmp_path / "re")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    (model / "config.json").write_text(json.dumps({**config, "model_type": RELATION_MODEL_TYPE}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"re: a relation model, not a NER model: give the folder that holds ner/"):
        export_ner(model, tmp_path / "out" / "model.onnx")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pad_token_id": 2}, r"ner/config\.json: field 'pad_token_id' is 2 but the tokenizer's padding token is 1"),
        ({"viextract": {"segmenter": "rdr"}}, r"ner/config\.json: field 'viextract.segmenter': unknown segmenter"),
    ],
)
def test_the_onnx_loader_checks_the_config_as_from_pretrained_does(tiny_ner_dir, exported, tmp_path, change, message):
    """A pad id other than the tokenizer's loaded silently here (positions counted from the wrong token)."""
    import json
    import shutil

    from viextract.errors import ModelLoadError

    shutil.copytree(tiny_ner_dir, tmp_path / "model")
    path = tmp_path / "model" / "ner" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **change}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=message):
        Extractor.from_pretrained(tmp_path / "model", device="cpu")
    with pytest.raises(ModelLoadError, match=message):
        load_onnx_extractor(tmp_path / "model", exported)


def test_exporting_onto_a_symlink_writes_through_it(tiny_ner_dir, tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "model.onnx").write_bytes(b"old graph")
    (tmp_path / "model.onnx").symlink_to(tmp_path / "store" / "model.onnx")
    export_ner(tiny_ner_dir, tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").is_symlink()
    assert (tmp_path / "store" / "model.onnx").read_bytes() != b"old graph"
    load_onnx_extractor(tiny_ner_dir, tmp_path / "model.onnx")  # a whole graph, of these weights


def test_an_output_name_near_the_length_limit_is_exported(tiny_ner_dir, tmp_path):
    """The graph was staged as '.tmp-NAME-PID', over a 250-byte name's limit: an error for a legal name."""
    out = tmp_path / ("m" * 245 + ".onnx")
    export_ner(tiny_ner_dir, out)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    load_onnx_extractor(tiny_ner_dir, out)


def test_exporting_a_model_that_is_not_there_says_so(tmp_path):
    from viextract.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match=r"nowhere: no such model directory$"):
        export_ner(tmp_path / "nowhere")
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: a file, not a model directory \("):
        export_ner(tmp_path / "model.safetensors")


def test_int8_export_prints_no_advice_and_leaves_the_root_logger_alone(tiny_ner_dir, tmp_path):
    """onnxruntime's quantizer logs advice with logging.warning, which also gives a script's root logger a
    handler: in a fresh interpreter (pytest's own log capture would hide both), nothing shows and none is left."""
    import subprocess
    import sys

    script = (
        "import logging; from viextract.onnx import export_ner; "
        f"export_ner({str(tiny_ner_dir)!r}, {str(tmp_path / 'model.onnx')!r}, int8=True); "
        "print(len(logging.getLogger().handlers))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "pre-processing" not in done.stderr
    assert done.stdout.strip() == "0"


def graph_metadata(path) -> dict:
    import onnx

    return {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}


def test_a_hub_repo_id_is_exported_into_its_snapshot_stamped_with_the_commit(tiny_ner_dir, tmp_path, monkeypatch):
    """export_ner took local folders only: a repo id that from_pretrained and load_onnx_extractor take was
    'no such model directory'. It is fetched as from_pretrained fetches it, and the graph names its source."""
    import shutil

    import huggingface_hub

    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "hub" / "models--someone--viextract-model" / "snapshots" / commit
    shutil.copytree(tiny_ner_dir, snapshot)
    calls = []

    def fake_snapshot_download(repo_id, revision=None, token=None, **kwargs):
        calls.append((repo_id, revision, token))
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.chdir(tmp_path)  # so "someone/viextract-model" is no local directory
    for int8 in (False, True):
        written = export_ner("someone/viextract-model", revision="v1", token="hf_x", int8=int8)
        assert written == snapshot / "ner" / ("model_int8.onnx" if int8 else "model.onnx")
        stamp = graph_metadata(written)
        assert stamp["viextract_hub_repo_id"] == "someone/viextract-model"
        assert stamp["viextract_hub_commit"] == commit
    assert calls == [("someone/viextract-model", "v1", "hf_x")] * 2
    text = "Ông Nguyễn Văn An đến Hà Nội."
    onnx = load_onnx_extractor("someone/viextract-model", revision="v1")
    assert spans([onnx(text)]) == spans([Extractor.from_pretrained(tiny_ner_dir, device="cpu")(text)])
    assert calls[-1] == ("someone/viextract-model", "v1", None)


def test_a_local_export_records_no_hub_source(exported):
    assert list(graph_metadata(exported)) == ["viextract_weights_sha256"]


def test_a_revision_with_a_local_folder_is_refused_by_export_as_by_from_pretrained(tiny_ner_dir, tmp_path):
    from viextract.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match=r"a local directory .* revision='v1' was given"):
        export_ner(tiny_ner_dir, tmp_path / "model.onnx", revision="v1")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("threads", [0, -1, "2", 1.5, True])
def test_a_bad_thread_count_is_named_before_loading(tiny_ner_dir, exported, threads):
    with pytest.raises(ValueError, match=r"^threads must be a positive int, got "):
        load_onnx_extractor(tiny_ner_dir, exported, threads=threads)


def test_a_thread_count_beyond_any_machine_is_refused_before_loading(tmp_path):
    """threads=100000 (a typo, or a byte count in the wrong setting) spent minutes creating threads."""
    with pytest.raises(ValueError, match=r"^threads must be at most 1024 \(this machine has \d+ cores\), got 100000$"):
        load_onnx_extractor(tmp_path / "no model here", tmp_path / "none.onnx", threads=100000)


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors"])
def test_exporting_a_model_with_a_missing_file_names_it_before_loading(tiny_ner_dir, tmp_path, missing):
    """A missing config.json was transformers' 'Unrecognized model', a missing weights file a bare OSError."""
    import shutil

    from viextract.errors import ModelLoadError

    shutil.copytree(tiny_ner_dir, tmp_path / "model")
    (tmp_path / "model" / "ner" / missing).unlink()
    with pytest.raises(ModelLoadError, match=rf"ner: missing file '{missing}'$"):
        export_ner(tmp_path / "model", tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_a_home_relative_onnx_path_loads_what_export_wrote_there(tiny_ner_dir, tmp_path, monkeypatch):
    """export_ner expands '~' in output=; load_onnx_extractor looked for a folder literally named '~'."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert export_ner(tiny_ner_dir, "~/model.onnx") == tmp_path / "model.onnx"
    load_onnx_extractor(tiny_ner_dir, "~/model.onnx")


@pytest.mark.parametrize("keep", [0, 0.5])
def test_a_cut_off_graph_is_a_load_error_naming_it(tiny_ner_dir, exported, tmp_path, keep):
    """A copy cut off midway (disk full, interrupted download) was onnxruntime's INVALID_PROTOBUF exception."""
    from viextract.errors import ModelLoadError

    data = exported.read_bytes()
    (tmp_path / "model.onnx").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelLoadError, match=r"model\.onnx: not a whole ONNX graph \(.*\); export it again"):
        load_onnx_extractor(tiny_ner_dir, tmp_path / "model.onnx")


def test_a_graph_with_a_damaged_name_is_a_load_error_naming_it_and_prints_nothing(
    tiny_ner_dir, exported, tmp_path, capfd
):
    """One byte of a node's input name damaged: onnxruntime's error quotes the name, which is not UTF-8, so it was
    a bare UnicodeDecodeError, after onnxruntime printed "*** EP Error ***" on stdout and retried on the CPU."""
    import onnx

    from viextract.errors import ModelLoadError

    produced = {name for node in onnx.load(str(exported)).graph.node for name in node.output}
    name = next(name for node in onnx.load(str(exported)).graph.node for name in node.input if name in produced)
    data = exported.read_bytes()
    at = data.rindex(name.encode())  # its last use, as an input
    (tmp_path / "model.onnx").write_bytes(data[:at] + b"\xff" + data[at + 1 :])
    capfd.readouterr()
    with pytest.raises(ModelLoadError, match=r"model\.onnx: not a whole ONNX graph \(.*\); export it again"):
        load_onnx_extractor(tiny_ner_dir, tmp_path / "model.onnx")
    assert capfd.readouterr().out == ""


def test_a_graph_with_another_label_count_than_the_config_is_refused_at_load(tiny_ner_dir, exported, tmp_path):
    """Same weights, config.json cut to 3 labels: it loaded, then failed on the first text ('log_probs has shape')."""
    import json
    import shutil

    from viextract.errors import ModelLoadError

    shutil.copytree(tiny_ner_dir, tmp_path / "model")
    path = tmp_path / "model" / "ner" / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    labels = list(config["id2label"].values())[:3]
    config.update(id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(
        ModelLoadError, match=r"model\.onnx: gives 15 labels a token but .*config\.json has 3 in 'id2label'"
    ):
        load_onnx_extractor(tmp_path / "model", exported)


def test_the_folder_of_an_export_as_onnx_path_names_the_file_to_pass(tiny_ner_dir, exported):
    """It said 'no ONNX model; write it first with export_ner' of the folder that export had just written into."""
    from viextract.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match=r": a folder, not an ONNX file; pass the file, e\.g\. .*model\.onnx$"):
        load_onnx_extractor(tiny_ner_dir, exported.parent)


def test_a_config_transformers_cannot_read_is_a_load_error_as_with_from_pretrained(tiny_ner_dir, exported, tmp_path):
    """No 'model_type' in config.json: from_pretrained said ModelLoadError; export and the ONNX loader ValueError."""
    import json
    import shutil

    from viextract.errors import ModelLoadError

    shutil.copytree(tiny_ner_dir, tmp_path / "model")
    path = tmp_path / "model" / "ner" / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    del config["model_type"]
    path.write_text(json.dumps(config), encoding="utf-8")
    message = r"model/ner: cannot load the NER model \(Unrecognized model"
    with pytest.raises(ModelLoadError, match=message):
        export_ner(tmp_path / "model", tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()
    with pytest.raises(ModelLoadError, match=message):
        load_onnx_extractor(tmp_path / "model", exported)


def test_a_missing_onnx_path_is_named_in_the_export_advice(tiny_ner_dir, tmp_path):
    """The advice was export_ner(model), which writes <ner dir>/model.onnx, not the file asked for."""
    from viextract.errors import ModelLoadError

    target = tmp_path / "exports" / "model.onnx"
    with pytest.raises(ModelLoadError, match=r"no ONNX model; write it first with .*export_ner\(.*, output=") as error:
        load_onnx_extractor(tiny_ner_dir, target)
    assert repr(str(target)) in str(error.value)


def test_the_export_advice_gives_the_command_that_writes_the_missing_graph(tiny_ner_dir, tmp_path, capfd):
    """It named only the Python function, though `viextract export-onnx` writes the same graph from a shell."""
    import shlex
    import shutil

    from viextract.cli import main
    from viextract.errors import ModelLoadError

    model = tmp_path / "model"
    shutil.copytree(tiny_ner_dir, model)
    for onnx_path, int8, flags in [
        (None, True, ["--int8"]),
        (tmp_path / "exports" / "model.onnx", False, ["--out", str(tmp_path / "exports")]),
    ]:
        with pytest.raises(ModelLoadError, match="no ONNX model") as error:
            load_onnx_extractor(model, onnx_path, int8=int8)
        *_, command = str(error.value).partition(", or from a shell: ")
        assert shlex.split(command) == ["viextract", "export-onnx", str(model), *flags]
        assert main(shlex.split(command)[1:]) == 0  # it writes the graph asked for
        load_onnx_extractor(model, onnx_path, int8=int8)
    assert capfd.readouterr() == ("", "")
    # A name the command does not write, or a folder it would not write into: only the function is offered.
    (tmp_path / "exports" / "notes.txt").write_text("mine")
    for onnx_path in (tmp_path / "own.onnx", tmp_path / "exports" / "model_int8.onnx"):
        with pytest.raises(ModelLoadError, match=r"export_ner\(.*\)$"):
            load_onnx_extractor(model, onnx_path, int8=True)


def test_the_export_advice_for_an_int8_onnx_path_writes_an_int8_graph_there(tiny_ner_dir, tmp_path):
    """It was export_ner(model, output=PATH, int8=True), which writes a float graph at PATH (and the int8 one as
    model_int8.onnx beside it): the file asked for was then loaded as a float graph, or not found."""
    import os

    import onnx

    import viextract.onnx
    from viextract.errors import ModelLoadError

    mine = tmp_path / "own" / "model.onnx"  # a user's own float graph, beside the int8 one asked for: left alone
    mine.parent.mkdir()
    mine.write_bytes(b"mine")
    for onnx_path in (tmp_path / "exports" / "model_int8.onnx", mine.with_name("tiny-int8.onnx")):
        with pytest.raises(ModelLoadError, match="no ONNX model") as error:
            load_onnx_extractor(tiny_ner_dir, onnx_path, int8=True)
        call = str(error.value).partition("write it first with ")[2].partition(", or from a shell: ")[0]
        exec(call, {"os": os, "viextract": viextract})  # the advice, followed to the letter
        assert "MatMulInteger" in {node.op_type for node in onnx.load(onnx_path).graph.node}
        load_onnx_extractor(tiny_ner_dir, onnx_path, int8=True)
    assert mine.read_bytes() == b"mine"


def test_what_an_export_killed_midway_leaves_is_ignored_then_removed_by_the_next(tiny_ner_dir, exported, tmp_path):
    """kill -9 between writing and renaming left `.model.onnx.PID.tmp` beside the graph, for good: as large as
    the graph, and copied along by a conversion. The next export removes it; a running process's stays."""
    import os
    import signal
    import subprocess
    import sys

    target = tmp_path / "model.onnx"
    target.write_bytes(exported.read_bytes())
    script = (
        "import os, signal, torch; from viextract.onnx import export_ner\n"
        "def killed(model, args, path, **options):\n"
        "    open(path, 'wb').write(b'half a graph'); os.kill(os.getpid(), signal.SIGKILL)\n"
        "torch.onnx.export = killed\n"
        f"export_ner({str(tiny_ner_dir)!r}, {str(target)!r})\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (leftover,) = [p for p in tmp_path.iterdir() if p.name != "model.onnx"]
    assert re.fullmatch(r"\.model\.onnx\.[0-9]+\.tmp", leftover.name) and leftover.read_bytes() == b"half a graph"
    assert target.read_bytes() == exported.read_bytes()
    load_onnx_extractor(tiny_ner_dir, target)  # the previous graph, not the leftover
    running = tmp_path / f".model.onnx.{os.getppid()}.tmp"  # an export still going on in another process
    running.write_bytes(b"a graph being written")
    export_ner(tiny_ner_dir, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.onnx", running.name])
    load_onnx_extractor(tiny_ner_dir, target)


def export_own_graph(ner_dir, path, inputs=("input_ids", "attention_mask"), dynamic=True, ids_dtype=None, **names):
    """A user's own torch.onnx.export of the tiny model, taking `inputs` (as `ids_dtype`, default int64)."""
    import inspect
    import warnings

    import torch
    from transformers import AutoModelForTokenClassification

    class Own(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = AutoModelForTokenClassification.from_pretrained(str(ner_dir), attn_implementation="eager")

        def forward(self, *tensors):
            return self.model(**{name: t.long() for name, t in zip(inputs, tensors)}).logits

    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 5, 2, 1, 1]])
    example = {"input_ids": ids, "attention_mask": (ids != 1).long(), "token_type_ids": torch.zeros_like(ids)}
    args = tuple(example[name].to(ids_dtype or torch.long) for name in inputs)
    names = {"input_names": list(inputs), "output_names": ["logits"], **names}
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names["input_names"], *names["output_names"]]}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        names["dynamo"] = False
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's own deprecation and tracer chatter
        torch.onnx.export(
            Own().eval(), args, str(path), dynamic_axes=axes if dynamic else None, opset_version=17, **names
        )
    return path


@pytest.mark.parametrize(
    ("own", "problem"),
    [
        (
            {"input_names": ["ids", "mask"]},
            r"no input 'input_ids'; no input 'attention_mask'; an input 'ids' .*; an input 'mask' that viextract ",
        ),
        ({"output_names": ["scores"]}, r"no output 'logits'\. It has .*scores \(tensor\(float\), "),
        ({"inputs": ("input_ids",)}, r"no input 'attention_mask'\."),
        (
            {"ids_dtype": "int32"},
            r"input_ids is tensor\(int32\), not tensor\(int64\); attention_mask is tensor\(int32\)",
        ),
        (
            {"dynamic": False},
            r"the batch or sequence length of input_ids, attention_mask, logits is fixed \(exported without dynamic",
        ),
    ],
)
def test_a_graph_of_another_exporter_is_refused_at_load_naming_what_differs(tiny_ner_dir, tmp_path, own, problem):
    """Such a graph loaded, then failed on the first text with onnxruntime's 'Invalid input name' or
    'Got invalid dimensions'."""
    import torch

    from viextract.errors import ModelLoadError

    if "ids_dtype" in own:
        own = {**own, "ids_dtype": getattr(torch, own["ids_dtype"])}
    graph = export_own_graph(tiny_ner_dir / "ner", tmp_path / "own.onnx", **own)
    with pytest.raises(ModelLoadError, match=rf"own\.onnx: not a graph viextract can run: {problem}") as error:
        load_onnx_extractor(tiny_ner_dir, graph)
    advice = "export the model again with it (or from a shell with `viextract export-onnx MODEL`)"
    assert advice in str(error.value)


def test_a_graph_of_a_model_with_a_smaller_vocabulary_is_refused_at_load(tiny_ner_dir, tmp_path, capfd):
    """Another exporter's graph (unstamped) of another model: it loaded, then failed on the first text with
    onnxruntime's "indices element out of data bounds", its error log line printed on stderr."""
    from transformers import RobertaConfig, RobertaForTokenClassification

    from tests.conftest import tiny_config_values
    from viextract.errors import ModelLoadError
    from viextract.fast_tokenizer import FastPhobertTokenizer

    tokenizer = FastPhobertTokenizer.from_pretrained(tiny_ner_dir / "ner")
    labels = RobertaConfig.from_pretrained(tiny_ner_dir / "ner").id2label
    small = RobertaConfig(**tiny_config_values(tokenizer, vocab_size=40, id2label=labels))
    RobertaForTokenClassification(small).save_pretrained(tmp_path / "small")
    graph = export_own_graph(tmp_path / "small", tmp_path / "own.onnx")
    capfd.readouterr()
    with pytest.raises(ModelLoadError, match=rf"own\.onnx: cannot embed the {len(tokenizer)} token ids of the tok"):
        load_onnx_extractor(tiny_ner_dir, graph)
    assert capfd.readouterr().err == ""


def test_a_graph_that_also_takes_token_type_ids_runs_as_on_torch(tiny_ner_dir, tmp_path):
    """A graph exported from a tokenizer's whole output takes token_type_ids too: fed zeros, as torch fills them."""
    texts = ["Ông Nguyễn Văn An đến Hà Nội.", "Bà Lê Thị Hoa làm việc ở Đà Nẵng. Ông Nguyễn Văn An đến Hà Nội."]
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    graph = export_own_graph(tiny_ner_dir / "ner", tmp_path / "own.onnx", inputs)
    expected = spans(Extractor.from_pretrained(tiny_ner_dir, device="cpu").pipe(texts))
    assert spans(load_onnx_extractor(tiny_ner_dir, graph).pipe(texts)) == expected


def test_the_cli_exports_beside_the_weights_quietly_where_the_loader_looks(tiny_ner_dir, tmp_path, capfd):
    import shutil

    from viextract.cli import main

    shutil.copytree(tiny_ner_dir, tmp_path / "model")
    assert main(["export-onnx", str(tmp_path / "model")]) == 0
    assert capfd.readouterr() == ("", "")
    assert (tmp_path / "model" / "ner" / "model.onnx").is_file()
    load_onnx_extractor(tmp_path / "model")


def test_the_cli_exports_into_a_new_folder_and_again_over_its_own_export(tiny_ner_dir, tmp_path, capfd):
    from viextract.cli import main

    out = tmp_path / "exports"
    for _ in range(2):  # the second run replaces the first export
        assert main(["export-onnx", str(tiny_ner_dir), "--out", str(out), "--int8"]) == 0
        assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "model_int8.onnx"]
    assert capfd.readouterr() == ("", "")
    load_onnx_extractor(tiny_ner_dir, out / "model_int8.onnx")
    assert main(["export-onnx", str(tiny_ner_dir), "--out", str(out), "--verbose"]) == 0
    assert capfd.readouterr().err.endswith(f"viextract export-onnx: wrote {out / 'model.onnx'}\n")


def test_the_cli_exports_again_over_what_an_int8_export_killed_while_quantizing_left(tiny_ner_dir, tmp_path, capfd):
    """A SIGKILL in the quantizer leaves its shape-inferred copy (model-inferred.onnx, whole or cut off) beside
    model.onnx: the folder was then "not empty" for the export that would clean it up."""
    from viextract.cli import main

    out = tmp_path / "exports"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"an earlier export")
    (out / "model-inferred.onnx").write_bytes(b"cut off")
    assert main(["export-onnx", str(tiny_ner_dir), "--out", str(out)]) == 0, capfd.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx"]
    load_onnx_extractor(tiny_ner_dir, out / "model.onnx")


@pytest.mark.parametrize(
    ("model", "out", "status", "message"),
    [
        ("nowhere", None, 1, r"nowhere: no such model directory$"),
        ("notes", None, 1, r"notes: not a viextract model directory \(expected a 'ner/' subdirectory"),
        ("model", "notes", 2, r"--out .*notes: not empty \(todo\.txt\); write into a new or empty folder"),
        ("model", "notes/todo.txt", 2, r"--out .*todo\.txt: a file, not a folder; pass the folder"),
        # a file above the folder (`--out /dev/full/x`): refused with exit 1 once the model had loaded
        ("model", "notes/todo.txt/x", 2, r"--out .*todo\.txt/x: .*todo\.txt is a file, not a folder, so model\.onnx"),
    ],
)
def test_the_cli_names_what_it_cannot_export_from_or_into_before_loading(
    tiny_ner_dir, tmp_path, capsys, monkeypatch, model, out, status, message
):
    import viextract.storage
    from viextract.cli import main

    monkeypatch.setattr(viextract.storage, "load_model", lambda *a, **k: pytest.fail("loaded the model first"))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("a user's file", encoding="utf-8")
    paths = {"nowhere": tmp_path / "nowhere", "notes": tmp_path / "notes", "model": tiny_ner_dir}
    argv = ["export-onnx", str(paths[model])] + (["--out", str(tmp_path / out)] if out else [])
    assert main(argv) == status
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("viextract: ")
    assert re.search(message, captured.err.strip()), captured.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes", "todo.txt"]


def test_the_cli_without_the_onnx_extra_says_which_to_install(tiny_ner_dir, capsys, monkeypatch):
    import importlib.util

    from viextract.cli import main

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "onnx" else object())
    assert main(["export-onnx", str(tiny_ner_dir)]) == 2
    assert capsys.readouterr().err == 'viextract: export-onnx needs onnx: pip install "viextract[onnx]"\n'


@pytest.mark.parametrize("missing, int8", [("onnx", False), ("onnxruntime", True)])
def test_exporting_without_the_onnx_extra_says_which_to_install_before_loading(
    tiny_ner_dir, tmp_path, monkeypatch, missing, int8
):
    """Without onnx, torch's exporter failed after loading and tracing with "Module onnx is not installed!"; without
    onnxruntime, int8=True wrote the float graph first. Nothing is loaded or written, not even the folder."""
    import sys

    import viextract.storage

    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.setattr(viextract.storage, "load_model", lambda *a, **k: pytest.fail("loaded the model first"))
    with pytest.raises(ImportError, match=re.escape("pip install 'viextract[onnx]'")):
        export_ner(tiny_ner_dir, tmp_path / "out" / "model.onnx", int8=int8)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_with_stderr_closed_keeps_its_exit_status(tiny_ner_dir, tmp_path, monkeypatch):
    """Under `2>&-` the failing write of the usage error or of --verbose's line made both exit 1."""
    from tests.test_cli_reliability import ClosedStream
    from viextract.cli import main

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("a user's file", encoding="utf-8")
    monkeypatch.setattr("sys.stderr", ClosedStream())
    assert main(["export-onnx", str(tiny_ner_dir), "--out", str(tmp_path / "notes")]) == 2
    assert main(["export-onnx", str(tiny_ner_dir), "--out", str(tmp_path / "out"), "--verbose"]) == 0
    assert (tmp_path / "out" / "model.onnx").is_file()
