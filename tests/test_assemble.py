import json

import pytest
from safetensors import safe_open

from tests.conftest import REPO
from tests.relation_helpers import build_tiny_full_model
from training.release.assemble import main
from viextract import Extractor


@pytest.fixture(scope="module")
def trained_parts(tiny_tokenizer_dir, tmp_path_factory):
    """Separate ner/ and re/ directories, as two training runs leave them."""
    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("parts"))
    (root / "ner" / "training_config.yaml").write_text("task: ner\n")
    return root


@pytest.fixture
def dev_splits(tmp_path):
    """A splits file whose dev document is short, to keep the float16 check fast."""
    doc = json.loads((REPO / "data" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[2])
    (tmp_path / "corpus.jsonl").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    splits = {"train": [], "dev": [doc["id"]], "test": []}
    (tmp_path / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
    return tmp_path / "splits.json"


def test_assembled_directory_loads_with_both_models(trained_parts, tmp_path, corpus):
    out = tmp_path / "model"
    assert main(["--ner", str(trained_parts / "ner"), "--re", str(trained_parts / "re"), "--out", str(out)]) == 0
    assert (out / "ner" / "training_config.yaml").is_file()  # how it was made travels with it
    extractor = Extractor.from_pretrained(out, device="cpu")
    assert extractor.relation_extractor is not None
    assert extractor(corpus[2]) == Extractor.from_pretrained(out, device="cpu")(corpus[2])


def test_float16_storage_halves_the_weights_and_computes_in_float32(trained_parts, tmp_path, dev_splits, capsys):
    full, half = tmp_path / "full", tmp_path / "half"
    parts = ["--ner", str(trained_parts / "ner"), "--re", str(trained_parts / "re")]
    assert main([*parts, "--out", str(full)]) == 0
    assert main([*parts, "--out", str(half), "--dtype", "float16", "--splits", str(dev_splits)]) == 0
    assert "dev F1 float32 -> float16" in capsys.readouterr().out
    for name in ("ner", "re"):
        with safe_open(str(half / name / "model.safetensors"), "pt") as weights:
            assert all(weights.get_tensor(key).dtype.itemsize == 2 for key in weights.keys())
        ratio = (half / name / "model.safetensors").stat().st_size / (full / name / "model.safetensors").stat().st_size
        assert ratio < 0.6
    extractor = Extractor.from_pretrained(half, device="cpu")
    assert next(extractor.ner_model.parameters()).dtype.is_floating_point
    assert str(next(extractor.ner_model.parameters()).dtype) == "torch.float32"


def test_a_float16_copy_that_loses_too_much_is_not_written(trained_parts, tmp_path, dev_splits, monkeypatch, capsys):
    import training.release.assemble as assemble

    scores = iter([{"entities": 0.80}, {"entities": 0.70}])
    monkeypatch.setattr(assemble, "dev_f1", lambda *args: next(scores))
    out = tmp_path / "half"
    code = main(
        ["--ner", str(trained_parts / "ner"), "--out", str(out), "--dtype", "float16", "--splits", str(dev_splits)]
    )
    assert code == 1
    assert "loses 10.00 F1 points" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_assembling_without_relations_over_a_model_removes_its_old_relation_model(
    trained_parts, tmp_path, dev_splits, dtype
):
    """An old re/ left beside the new ner/ went on pairing its relations with the new model's entities."""
    out = tmp_path / "model"
    assert main(["--ner", str(trained_parts / "ner"), "--re", str(trained_parts / "re"), "--out", str(out)]) == 0
    (out / "NOTES.txt").write_text("mine")
    options = ["--dtype", dtype, "--splits", str(dev_splits)]
    assert main(["--ner", str(trained_parts / "ner"), "--out", str(out), *options]) == 0
    assert not (out / "re").exists() and (out / "NOTES.txt").read_text() == "mine"
    assert Extractor.from_pretrained(out, device="cpu").relation_extractor is None


def test_an_out_that_is_a_file_or_a_part_it_reads_is_one_line_before_loading(
    trained_parts, tmp_path, monkeypatch, capsys
):
    # A file was a NotADirectoryError traceback; --out equal to --ner wrote ner/ and re/ into the NER model's own
    # folder, beside the weights it was read from, which training then refused as holding a full model.
    import training.release.assemble as assemble

    monkeypatch.setattr(assemble, "load_pair", lambda *a: pytest.fail("loaded the models"))
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n", encoding="utf-8")
    ner = trained_parts / "ner"
    for out, problem in [
        (notes, f"--out: {notes}: exists and is not a directory"),
        (notes / "model", f"--out: {notes / 'model'}: {notes} is a file, not a folder"),
        (ner, f"--out: {ner}: is the --ner model folder, which it reads; write the model elsewhere"),
        (ner / "copy", f"--out: {ner / 'copy'}: is inside the --ner model folder, which it reads; write the model "),
    ]:
        assert main(["--ner", str(ner), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {problem}") and err.count("\n") == 1, err
    assert notes.read_text(encoding="utf-8") == "mine\n" and not (ner / "ner").exists()


def test_a_relation_model_trained_on_other_words_than_the_ner_models_is_refused(trained_parts, tmp_path, capsys):
    # The relation model reads the words the NER model's segmenter makes; a pyvi-trained one paired with a
    # syllables NER model was written and loaded without a word.
    import shutil

    re_dir = shutil.copytree(trained_parts / "re", tmp_path / "re")
    ner_segmenter = Extractor.from_pretrained(trained_parts / "ner", device="cpu").segmenter
    other = "syllables" if ner_segmenter == "pyvi" else "pyvi"
    config = json.loads((re_dir / "config.json").read_text(encoding="utf-8"))
    config.setdefault("viextract", {})["segmenter"] = other
    (re_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    out = tmp_path / "model"
    assert main(["--ner", str(trained_parts / "ner"), "--re", str(re_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {re_dir / 'config.json'}: field 'viextract.segmenter': the relation model was trained on {other!r} "
        f"words, but the NER model segments with {ner_segmenter!r}; train it again with "
        f"--set segmenter={ner_segmenter}\n"
    )
    assert not out.exists()
