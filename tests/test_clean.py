"""training.data.clean: raw corpus articles to {id, date, text}."""

from __future__ import annotations

import json
import unicodedata

import pytest

from tests.fakes import fill_disk_after_first_write
from training.data.clean import main

ARTICLE = " date 2025-10-11 Chiều 10/10, tại Hà Nội, hai bên hội đàm.\r\n(Ảnh: TTXVN)\r\nTin liên quan\r\nBài khác\r\n"


def test_the_date_header_and_furniture_are_lifted_out_with_or_without_a_byte_order_mark(tmp_path, capsys):
    plain = tmp_path / "plain.txt"
    plain.write_text(ARTICLE, encoding="utf-8", newline="")
    marked = tmp_path / "marked.txt"
    marked.write_bytes(b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"))
    assert main([str(plain), str(marked)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["id"] for row in rows] == ["marked", "plain"]
    for row in rows:
        assert row["date"] == "2025-10-11"
        assert row["text"] == "Chiều 10/10, tại Hà Nội, hai bên hội đàm."


def test_a_file_that_is_not_utf8_is_a_one_line_error_and_nothing_is_printed(tmp_path, capsys):
    good = tmp_path / "a.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    latin = tmp_path / "b.txt"
    latin.write_bytes("Ông Hùng.\n".encode("latin-1"))
    assert main([str(good), str(latin)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {latin}:1: encoding: not UTF-8 text (byte 0xd4 at column 1)\n"


def test_only_an_editors_line_breaks_end_a_paragraph(tmp_path, capsys):
    """U+2028, U+0085 and a form feed inside a line made paragraph breaks no editor shows (inline.py keeps them)."""
    line = "Chiều 10/10, tại Hà Nội,\u2028hai bên\u0085hội đàm\fvà ký kết."
    article = tmp_path / "a.txt"
    article.write_text(f" date 2025-10-11 {line}\nTheo TTXVN\n", encoding="utf-8", newline="")
    assert main([str(article)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == line


def test_two_articles_of_one_name_in_two_folders_are_refused_not_printed_with_one_id(tmp_path, capsys):
    """`a/x.txt` and `b/x.txt` both became id `x`: two documents no later tool can tell apart."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(ARTICLE, encoding="utf-8")
    assert main([str(tmp_path / "b" / "x.txt"), str(tmp_path / "a" / "x.txt")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    first, second = tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt"
    assert captured.err == f"error: {second}: id: 'x' is also the id of {first} (an id is the file's name)\n"


def test_furniture_typed_with_decomposed_accents_is_dropped_and_the_text_kept_as_written(tmp_path, capsys):
    """An NFD article kept its `(Ảnh: TTXVN)` caption and everything after `Tin liên quan` as text."""
    article = tmp_path / "a.txt"
    article.write_text(unicodedata.normalize("NFD", ARTICLE), encoding="utf-8")
    assert main([str(article)]) == 0
    text = json.loads(capsys.readouterr().out)["text"]
    assert text == unicodedata.normalize("NFD", "Chiều 10/10, tại Hà Nội, hai bên hội đàm.")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            " date 2025-13-45 Chiều nay, hai bên hội đàm.\n",
            ":1: date: expected YYYY-MM-DD, YYYY-MM or null, got '2025-13-45'",
        ),
        (
            " date 2025-10-11 (Ảnh: TTXVN)\nTin liên quan\nBài khác\n",
            ": text: nothing is left once page furniture is dropped",
        ),
        ("", ": text: nothing is left once page furniture is dropped"),
    ],
)
def test_an_article_that_makes_no_valid_document_is_refused_by_name(tmp_path, capsys, raw, error):
    """A month 13 or an article of furniture only was printed as a document that validate refused later."""
    article = tmp_path / "a.txt"
    article.write_text(raw, encoding="utf-8")
    assert main([str(article)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {article}{error}")


def test_out_replaces_the_file_only_with_a_whole_new_one(tmp_path, capsys):
    """The README's `> data/passes/cleaned.jsonl` emptied the file before clean ran: an article it refused left
    nothing. --out keeps the old file until the new one is whole, and refuses to write over an article."""
    good, bad = tmp_path / "a.txt", tmp_path / "b.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    bad.write_bytes("Ông Hùng.\n".encode("latin-1"))
    out = tmp_path / "cleaned.jsonl"
    out.write_text("old\n", encoding="utf-8")
    assert main([str(good), str(bad), "--out", str(out)]) == 2
    assert main([str(good), "--out", str(good)]) == 2
    assert out.read_text(encoding="utf-8") == "old\n"
    assert good.read_bytes() == ARTICLE.encode("utf-8")
    assert main([str(good), "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["text"] == "Chiều 10/10, tại Hà Nội, hai bên hội đàm."
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.txt", "cleaned.jsonl"]
    assert capsys.readouterr().out == ""


def test_a_disk_that_fills_midway_through_stdout_is_an_error_not_a_file_cut_short(tmp_path, capfd, monkeypatch):
    """With PYTHONUNBUFFERED=1, a write the disk took only part of lost the rest in silence: status 0."""
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE.replace("hội đàm", "hội đàm " * 3000), encoding="utf-8")
    calls = fill_disk_after_first_write(monkeypatch)
    assert main([str(article)]) == 2
    monkeypatch.undo()
    assert capfd.readouterr().err == "error: stdout: cannot write (No space left on device)\n"
    assert len(calls) == 2
