"""Silver data: weak labels on unannotated sentences, kept free of held-out entity strings."""

from __future__ import annotations

import dataclasses
import json

import pytest

import training.fit.ner as train_ner
from training.data.checks import check_document
from training.data.documents import DataError, Document, EntitySpan
from training.data.files import load_documents
from training.fit.ner import NerConfig
from training.weak.silver import (
    RawSentence,
    detokenize,
    held_out_strings,
    load_silver,
    main,
    silver_documents,
    ud_sentences,
    without_leaks,
)

from .conftest import SHARED

UD_DIR = SHARED / "data" / "ud_vietnamese_vtb"


def doc(doc_id: str, text: str, *spans: tuple[str, str]) -> Document:
    entities = tuple(
        EntitySpan(f"T{i}", text.index(s), text.index(s) + len(s), label) for i, (s, label) in enumerate(spans, 1)
    )
    return Document(id=doc_id, date=None, text=text, entities=entities, relations=())


def test_detokenize_rejoins_punctuation_the_treebanks_split():
    assert detokenize(["Ông", "Hải", "(", "Hà Nội", ")", "nói", ":", "được", "."]) == "Ông Hải (Hà Nội) nói: được."


def test_sentences_keep_only_those_with_enough_weak_entities():
    sentences = [
        RawSentence("a/1", "Đại tướng Phan Văn Giang hội kiến Bộ trưởng Quốc phòng Lào."),
        RawSentence("a/2", "Trời hôm nay mưa nhỏ."),
        RawSentence("a/3", "Đại tướng Phan Văn Giang hội kiến Bộ trưởng Quốc phòng Lào."),  # a repeat
    ]
    kept, counts = silver_documents(sentences, min_entities=1, progress=False)
    assert [d.id for d in kept] == ["silver:a/1"]
    assert counts == {"sentences": 3, "kept": 1, "too_few_entities": 1, "duplicates": 1}
    labels = {(kept[0].text[e.start : e.end], e.label) for e in kept[0].entities}
    assert ("Phan Văn Giang", "PER") in labels and ("Đại tướng", "TITLE") in labels
    check_document(kept[0], "silver")
    assert silver_documents(sentences[:1], min_entities=99, progress=False)[0] == []


def test_held_out_names_are_kept_out_but_shared_names_are_not():
    train = [doc("tr", "Đoàn Lào thăm Việt Nam.", ("Lào", "LOC"), ("Việt Nam", "LOC"))]
    test = [doc("te", "Bà Trương Thị Mai đến Lào.", ("Trương Thị Mai", "PER"), ("Lào", "LOC"))]
    strings = held_out_strings(test, train)
    assert strings == {" Trương Thị Mai "}
    silver = [
        doc("s1", "Ông Trương Thị Mai nói.", ("Trương Thị Mai", "PER")),
        doc("s2", "Lào và Việt Nam.", ("Lào", "LOC")),
        doc("s3", "Bà Trương Thị Maiy nói.", ("Trương Thị Maiy", "PER")),  # another word, not a match
        doc("s4", "Bà Trương Thị Mai nói.", ("Trương Thị Mai", "PER")),  # other tone style, same name
        doc("s5", "Gặp bà Trương Thị Mai, rồi về.", ("Trương Thị Mai", "PER")),  # punctuation after the name
    ]
    assert [d.id for d in without_leaks(silver, strings)] == ["s2", "s3"]


def test_a_missing_silver_file_says_how_to_make_it(tmp_path):
    with pytest.raises(DataError, match=r"python -m training.weak.silver --out .*nope.jsonl"):
        load_silver([tmp_path / "nope.jsonl"])


def test_a_silver_file_given_twice_or_a_document_in_two_is_refused(tmp_path):
    # Both copies were added: the weak labels of every sentence weighed twice in training, and nothing said so.
    silver = tmp_path / "silver.jsonl"
    silver.write_text(json.dumps(doc("s", "Ông Hải đến Huế.", ("Hải", "PER")).to_dict(), ensure_ascii=False) + "\n")
    with pytest.raises(DataError) as error:
        load_silver([silver, silver])
    assert str(error.value) == f"silver_files: {silver}:1: id: document id 's' is also at {silver}:1"


def test_silver_documents_join_training_after_augmentation(monkeypatch, tmp_path):
    train = [doc("tr", "Đoàn Lào thăm Việt Nam.", ("Lào", "LOC"))]
    silver = tmp_path / "silver.jsonl"
    silver.write_text(json.dumps(doc("s", "Ông Hải đến Huế.", ("Hải", "PER")).to_dict(), ensure_ascii=False) + "\n")
    seen = {}

    def fake_train_sentences(config, sentences, dev, resume, counts, source=None):
        seen["words"] = [[w for w in s.tokens] for s in sentences]
        seen["counts"] = counts
        return tmp_path

    monkeypatch.setattr(train_ner, "train_sentences", fake_train_sentences)
    config = NerConfig(silver_files=[str(silver)], augment=True, augment_copies=1, segmenter="syllables")
    train_ner.train_documents(config, train, None)
    provenance = seen["counts"].pop("provenance")  # what the model's config.json will record (provenance)
    assert seen["counts"] == {"train_documents": 2, "dev_documents": 0, "silver_documents": 1}
    assert provenance["bases"] == [config.base_model] and provenance["sources"][0]["use"] == "fine-tuning"
    assert ["Ông", "Hải", "đến", "Huế", "."] in seen["words"]
    # k-fold hands each fold its own filtered silver set, which replaces the config's files.
    train_ner.train_documents(dataclasses.replace(config, augment=False), train, None, silver=[])
    assert seen["counts"]["silver_documents"] == 0


@pytest.mark.skipif(not UD_DIR.is_dir(), reason="needs ../shared/data/ud_vietnamese_vtb")
def test_cli_writes_validated_silver_without_held_out_strings(tmp_path, capsys):
    assert len(ud_sentences(UD_DIR, ["dev"])) == 1123
    out = tmp_path / "silver.jsonl"
    assert main(["--out", str(out), "--no-vlsp"]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    documents = load_documents(out)  # validates every line
    assert len(documents) == counts["written"] > 400
    assert not list(tmp_path.glob("*.partial"))
    from training.data.splits import load_split

    strings = held_out_strings(load_split("dev") + load_split("test"), load_split("train"))
    assert strings and without_leaks(documents, strings) == documents


def _tiny_inputs(tmp_path):
    """A UD folder of one sentence per part and a corpus of one training document, for CLI runs."""
    ud = tmp_path / "ud"
    ud.mkdir()
    for part in ("train", "dev", "test"):
        text = f"# sent_id = {part}-s1\n# text = Trung tướng Lê Đức Thái thăm Lào .\n"
        (ud / f"vi_vtb-ud-{part}.conllu").write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    corpus = doc("a", "Đại tá Hùng thăm Lào.", ("Lào", "LOC"))
    (data / "corpus.jsonl").write_text(json.dumps(corpus.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
    (data / "splits.json").write_text('{"train": ["a"]}', encoding="utf-8")
    return ud, data


def test_cli_bad_inputs_are_one_line_errors_before_the_annotation(tmp_path, monkeypatch, capsys):
    ud, data = _tiny_inputs(tmp_path)
    monkeypatch.setattr("training.weak.silver.silver_documents", lambda *a, **k: pytest.fail("annotated"))
    (tmp_path / "latin").mkdir()
    for part in ("train", "dev", "test"):
        (tmp_path / "latin" / f"vi_vtb-ud-{part}.conllu").write_bytes("# text = Ông Hùng .\n".encode("latin-1"))
    splits, out = data / "splits.json", tmp_path / "silver.jsonl"
    cases = [
        (["--ud-dir", str(tmp_path / "none")], f"{tmp_path / 'none' / 'vi_vtb-ud-train.conllu'}: not found"),
        (["--ud-dir", str(tmp_path / "latin")], "vi_vtb-ud-train.conllu:1: encoding: not UTF-8 text"),
        (["--ud-dir", str(ud), "--splits", str(tmp_path / "absent.json")], "absent.json: no such splits file"),
        (["--ud-dir", str(ud), "--out", str(data / "corpus.jsonl")], "is an input of this command"),
        (["--ud-dir", str(ud), "--out", str(ud / "vi_vtb-ud-dev.conllu")], "is an input of this command"),
    ]
    for argv, message in cases:
        argv = ["--out", str(out), "--no-vlsp", "--splits", str(splits), *argv]
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == "" and message in captured.err and len(captured.err.splitlines()) == 1, captured.err
    assert load_documents(data / "corpus.jsonl")[0].id == "a" and not out.exists()


def test_cli_ctrl_c_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    ud, data = _tiny_inputs(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("training.weak.silver.silver_documents", interrupted)
    out = tmp_path / "silver.jsonl"
    argv = ["--out", str(out), "--no-vlsp", "--ud-dir", str(ud), "--splits", str(data / "splits.json")]
    try:
        assert main(argv) == 130
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a traceback")
    assert capsys.readouterr().err == f"interrupted: {out} not written\n"
    assert list(tmp_path.glob("*.jsonl*")) == []
    monkeypatch.undo()
    assert main(argv) == 0 and [d.id for d in load_documents(out)] == ["silver:ud_vtb/train-s1"]
