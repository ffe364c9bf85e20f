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
        # Not tags: a comparison, a heart, a lone bracket, a tag broken by another `<`.
        ("a < b, <3, 5<6> x, <b <i>", "a < b, <3, 5<6> x, <b    "),
        ("Lào", "Lào"),
        # A comment is blanked whole, tags, line breaks and `>` inside included; `<!-->` is an empty one.
        ("a<!-- Phạm Minh Chính <b>x</b> -> -->c", "a" + " " * 36 + "c"),
        ("<!--\nHà Nội\n-->Lào<!-->x<!--->y", " " * 15 + "Lào" + " " * 5 + "x" + " " * 6 + "y"),
        # A `<!--` never closed stays as prose does (tags after it are still blanked).
        ("Lào <!-- Hà Nội <b>x", "Lào <!-- Hà Nội    x"),
        ("<!-- a --> b <!-- c", " " * 10 + " b <!-- c"),
    ],
)
def test_tags_become_spaces_of_the_same_length_and_prose_stays(text, blanked):
    assert blank_markup(text) == blanked


def test_the_bundled_model_finds_a_name_between_tags_with_offsets_into_the_html():
    comment = "<!-- Tác giả: Nguyễn Văn An, phóng viên tại Hà Nội -->\n"  # was tagged: 'Hà Nội' as a LOC
    text = comment + '<p>Thủ tướng <b>Phạm Minh Chính</b> hội đàm với <a href="/lao">Thủ tướng Lào</a>.</p>'
    entities = extract(text).entities
    assert ("PER", "Phạm Minh Chính") in {(e.label, e.text) for e in entities}
    assert all(text[e.start : e.end] == e.text and "<" not in e.text for e in entities)
    assert all(e.start >= len(comment) for e in entities)
