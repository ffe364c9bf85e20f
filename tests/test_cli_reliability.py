"""Issue #17 items 3, 4, 7 and 10 on the command line: exact offsets on CRLF files, clear errors
before the model loads, Ctrl-C that keeps finished output, progress only when asked."""

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading

import pytest

from tests.grapheme_helpers import TagEverything
from viextract import Extractor
from viextract.cli import main
from viextract.markup import blank_markup
from viextract.pieces import join_pieces, split_at_line_breaks


@pytest.fixture
def every_sentence_a_title(tiny_extractor, monkeypatch):
    """`--model` loads the tiny extractor, tagging each sentence as one TITLE: entities everywhere."""
    monkeypatch.setattr(tiny_extractor, "tagger", TagEverything(tiny_extractor.tagger.aligner))
    monkeypatch.setattr(Extractor, "from_pretrained", classmethod(lambda cls, *a, **k: tiny_extractor))
    return tiny_extractor


@pytest.fixture
def no_model_loading(monkeypatch):
    def refuse(cls, *args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(Extractor, "from_pretrained", classmethod(refuse))


def test_offsets_index_a_crlf_file_exactly(every_sentence_a_title, tmp_path, capsys):
    raw = "Đại tướng Phan Văn Giang thăm Lào.\r\nBộ trưởng Bùi Thanh Sơn họp tại Hà Nội.\r\n\r\nHai bên ký kết.\r\n"
    path = tmp_path / "crlf.txt"
    path.write_bytes(raw.encode("utf-8"))
    assert main(["extract", str(path), "--model", "m", "--format", "json"]) == 0
    (document,) = json.loads(capsys.readouterr().out)
    assert document["text"] == raw  # `\r\n` kept: offsets index the file's decoded text
    assert len(document["entities"]) == 3
    for entity in document["entities"]:
        assert raw[entity["start"] : entity["end"]] == entity["text"]
    assert document["entities"][2]["text"] == "Hai bên ký kết."


def test_a_file_that_is_not_utf8_is_one_line_naming_it(no_model_loading, tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("Lào", encoding="utf-8")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Lào\nHà Nội".encode() + b"\nH\xe0 N\xf4i")
    assert main(["extract", str(good), str(bad), "--format", "jsonl", "--model", "m"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{bad}: not UTF-8 text (byte 0xe0 at line 3" in err


@pytest.fixture
def tiny_model_loading(tiny_extractor, monkeypatch):
    monkeypatch.setattr(Extractor, "from_pretrained", classmethod(lambda cls, *a, **k: tiny_extractor))


def test_standard_input_that_is_not_utf8_is_one_line(tiny_model_loading, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Vi\xeat Nam"), encoding="utf-8"))
    assert main(["extract", "-", "--model", "m"]) == 1
    err = capsys.readouterr().err
    assert (
        err == "viextract: <stdin>: not UTF-8 text (byte 0xea at line 1, byte offset 2); "
        "convert it first, e.g. iconv -f cp1258 -t utf-8\n"
    )


@pytest.mark.parametrize("output_format", ["jsonl", "json", "html"])
def test_a_bad_later_input_keeps_the_results_of_the_files_before_it(
    tiny_model_loading, monkeypatch, tmp_path, capsys, output_format
):
    """At the default batch size `pipe` holds documents back; stdin failing must not take them with it."""
    good = tmp_path / "good.txt"
    good.write_text("Đại tướng Phan Văn Giang tiếp đoàn Lào.\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Vi\xeat Nam"), encoding="utf-8"))
    assert main(["extract", str(good), "-", "--model", "m", "--format", output_format]) == 1
    captured = capsys.readouterr()
    assert "<stdin>: not UTF-8 text" in captured.err
    lines = captured.out.splitlines()
    if output_format == "html":  # it was no page at all: the finished documents were lost with the failure
        assert captured.out.startswith("<!DOCTYPE html>") and captured.out.rstrip().endswith("</html>")
        assert str(good) in captured.out and "Phan Văn Giang" in captured.out
        return
    records = [json.loads(line) for line in lines] if output_format == "jsonl" else json.loads(captured.out)
    assert [record["file"] for record in records] == [str(good)]


def test_pipe_yields_the_documents_before_a_failing_input_then_raises(tiny_extractor, corpus):
    def texts():
        yield corpus[0]
        yield corpus[1]
        raise OSError("the disk went away")

    results = []
    with pytest.raises(OSError, match="the disk went away"):
        for result in tiny_extractor.pipe(texts(), batch_size=32):
            results.append(result.text)
    assert results == [corpus[0], corpus[1]]


def test_standard_input_is_read_as_bytes_without_newline_translation(tiny_model_loading, monkeypatch, capsys):
    raw = "Lào\r\nHà Nội\r"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw.encode("utf-8")), encoding="utf-8"))
    assert main(["extract", "--model", "m", "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == raw


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: tmp / "missing.txt", "missing.txt: no such file"),
        (lambda tmp: tmp, "is a directory"),
    ],
)
def test_every_path_is_checked_before_the_model_loads(no_model_loading, tmp_path, capsys, make, message):
    good = tmp_path / "good.txt"
    good.write_text("Lào", encoding="utf-8")
    assert main(["extract", str(good), str(make(tmp_path)), "--model", "m"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused_before_the_model_loads(no_model_loading, tmp_path, capsys):
    locked = tmp_path / "locked.txt"
    locked.write_text("Lào", encoding="utf-8")
    locked.chmod(0)
    assert main(["extract", str(locked), "--model", "m"]) == 1
    assert "not readable" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["0", "-3"])
def test_a_bad_batch_size_is_one_line(no_model_loading, tmp_path, capsys, size):
    assert main(["extract", "--batch-size", size, "--model", "m"]) == 2  # a usage error, as `batch --batch-size 0` is
    err = capsys.readouterr().err
    assert err == f"viextract: --batch-size: batch_size must be a positive int, got {size}\n"


def test_progress_only_when_asked_or_on_a_terminal(tiny_model_loading, tmp_path, capsys, corpus):
    paths = []
    for i, text in enumerate(corpus[:2]):
        paths.append(tmp_path / f"doc{i}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    assert main(["extract", *map(str, paths), "--model", "m", "--format", "jsonl"]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    assert main(["extract", *map(str, paths), "--model", "m", "--format", "jsonl", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "[1/2]" in err and f"[2/2] {paths[1]}" in err
    total = sum(p.stat().st_size for p in paths)
    assert f"{total / 1000:.2f}k/{total / 1000:.2f}k" in err  # bytes of input done, of all files


class ClosedStream(io.StringIO):
    """stderr under `2>&-`: every write fails with EBADF."""

    def write(self, text: str) -> int:
        raise OSError(9, "Bad file descriptor")


def test_a_closed_stderr_keeps_the_exit_status_and_the_progress_run(tiny_model_loading, monkeypatch, tmp_path, capsys):
    """The failing error message made a usage error exit 1, and `--progress 2>&-` ended at its first write."""
    path = tmp_path / "doc.txt"
    path.write_text("Ông Nguyễn Văn A ở Hà Nội.", encoding="utf-8")
    monkeypatch.setattr("sys.stderr", ClosedStream())
    assert main(["extract", "--batch-size", "0", str(path)]) == 2
    assert main(["extract", str(tmp_path / "missing.txt")]) == 1
    assert main(["extract", str(path), "--model", "m", "--format", "jsonl", "--progress"]) == 0
    assert json.loads(capsys.readouterr().out)["file"] == str(path)


def test_pieces_cut_at_line_breaks_give_the_whole_document_result(tiny_tokenizer_dir, tmp_path, corpus):
    from tests.relation_helpers import build_tiny_full_model

    extractor = Extractor.from_pretrained(build_tiny_full_model(tiny_tokenizer_dir, tmp_path), device="cpu")
    text = "\r\n".join(corpus[0].splitlines()[:8]) + "\n\nLào\n"
    bounds = split_at_line_breaks(text, size=300)
    assert len(bounds) > 3 and bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(text[end - 1] == "\n" for _, end in bounds[:-1])
    parts = list(zip([start for start, _ in bounds], extractor.pipe([text[a:b] for a, b in bounds])))
    whole = extractor(text)
    assert whole.relations  # threshold 0: every candidate pair, so the comparison is not vacuous
    assert join_pieces(text, parts) == whole


def test_split_at_line_breaks_edges():
    assert split_at_line_breaks("") == [(0, 0)]
    assert split_at_line_breaks("abc", size=2) == [(0, 3)]  # one long line stays whole
    assert split_at_line_breaks("AB\nCD\nEF", size=4) == [(0, 3), (3, 6), (6, 8)]
    assert split_at_line_breaks("abcdef\nX", size=2) == [(0, 7), (7, 8)]
    assert split_at_line_breaks("abcdef\n", size=2) == [(0, 7)]  # no empty piece after the last line break


def test_pieces_are_not_cut_where_text_preparation_reads_across_the_line_break():
    # Inside an HTML tag (blanked whole, its line break included, so the two lines are one sentence).
    tagged = "ab\nThủ tướng <a\nhref='x'>Phạm Minh Chính</a>\ncd"
    assert split_at_line_breaks(tagged, size=16) == [(0, 3), (3, 45), (45, 47)]
    three_lines = 'xxxxx\n<a\nhref="x"\nclass="y">Hà Nội</a>\nyyyyy\n'
    pieces = split_at_line_breaks(three_lines, size=14)
    assert pieces == [(0, 6), (6, 39), (39, 45)]
    assert "".join(blank_markup(three_lines[a:b]) for a, b in pieces) == blank_markup(three_lines)
    assert split_at_line_breaks("A < B\nC < D\nE", size=4) == [(0, 6), (6, 12), (12, 13)]  # prose, no tag
    # A quote after `=` closed on the next line is no value: the tag ends at its `>` in the whole as in a piece.
    quoted = "AB\n<a t='>\nCD'<b>\nEF\n"
    pieces = split_at_line_breaks(quoted, size=4)
    assert (
        "".join(blank_markup(quoted[a:b]) for a, b in pieces)
        == blank_markup(quoted)
        == "AB\n" + " " * 7 + "\nCD'   \nEF\n"
    )
    # Inside a comment, also blanked whole; an unclosed `<!--` is prose.
    commented = "AB\n<!-- x\n<b>\ny -->CD\nEF\n"
    pieces = split_at_line_breaks(commented, size=4)
    assert pieces == [(0, 3), (3, 22), (22, 25)]
    assert "".join(blank_markup(commented[a:b]) for a, b in pieces) == blank_markup(commented)
    assert split_at_line_breaks("AB\n<!--\nCD\nE", size=4) == [(0, 3), (3, 8), (8, 12)]
    # Inside a script (a piece after the cut would read its code as text) but not after a `<!--` in one.
    scripted = 'AB\n<script>\nvar a = "Lào";\n// <!--\n</script>\nCD\nEF\n'
    pieces = split_at_line_breaks(scripted, size=4)
    assert pieces == [(0, 3), (3, 45), (45, 48), (48, 51)]
    assert "".join(blank_markup(scripted[a:b]) for a, b in pieces) == blank_markup(scripted)
    # Inside a tag that holds a comment, once the comment is blanked: the two spans overlap.
    odd = "AB\n<a<!-- x -->\n\nb>CD\nEF\n"
    pieces = split_at_line_breaks(odd, size=4)
    assert pieces == [(0, 3), (3, 22), (22, 25)]
    assert "".join(blank_markup(odd[a:b]) for a, b in pieces) == blank_markup(odd)
    # Inside an XHTML doctype, which spans lines; CDATA markers and terminal escapes blank the same in pieces.
    doctyped = 'AB\n<!DOCTYPE html PUBLIC "x"\n "y.dtd"><![CDATA[\nCD]]>\n\x1b[31mEF\x1b[0m'
    pieces = split_at_line_breaks(doctyped, size=4)
    assert pieces == [(0, 3), (3, 48), (48, 54), (54, 65)]
    assert "".join(blank_markup(doctyped[a:b]) for a, b in pieces) == blank_markup(doctyped)
    # Before a line a piece would take for the ` date YYYY-MM-DD` header, which is blanked.
    dated = "AB\nCD.\ndate 2026-03-20 Hà Nội\nEF"
    assert split_at_line_breaks(dated, size=6) == [(0, 3), (3, 30), (30, 32)]


# Fragments that open or close markup, or look as if they did, with line breaks among them.
_MARKUP_BITS = ["\n", "\n", "Lào", " x", "<a", ">", "'", '"', "=", "<!--", "-->", "<script>", "</script>"]
_MARKUP_BITS += ["<![CDATA[", "]]>", "<!DOCTYPE ", "<![if !supportLists]>", "<![endif]>", "<![if ", "]>", "<?xml", ":"]
_MARKUP_BITS += ["<?xml:namespace prefix = o />", '<?xml version="1.0"?>', "<? ", "<!b>", "\x1b[31m", "\x1b]0;"]


@pytest.mark.parametrize("seed", range(300))
def test_pieces_blank_as_the_whole_does_on_random_markup(seed):
    draw = random.Random(seed)
    text = "".join(draw.choice(_MARKUP_BITS) for _ in range(draw.randint(5, 60)))
    for size in (1, 4, 16):
        pieces = split_at_line_breaks(text, size=size)
        assert "".join(blank_markup(text[a:b]) for a, b in pieces) == blank_markup(text), (text, size)


def test_pieces_are_not_cut_inside_a_wrapped_sentence():
    # A break before a lower-case word continues the sentence (sentences.py): a cut there would split it.
    text = "Hai bên hội đàm\nvới nhau.\nKết thúc.\n"
    assert split_at_line_breaks(text, size=17) == [(0, 26), (26, 36)]
    assert split_at_line_breaks(text.replace("\n", "\r\n"), size=18) == [(0, 28), (28, 39)]


def _read_until(stream, predicate, lines, timeout=300):
    """Lines from `stream` into `lines` until one satisfies `predicate`; False on end or timeout."""
    found = threading.Event()

    def read():
        for line in stream:
            lines.append(line)
            if predicate(line):
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    return found.wait(timeout)


# SIGTERM (`timeout`, a scheduler) ended the process at once: json was left without its `]`. Each signal once and
# each format once: every case starts a process that imports torch (seconds each), and they share the code.
@pytest.mark.parametrize(
    "signum, status, word, output_format",
    [(signal.SIGTERM, 143, "terminated", "json"), (signal.SIGINT, 130, "interrupted", "jsonl")],
)
def test_ctrl_c_or_sigterm_stops_and_keeps_finished_documents(
    tiny_ner_dir, tmp_path, corpus, output_format, signum, status, word
):
    first = tmp_path / "first.txt"
    first.write_text(corpus[0], encoding="utf-8")
    # A named pipe nobody writes to: the command blocks reading it, after writing the first document.
    never = tmp_path / "never.fifo"
    os.mkfifo(never)
    command = [sys.executable, "-m", "viextract.cli", "extract", str(first), str(never), "--model", str(tiny_ner_dir)]
    command += ["--format", output_format, "--batch-size", "1"]
    # Ctrl-C's default action in the child even when the suite itself runs in the background (`cmd &` in a
    # script ignores SIGINT, and a child would inherit that and never be interrupted).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    lines = []
    try:
        # json: the element's last complete line (its closing brace comes in the same write).
        done = (lambda line: line.startswith('    "relations"')) if output_format == "json" else (lambda line: True)
        assert _read_until(process.stdout, done, lines), "the first document was never written"
        process.send_signal(signum)
        out = process.stdout.read()  # the same buffered stream as above: communicate() would skip its buffer
        err = process.stderr.read()
        process.wait(timeout=120)
    finally:
        process.kill()
    assert process.returncode == status
    assert err.splitlines()[-1] == f"viextract: {word}" and "Traceback" not in err
    output = "".join(lines) + out
    documents = json.loads(output) if output_format == "json" else [json.loads(line) for line in output.splitlines()]
    assert [d["file"] for d in documents] == [str(first)]
    assert documents[0]["text"] == corpus[0]


def test_a_reader_that_stops_early_gets_no_error_on_stderr(tiny_ner_dir, tmp_path, corpus):
    """`viextract extract ... | head -1`: the pipe breaks, and the command stops quietly with SIGPIPE's status."""
    files = []
    for index, text in enumerate(corpus[:3] * 4):
        files.append(tmp_path / f"{index}.txt")
        files[-1].write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "viextract.cli", "extract", *map(str, files), "--model", str(tiny_ner_dir)]
    process = subprocess.Popen(command + ["--format", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert json.loads(process.stdout.readline())["file"] == str(files[0])
        process.stdout.close()  # what `head -1` does after its line
        err = process.stderr.read().decode("utf-8")
        process.wait(timeout=120)
    finally:
        process.kill()
    assert err == ""
    assert process.returncode == 141


@pytest.mark.parametrize("count", [0, 1, 2])
def test_json_written_element_by_element_is_the_same_bytes_as_one_dump(monkeypatch, count):
    from viextract import Entity, Extraction, Relation
    from viextract.cli import _writer

    place, person = Entity("Lào", "LOC", 0, 3, 0.5), Entity("A", "PER", 4, 5, 0.4)
    documents = [("a.txt", Extraction("Lào A\n", (place, person), (Relation(person, place, "affiliated_with", 0.3),)))]
    documents.append(("<stdin>", Extraction("")))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    with _writer("json") as write:
        for name, result in documents[:count]:
            write(name, result)
    expected = [{"file": name, **result.to_dict()} for name, result in documents[:count]]
    assert out.getvalue() == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"


def test_a_full_disk_on_standard_output_is_named(tiny_model_loading, monkeypatch, tmp_path, capsys):
    import errno

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    source = tmp_path / "a.txt"
    source.write_text("Bộ trưởng thăm Lào.\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdout", Full())
    assert main(["extract", str(source), "--model", "m", "--format", "jsonl"]) == 1
    assert capsys.readouterr().err == "viextract: standard output: No space left on device\n"


def test_a_closed_standard_input_is_one_line_before_the_model_loads(no_model_loading, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", None)  # what Python gives a command started with `<&-`
    assert main(["extract", "--model", "m", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "viextract: -: standard input is closed; give a file, or pipe text in\n"
    assert captured.out == ""  # not an empty `[]` as if the input had no documents


def test_a_closed_standard_output_is_one_line_before_the_model_loads(no_model_loading, tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.txt"
    path.write_text("Lào", encoding="utf-8")
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", None)  # `>&-`
    assert main(["extract", str(path), "--model", "m"]) == 1
    assert capsys.readouterr().err == "viextract: standard output is closed; redirect it to a file or a pipe\n"


@pytest.mark.parametrize("redirect", ["w", "a"])
@pytest.mark.parametrize("given", ["path", "-"])
def test_an_input_that_is_also_standard_output_is_refused(
    no_model_loading, tmp_path, monkeypatch, capsys, redirect, given
):
    # `extract a.txt > a.txt`: the shell has emptied a.txt, which read as an empty document; `>>` appended to it.
    path = tmp_path / "a.txt"
    path.write_text("Lào", encoding="utf-8")
    with open(path, redirect, encoding="utf-8") as output, open(path, "rb") as source:
        monkeypatch.setattr(sys, "stdout", output)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(source))
        assert main(["extract", str(path) if given == "path" else "-", "--model", "m"]) == 1
    name = str(path) if given == "path" else "<stdin>"
    expected = f"viextract: {name}: input file is also standard output; write the results elsewhere\n"
    assert capsys.readouterr().err == expected
    assert path.read_text(encoding="utf-8") == ("" if redirect == "w" else "Lào")


@pytest.mark.parametrize("output_format", ["jsonl", "table", "html"])
def test_a_file_name_that_is_not_utf8_is_written_escaped(every_sentence_a_title, tmp_path, capsys, output_format):
    # Python gives such a name as lone surrogates: written raw they made invalid UTF-8 JSON, or a traceback
    # under a strict locale.
    path = tmp_path / os.fsdecode(b"Ha\xf2 N\xf4i.txt")  # a name saved by a cp1258 system
    path.write_text("Hai bên ký kết.", encoding="utf-8")
    assert main(["extract", str(path), "--model", "m", "--format", output_format]) == 0
    out = capsys.readouterr().out
    out.encode("utf-8")  # strict: no lone surrogate left
    assert f"{tmp_path}/Ha\\xf2 N\\xf4i.txt" in (json.loads(out)["file"] if output_format == "jsonl" else out)


@pytest.mark.parametrize("problem", ["no such file", "is a directory, not a text file", "not UTF-8 text"])
def test_a_file_name_that_is_not_utf8_is_named_in_errors_as_in_results(no_model_loading, tmp_path, capsys, problem):
    """Errors showed Python's `bad\\udcff.txt`, the results `bad\\xff.txt`: two names for one file."""
    path = tmp_path / os.fsdecode(b"bad\xff.txt")
    if problem.startswith("is a directory"):
        path.mkdir()
    elif problem.startswith("not UTF-8"):
        path.write_bytes(b"H\xe0 N\xf4i")
    assert main(["extract", str(path), "--model", "m"]) == 1
    assert capsys.readouterr().err.startswith(f"viextract: {tmp_path}/bad\\xff.txt: {problem}")


def test_one_pipe_named_twice_is_refused_not_read_as_an_empty_second_document(no_model_loading, monkeypatch, capsys):
    # `extract /dev/stdin - < pipe`: the first read took all the pipe held; the second was an empty document.
    read, write = os.pipe()
    os.write(write, "Lào".encode())
    os.close(write)
    with open(read, "rb") as source:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(source))
        assert main(["extract", f"/proc/self/fd/{read}", "-", "--model", "m"]) == 1
    expected = f"viextract: <stdin>: the same stream as /proc/self/fd/{read}, which a first read empties\n"
    assert capsys.readouterr().err == expected


@pytest.mark.parametrize("output_format", ["json", "jsonl"])
def test_a_score_that_is_not_finite_is_refused_not_written_as_nan(
    tiny_model_loading, monkeypatch, capsys, tmp_path, output_format
):
    """A model giving a NaN score made json and jsonl write `"score": NaN`, which no JSON reader takes; to_json
    already refused it. The documents before it stay valid JSON, and the message names the file."""
    from viextract import Entity, Extraction, Relation, cli

    good = Extraction("Lào", (Entity("Lào", "LOC", 0, 3, 0.5),))
    place, person = Entity("Lào", "LOC", 0, 3, 0.5), Entity("A", "PER", 4, 5, 0.4)
    bad = Extraction("Lào A", (place, person), (Relation(person, place, "affiliated_with", float("nan")),))
    documents = [("a.txt", good), ("b.txt", bad)]
    monkeypatch.setattr(cli, "_extract_files", lambda *args, **kwargs: iter(documents))
    path = tmp_path / "a.txt"
    path.write_text("Lào", encoding="utf-8")
    assert main(["extract", str(path), "--model", "tiny", "--format", output_format]) == 1
    out, err = capsys.readouterr()
    assert err == "viextract: b.txt: relations[0]: score: expected a finite number, got nan\n"
    written = json.loads(out) if output_format == "json" else [json.loads(line) for line in out.splitlines()]
    assert written == [{"file": "a.txt", **good.to_dict()}]
