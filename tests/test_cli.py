import io
import json

import pytest

from viextract.cli import main


@pytest.fixture
def two_files(tmp_path, corpus):
    paths = []
    for i, text in enumerate(corpus[:2]):
        path = tmp_path / f"doc{i}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


def test_json_format(two_files, tiny_ner_dir, capsys, corpus):
    assert main(["extract", *two_files, "--model", str(tiny_ner_dir), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["file"] for d in out] == two_files
    assert out[0]["text"] == corpus[0]
    for entity in out[0]["entities"]:
        assert corpus[0][entity["start"] : entity["end"]] == entity["text"]


def test_jsonl_format_one_line_per_document(two_files, tiny_ner_dir, capsys):
    assert main(["extract", *two_files, "--model", str(tiny_ner_dir), "--format", "jsonl", "--progress"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["file"] in two_files for line in lines)
    assert "[2/2]" in captured.err  # the progress bar, asked for


def test_table_format_reads_stdin(tiny_ner_dir, capsys, monkeypatch, corpus):
    monkeypatch.setattr("sys.stdin", io.StringIO(corpus[2]))
    assert main(["extract", "-", "--model", str(tiny_ner_dir), "--format", "table"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "== <stdin>"
    rows = [line for line in out[1:] if not line.startswith("  ")]
    assert rows
    columns = {line.index(line.split()[1]) for line in rows if line != "(no entities)"}
    assert len(columns) <= 1  # the label column is aligned


def test_missing_model_is_a_message_not_a_traceback(tmp_path, capsys, two_files):
    assert main(["extract", two_files[0], "--model", str(tmp_path / "none" / "x")]) == 1
    assert "no such model directory" in capsys.readouterr().err


def test_unreadable_file_names_the_file(tiny_ner_dir, tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"H\xe0 N\xf4i")  # Latin-1 bytes, invalid as UTF-8
    assert main(["extract", str(bad), "--model", str(tiny_ner_dir)]) == 1
    assert "latin1.txt: not UTF-8" in capsys.readouterr().err


def test_table_columns_stay_aligned_for_nfd_and_wide_characters():
    """Cells were padded by len(): a name in NFD (each tone mark a character of its own) or holding a wide
    character pushed the score column out of line in a terminal."""
    import unicodedata

    from viextract import Entity, Extraction
    from viextract.cli import format_table

    text = unicodedata.normalize("NFD", "Ông Hoàng Văn Đức") + " và 东京 ở Huế"
    ents = [(4, text.index(" và")), (text.index("东"), text.index("东") + 2), (text.index("Huế"), len(text))]
    table = format_table("a.txt", Extraction(text, tuple(Entity(text[s:e], "PER", s, e, 0.9) for s, e in ents)))
    rows = [unicodedata.normalize("NFC", row).replace("东京", "WWWW") for row in table.splitlines()[1:]]
    assert len(rows) == 3 and len({row.index("0.90") for row in rows}) == 1  # NFC, wide as 2: index is column


def test_a_file_name_holding_a_line_break_or_an_escape_is_one_plain_header_line(tmp_path, tiny_ner_dir, capsys):
    """The table's `== name` header printed the file's name as it was: a name holding a line break split it in
    two, and one holding ESC sent a terminal escape (the triples and csv formats already wrote it as one line)."""
    path = tmp_path / "tin\x1b[2J\nmới.txt"
    path.write_text("Bộ trưởng Phan Văn Giang thăm Lào.", encoding="utf-8")
    assert main(["extract", str(path), "--model", str(tiny_ner_dir), "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and out.splitlines()[0] == f"== {tmp_path}/tin [2J mới.txt"


def test_table_rows_stay_one_line_each_whatever_the_entity_text_holds():
    """A name wrapped across lines printed as two rows, the second unaligned; a control character in an entity
    (`\\x1b`, which starts a terminal escape) reached the terminal."""
    from viextract import Entity, Extraction, Relation
    from viextract.cli import format_table

    text = "Bộ trưởng Phan Văn\r\nGiang thăm\x1b[2J Lào và Chí\u00adnh\tphủ."
    name = Entity("Phan Văn\r\nGiang", "PER", 10, 25, 0.9)
    laos = Entity("thăm\x1b[2J Lào", "LOC", 26, 38, 0.8)
    gov = Entity("Chí\u00adnh\tphủ", "ORG", 42, 52, 0.7)
    assert all(text[e.start : e.end] == e.text for e in (name, laos, gov))
    table = format_table("a.txt", Extraction(text, (name, laos, gov), (Relation(name, laos, "affiliated_with", 0.5),)))
    assert table.splitlines() == [
        "== a.txt",
        "10-25  PER  Phan Văn Giang  0.90",
        "26-38  LOC  thăm [2J Lào    0.80",
        "42-52  ORG  Chính phủ       0.70",
        "  Phan Văn Giang --affiliated_with--> thăm [2J Lào  0.50",
    ]
