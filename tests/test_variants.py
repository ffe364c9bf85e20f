"""Spelling variants: dashes of country pairs, hyphenated/spaced names, lower case; offsets and relations exact."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest

from training.data.checks import validate_documents
from training.data.files import load_documents, save_documents
from training.data.inline import parse_inline
from training.weak.augment import main
from training.weak.variants import apply_edits, case_edits, dash_edits, name_edits, upper_edits, variant_documents

REPO = Path(__file__).resolve().parents[1]

LINES = (
    "=== v-1",
    "[Đại tá]{TITLE:t} [Khăm-tày Xi-phăn-đôn]{PER:p}, [Ủy viên Bộ Chính trị]{TITLE:u} "
    "[Đảng Nhân dân Cách mạng Lào]{ORG:o}, dự [Hội nghị hợp tác Việt Nam – Lào lần thứ 7]{EVENT:e} "
    "tại [Phủ Chủ tịch]{LOC:b}.",
    "Quan hệ [Việt Nam]{LOC:v}-[Lào]{LOC:l} và [Lào Cai]{LOC:c} - [Phông-xa-lỳ]{LOC:f}: "
    "[Bun - nhăng Vo]{PER:q} ký [Hiệp định Campuchia – Lào – Việt Nam]{AGREEMENT:a}.",
    "@ p has_title t",
    "@ p has_title u",
    "@ p affiliated_with o",
    "@ p participates_in e",
    "@ e held_in b",
    "@ q signed a",
)
DOC = parse_inline("\n".join(LINES), "v.txt")[0]


def mentions(doc):
    return [(doc.mention(e), e.label) for e in doc.entities]


def key(mention: str) -> str:
    """What a variant may not change: letters in order, case, dashes, spaces, `Việt Nam`/`Việt`, tone placement."""
    text = unicodedata.normalize("NFC", mention).lower().replace("việt nam", "việt")
    for old, new in (("uỷ", "ủy"), ("hoà", "hòa"), ("thoả", "thỏa")):
        text = text.replace(old, new)
    return re.sub(r"[\s\-–]", "", text)


def test_apply_edits_moves_every_offset_and_refuses_a_boundary_crossing():
    person = next(e for e in DOC.entities if e.label == "PER")
    start = person.start + DOC.mention(person).index("-")
    copy = apply_edits(DOC, [(start, start + 1, " - "), (0, 0, "Hôm qua, ")], "c", "test")
    assert copy.mention(copy.entities[1]) == "Khăm - tày Xi-phăn-đôn"
    assert [m for m, _ in mentions(copy)][2:] == [m for m, _ in mentions(DOC)][2:]
    assert copy.relations == DOC.relations
    with pytest.raises(ValueError, match="crosses the boundary"):
        apply_edits(DOC, [(person.start - 2, person.start + 2, "x")], "c", "test")


@pytest.mark.parametrize("seed", range(6))
def test_dash_variants_change_the_separator_only_where_sound(seed):
    copy = apply_edits(DOC, dash_edits(DOC, random.Random(seed)), "c", "test")
    validate_documents([copy])
    before, after = dict(mentions(DOC)), mentions(copy)
    event = next(m for m, label in after if label == "EVENT")
    assert re.fullmatch(r"Hội nghị hợp tác Việt( Nam)?(-| - | – )Lào lần thứ 7", event)
    # Two LOC keep their text; only what lies between them may change.
    assert ("Việt Nam", "LOC") in after and ("Lào", "LOC") in after
    assert re.search(r"Việt Nam(-| - | – )Lào và", copy.text)
    # Lào Cai is a province, and a chain of three countries keeps its one style.
    assert "Lào Cai - Phông-xa-lỳ" in copy.text
    assert ("Hiệp định Campuchia – Lào – Việt Nam", "AGREEMENT") in after
    assert [key(m) for m, _ in after] == [key(m) for m in before]


def test_name_variants_swap_hyphenated_and_spaced_syllables():
    copy = apply_edits(DOC, name_edits(DOC, random.Random(0)), "c", "test")
    validate_documents([copy])
    names = dict((label + str(i), m) for i, (m, label) in enumerate(mentions(copy)))
    assert names["PER1"] == "Khăm - tày Xi - phăn - đôn"
    assert "Bun-nhăng Vo" in copy.text and "Phông - xa - lỳ" in copy.text
    assert [key(m) for m, _ in mentions(copy)] == [key(m) for m, _ in mentions(DOC)]


def test_case_variants_lower_later_words_of_fixed_names_never_the_first():
    copy = apply_edits(DOC, case_edits(DOC, random.Random(0)), "c", "test")
    validate_documents([copy])
    found = [m for m, _ in mentions(copy)]
    assert "Đảng nhân dân cách mạng Lào" in found and "Phủ chủ tịch" in found
    assert "Đại tá" in found  # no listed word in it, nothing to change
    assert all(m[0].isupper() for m, label in mentions(copy) if label in ("ORG", "TITLE", "LOC"))
    assert [key(m) for m, _ in mentions(copy)] == [key(m) for m, _ in mentions(DOC)]


def test_variants_of_the_written_training_text_keep_labels_relations_and_offsets():
    originals = load_documents(REPO / "data" / "written_topics.jsonl")
    by_id = {doc.id: doc for doc in originals}
    variants = variant_documents(originals, seed=3)
    assert {v.id.split("#")[1] for v in variants} == {"dash", "names", "case"}
    assert variant_documents(originals, seed=3) == variants  # deterministic
    validate_documents(variants)
    for variant in variants:
        source = by_id[variant.id.split("#")[0]]
        assert variant.relations == source.relations and variant.text != source.text
        assert [e.label for e in variant.entities] == [e.label for e in source.entities]
        assert [key(variant.mention(e)) for e in variant.entities] == [key(source.mention(e)) for e in source.entities]
        assert "training only" in variant.source


def test_command_writes_variants(tmp_path, capsys):
    path = tmp_path / "one.jsonl"
    path.write_text(
        (REPO / "data" / "written_topics.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8"
    )
    assert main([str(path), "--variants"]) == 0
    out = tmp_path / "out.jsonl"
    out.write_text(capsys.readouterr().out, encoding="utf-8")
    ids = [doc.id for doc in load_documents(out)]
    assert ids and all(i.startswith("topics-001#") for i in ids)


def test_an_upper_variant_prints_one_sentence_in_capitals_and_keeps_every_label():
    markup = "=== u-1\n[Đại tá]{TITLE:t} [Khăm-tày]{PER:p} đến [Lào]{LOC:l}. Hai bên ký.\n@ p has_title t"
    doc = parse_inline(markup, "u.txt")[0]
    copies = {apply_edits(doc, upper_edits(doc, random.Random(seed)), "c", "test") for seed in range(20)}
    first, second = "ĐẠI TÁ KHĂM-TÀY ĐẾN LÀO. Hai bên ký.", "Đại tá Khăm-tày đến Lào. HAI BÊN KÝ."
    assert {copy.text for copy in copies} == {first, second}
    validate_documents(list(copies))
    for copy in copies:
        assert [(m.upper(), label) for m, label in mentions(copy)] == [(m.upper(), label) for m, label in mentions(doc)]
        assert copy.relations == doc.relations


def test_upper_variants_are_asked_for_and_the_default_kinds_stay_those_measured(tmp_path, capsys):
    originals = load_documents(REPO / "data" / "written_topics.jsonl")[:5]
    assert not any(v.id.endswith("#upper") for v in variant_documents(originals, seed=3))
    upper = variant_documents(originals, seed=3, kinds=("upper",))
    assert [v.id for v in upper] == [f"{doc.id}#upper" for doc in originals]
    validate_documents(upper)
    path = tmp_path / "five.jsonl"
    save_documents(originals, path)
    assert main([str(path), "--variants", "--kinds", "upper,case"]) == 0
    out = tmp_path / "out.jsonl"
    out.write_text(capsys.readouterr().out, encoding="utf-8")
    assert {doc.id.split("#")[1] for doc in load_documents(out)} == {"upper", "case"}
    with pytest.raises(SystemExit):
        main([str(path), "--variants", "--kinds", "capitals"])
    assert "unknown ['capitals']" in capsys.readouterr().err
