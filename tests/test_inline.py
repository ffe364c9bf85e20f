"""Written annotation as marked-up text: offsets, ids and checks computed, errors named by line."""

import json
import re
from pathlib import Path

import pytest

from training.data.documents import DataError
from training.data.inline import main, parse_inline

REPO = Path(__file__).resolve().parents[1]

TWO_DOCUMENTS = """\
=== w-1
Sáng [5/3]{DATE:d}, [Đại tá]{TITLE:t1} [Nguyễn Văn Hùng]{PER:hung} đã tiếp [Bounkhong Sisouk]{PER:b}.
Hai bên trao đổi.
@ hung has_title t1
@ b meets hung

=== w-2
[Bộ Quốc phòng]{ORG:o} ký [Biên bản ghi nhớ]{AGREEMENT:a}.
@ o signed a
"""


def test_offsets_ids_and_paragraphs_are_computed():
    first, second = parse_inline(TWO_DOCUMENTS, "two.txt")
    assert first.text == "Sáng 5/3, Đại tá Nguyễn Văn Hùng đã tiếp Bounkhong Sisouk.\n\nHai bên trao đổi."
    assert [(first.text[e.start : e.end], e.label, e.id) for e in first.entities] == [
        ("5/3", "DATE", "T1"),
        ("Đại tá", "TITLE", "T2"),
        ("Nguyễn Văn Hùng", "PER", "T3"),
        ("Bounkhong Sisouk", "PER", "T4"),
    ]
    # Written `b meets hung`; the schema's head of meets is the first mention.
    assert [(r.head, r.label, r.tail) for r in first.relations] == [("T3", "has_title", "T2"), ("T3", "meets", "T4")]
    assert second.id == "w-2" and [(r.head, r.label, r.tail) for r in second.relations] == [("T1", "signed", "T2")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("Một câu.\n=== w-1\nx\n", "two.txt:1: text before"),
        ("=== w-1\n[A]{PER:p} và [B]{PER:p}.\n", "two.txt:2: entity: handle 'p' is used twice"),
        ("=== w-1\n[A]{PER:p} gặp B.\n@ p meets q\n", "two.txt:3: relation: no entity with handle 'q'"),
        ("=== w-1\n[A]{PER:p} gặp B.\n@ p meets\n", "two.txt:3: relation: expected"),
        # A relation left at the end of a text line was kept as text, and the relation lost.
        (
            "=== w-1\n[A]{PER:p} gặp [B]{PER:q}. @ p meets q\n",
            "two.txt:2: relation: '@ p meets q' inside a text line; put it on a line of its own",
        ),
        ("=== w-1\n[A]{PER} gặp B.\n", "two.txt:2: entity: markup"),
        ("=== w-1\nA.\n=== w-1\nB.\n", "two.txt:3: id: 'w-1' is used twice"),
        # training.data.checks, restated as the markup line and the handles written there (not T1, T2).
        (
            "=== w-1\n[Lào]{LOC:l} ký [Hiệp định]{AGREEMENT:a}.\n@ l signed a\n",
            "two.txt:3: relation '@ l signed a' of w-1: signed does not allow LOC -> AGREEMENT",
        ),
        (
            "=== w-1\n[Bounkhong]{PER:b} đến.\nÔng gặp [Hùng]{PER:hung}.\n@ hung meets b\n",
            "two.txt:4: relation '@ hung meets b' of w-1: 'b' and 'hung' are in different sentences",
        ),
        (
            "=== w-1\nÔng\n[Nguyễn Văn Hùn]{PER:hung}g đến.\n",
            "two.txt:3: entity 'hung' of w-1: 'Nguyễn Văn Hùn' does not",
        ),
        # Broken markup before a good entity is refused too, not kept as text with its entity lost.
        (
            "=== w-1\n[Trần Minh Khoa{PER:p1} gặp [Hùng]{PER:h}.\n",
            "two.txt:2: entity: markup that is not [text]{LABEL:handle} in '[Trần Minh Khoa{PER:p1} gặp '",
        ),
        # SCHEMA v1.1's conventions are checked too: a title fused with a bare organ is one TITLE.
        (
            "=== w-1\n[Thủ tướng]{TITLE:pm} Chính phủ phát biểu.\n",
            "two.txt:2: entity 'pm' of w-1: TITLE 'Thủ tướng' is followed by the bare organ 'Chính phủ'",
        ),
        # A control character is named at its markup line and column, not at an offset of the generated text.
        (
            "=== w-1\nÔng [Hùng]{PER:h} đến.\n\nSáng [5/3]{DATE:d1}, [Hùng]{PER:p1} đã\x1b tiếp khách.\n",
            "two.txt:4: text: control character U+001B at column 39: not text",
        ),
    ],
)
def test_errors_name_the_file_line_and_field(text, message):
    with pytest.raises(DataError, match=re.escape(message)):
        parse_inline(text, "two.txt")


def test_command_line_writes_jsonl_and_refuses_held_out_strings(tmp_path, capsys):
    source = tmp_path / "written.txt"
    source.write_text(TWO_DOCUMENTS, encoding="utf-8")
    out = tmp_path / "written.jsonl"
    assert main([str(source), "--out", str(out), "--splits", str(REPO / "data" / "splits.json")]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["w-1", "w-2"] and "2 documents" in capsys.readouterr().out

    # A person named only in the test document is refused, and nothing is written.
    test_doc = next(
        json.loads(line)
        for line in (REPO / "data" / "corpus.jsonl").open(encoding="utf-8")
        if json.loads(line)["id"].startswith("004")
    )
    person = next(test_doc["text"][e["start"] : e["end"]] for e in test_doc["entities"] if e["label"] == "PER")
    source.write_text(f"=== w-3\n[{person}]{{PER:p}} phát biểu.\n", encoding="utf-8")
    leaked = tmp_path / "leaked.jsonl"
    assert main([str(source), "--out", str(leaked), "--splits", str(REPO / "data" / "splits.json")]) == 2
    assert "w-3" in capsys.readouterr().err and not leaked.exists()
    assert main([str(source), "--out", str(leaked)]) == 0  # without --splits there is nothing to refuse


def test_unreadable_inputs_are_one_line_errors(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    latin = tmp_path / "latin.txt"
    latin.write_bytes("=== w-1\nÔng Hùng.\n".encode("latin-1"))
    missing_splits = tmp_path / "nowhere" / "splits.json"
    source = tmp_path / "written.txt"
    source.write_text(TWO_DOCUMENTS, encoding="utf-8")
    cases = [
        ([str(latin)], f"{latin}:2: encoding: not UTF-8 text (byte 0xd4 at column 1)"),
        ([str(tmp_path / "absent.txt")], f"{tmp_path / 'absent.txt'}: no such markup file"),
        ([str(source), "--splits", str(missing_splits)], f"{missing_splits}: no such splits file"),
    ]
    for argv, message in cases:
        assert main([*argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err == f"error: {message}\n", err
        assert not out.exists()


def test_out_may_not_be_the_markup_itself_or_a_folder(tmp_path, capsys):
    """Writing JSONL over the markup would lose the user's annotation; a folder, or a path below a file,
    is refused before any work."""
    source = tmp_path / "written.txt"
    source.write_text(TWO_DOCUMENTS, encoding="utf-8")
    assert main([str(source), "--out", str(source)]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert source.read_text(encoding="utf-8") == TWO_DOCUMENTS
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main([str(source), "--out", str(folder)]) == 2
    assert f"error: --out: {folder}: is a directory" in capsys.readouterr().err
    under_a_file = source / "sub" / "out.jsonl"
    assert main([str(source), "--out", str(under_a_file)]) == 2
    assert f"error: --out: {under_a_file}: {source} is a file, not a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "written.txt"]


def test_a_write_that_fails_is_one_line_naming_out_and_keeps_the_earlier_file(tmp_path, capsys, monkeypatch):
    # A full disk (or a folder the user may not write) was a traceback naming "out.jsonl.partial".
    import errno

    import training.data.files as files

    source = tmp_path / "written.txt"
    source.write_text(TWO_DOCUMENTS, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n", encoding="utf-8")
    write_documents = files.write_documents

    def disk_full(documents, handle):
        write_documents(list(documents)[:1], handle)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_documents", disk_full)
    assert main([str(source), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {out}: cannot write the documents (No space left on device)\n"
    assert out.read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "written.txt"]


def test_a_byte_order_mark_before_the_first_block_is_not_text(tmp_path):
    first, _ = parse_inline("\ufeff" + TWO_DOCUMENTS, "bom.txt")
    assert first.id == "w-1" and first.text.startswith("Sáng 5/3")
    # Files joined by `cat`, or a header indented like a relation line: the second document was kept as
    # text of the first ("=== w-2" a paragraph of w-1), one document lost without a word.
    for joined in (TWO_DOCUMENTS.replace("=== w-2", "\ufeff=== w-2"), TWO_DOCUMENTS.replace("=== w-2", "  === w-2")):
        first, second = parse_inline(joined, "cat.txt")
        assert first.text.endswith("Hai bên trao đổi.") and second.id == "w-2"


def test_lines_are_the_editors_lines():
    # str.splitlines also broke lines at U+2028, U+0085 and form feeds: the text gained a paragraph break
    # and every error after it named the wrong line.
    (doc,) = parse_inline("=== w-1\r\nHai bên\x85trao đổi\x0cthêm.\r\n", "ls.txt")
    assert doc.text == "Hai bên\x85trao đổi\x0cthêm."
    with pytest.raises(DataError, match=r"ls\.txt:3: entity: handle 'p' is used twice"):
        parse_inline("=== w-1\n[Hùng]{PER:p} gặp\u2028ông Khoa.\n[Hùng]{PER:p} về.\n", "ls.txt")


def test_a_backslash_writes_markup_characters_as_text():
    # There was no way to write a bracket that is not markup: `(xem [1])` was refused as broken markup.
    markup = (
        "=== w-1\n"
        "Theo [Bộ Quốc phòng]{ORG:o} (xem \\[1\\]), \\{số liệu\\} và C:\\x \\\\[Hùng]{PER:p} đến.\n"
        "\\@VTV đưa tin \\@ p meets q.\n"
        "\\=== hết\n"
        "[Công ty \\[Hoa Sen\\]]{ORG:hs} ký.\n"
    )
    (doc,) = parse_inline(markup, "esc.txt")
    assert doc.text == (
        "Theo Bộ Quốc phòng (xem [1]), {số liệu} và C:\\x \\Hùng đến.\n\n"
        "@VTV đưa tin @ p meets q.\n\n=== hết\n\nCông ty [Hoa Sen] ký."
    )
    assert [doc.mention(e) for e in doc.entities] == ["Bộ Quốc phòng", "Hùng", "Công ty [Hoa Sen]"]
    # An escaped bracket starts no entity, and a bare one is still broken markup.
    with pytest.raises(DataError, match=r"esc\.txt:2: entity: markup that is not"):
        parse_inline("=== w-1\nÔng \\[Hùng]{PER:p} đến.\n", "esc.txt")
    with pytest.raises(DataError, match=r"esc\.txt:2: entity: markup that is not"):
        parse_inline("=== w-1\nÔng Hùng (xem [1]).\n", "esc.txt")


def test_the_data_markup_converts_to_the_committed_jsonl(tmp_path):
    # The escapes must leave every written file as it was converted.
    out = tmp_path / "written_topics.jsonl"
    assert main([str(REPO / "data" / "written_topics.txt"), "--out", str(out)]) == 0
    assert out.read_bytes() == (REPO / "data" / "written_topics.jsonl").read_bytes()


@pytest.mark.parametrize(
    "text, message",
    [
        ("=== w-1\n\n=== w-2\nÔng Hùng.\n", "empty.txt:1: text: w-1 has no text line"),
        ("=== w-1\nÔng Hùng.\n=== w-2\n   \n", "empty.txt:3: text: w-2 has no text line"),
        ("=== w-1\n@ p meets q\n", "empty.txt:1: text: w-1 has no text line"),
    ],
)
def test_a_document_without_text_is_refused(text, message):
    # It was written as a document with no text, counted and trained on as nothing.
    with pytest.raises(DataError, match=re.escape(message)):
        parse_inline(text, "empty.txt")


def split_dir(tmp_path: Path) -> tuple[Path, str, dict]:
    """A copy of the corpus and its splits whose train_extra is `data/w.jsonl`."""
    data = tmp_path / "data"
    data.mkdir()
    corpus = (REPO / "data" / "corpus.jsonl").read_text(encoding="utf-8")
    (data / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    splits = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    splits = {name: splits[name] for name in ("train", "dev", "test")} | {"train_extra": ["data/w.jsonl"]}
    (data / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
    return data, corpus, splits


def test_the_file_being_rewritten_does_not_vouch_for_its_own_strings(tmp_path, capsys):
    # Converted once without --splits, a train_extra file counted as training when converted again with it:
    # the test document's person it named was then "in a training document", and passed ever after.
    data, corpus, splits = split_dir(tmp_path)
    test_doc = next(json.loads(line) for line in corpus.splitlines() if json.loads(line)["id"] in splits["test"])
    person = next(test_doc["text"][e["start"] : e["end"]] for e in test_doc["entities"] if e["label"] == "PER")
    source = tmp_path / "w.txt"
    source.write_text(f"=== w-3\n[{person}]{{PER:p}} phát biểu.\n", encoding="utf-8")
    out = data / "w.jsonl"
    assert main([str(source), "--out", str(out)]) == 0
    written = out.read_bytes()
    assert main([str(source), "--out", str(out), "--splits", str(data / "splits.json")]) == 2
    assert f"names [{person!r}] of the dev or test documents" in capsys.readouterr().err
    assert out.read_bytes() == written


def test_out_may_not_be_the_corpus_that_splits_reads(tmp_path, capsys):
    # It is an input of the command: the annotated news were replaced by the few written documents.
    data, corpus, _ = split_dir(tmp_path)
    source = tmp_path / "w.txt"
    source.write_text("=== w-9\nÔng Hùng phát biểu.\n", encoding="utf-8")
    (data / "w.jsonl").write_text("", encoding="utf-8")
    assert main([str(source), "--out", str(data / "corpus.jsonl"), "--splits", str(data / "splits.json")]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert (data / "corpus.jsonl").read_text(encoding="utf-8") == corpus


def test_a_train_extra_file_listed_before_it_exists_can_be_written(tmp_path, capsys):
    # Listed in splits.json first, it failed with "no such data file": the command that creates it could not run.
    data, _, _ = split_dir(tmp_path)
    source = tmp_path / "w.txt"
    source.write_text("=== w-9\n[Ông Hùng]{PER:p} phát biểu.\n", encoding="utf-8")
    assert main([str(source), "--out", str(data / "w.jsonl"), "--splits", str(data / "splits.json")]) == 0
    assert [json.loads(line)["id"] for line in (data / "w.jsonl").open(encoding="utf-8")] == ["w-9"]
    other = data / "other.jsonl"  # another listed file that is missing is still an error
    splits = json.loads((data / "splits.json").read_text(encoding="utf-8"))
    (data / "splits.json").write_text(json.dumps({**splits, "train_extra": ["data/w.jsonl", "data/other.jsonl"]}))
    assert main([str(source), "--out", str(data / "w.jsonl"), "--splits", str(data / "splits.json")]) == 2
    assert f"{other}: no such data file" in capsys.readouterr().err


def test_a_rewritten_output_keeps_its_permissions(tmp_path, capsys):
    """Written beside and renamed into place, the new file had the umask's mode: a private 0600 file came back 0644."""
    markup = tmp_path / "written.txt"
    markup.write_text(TWO_DOCUMENTS, encoding="utf-8")
    out = tmp_path / "written.jsonl"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o600)
    assert main([str(markup), "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["w-1", "w-2"]
