"""The weak annotator: schema-shaped drafts that always validate, and gazetteers untouched by the test document."""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from pathlib import Path

import pytest

from training.data.checks import check_conventions, check_document
from training.data.documents import Document
from training.data.files import load_documents
from training.weak import gazetteers
from training.weak.annotate import annotate_text, evaluate, main
from viextract.normalize import normalize_text

REPO = Path(__file__).resolve().parents[1]
TEST_DOC_ID = "004_c7fd43ec24ea10e9"


def corpus_documents() -> dict[str, str]:
    """Annotated article texts by id: the gold file, or the cleaned texts it was annotated from."""
    gold = REPO / "data" / "corpus.jsonl"
    path = gold if gold.exists() else REPO / "data" / "passes" / "cleaned.jsonl"
    return {row["id"]: row["text"] for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if row}


def mentions(doc: Document) -> list[tuple[str, str]]:
    return [(doc.mention(e), e.label) for e in doc.entities]


def relations(doc: Document) -> set[tuple[str, str, str]]:
    return {(doc.mention(doc.entity(r.head)), doc.mention(doc.entity(r.tail)), r.label) for r in doc.relations}


def gazetteer_strings() -> dict[str, str]:
    found = {}
    for name in dir(gazetteers):
        value = getattr(gazetteers, name)
        if name.isupper() and isinstance(value, (tuple, frozenset)):
            found.update({item: name for item in value})
    return found


def test_no_gazetteer_string_comes_only_from_the_test_document():
    texts = {doc_id: normalize_text(text).text for doc_id, text in corpus_documents().items()}
    assert TEST_DOC_ID in texts

    def occurs(term: str, text: str) -> bool:
        return re.search(r"(?<!\w)" + re.escape(normalize_text(term).text) + r"(?!\w)", text) is not None

    only_in_test = [
        f"{where}: {term}"
        for term, where in gazetteer_strings().items()
        if occurs(term, texts[TEST_DOC_ID]) and not any(occurs(term, t) for i, t in texts.items() if i != TEST_DOC_ID)
    ]
    assert only_in_test == []


def test_titles_names_and_apposition():
    text = (
        "Đại tá Nguyễn Văn Khoa, Chỉ huy trưởng Bộ đội Biên phòng tỉnh Quảng Trị, đã tiếp Thượng tướng "
        "Somsack Inthavong, Bộ trưởng Quốc phòng Campuchia."
    )
    doc = annotate_text(text, "t")
    assert mentions(doc) == [
        ("Đại tá", "TITLE"),
        ("Nguyễn Văn Khoa", "PER"),
        ("Chỉ huy trưởng", "TITLE"),
        ("Bộ đội Biên phòng tỉnh Quảng Trị", "ORG"),
        ("Thượng tướng", "TITLE"),
        ("Somsack Inthavong", "PER"),
        ("Bộ trưởng Quốc phòng", "TITLE"),  # the fused title wins over `Bộ trưởng`: longest match
        ("Campuchia", "LOC"),
    ]
    assert relations(doc) == {
        ("Nguyễn Văn Khoa", "Đại tá", "has_title"),
        ("Nguyễn Văn Khoa", "Chỉ huy trưởng", "has_title"),
        ("Nguyễn Văn Khoa", "Bộ đội Biên phòng tỉnh Quảng Trị", "affiliated_with"),
        ("Somsack Inthavong", "Thượng tướng", "has_title"),
        ("Somsack Inthavong", "Bộ trưởng Quốc phòng", "has_title"),
        ("Somsack Inthavong", "Campuchia", "affiliated_with"),
        ("Nguyễn Văn Khoa", "Somsack Inthavong", "meets"),
    }


def test_a_name_found_after_a_title_is_found_everywhere():
    doc = annotate_text("Thiếu tướng Hoàng Minh Long phát biểu. Sau đó Hoàng Minh Long thăm Đà Nẵng.", "t")
    assert [m for m in mentions(doc) if m[1] == "PER"] == [("Hoàng Minh Long", "PER")] * 2


def test_titles_counted_as_groups_are_generic():
    doc = annotate_text("Hai Bộ trưởng nhất trí tăng cường hợp tác giữa Việt Nam và Lào.", "t")
    assert mentions(doc) == [("Việt Nam", "LOC"), ("Lào", "LOC")]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Chiều 10/10, hai đoàn hội đàm.", "10/10"),
        ("Từ ngày 25-27/12, hai bên làm việc.", "ngày 25-27/12"),
        ("Văn kiện được ký ngày 16/3/2016 tại Vientiane.", "ngày 16/3/2016"),
        ("Kết quả thực hiện trong hai năm 2024-2025 rất tốt.", "2024-2025"),
        ("Cuộc họp tiếp theo diễn ra trong quý 4 năm 2026.", "quý 4 năm 2026"),
        ("Kế hoạch cho giai đoạn 2026-2030 đã sẵn sàng.", "giai đoạn 2026-2030"),
        ("Tình hình tháng 11/2025 ổn định.", "tháng 11/2025"),
        # Sentences of the silver set whose weak DATEs `training.data validate` refused (SCHEMA v1.1).
        ("Đến năm 2000 - 2001 khi con tôm sú giúp nông dân.", "năm 2000 - 2001"),
        ("Kế hoạch triển khai từ năm 1998 đến năm 2002 và thành lập Hội đồng.", "năm 1998 đến năm 2002"),
        ("Tờ trình gửi Quốc hội Khoá XII, ngày tháng năm 2008, nêu rõ.", "ngày tháng năm 2008"),
        ("Hai bên làm việc ngày 5/3 và ngày 10/3.", "ngày 5/3 và ngày 10/3"),
    ],
)
def test_dates_follow_the_schema(text, date):
    doc = annotate_text(text, "t")
    assert [m for m, label in mentions(doc) if label == "DATE"] == [date]
    check_conventions(doc, "t")  # what `python -m training.data validate` checks beyond the format


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Thủ tướng Chính phủ Phạm Minh Chính tiếp Đại sứ Lào.",
            [("Thủ tướng Chính phủ", "TITLE"), ("Phạm Minh Chính", "PER"), ("Đại sứ", "TITLE"), ("Lào", "LOC")],
        ),
        (
            "Chủ tịch UBND tỉnh Nguyễn Văn Hùng phát biểu.",
            [("Chủ tịch UBND tỉnh", "TITLE"), ("Nguyễn Văn Hùng", "PER")],
        ),
        # A province names the organ: SCHEMA v1.1's `Chủ tịch` + ORG `UBND tỉnh Quảng Ninh`.
        (
            "Chủ tịch UBND tỉnh Quảng Ninh Nguyễn Văn Hùng phát biểu.",
            [("Chủ tịch", "TITLE"), ("UBND tỉnh Quảng Ninh", "ORG"), ("Nguyễn Văn Hùng", "PER")],
        ),
        (
            "Bí thư Tỉnh ủy Hà Tĩnh Nguyễn Văn Hùng phát biểu.",
            [("Bí thư", "TITLE"), ("Tỉnh ủy Hà Tĩnh", "ORG"), ("Nguyễn Văn Hùng", "PER")],
        ),
        ("Trưởng ban Đảng ủy Quân khu 4 phát biểu.", [("Trưởng ban", "TITLE"), ("Quân khu 4", "ORG")]),
        # SCHEMA's rule is about the words: `Chính Phủ` was a PER `Chính Phủ Phạm Minh` after a bare TITLE.
        (
            "Thủ tướng Chính Phủ Phạm Minh Chính tiếp Đại sứ Lào.",
            [("Thủ tướng Chính Phủ", "TITLE"), ("Phạm Minh Chính", "PER"), ("Đại sứ", "TITLE"), ("Lào", "LOC")],
        ),
        (
            "Phó Thủ tướng Chính Phủ Lào Sonexay Siphandone thăm Việt Nam.",
            [("Phó Thủ tướng Chính Phủ", "TITLE"), ("Lào", "LOC"), ("Sonexay Siphandone", "PER"), ("Việt Nam", "LOC")],
        ),
        ("Chủ tịch Nước Lương Cường phát biểu.", [("Chủ tịch Nước", "TITLE"), ("Lương Cường", "PER")]),
    ],
)
def test_a_title_fuses_with_a_bare_organ_which_is_never_a_name(text, expected):
    doc = annotate_text(text, "t")
    assert mentions(doc) == expected
    check_conventions(doc, "t")


def test_a_country_after_a_fused_organ_is_a_loc():
    # The gazetteer ORG `Chính phủ Lào` right after a title, as in drafts of data/written_topics.jsonl.
    doc = annotate_text("Phó Thủ tướng Chính phủ Lào Sonexay Siphandone thăm Việt Nam.", "t")
    assert mentions(doc) == [
        ("Phó Thủ tướng Chính phủ", "TITLE"),
        ("Lào", "LOC"),
        ("Sonexay Siphandone", "PER"),
        ("Việt Nam", "LOC"),
    ]
    assert ("Sonexay Siphandone", "Lào", "affiliated_with") in relations(doc)
    check_conventions(doc, "t")
    # Without a title before it, the organ and its country stay one ORG.
    assert mentions(annotate_text("Chính phủ Lào cảm ơn Việt Nam.", "t"))[0] == ("Chính phủ Lào", "ORG")


@pytest.mark.parametrize(
    ("text", "building"),
    [
        ("Sáng 20/11, tại Phủ Chủ tịch, Chủ tịch nước Lương Cường đón đoàn.", "Phủ Chủ tịch"),
        ("Chiều 7/8, tại Trụ sở Bộ Công an, Thượng tướng Phan Văn Giang tiếp đoàn.", "Trụ sở Bộ Công an"),
        ("Hai bên hội đàm tại Trụ sở Trung ương Đảng.", "Trụ sở Trung ương Đảng"),
        ("Lễ ký diễn ra tại Trụ sở Chính phủ chiều 21/1.", "Trụ sở Chính phủ"),
        # Lower case before a bare organ (written-019's `trụ sở Chính phủ`), and `Nhà Quốc hội` (written_topics.txt).
        ("Chiều 26/2, tại trụ sở Chính phủ, Thủ tướng tiếp đoàn.", "trụ sở Chính phủ"),
        ("Đoàn đến thăm trụ sở Trung ương Đảng.", "trụ sở Trung ương Đảng"),
        ("Chủ tịch Quốc hội Lào phát biểu tại Nhà Quốc hội.", "Nhà Quốc hội"),
        ("Tại Nhà Quốc hội Lào, đoàn hội đàm.", "Nhà Quốc hội Lào"),
    ],
)
def test_a_named_building_keeps_its_head_as_one_loc(text, building):
    doc = annotate_text(text, "t")
    assert (building, "LOC") in mentions(doc)
    check_conventions(doc, "t")


def test_lower_case_truso_before_a_named_organisation_is_a_place_word():
    # data/README.md, rule 20 (written-030: `trụ sở` + ORG `Bộ Chỉ huy Quân sự tỉnh Houaphanh`): not one LOC.
    doc = annotate_text("Hai bên hội đàm tại trụ sở Bộ Công an.", "t")
    assert mentions(doc) == [("Bộ Công an", "ORG")]
    check_conventions(doc, "t")


def test_a_building_head_inside_a_name_is_left_alone():
    assert mentions(annotate_text("Kỷ niệm chiến thắng Điện Biên Phủ Lào.", "t")) == [
        ("Điện Biên Phủ", "LOC"),
        ("Lào", "LOC"),
    ]
    # Lower-case `phủ` is a verb, and `Nhà nước` the state: neither heads a building.
    assert mentions(annotate_text("Mây mù bao phủ Lào.", "t")) == [("Lào", "LOC")]
    assert mentions(annotate_text("Hai Nhà nước Lào và Việt Nam.", "t")) == [("Lào", "LOC"), ("Việt Nam", "LOC")]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sáng 5/3, Thủ tướng Lào Bun-nhăng Vo-lạ-chít thăm Việt Nam.", "Bun-nhăng Vo-lạ-chít"),
        ("Bộ trưởng Xay-xổm-phon Phôm-vi-hản phát biểu.", "Xay-xổm-phon Phôm-vi-hản"),
        ("Ông Khăm-liềng Xi-xổm-phon phát biểu.", "Khăm-liềng Xi-xổm-phon"),
        ("Đại sứ Lào Khăm - xỉ Vông - xa - vạt phát biểu.", "Khăm - xỉ Vông - xa - vạt"),  # spaced hyphens
        # A dash after a name starts an apposition: `Hùng`, not `Hùng - nguyên`.
        ("Ông Nguyễn Văn Hùng - nguyên cán bộ - phát biểu.", "Nguyễn Văn Hùng"),
        ("Ông Hùng - nguyên cán bộ - phát biểu.", "Hùng"),
    ],
)
def test_a_hyphenated_lao_name_is_one_person(text, name):
    doc = annotate_text(text, "t")
    assert [m for m, label in mentions(doc) if label == "PER"] == [name]


def test_durations_are_not_dates():
    assert mentions(annotate_text("Quan hệ đã trải qua 60 năm phát triển.", "t")) == []


def test_events_agreements_and_their_relations():
    text = (
        "Ngày 5/3, tại thủ đô Vientiane đã diễn ra Hội nghị hợp tác biên giới lần thứ 7 giữa "
        "Bộ Quốc phòng Việt Nam và Bộ Quốc phòng Lào. Hai bên đã ký kết Biên bản ghi nhớ hợp tác năm 2026."
    )
    doc = annotate_text(text, "t")
    assert ("Hội nghị hợp tác biên giới lần thứ 7", "EVENT") in mentions(doc)
    assert ("Biên bản ghi nhớ hợp tác năm 2026", "AGREEMENT") in mentions(doc)
    assert {
        ("Hội nghị hợp tác biên giới lần thứ 7", "Vientiane", "held_in"),
        ("Hội nghị hợp tác biên giới lần thứ 7", "Ngày 5/3", "date_of"),
        ("Bộ Quốc phòng Việt Nam", "Hội nghị hợp tác biên giới lần thứ 7", "participates_in"),
        ("Bộ Quốc phòng Lào", "Hội nghị hợp tác biên giới lần thứ 7", "participates_in"),
    } <= relations(doc)


def test_signed_needs_a_party_before_the_verb():
    doc = annotate_text("Bộ Ngoại giao Lào và Bộ Công an đã ký Thỏa thuận hợp tác về đào tạo cán bộ.", "t")
    assert ("Thỏa thuận hợp tác về đào tạo cán bộ", "AGREEMENT") in mentions(doc)
    assert ("Bộ Công an", "Thỏa thuận hợp tác về đào tạo cán bộ", "signed") in relations(doc)


def test_matching_ignores_tone_style_and_offsets_index_the_original():
    new_style = "Đoàn công tác đến Thanh Hóa."
    old_style = "Đoàn công tác đến Thanh Hoá."
    decomposed = unicodedata.normalize("NFD", new_style)
    for text in (new_style, old_style, decomposed):
        doc = annotate_text(text, "t")
        assert [(doc.mention(e), e.label) for e in doc.entities] == [(text[text.index("Thanh") :].rstrip("."), "LOC")]


def test_every_draft_of_the_corpus_validates():
    for doc_id, text in corpus_documents().items():
        doc = annotate_text(text, doc_id)
        check_document(doc, doc_id)
        assert doc.text == text and doc.entities and doc.relations
        assert [e.id for e in doc.entities] == [f"T{i}" for i in range(1, len(doc.entities) + 1)]


def test_empty_text():
    doc = annotate_text("", "empty")
    assert doc.entities == () and doc.relations == ()


def test_cli_writes_one_validated_document_per_file(tmp_path, capsys):
    raw = tmp_path / "bai_viet_1.txt"
    raw.write_text("Trung tướng Lê Đức Thái tiếp Đại sứ Lào.\n", encoding="utf-8")
    assert main([str(raw)]) == 0
    out = capsys.readouterr().out
    draft = tmp_path / "draft.jsonl"
    draft.write_text(out, encoding="utf-8")
    (doc,) = load_documents(draft)
    assert (doc.id, doc.date, doc.text) == ("bai_viet_1", None, raw.read_text(encoding="utf-8"))
    assert ("Lê Đức Thái", "Trung tướng", "has_title") in relations(doc)


def test_evaluate_scores_exact_spans(tmp_path, capsys):
    gold = annotate_text("Trung tướng Lê Đức Thái thăm Lào.", "g")
    result = evaluate([gold])
    assert result.entities.micro.f1 == 1.0 and result.relations.micro.f1 == 1.0
    # Drop a gold entity: the annotator's prediction of it now counts as a false positive.
    thinner = Document(gold.id, gold.date, gold.text, gold.entities[:2], gold.relations)
    assert evaluate([thinner]).entities.per_label["LOC"].precision == 0.0

    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(gold.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["evaluate", "--gold", str(path), "--docs", "all"]) == 0
    out = capsys.readouterr().out
    assert "| PER | 100.0 | 100.0 | 100.0 | 1 | 1 |" in out
    assert "| has_title | 100.0 | 100.0 | 100.0 | 1 | 1 |" in out


def test_unreadable_inputs_are_one_line_errors(tmp_path, capsys):
    latin = tmp_path / "bai.txt"
    latin.write_bytes("Trung tướng Lê Đức Thái.\n".encode() + "Ông Hùng.\n".encode("latin-1"))
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(annotate_text("Đại tá Hùng.", "g").to_dict(), ensure_ascii=False) + "\n", "utf-8")
    no_splits = tmp_path / "no" / "splits.json"
    splits = tmp_path / "splits.json"
    splits.write_text('{"test": ["t"]}', encoding="utf-8")
    cases = [
        ([str(latin)], f"{latin}:2: encoding: not UTF-8 text (byte 0xd4 at column 1)"),
        ([str(tmp_path / "absent.txt")], f"{tmp_path / 'absent.txt'}: no such input file"),
        (["evaluate", "--gold", str(latin)], f"{latin}:2: encoding: not UTF-8 text (byte 0xd4 at column 1)"),
        (
            ["evaluate", "--gold", str(gold), "--splits", str(no_splits)],
            f"--splits: {no_splits}: no such splits file; --docs test takes its ids from one: give yours with "
            f"--splits FILE, or --docs all for every document of {gold}",
        ),
        (
            ["evaluate", "--gold", str(gold), "--splits", str(splits)],
            f"{splits}:1: test: document 't' is not in {gold}",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == f"error: {message}\n", captured.err


def test_cli_refuses_files_whose_drafts_the_checks_would_refuse(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "bai.txt", tmp_path / "b" / "bai.txt"
    for path in (first, second):
        path.write_text("Đại tá Hùng thăm Lào.\n", encoding="utf-8")
    blank = tmp_path / "trong.txt"
    blank.write_text(" \n\n", encoding="utf-8")
    cases = [
        ([first, blank], f"{blank}: text: empty: a document needs text"),
        ([first, second], f"{second}: id: 'bai' is also the id of {first}; rename one"),
        # The same file twice (here by another spelling of its path) is not two files to rename.
        (
            [first, tmp_path / "b" / ".." / "a" / "bai.txt"],
            f"{tmp_path}/b/../a/bai.txt: id: 'bai': the file {first} is given twice; give it once",
        ),
    ]
    for paths, message in cases:
        assert main([str(p) for p in paths]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == f"error: {message}\n", captured.err


def _closed_pipe():
    """A stdout whose reader has gone, as under `| head -1` once head has its line."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return open(write_end, "w", encoding="utf-8")


def test_cli_stops_quietly_when_the_reader_leaves_or_on_ctrl_c(tmp_path, monkeypatch, capsys):
    raw = tmp_path / "bai.txt"
    raw.write_text("Đại tá Hùng thăm Lào.\n", encoding="utf-8")
    with _closed_pipe() as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert main([str(raw)]) == 141
        monkeypatch.undo()
    assert capsys.readouterr().err == ""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("training.weak.annotate.annotate_text", interrupted)
    try:
        assert main([str(raw)]) == 130
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a traceback")
    assert capsys.readouterr().err.startswith("interrupted")
