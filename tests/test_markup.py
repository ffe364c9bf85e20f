"""HTML tags left in scraped text are spaces for the models: the bundled model missed `Phạm Minh Chính`
in `Thủ tướng <b>Phạm Minh Chính</b>`."""

import pytest

from viextract import extract
from viextract.markup import blank_markup


@pytest.mark.parametrize(
    ("text", "blanked"),
    [
        ("<p>Lào</p>", "   Lào    "),
        ('<a href="https://x.vn/a?b=1&c=2">Lào</a><br/>', " " * 33 + "Lào" + " " * 9),
        ("<BR>Hà Nội<img src=x />", "    Hà Nội" + " " * 13),
        # Prefixed names, as Word writes them: the model missed the name inside `<st1:personname>`.
        ("<st1:personname>Lào</st1:personname><o:p></o:p><my_tag/>", " " * 16 + "Lào" + " " * 37),
        # A `>` in a quoted value is the value's: `b">` and `3' src=x>` were left as text.
        ("<a title=\"a>b\">Lào</a><img alt = '5 > 3' src=x>", " " * 15 + "Lào" + " " * 29),
        # A `<` in a quoted value is the value's too: both tags were left as text.
        ('<a title="a<b" href="x">Lào</a><img alt=\'3<5\'/>', " " * 24 + "Lào" + " " * 20),
        # A value holding both is none (an open quote would reach the next tag): the first `>` ends the tag.
        ('<a title="x>Lào</a> b <i class="y">z', " " * 12 + "Lào     b " + " " * 13 + "z"),
        # `<p/ >`: HTML5 skips a `/` that no `>` follows.
        ("<p/ >Lào<br/ >", "     Lào      "),
        # An unquoted value, a quote not after `=`, a quote never closed: the first `>` ends the tag.
        ("<a b=x'y c\"d e='f>Lào</a>'", " " * 18 + "Lào" + " " * 4 + "'"),
        # Not tags: a comparison, a heart, a lone bracket, a tag broken by another `<`.
        ("a < b, <3, 5<6> x, <b <i>", "a < b, <3, 5<6> x, <b    "),
        ('a < b và c > d, 3<5, <and/or>, <b x="1 < 2" <i>', 'a < b và c > d, 3<5, <and/or>, <b x="1 < 2"    '),
        ("Lào", "Lào"),
        # A comment is blanked whole, tags, line breaks and `>` inside included; `<!-->` is an empty one.
        ("a<!-- Phạm Minh Chính <b>x</b> -> -->c", "a" + " " * 36 + "c"),
        ("<!--\nHà Nội\n-->Lào<!-->x<!--->y", " " * 15 + "Lào" + " " * 5 + "x" + " " * 6 + "y"),
        # HTML5 also ends a comment at `--!>`, but not at one that shares the `--` of `<!--`.
        ("a<!-- Hà Nội --!>b<!--!> x --!>c", "a" + " " * 16 + "b" + " " * 13 + "c"),
        ("<!---!>Lào-->x<!----!>y", " " * 13 + "x" + " " * 8 + "y"),
        # A `<!--` never closed stays as prose does (tags after it are still blanked).
        ("Lào <!-- Hà Nội <b>x", "Lào <!-- Hà Nội    x"),
        ("<!-- a --> b <!-- c", " " * 10 + " b <!-- c"),
    ],
)
def test_tags_become_spaces_of_the_same_length_and_prose_stays(text, blanked):
    assert blank_markup(text) == blanked


@pytest.mark.parametrize(
    ("text", "blanked"),
    [
        # Terminal colour codes (CSI): `\x1b[31mNgày 15/3` was tagged DATE `31mNgày 15/3`.
        (
            "\x1b[31mNgày 15/3\x1b[0m, \x1b[1;38;5;196mLào\x1b[m",
            " " * 5 + "Ngày 15/3" + " " * 4 + ", " + " " * 13 + "Lào   ",
        ),
        # OSC (a terminal hyperlink or title), ended by BEL or ST; one never ended is blanked to where it is cut:
        # the end of the text, a line break (`Tin Hà Nội` in a title cut there was tagged LOC), another escape.
        ("\x1b]8;;https://x.vn\x1b\\Lào\x1b]8;;\x07 \x1b]0;Hà Nội", " " * 19 + "Lào" + " " * 17),
        ("\x1b]0;Tin Hà Nội\nb\x07", " " * 14 + "\nb\x07"),
        ("\x1b]8;;https://x.vn\r\nLào\x1b]8;;\x1b[1mHà Nội", " " * 17 + "\r\nLào" + " " * 9 + "Hà Nội"),
        # Not escapes: a lone ESC, `ESC [` with no final byte.
        ("a\x1b b \x1b[", "a\x1b b \x1b["),
        # A doctype (on two lines as XHTML writes it) and CDATA markers; the CDATA text stays.
        ('<!DOCTYPE html>\n<!doctype html PUBLIC "-//W3C"\n "x.dtd">Lào', " " * 15 + "\n" + " " * 40 + "Lào"),
        ("<![CDATA[Hà Nội]]>", " " * 9 + "Hà Nội" + "   "),
        ("a <!b> ]] >", "a <!b> ]] >"),
    ],
)
def test_terminal_escapes_doctypes_and_cdata_markers_become_spaces(text, blanked):
    assert blank_markup(text) == blanked
    assert len(blank_markup(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "blanked"),
    [
        # Word's revealed conditionals: the markers go, what they hold stays (a browser shows it).
        ("<![if !supportLists]>1.<![endif]>Lào", " " * 21 + "1." + " " * 10 + "Lào"),
        ("<![IF gte vml 1]>\n<![Endif]>", " " * 17 + "\n" + " " * 10),
        # Its XML processing instructions (on two lines as Word wraps them: the line break is blanked too).
        ('<?xml:namespace prefix = o ns =\n"urn:schemas-microsoft-com:office:office" />Lào', " " * 76 + "Lào"),
        ('<?xml version="1.0"?>Lào', " " * 21 + "Lào"),
        # A comment holding a conditional was blanked already; other `<!` and `<?`, and markers cut short, are prose.
        ("<!--[if gte mso 9]><xml></xml><![endif]-->Lào", " " * 42 + "Lào"),
        (
            "a <? b <?php x ?> <!b> <![if] <![if x <![endif ]> <?xml",
            "a <? b <?php x ?> <!b> <![if] <![if x <![endif ]> <?xml",
        ),
    ],
)
def test_word_conditional_markers_and_xml_processing_instructions_become_spaces(text, blanked):
    assert blank_markup(text) == blanked


@pytest.mark.parametrize(
    ("text", "blanked"),
    [
        # Script and style contents go with their tags, line breaks too: `Hà Nội` in JS was text to the models.
        ('a<script>var n = "Hà Nội";</script>b', "a" + " " * 34 + "b"),
        ("<STYLE type=x>\np { }\n</Style >Lào", " " * 30 + "Lào"),
        ("x<style/>a</style/>y<script\nsrc=z></script\n>w", "x" + " " * 18 + "y" + " " * 24 + "w"),
        # A `<!--` in a script opens no comment, a `<script>` in a comment opens nothing.
        ("<script>// <!--\n</script>Lào -->", " " * 25 + "Lào -->"),
        ("<!-- <script> -->Lào<script>x", " " * 17 + "Lào        x"),
        # Only the element's own end tag closes it; one never closed is left, its tag alone blanked.
        ("<script>a</scriptx>b</script>c<scripts>d", " " * 29 + "c" + " " * 9 + "d"),
        ("Lào<script>x = 1;\nHà Nội</script", "Lào        x = 1;\nHà Nội</script"),
        ("<style>a</style>b<style>Lào", " " * 16 + "b       Lào"),
    ],
)
def test_script_and_style_contents_become_spaces_with_their_tags(text, blanked):
    assert blank_markup(text) == blanked


def test_blanking_stays_linear_on_many_unclosed_openings():
    # Each unclosed `<!--` or `<script>` once searched the rest of the text: 200,000 characters of them.
    units = ("<!--", "<script>", "<style>x</style", "<a title='x>", "<a title='x<", '<a x="<', "\x1b]0;x")
    for unit in (*units, "<![if x", "<?xml x"):
        text = unit * (200_000 // len(unit))
        assert len(blank_markup(text)) == len(text)
    # One tag never ended, with thousands of quoted values: each `=` has one reading, nothing to retry.
    text = "<a" + ' x="1" y=\'2\' z=3 w v="<"' * 12_000
    assert blank_markup(text) == text


def test_the_bundled_model_finds_a_name_between_tags_with_offsets_into_the_html():
    comment = "<!-- Tác giả: Nguyễn Văn An, phóng viên tại Hà Nội -->\n"  # was tagged: 'Hà Nội' as a LOC
    text = comment + '<p>Thủ tướng <b>Phạm Minh Chính</b> hội đàm với <a href="/lao">Thủ tướng Lào</a>.</p>'
    entities = extract(text).entities
    assert ("PER", "Phạm Minh Chính") in {(e.label, e.text) for e in entities}
    assert all(text[e.start : e.end] == e.text and "<" not in e.text for e in entities)
    assert all(e.start >= len(comment) for e in entities)


def test_the_bundled_model_finds_a_name_between_word_conditional_markers():
    text = "Thủ tướng <![if !supportLists]>Phạm Minh Chính<![endif]> hội đàm với Thủ tướng Lào."
    entities = extract(text).entities
    assert ("PER", "Phạm Minh Chính") in {(e.label, e.text) for e in entities}
    assert all(text[e.start : e.end] == e.text and "<" not in e.text for e in entities)
