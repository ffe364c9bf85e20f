"""The HTML view: exact, escaped entity marks, relation arcs, displaCy data, the CLI page, and a real Chromium."""

import html
import json
import re
import shutil
import subprocess
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

import viextract
from viextract import Entity, Extraction, Relation, render
from viextract.cli import main
from viextract.labels import ENTITY_LABELS
from viextract.render import LINE_WIDTH

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus.jsonl"


def gold_paragraph() -> Extraction:
    """The first paragraph of the corpus's first article with its gold entities and relations."""
    record = json.loads(CORPUS.read_text(encoding="utf-8").splitlines()[0])
    text = record["text"].split("\n\n")[0]
    entities = {
        e["id"]: Entity(text[e["start"] : e["end"]], e["label"], e["start"], e["end"], 1.0)
        for e in record["entities"]
        if e["end"] <= len(text)
    }
    relations = tuple(
        Relation(entities[r["head"]], entities[r["tail"]], r["label"], 1.0)
        for r in record["relations"]
        if r["head"] in entities and r["tail"] in entities
    )
    return Extraction(text, tuple(entities.values()), relations)


class Marks(HTMLParser):
    """(label, text) of every <mark>, and the class names of every element, from a page."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[str, str]] = []
        self.classes: list[str] = []
        self._open: list[str] | None = None
        self._label = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.classes.append(attrs.get("class") or "")
        if tag == "mark":
            self._open, self._label = [], attrs["data-label"]

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag):
        if tag == "mark":
            self.marks.append((self._label, "".join(self._open)))
            self._open = None


def parse(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    return parser


def test_every_entity_is_marked_with_its_label_and_exact_text():
    doc = gold_paragraph()
    assert len(doc.entities) >= 5 and doc.relations
    marks = parse(render(doc)).marks
    assert marks == [(e.label, doc.text[e.start : e.end]) for e in sorted(doc.entities, key=lambda e: e.start)]


def test_text_is_escaped_and_offsets_stay_exact():
    text = 'A <script>alert("x")</script> & Co, Bộ Ngoại giao <b>'
    start = text.index("<script>")
    tag = Entity("<script>", "ORG", start, start + 8, 0.9)
    amp = Entity("& Co", "PER", text.index("&"), text.index("&") + 4, 0.8)
    page = render(Extraction(text, (tag, amp), (Relation(amp, tag, "affiliated_with", 0.5),)), title="<i>&</i>")
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;" in page and "&amp; Co" in page
    assert parse(page).marks == [("ORG", "<script>"), ("PER", "& Co")]


def test_relations_on_one_line_get_arcs_and_the_rest_are_listed():
    head = Entity("Lê Đức Thái", "PER", 0, 11, 1.0)
    title = Entity("Trung tướng", "TITLE", 12, 23, 1.0)
    far_start = 25 + LINE_WIDTH * 2
    text = "Lê Đức Thái Trung tướng " + "x " * LINE_WIDTH + "Hà Nội"
    place = Entity("Hà Nội", "LOC", text.index("Hà Nội"), len(text), 1.0)
    assert place.start >= far_start - 2
    doc = Extraction(
        text,
        (head, title, place),
        (
            Relation(head, title, "has_title", 1.0),
            Relation(head, place, "affiliated_with", 1.0),
        ),
    )
    page = render(doc)
    assert page.count('class="arc"') == 1 and ">has_title</span></span>" in page
    assert page.count("(different lines)") == 1 and "affiliated_with" in page
    assert 'href="#d0-e0"' in page and 'id="d0-e2"' in page


def test_long_text_wraps_at_spaces_outside_entities():
    words = ("Đoàn đại biểu Bộ Tư lệnh Bộ đội Biên phòng Việt Nam sang thăm Lào " * 30).strip()
    entities = []
    at = 0
    while (at := words.find("Bộ Tư lệnh Bộ đội Biên phòng Việt Nam", at)) >= 0:
        entities.append(Entity(words[at : at + 37], "ORG", at, at + 37, 1.0))
        at += 37
    page = render(Extraction(words, tuple(entities)))
    lines = page.split('<div class="line"')[1:]
    assert len(lines) > len(words) // LINE_WIDTH
    assert parse(page).marks == [("ORG", e.text) for e in entities]  # no mark split by a wrap
    for line in lines:
        shown = "".join(text for text in _texts(line))
        assert len(shown) <= LINE_WIDTH


@pytest.mark.parametrize(
    ("text", "shown"), [("x" * 300 + "\nHà Nội", ["x" * 300, "Hà Nội"]), ("Hà Nội " + "x" * 200, ["Hà Nội", "x" * 200])]
)
def test_a_line_with_no_space_to_wrap_at_is_one_line_with_no_blank_line_after_it(text, shown):
    """A run longer than LINE_WIDTH with no space (a link, a hash) was one line and then an empty one, drawn as
    a blank line that the text does not have."""
    lines = page_lines(render(Extraction(text, (Entity("Hà Nội", "LOC", text.index("H"), text.index("H") + 6, 1.0),))))
    assert ["".join(_texts(line.split("</div>")[0])) for line in lines] == shown


def page_lines(page: str) -> list[str]:
    return page.split('<div class="line"')[1:]


def test_a_long_paragraph_renders_every_mark():
    """Each wrap listed the spaces to the paragraph's end, and each line scanned every entity and relation:
    a 336,000-character paragraph took 72 s (quadratic), and takes about 3 s (a speed, not asserted here)."""
    sentence = "Ông Nguyễn Văn An ở Hà Nội. "
    text = sentence * 2_000  # 56,000 characters, no line break
    people = [Entity("Nguyễn Văn An", "PER", at + 4, at + 17, 1.0) for at in range(0, len(text), len(sentence))]
    places = [Entity("Hà Nội", "LOC", at + 20, at + 26, 1.0) for at in range(0, len(text), len(sentence))]
    relations = tuple(Relation(p, q, "affiliated_with", 1.0) for p, q in zip(people, places))
    page = render(Extraction(text, (*people, *places), relations))
    assert len(parse(page).marks) == 4_000
    assert page.count("affiliated_with") >= 2_000


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r", "\u2028"])
def test_every_line_break_the_sentences_end_at_starts_a_line(line_break):
    """A lone \\r was drawn inside one line, so arcs and columns were laid out for the wrong line."""
    text = f"Bộ trưởng Phan Văn Giang{line_break}hội đàm với Thượng tướng Chansamone."
    entities = (Entity("Phan Văn Giang", "PER", 10, 24, 1.0),)
    page = render(Extraction(text, entities))
    lines = page.split('<div class="line"')[1:]
    assert len(lines) == 2 and "\r" not in page and "\u2028" not in page
    assert parse(page).marks == [("PER", "Phan Văn Giang")]
    across = render(Extraction(text, (Entity(text[10:30], "PER", 10, 30, 1.0),)))  # spans the break: listed only
    assert "<mark" not in across.split('<div class="line"', 1)[1] and "\r" not in across


def _texts(fragment: str) -> list[str]:
    parser = HTMLParser()
    out: list[str] = []
    parser.handle_data = out.append
    parser.feed(fragment.split(">", 1)[1])
    return out


def test_a_list_of_extractions_is_one_page_with_one_section_each():
    docs = [gold_paragraph(), Extraction("Không có gì."), Extraction("")]
    page = render(docs, title="Ba bài")
    assert page.count("<!DOCTYPE html>") == 1 and page.count('<section class="doc"') == 3
    assert "<h1>Ba bài</h1>" in page and "(no relations)" in page
    legend = page.split('<div class="legend">')[1].split("</div>")[0]
    assert all(f">{label}</span>" in legend for label in ENTITY_LABELS)
    assert "http" not in page and "<script" not in page and "<link" not in page  # self-contained


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="extraction"):
        render("a text")
    with pytest.raises(TypeError, match="title"):
        render(Extraction("x"), title=3)
    with pytest.raises(TypeError, match=r"^extraction: expected Extraction or a list of them, got NoneType$"):
        render(None)
    with pytest.raises(TypeError, match=r"^names: expected 1 strings"):
        render(Extraction("x"), names=3)


def test_names_may_come_from_a_generator():
    """Checking the names used a generator up: the headings then raised IndexError."""
    page = render([Extraction("a"), Extraction("b")], names=(name for name in ["một.txt", "hai.txt"]))
    assert '<h2 class="name">một.txt</h2>' in page and '<h2 class="name">hai.txt</h2>' in page


def test_to_displacy_is_displacys_manual_ent_data():
    doc = gold_paragraph()
    data = doc.to_displacy()
    assert set(data) == {"text", "ents", "title"} and data["title"] is None and data["text"] == doc.text
    assert [set(e) for e in data["ents"]] == [{"start", "end", "label"}] * len(doc.entities)
    assert [e["start"] for e in data["ents"]] == sorted(e.start for e in doc.entities)
    spans = {(e.start, e.end, e.label) for e in doc.entities}
    assert {(e["start"], e["end"], e["label"]) for e in data["ents"]} == spans
    assert json.loads(json.dumps(data)) == data
    assert viextract.render is render


def test_cli_writes_one_page_for_all_inputs(tmp_path, tiny_ner_dir, capsys):
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    files[0].write_text("Hà Nội & <b>Lào</b>.", encoding="utf-8")
    files[1].write_text("Bộ Quốc phòng.", encoding="utf-8")
    assert main(["extract", *map(str, files), "--model", str(tiny_ner_dir), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('<section class="doc"') == 2 and "<b>" not in page
    parts = [part.split("</div>\n</div>")[0] for part in page.split('<div class="text">')[1:]]
    shown = [html.unescape(re.sub(r"<[^>]+>", "", part)) for part in parts]
    assert [s.strip() for s in shown] == ["Hà Nội & <b>Lào</b>.", "Bộ Quốc phòng."]


def test_with_several_inputs_each_section_is_headed_by_its_file_name(tmp_path, tiny_ner_dir, capsys):
    """Only the page title listed the names, so an empty file's blank section could be anyone's."""
    files = [tmp_path / '<i>a<i>&amp;"x".txt', tmp_path / "empty.txt", tmp_path / "c.txt"]
    for file, text in zip(files, ["Hà Nội.", "", "Bộ Quốc phòng."]):
        file.write_text(text, encoding="utf-8")
    assert main(["extract", *map(str, files), "--model", str(tiny_ner_dir), "--format", "html"]) == 0
    page = capsys.readouterr().out
    headings = re.findall(r'<section class="doc" id="d\d+">\n<h2 class="name">(.*?)</h2>', page)
    assert [html.unescape(h) for h in headings] == [str(f) for f in files] and "<i>" not in page
    assert main(["extract", str(files[2]), "--model", str(tiny_ner_dir), "--format", "html"]) == 0
    assert "<h2" not in capsys.readouterr().out  # one input: the page title names it
    with pytest.raises(TypeError, match="names: expected 2 strings"):
        render([Extraction("a"), Extraction("b")], names=["a"])


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (CI installs Debian's chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def test_chromium_shows_every_entity_under_its_label_and_takes_a_screenshot(tmp_path):
    doc = gold_paragraph()
    page = tmp_path / "doc.html"
    page.write_text(render(doc, title="corpus 000"), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    marks = parse(dom).marks
    for e in doc.entities:
        assert (e.label, doc.text[e.start : e.end]) in marks
    assert dom.count('class="arc"') >= 1
    shot = tmp_path / "x.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000


def test_arcs_are_placed_in_columns_not_characters():
    """NFD text: a combining mark adds a character but no column, so the arc must not drift right."""
    nfd = unicodedata.normalize("NFD", "Đại tướng Phan Văn Giang")
    title = Entity(nfd[: nfd.index(" P")], "TITLE", 0, nfd.index(" P"), 1.0)
    person = Entity(nfd[title.end + 1 :], "PER", title.end + 1, len(nfd), 1.0)
    page = render(Extraction(nfd, (title, person), (Relation(person, title, "has_title", 1.0),)))
    left = float(re.search(r'class="arc" style="left:([0-9.]+)ch', page).group(1))
    assert left == len("Đại tướng") / 2 and len(title.text) > len("Đại tướng")


@pytest.mark.parametrize(
    ("before", "columns"), [("\t", 8), ("Bộ trưởng\t", 16), ("\u200b\u200eBộ trưởng \u200b", 10), ("\ufeff", 0)]
)
def test_a_tab_or_an_invisible_character_before_an_entity_moves_its_arc_as_the_browser_moves_it(before, columns):
    """A tab was counted as one column and a zero-width space or direction mark as one: in Chromium the arc's end
    stood 51 px left of the name after a tab (drawn up to the next multiple of 8), and 5 columns right of it after
    five zero-width spaces."""
    text = before + "Phan Văn Giang, Bộ trưởng"
    person = Entity("Phan Văn Giang", "PER", len(before), len(before) + 14, 1.0)
    title = Entity("Bộ trưởng", "TITLE", person.end + 2, len(text), 1.0)
    page = render(Extraction(text, (person, title), (Relation(person, title, "has_title", 1.0),)))
    left = float(re.search(r'class="arc" style="left:([0-9.]+)ch', page).group(1))
    assert left == columns + 7


def test_a_text_with_half_an_emoji_renders_a_page_that_can_be_written_as_utf8():
    """A lone surrogate (a post cut mid-emoji, read from JSON) went into the page as it was: writing the page to a
    file raised UnicodeEncodeError. It shows as the replacement character, and the marks stay where they were."""
    text = json.loads('"Bộ trưởng \\ud83d thăm Lào"')
    page = render(Extraction(text, (Entity("Lào", "LOC", 17, 20, 0.9),)), title="\udc00")
    page.encode("utf-8")
    assert "Bộ trưởng \ufffd thăm " in page and parse(page).marks == [("LOC", "Lào")]
