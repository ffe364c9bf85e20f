"""SCHEMA v1.1 annotation conventions: each rule refuses the v1 reading and accepts the v1.1 one."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from training.data.__main__ import main
from training.data.checks import check_conventions, check_document
from training.data.documents import DataError, Document, EntitySpan
from training.data.files import load_documents
from training.data.inline import ENTITY

REPO = Path(__file__).resolve().parent.parent


def doc(markup: str) -> Document:
    """One document from one line of inline markup: offsets computed, no check run."""
    text, entities = "", []
    position = 0
    for match in ENTITY.finditer(markup):
        text += markup[position : match.start()]
        surface, label, _ = match.groups()
        entities.append(EntitySpan(f"T{len(entities) + 1}", len(text), len(text) + len(surface), label))
        text += surface
        position = match.end()
    document = Document("d", None, text + markup[position:], tuple(entities))
    check_document(document, "d")  # the format is right: only conventions can fail
    return document


def problem(markup: str) -> str:
    with pytest.raises(DataError) as caught:
        check_conventions(doc(markup), "f.jsonl:1")
    return str(caught.value)


# (v1 reading that v1.1 refuses, words the error must name, v1.1 reading)
CASES = [
    (
        "[Thủ tướng]{TITLE:t} Chính phủ [Phạm Minh Chính]{PER:p} phát biểu.",
        ["'Chính phủ'", "'Thủ tướng Chính phủ'"],
        "[Thủ tướng Chính phủ]{TITLE:t} [Phạm Minh Chính]{PER:p} phát biểu.",
    ),
    (  # any case: the rule is about the words
        "[Thủ tướng]{TITLE:t} Chính Phủ [Phạm Minh Chính]{PER:p} phát biểu.",
        ["'Chính Phủ'", "'Thủ tướng Chính Phủ'"],
        "[Thủ tướng Chính Phủ]{TITLE:t} [Phạm Minh Chính]{PER:p} phát biểu.",
    ),
    (
        "[Chủ tịch]{TITLE:t} [Quốc Hội Lào]{ORG:o} [Saysomphone Phomvihane]{PER:p} phát biểu.",
        ["'Quốc Hội Lào'", "LOC 'Lào'"],
        "[Chủ tịch Quốc Hội]{TITLE:t} [Lào]{LOC:o} [Saysomphone Phomvihane]{PER:p} phát biểu.",
    ),
    (
        "[Bí thư]{TITLE:t} Tỉnh ủy, [Tỉnh trưởng]{TITLE:u} tỉnh [Attapeu]{LOC:l} phát biểu.",
        ["'Bí thư Tỉnh ủy'"],
        "[Bí thư Tỉnh ủy]{TITLE:t}, [Tỉnh trưởng]{TITLE:u} tỉnh [Attapeu]{LOC:l} phát biểu.",
    ),
    (
        "Ông [Lương Cường]{PER:p}, [Chủ tịch]{TITLE:t} nước, phát biểu.",
        ["'Chủ tịch nước'"],
        "Ông [Lương Cường]{PER:p}, [Chủ tịch nước]{TITLE:t}, phát biểu.",
    ),
    (
        "[Chủ tịch]{TITLE:t} [Quốc hội Lào]{ORG:o} [Saysomphone Phomvihane]{PER:p} phát biểu.",
        ["'Quốc hội Lào'", "LOC 'Lào'"],
        "[Chủ tịch Quốc hội]{TITLE:t} [Lào]{LOC:o} [Saysomphone Phomvihane]{PER:p} phát biểu.",
    ),
    (
        "[Chủ tịch]{TITLE:t} [Quốc hội Việt Nam]{ORG:o} phát biểu.",
        ["LOC 'Việt Nam'"],  # the whole country, not its last word
        "[Chủ tịch Quốc hội]{TITLE:t} [Việt Nam]{LOC:o} phát biểu.",
    ),
    (
        "[Bộ trưởng]{TITLE:t} [Bộ Quốc phòng]{ORG:o} [Lào]{LOC:l} phát biểu.",
        ["ORG 'Bộ Quốc phòng'", "'Bộ Quốc phòng Lào'"],
        "[Bộ trưởng]{TITLE:t} [Bộ Quốc phòng Lào]{ORG:o} phát biểu.",
    ),
    (
        "Đại diện [Bộ Công an nước Lào]{ORG:o} phát biểu.",
        ["'nước'", "own LOC"],
        "Đại diện [Bộ Công an]{ORG:o} nước [Lào]{LOC:l} phát biểu.",
    ),
    (
        "Hội nghị diễn ra [ngày 19]{DATE:a} và [20-12]{DATE:b}.",
        ["one DATE 'ngày 19 và 20-12'"],
        "Hội nghị diễn ra [ngày 19 và 20-12]{DATE:a}.",
    ),
    (
        "Hội nghị diễn ra [từ ngày 25-27/12]{DATE:a}.",
        ["starts with 'từ'"],
        "Hội nghị diễn ra từ [ngày 25-27/12]{DATE:a}.",
    ),
    (
        "Đại hội nhiệm kỳ [2021-2026]{DATE:a} thành công.",
        ["head 'nhiệm kỳ'"],
        "Đại hội [nhiệm kỳ 2021-2026]{DATE:a} thành công.",
    ),
    (
        "Sáng nay, tại Phủ [Chủ tịch]{LOC:l}, hai bên hội đàm.",
        ["'Phủ'", "'Phủ Chủ tịch'"],
        "Sáng nay, tại [Phủ Chủ tịch]{LOC:l}, hai bên hội đàm.",
    ),
    (  # `Nhà` heads a building only before `Quốc hội`
        "Hai bên hội đàm tại Nhà [Quốc hội Lào]{ORG:o}.",
        ["'Nhà'", "'Nhà Quốc hội Lào'"],
        "Hai bên hội đàm tại [Nhà Quốc hội Lào]{LOC:l}.",
    ),
]


@pytest.mark.parametrize("v1, named, v11", CASES, ids=[case[2][:24] for case in CASES])
def test_each_v11_rule_refuses_the_v1_reading_and_accepts_the_v11_one(v1, named, v11):
    message = problem(v1)
    assert message.startswith("f.jsonl:1: entities[")
    for words in named:
        assert words in message
    check_conventions(doc(v11), "f.jsonl:1")


@pytest.mark.parametrize(
    "markup",
    [
        # A named organ after the title is split off (SCHEMA: `Chủ tịch` + ORG `UBND tỉnh Quảng Ninh`).
        "[Bí thư]{TITLE:t} [Tỉnh ủy Nghệ An]{ORG:o} [Trịnh Quốc Hưng]{PER:p} phát biểu.",
        # A party after the fused title keeps its own span.
        "[Ủy viên Trung ương]{TITLE:t} [Đảng Nhân dân Cách mạng Lào]{ORG:o} phát biểu.",
        # A country pair after a per-country organisation is split off.
        "Hợp tác giữa hai [Bộ Ngoại giao]{ORG:o} [Việt Nam]{LOC:a} và [Lào]{LOC:b} tiếp tục.",
        "Hợp tác giữa hai [Bộ Tư lệnh Bộ đội Biên phòng]{ORG:o} [Việt Nam]{LOC:a}-[Lào]{LOC:b} tiếp tục.",
        # `Nhà nước` is no `nước`; a counted duration owns its head word.
        "[Đoàn đại biểu Nhà nước Việt Nam]{ORG:o} sang thăm.",
        "Trong hai ngày [8-9/1]{DATE:a}, hai bên hội đàm.",
        # `Điện Biên Phủ` is a name, not the head of a building.
        "Tại [Điện Biên Phủ]{LOC:a} [Hội nghị ba tỉnh]{EVENT:e} diễn ra.",
        # Lower-case `trụ sở` before a named organisation is a place word outside the ORG (data/README.md, 20).
        "Đoàn thăm trụ sở [Bộ Chỉ huy Quân sự tỉnh Houaphanh]{ORG:o}.",
        # Lower-case `nhà` is a common word (`the new house of`).
        "Đoàn đến nhà [Quốc hội Lào]{ORG:o} mới.",
    ],
)
def test_readings_v11_keeps_pass(markup):
    check_conventions(doc(markup), "f.jsonl:1")


def test_the_gold_files_follow_the_v11_conventions():
    for name in ("corpus.jsonl", "extra_written.jsonl"):
        for index, document in enumerate(load_documents(REPO / "data" / name)):
            check_conventions(document, f"{name}:{index + 1}")


def test_cli_validate_reports_a_convention_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "gold.jsonl"
    line = json.dumps(doc("Hội nghị diễn ra [Chiều 12/12]{DATE:a}.").to_dict(), ensure_ascii=False)
    path.write_text(line + "\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert f"{path}:1: entities[0] T1: DATE 'Chiều 12/12' starts with 'Chiều'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "slipped, named, right",
    [
        ("Hai bên hội đàm tại [Hà Nội.]{LOC:l}", "'.'", "Hai bên hội đàm tại [Hà Nội]{LOC:l}."),
        ("Hiệp hội các quốc gia Đông Nam Á [(ASEAN]{ORG:o}) họp.", "'('", "Hiệp hội [ASEAN]{ORG:o} họp."),
        ("Hợp tác [Việt Nam-]{LOC:a}[Lào]{LOC:b} tốt đẹp.", "'-'", "Hợp tác [Việt Nam]{LOC:a}-[Lào]{LOC:b} tốt đẹp."),
        (
            'Đoàn dự "[Chiến dịch Mùa hè xanh"]{EVENT:e}.',
            "'\"'",
            'Đoàn dự "[Chiến dịch Mùa hè xanh]{EVENT:e}".',
        ),
    ],
)
def test_a_span_one_character_off_onto_punctuation_is_refused(slipped, named, right):
    """Punctuation is a token of its own, so offsets one character off onto it (`Hà Nội.`) passed every check."""
    message = problem(slipped)
    assert f"starts or ends in {named}: punctuation next to a name is outside its span" in message
    check_conventions(doc(right), "f.jsonl:1")
    check_conventions(doc("Ông dự [Hội nghị (mở rộng) lần 2]{EVENT:e} tại [Hà Nội]{LOC:l}."), "f.jsonl:1")


@pytest.mark.parametrize("v1, named, v11", CASES, ids=[case[2][:24] for case in CASES])
def test_a_text_typed_with_decomposed_accents_is_held_to_the_same_rules(v1, named, v11):
    """In NFD text no rule's words matched (`Chính phủ` spelt another way): every convention passed unchecked."""
    message = str(pytest.raises(DataError, check_conventions, decomposed(doc(v1)), "f.jsonl:1").value)
    assert message == problem(v1)
    check_conventions(decomposed(doc(v11)), "f.jsonl:1")


def decomposed(document: Document) -> Document:
    """`document` with its text in NFD, each offset moved to stay on its characters (and checked still valid)."""
    text = unicodedata.normalize("NFD", document.text)

    def moved(offset: int) -> int:
        return len(unicodedata.normalize("NFD", document.text[:offset]))

    entities = tuple(replace(e, start=moved(e.start), end=moved(e.end)) for e in document.entities)
    result = replace(document, text=text, entities=entities)
    check_document(result, "d")
    return result
