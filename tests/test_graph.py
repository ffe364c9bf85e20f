"""Issue #21: repeated PER/ORG mentions merge into one node; relations become typed triples; CLI triples/csv."""

import csv
import io

import pytest

from viextract import Entity, Extraction, Relation, Triple
from viextract.graph import merge_nodes, normalize_name

TEXT = (
    "Ngày 15/3/2026, Thủ tướng Sonexay Siphandone tiếp Bộ trưởng Bùi Thanh Sơn. "
    "Thủ tướng Sonexay cảm ơn Bộ trưởng Sơn. Hai bên ký Biên bản ghi nhớ ngày 16/3/2026. "
    "Bộ Quốc phòng  Việt-Nam và bộ quốc phòng việt nam."
)


def at(text: str, label: str, nth: int = 0, value=None) -> Entity:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(text, start + 1)
    return Entity(text, label, start, start + len(text), 0.9, value)


def built() -> Extraction:
    date = at("Ngày 15/3/2026", "DATE", value="2026-03-15")
    sonexay = at("Sonexay Siphandone", "PER")
    son = at("Bùi Thanh Sơn", "PER")
    sonexay2 = at("Sonexay", "PER", 1)
    son2 = at("Sơn", "PER", 1)
    deal = at("Biên bản ghi nhớ", "AGREEMENT")
    signed_on = at("ngày 16/3/2026", "DATE", value="2026-03-16")
    org = at("Bộ Quốc phòng  Việt-Nam", "ORG")
    org2 = at("bộ quốc phòng việt nam", "ORG")
    relations = (
        Relation(sonexay, son, "meets", 0.9),
        Relation(sonexay2, son2, "meets", 0.8),
        Relation(org2, deal, "signed", 0.7),
        Relation(deal, signed_on, "date_of", 0.6),
    )
    return Extraction(TEXT, (date, sonexay, son, sonexay2, son2, deal, signed_on, org, org2), relations)


def test_fixture_offsets_are_real():
    assert all(TEXT[e.start : e.end] == e.text for e in built())


def test_normalize_name():
    assert normalize_name("Bộ Quốc phòng  Việt-Nam") == "bộ quốc phòng việt nam"


def test_short_mentions_merge_into_the_earlier_full_name():
    result = built()
    canonical = merge_nodes(result.entities)
    assert canonical[3].text == "Sonexay Siphandone"  # a Lao name: by the first name
    assert canonical[4].text == "Bùi Thanh Sơn"  # a Vietnamese name: by the last syllable
    assert canonical[8].text == "Bộ Quốc phòng  Việt-Nam"  # case, spaces and hyphen
    assert canonical[0].text == "Ngày 15/3/2026"  # other labels are left alone


def test_an_ambiguous_short_name_is_not_merged():
    a = Entity("Nguyễn Văn Sơn", "PER", 0, 14, 0.9)
    b = Entity("Bùi Thanh Sơn", "PER", 20, 33, 0.9)
    short = Entity("Sơn", "PER", 40, 43, 0.9)
    assert merge_nodes([a, b, short])[2] is short


def test_a_short_name_said_again_after_a_second_namesake_is_not_merged():
    """The first `Sơn` fitted only Bùi Thanh Sơn and was remembered: the `Sơn` after Nguyễn Văn Sơn was named,
    which fits both, still went to Bùi Thanh Sơn, though a short form fitting two people is left alone."""
    names = ["Bùi Thanh Sơn", "Sơn", "Nguyễn Văn Sơn", "Sơn", "Bùi Thanh Sơn"]
    people = [Entity(n, "PER", 0, len(n), 0.9) for n in names]
    canonical = merge_nodes(people)
    assert [canonical[i] for i in range(5)] == [people[0], people[0], people[2], people[3], people[0]]


@pytest.mark.parametrize("blank", ["-", "\u200b", "–"])
def test_a_person_mention_with_no_letters_is_not_merged_into_the_one_person_before_it(blank):
    """Its name normalised to no words, and the empty first name `full[:0]` matched every earlier full name:
    a stray `-` tagged PER became Bùi Thanh Sơn."""
    text = f"Bộ trưởng Bùi Thanh Sơn nói {blank} rồi"
    son = Entity("Bùi Thanh Sơn", "PER", 10, 23, 0.9)
    stray = Entity(blank, "PER", 28, 28 + len(blank), 0.9)
    assert text[stray.start : stray.end] == blank
    assert merge_nodes([son, stray]) == {0: son, 1: stray}


def test_triples_carry_nodes_offsets_and_dates():
    triples = built().to_triples()
    assert all(isinstance(t, Triple) for t in triples)
    first, second, signed, dated = triples
    assert (second.head, second.tail) == ("Sonexay", "Sơn")
    assert (second.head_node, second.tail_node) == (first.head_node, first.tail_node)
    assert second.head_name == "Sonexay Siphandone" and second.tail_name == "Bùi Thanh Sơn"
    assert TEXT[second.head_start : second.head_end] == "Sonexay"
    assert (signed.head_label, signed.tail_label, signed.relation) == ("ORG", "AGREEMENT", "signed")
    assert signed.head_node == "ORG:bộ quốc phòng việt nam"
    assert signed.dates == ("2026-03-16",)  # the agreement's date_of
    assert dated.dates == ("2026-03-16",)
    assert first.dates == () and first.score == 0.9


def run_cli(monkeypatch, capsys, tiny_ner_dir, tmp_path, output_format):
    from viextract import cli

    path = tmp_path / "a.txt"
    path.write_text(TEXT, encoding="utf-8")
    # The tiny model finds no relations worth testing: the command gets a hand-built result.
    monkeypatch.setattr(
        cli,
        "_extract_files",
        lambda extractor, names, batch_size, progress, document_date=None: iter([("a,b.txt", built())]),
    )
    assert cli.main(["extract", str(path), "--model", str(tiny_ner_dir), "--format", output_format]) == 0
    return capsys.readouterr().out


def test_an_equal_extraction_rebuilt_from_to_dict_gives_the_same_triples():
    """Relations read back from `to_dict` hold copies of their entities: merges and dates need no originals."""
    result = built()
    data = result.to_dict()
    entities = tuple(Entity.from_dict(e) for e in data["entities"])
    relations = tuple(
        Relation(Entity.from_dict(r["head"]), Entity.from_dict(r["tail"]), r["label"], r["score"])
        for r in data["relations"]
    )
    rebuilt = Extraction(data["text"], entities, relations)
    assert rebuilt == result
    assert rebuilt.to_triples() == result.to_triples()


def test_cli_triples_are_tab_separated(monkeypatch, capsys, tiny_ner_dir, tmp_path):
    lines = run_cli(monkeypatch, capsys, tiny_ner_dir, tmp_path, "triples").splitlines()
    assert len(lines) == 4
    row = lines[2].split("\t")
    deal = TEXT.index("Biên bản")
    assert row == [
        "a,b.txt",
        "bộ quốc phòng việt nam",
        "signed",
        "Biên bản ghi nhớ",
        *map(str, (TEXT.index("bộ quốc"), TEXT.index("bộ quốc") + 22, deal, deal + 16)),
        "2026-03-16",
    ]


def test_cli_csv_has_a_header_and_quotes(monkeypatch, capsys, tiny_ner_dir, tmp_path):
    out = run_cli(monkeypatch, capsys, tiny_ner_dir, tmp_path, "csv")
    assert '"a,b.txt"' in out  # a comma in a field is quoted
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["file", "head", "relation", "tail", "head_start", "head_end", "tail_start", "tail_end", "date"]
    assert len(rows) == 5 and rows[1][:4] == ["a,b.txt", "Sonexay Siphandone", "meets", "Bùi Thanh Sơn"]
    assert rows[1][8] == "" and rows[4][8] == "2026-03-16"


class DateFinder:
    """A stand-in extractor: each `15/3` is a DATE, valued as the real one values a piece (no header)."""

    def pipe(self, texts, batch_size=32):
        from viextract.dates import with_date_values

        for text in texts:
            start = text.find("15/3")
            found = (Entity("15/3", "DATE", start, start + 4, 0.9),) if start >= 0 else ()
            yield with_date_values(Extraction(text, found))


def test_cli_values_dates_in_later_pieces_by_the_files_header(tmp_path):
    from viextract.cli import _extract_files

    class NoBar:
        def set_description_str(self, text):
            pass

        def update(self, count):
            pass

    path = tmp_path / "long.txt"
    path.write_text(" date 2026-05-01\n" + "Hai bên hợp tác.\n" * 2000 + "Ngày 15/3 ký kết.\n", encoding="utf-8")
    ((name, result),) = _extract_files(DateFinder(), [str(path)], 32, NoBar())
    (date,) = result.entities
    assert result.text[date.start : date.end] == "15/3" and date.start > 20_000  # not in the first piece
    assert date.value == "2026-03-15"


def test_one_name_typed_in_two_tone_styles_or_with_an_invisible_character_is_one_node():
    """`Hòa` and `Hoà` (new and old tone placement), and a name with a soft hyphen, are read as one name by the
    models but gave the triples two nodes: names were compared as NFC only."""
    text = "Ông Nguyễn Văn Hòa gặp ông Nguyễn Văn Hoà và ông Nguyễn Văn Ho\u00adà."
    names = [(m, text.index(m)) for m in ("Nguyễn Văn Hòa", "Nguyễn Văn Hoà", "Nguyễn Văn Ho\u00adà")]
    people = [Entity(m, "PER", start, start + len(m), 0.9) for m, start in names]
    assert {e.text for e in merge_nodes(people).values()} == {"Nguyễn Văn Hòa"}
    assert normalize_name("Nguyễn\u00a0Văn\u200bHòa") == normalize_name("nguyễn văn hoà")


@pytest.mark.parametrize("output_format", ["triples", "csv"])
def test_cli_triple_rows_are_one_line_of_nine_fields_whatever_the_text_holds(
    monkeypatch, capsys, tmp_path, tiny_ner_dir, output_format
):
    """ESC, NUL and other controls in a name went into the row as they were (ESC reaching a terminal), and csv
    quoted a line break, so one row took two lines for line-based tools."""
    from viextract import cli

    text = "Ông Phan Văn\r\nGiang\x1b[2J gặp Lào\x00 và Chí\u00adnh\tphủ."
    names = ("Phan Văn\r\nGiang\x1b[2J", "Lào\x00", "Chí\u00adnh\tphủ")
    giang, laos, gov = (
        Entity(n, label, text.index(n), text.index(n) + len(n), 0.9) for n, label in zip(names, ("PER", "LOC", "ORG"))
    )
    result = Extraction(
        text,
        (giang, laos, gov),
        (Relation(giang, laos, "affiliated_with", 0.5), Relation(giang, gov, "affiliated_with", 0.5)),
    )
    monkeypatch.setattr(cli, "_extract_files", lambda *args, **kwargs: iter([("a\tb\x1b.txt", result)]))
    path = tmp_path / "a.txt"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["extract", str(path), "--model", str(tiny_ner_dir), "--format", output_format]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[-1] == "" and len(lines) == (3 if output_format == "triples" else 4)
    rows = [line.split("\t") for line in lines[:-1]] if output_format == "triples" else list(csv.reader(lines[1:-1]))
    assert [row[:4] for row in rows] == [
        ["a b .txt", "Phan Văn Giang [2J", "affiliated_with", "Lào"],
        ["a b .txt", "Phan Văn Giang [2J", "affiliated_with", "Chính phủ"],
    ]
    assert all(len(row) == 9 and all(c.isprintable() for field in row for c in field) for row in rows)


def test_cli_csv_writes_a_field_that_begins_like_a_formula_as_it_is(monkeypatch, capsys, tmp_path, tiny_ner_dir):
    """README: no mark is added to `-phảo` (the bundled model gives such names) or `=Sơn`; offsets index them."""
    from viextract import cli

    text = "Ông -phảo gặp ông =Sơn, @Hà."
    phao, son = (Entity(n, "PER", text.index(n), text.index(n) + len(n), 0.9) for n in ("-phảo", "=Sơn"))
    result = Extraction(text, (phao, son), (Relation(phao, son, "meets", 0.5),))
    monkeypatch.setattr(cli, "_extract_files", lambda *args, **kwargs: iter([("+a.txt", result)]))
    path = tmp_path / "a.txt"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["extract", str(path), "--model", str(tiny_ner_dir), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1][:4] == ["+a.txt", "-phảo", "meets", "=Sơn"]
    assert text[int(rows[1][4]) : int(rows[1][5])] == "-phảo"
