"""Web and e-mail addresses are never part of an entity: the tokenizer cuts a link into syllables
that a model can read as a name (the bundled model tagged `vn/thu-tuong-pham-minh-chinh-...` PER)."""

import pytest

from tests.grapheme_helpers import TagEverything
from viextract.links import drop_link_words, link_spans

URL = "https://baochinhphu.vn/thu-tuong-pham-minh-chinh-hoi-dam-102250105.htm"


@pytest.mark.parametrize(
    ("text", "links"),
    [
        (f"Nguồn: {URL}.", [URL]),
        (f"(xem {URL})", [URL]),
        ("Trang www.mofa.gov.vn, thư: banbientap@mofa.gov.vn.", ["www.mofa.gov.vn", "banbientap@mofa.gov.vn"]),
        ("HTTP://VNA.VN/a “trích”", ["HTTP://VNA.VN/a"]),
        # A bare domain may be a news outlet (an ORG), and `@` alone is no address.
        ("Theo VnExpress.net, Bộ trưởng @ Hà Nội.", []),
    ],
)
def test_link_spans_cover_the_address_and_leave_trailing_punctuation(text, links):
    assert [text[start:end] for start, end in link_spans(text)] == links


def test_words_overlapping_a_link_are_outside_every_entity():
    words = [(0, 4), (5, 9), (10, 20), (20, 25), (26, 30)]
    tags = ["B-PER", "I-PER", "I-PER", "I-PER", "I-PER"]
    assert drop_link_words(tags, words, [(8, 22)]) == ["B-PER", "O", "O", "O", "I-PER"]
    assert drop_link_words(tags, words, []) == tags


def test_an_entity_never_covers_a_link(tiny_extractor, monkeypatch):
    monkeypatch.setattr(tiny_extractor, "tagger", TagEverything(tiny_extractor.tagger.aligner))
    text = f"Bộ trưởng {URL} Bùi Thanh Sơn, thư gửi ban@mofa.gov.vn"
    start = text.index(URL)
    entities = tiny_extractor(text).entities
    assert [e.text for e in entities] == ["Bộ trưởng", "Bùi Thanh Sơn, thư gửi"]
    assert all(e.end <= start or e.start >= start + len(URL) for e in entities)


def test_a_long_run_of_letters_is_read_in_one_pass():
    """A 200,000-character word (a base64 image in scraped HTML) took over three minutes: the address pattern was
    tried from every position of the run, each try running to its end. A match now starts only where a run does,
    so the 100,000 letters here take milliseconds (and minutes again, were that undone)."""
    from viextract.links import _LINK

    assert _LINK.match("ab@mofa.gov.vn", 1) is None  # not from inside the run: from its start only
    assert link_spans("a" * 100_000 + " ban@mofa.gov.vn " + "b@" * 50_000) == [(100_001, 100_016)]
