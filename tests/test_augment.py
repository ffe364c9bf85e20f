"""Mention-replacement augmentation: deterministic, valid, same-label swaps, relations untouched."""

from __future__ import annotations

import os
import random
import re
import sys
from pathlib import Path

import pytest

from training.data.checks import check_conventions, validate_documents
from training.data.documents import Document, EntitySpan
from training.data.files import load_documents
from training.weak import gazetteers as gz
from training.weak.augment import PERSONS, augment_documents, main, pool_for, swap_date

REPO = Path(__file__).resolve().parents[1]
PASS_A = REPO / "data" / "passes" / "pass_a.jsonl"
SWAPPED = {"PER", "TITLE", "ORG", "LOC", "DATE"}


@pytest.fixture(scope="module")
def originals() -> list[Document]:
    return load_documents(PASS_A)


@pytest.fixture(scope="module")
def augmented(originals) -> list[Document]:
    return augment_documents(originals, copies=2, seed=7)


def by_source(augmented: list[Document], originals: list[Document]) -> list[tuple[Document, Document]]:
    index = {doc.id: doc for doc in originals}
    return [(index[doc.id.split("#")[0]], doc) for doc in augmented]


def test_same_seed_same_documents(originals, augmented):
    again = augment_documents(originals, copies=2, seed=7)
    assert [d.to_dict() for d in again] == [d.to_dict() for d in augmented]


def test_other_seed_other_documents(originals, augmented):
    other = augment_documents(originals, copies=2, seed=8)
    assert len(other) == len(augmented)
    assert all(a.text != b.text for a, b in zip(other, augmented))


def test_copies_are_distinct_and_named_after_their_source(originals, augmented):
    assert len(augmented) == 2 * len(originals)
    assert len({d.id for d in augmented}) == len(augmented)
    assert len({d.text for d in augmented}) == len(augmented)
    assert all(d.source and "training only" in d.source for d in augmented)
    assert augment_documents(originals, copies=0, seed=7) == []


def test_every_copy_passes_the_validator(augmented):
    validate_documents(augmented)  # raises DataError on the first broken rule
    for doc in augmented:
        check_conventions(doc, doc.id)  # and what `python -m training.data validate` checks beyond the format


def _document(text: str, *mentions: tuple[str, str]) -> Document:
    spans = [(text.index(m), text.index(m) + len(m), label) for m, label in mentions]
    return Document("d", None, text, tuple(EntitySpan(f"T{i}", *span) for i, span in enumerate(spans, start=1)))


def test_swaps_that_break_a_schema_convention_are_drawn_again():
    # Swapping the ORG after a title for `Quốc hội Việt Nam` breaks SCHEMA v1.1 (TITLE + LOC after the organ).
    doc = _document(
        "Tư lệnh Bộ đội Biên phòng Nguyễn Văn Hùng thăm Lào.",
        ("Tư lệnh", "TITLE"),
        ("Bộ đội Biên phòng", "ORG"),
        ("Nguyễn Văn Hùng", "PER"),
        ("Lào", "LOC"),
    )
    copies = augment_documents([doc], copies=60, seed=0)
    assert len(copies) == 60
    for copy in copies:
        check_conventions(copy, copy.id)


def test_copies_left_out_are_counted_by_the_kind_of_rule(caplog):
    # `5/3` outside its head word `ngày`: no swap can mend it, so every draw breaks the convention.
    doc = _document("Đại tá Lê Đức Thái đến Lào ngày 5/3.", ("Đại tá", "TITLE"), ("Lào", "LOC"), ("5/3", "DATE"))
    with caplog.at_level("WARNING", logger="training.weak.augment"):
        assert augment_documents([doc], copies=2, seed=0) == []
    assert "2 augmented copies broke a data rule in every draw and were left out" in caplog.text
    assert "(0 a format rule, 2 a SCHEMA v1.1 convention)" in caplog.text


def test_relations_ids_and_labels_are_kept(originals, augmented):
    for source, copy in by_source(augmented, originals):
        assert copy.relations == source.relations
        assert [(e.id, e.label) for e in copy.entities] == [(e.id, e.label) for e in source.entities]
        assert copy.date == source.date


def test_mentions_become_same_label_strings_and_the_rest_of_the_text_stays(originals, augmented):
    swapped = 0
    for source, copy in by_source(augmented, originals):
        replacement: dict[str, str] = {}
        for old, new in zip(source.entities, copy.entities):
            before, after = source.mention(old), copy.mention(new)
            # One string maps to one replacement throughout a document: repeated mentions still co-refer.
            assert replacement.setdefault(f"{old.label}:{before}", after) == after
            kept = old.label not in SWAPPED or (old.label != "DATE" and pool_for(old.label, before) is None)
            if kept:
                assert after == before, (old.label, before, after)
                continue
            swapped += after != before
            if old.label == "DATE":  # the same words around other numbers
                assert re.sub(r"\d+", "0", after) == re.sub(r"\d+", "0", before)
            else:
                assert after in pool_for(old.label, before), (old.label, before, after)
        # Text outside the entities is untouched.
        assert _gaps(source) == _gaps(copy)
    assert swapped > 100


def _gaps(doc: Document) -> list[str]:
    spans = sorted((e.start, e.end) for e in doc.entities)
    edges = [0] + [x for span in spans for x in span] + [len(doc.text)]
    return [doc.text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]


def test_pools_keep_the_kind_of_mention():
    assert pool_for("TITLE", "Trung tướng") == gz.RANKS
    assert pool_for("TITLE", "trưởng đoàn") is None  # a lower-case role word is kept
    assert "Trung tướng" not in pool_for("TITLE", "Bộ trưởng")
    assert pool_for("LOC", "Lào") == gz.COUNTRIES
    assert pool_for("LOC", "Vientiane") == gz.PLACES
    assert pool_for("PER", "Lê Đức Thái") == PERSONS
    assert pool_for("EVENT", "Cuộc họp thường niên lần thứ 34") is None


@pytest.mark.parametrize(
    ("date", "shape"),
    [
        ("ngày 25-27/12", r"ngày (\d+)-(\d+)/(\d+)"),
        ("giai đoạn 2021-2025", r"giai đoạn (\d{4})-(\d{4})"),
        ("quý 4 năm 2026", r"quý ([1-4]) năm (\d{4})"),
        ("tháng 11/2025", r"tháng (\d+)/(\d{4})"),
    ],
)
def test_date_swaps_keep_shape_and_range_length(date, shape):
    for seed in range(20):
        new = swap_date(date, random.Random(seed))
        match = re.fullmatch(shape, new)
        assert match, new
        numbers = [int(x) for x in match.groups()]
        if date.startswith("ngày"):
            assert numbers[1] - numbers[0] == 2 and 1 <= numbers[0] and numbers[1] <= 28 and 1 <= numbers[2] <= 12
        if date.startswith("giai"):
            assert numbers[1] - numbers[0] == 4
        if date.startswith("tháng"):
            assert 1 <= numbers[0] <= 12


def test_cli(tmp_path, capsys):
    assert main([str(PASS_A), "--copies", "1", "--seed", "3"]) == 0
    out = tmp_path / "aug.jsonl"
    out.write_text(capsys.readouterr().out, encoding="utf-8")
    docs = load_documents(out)
    assert [d.id for d in docs] == [f"{d.id}#aug3-1" for d in load_documents(PASS_A)]


def test_command_errors_are_one_line_with_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([str(PASS_A), "--copies", "-1"])
    assert stopped.value.code == 2 and "--copies: must be 0 or more, got -1" in capsys.readouterr().err
    missing = tmp_path / "absent.jsonl"
    assert main([str(missing)]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such data file\n"
    empty = tmp_path / "empty.jsonl"  # the wrong file, or one saved empty: nothing printed, exit 0
    empty.write_text("\n", encoding="utf-8")
    assert main([str(PASS_A), str(empty)]) == 2
    assert capsys.readouterr() == ("", f"error: {empty}: no documents (empty file)\n")


def test_cli_stops_quietly_when_the_reader_leaves_or_on_ctrl_c(monkeypatch, capsys):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader of `| head -1` has gone
    with open(write_end, "w", encoding="utf-8") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert main([str(REPO / "data" / "corpus.jsonl")]) == 141
        monkeypatch.undo()
    assert capsys.readouterr().err == ""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("training.weak.augment.augment_documents", interrupted)
    try:
        assert main([str(REPO / "data" / "corpus.jsonl")]) == 130
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a traceback")
    assert capsys.readouterr().err.startswith("interrupted")
