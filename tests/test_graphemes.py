"""Issue #17 item 6: no entity starts or ends inside a grapheme cluster, and names, titles,
organisations and places never start or end with a symbol or emoji."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.grapheme_helpers import (
    CLUSTER_PIECES,
    E_NFD,
    FAMILY,
    FLAG_LA,
    FLAG_VN,
    HEART,
    KEYCAP_ONE,
    SCOTLAND,
    THUMBS_MEDIUM,
    TagEverything,
    check_clusters_and_edges,
    clusters,
)
from viextract.bio import drop_symbol_edges
from viextract.graphemes import cluster_bounds, is_symbol_word
from viextract.text import prepare_text


@pytest.mark.parametrize(
    "cluster",
    [FLAG_VN, FAMILY, THUMBS_MEDIUM, HEART, SCOTLAND, KEYCAP_ONE, E_NFD, "\U0001f600\u0301", "\r\n", "a\u200d"],
    ids=["flag", "zwj", "skin_tone", "variation_selector", "tags", "keycap", "marks", "emoji_mark", "crlf", "zwj_end"],
)
def test_each_kind_of_cluster_is_one(cluster):
    assert clusters("x" + cluster + "y") == ["x", cluster, "y"]


def test_regional_indicators_pair_from_the_left_and_controls_stand_alone():
    assert clusters(FLAG_VN + FLAG_LA + "\U0001f1fb") == [FLAG_VN, FLAG_LA, "\U0001f1fb"]
    assert clusters("\x00\u0301") == ["\x00", "\u0301"]  # no mark joins a control
    assert clusters("\U0001f600\u200d") == ["\U0001f600\u200d"]
    assert clusters("a\u200db") == ["a\u200d", "b"]  # ZWJ joins emoji to emoji, not letters


def test_symbol_words():
    assert all(is_symbol_word(w) for w in [FLAG_VN, FAMILY, HEART, "©", "$", "+", THUMBS_MEDIUM])
    assert not any(is_symbol_word(w) for w in ["Lào", ".", "(", "-", KEYCAP_ONE, "Sơn\U0001f3fb"])


def test_symbols_are_dropped_from_the_edges_of_names_only():
    words = ["Bộ_trưởng", FLAG_VN, "Bùi_Thanh_Sơn", "😀"]
    tags = ["B-TITLE", "I-TITLE", "B-PER", "I-PER"]
    assert drop_symbol_edges(tags, words) == ["B-TITLE", "O", "B-PER", "O"]
    # Inside an entity a symbol stays; a leading one moves the start to the next word.
    assert drop_symbol_edges(["B-ORG", "I-ORG", "I-ORG"], ["Bộ", FLAG_VN, "Lào"]) == ["B-ORG", "I-ORG", "I-ORG"]
    assert drop_symbol_edges(["B-LOC", "I-LOC"], [FLAG_LA, "Lào"]) == ["O", "B-LOC"]
    assert drop_symbol_edges(["B-PER"], ["😀"]) == ["O"]
    # Dates, events and agreements are left as the model tagged them...
    assert drop_symbol_edges(["B-EVENT", "I-EVENT"], ["Hội_nghị", "+"]) == ["B-EVENT", "I-EVENT"]
    # ...unless nothing in them is a letter or digit: punctuation alone is no entity of any type.
    assert drop_symbol_edges(["B-LOC", "O", "B-DATE", "I-DATE", "B-ORG"], ["«", "x", "(", "»", "{"]) == ["O"] * 5
    assert drop_symbol_edges(["B-DATE", "I-DATE"], ["5", "/"]) == ["B-DATE", "I-DATE"]


def test_quotes_and_brackets_are_dropped_from_the_edges_of_names():
    # The bundled model read `tại Thủ đô «Vientiane»,` as the LOC `«Vientiane»`.
    assert drop_symbol_edges(["B-LOC", "I-LOC", "I-LOC"], ["«", "Vientiane", "»"]) == ["O", "B-LOC", "O"]
    assert drop_symbol_edges(["B-PER", "I-PER", "I-PER"], ["»", "«", "Hà_Nội"]) == ["O", "O", "B-PER"]
    assert drop_symbol_edges(["B-LOC", "I-LOC"], ["「", "Hà_Nội"]) == ["O", "B-LOC"]
    # A bracket opened inside the name keeps its closing half; dates, events and agreements keep theirs.
    org = ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]
    assert drop_symbol_edges(org, ["WHO", "(", "LHQ", ")"]) == org
    assert drop_symbol_edges(org, ["Công_ty", '"', "ABC", '"']) == org  # a straight quote opens as it closes
    assert drop_symbol_edges(["B-EVENT", "I-EVENT", "I-EVENT"], ["“", "Xuân", "”"]) == ["B-EVENT", "I-EVENT", "I-EVENT"]


def test_handle_hashtag_and_markdown_marks_are_dropped_from_the_edges_of_names():
    # The bundled model read `Phan Văn Giang @ đã tiếp` (and `* đã tiếp`) as the PER `Phan Văn Giang @` (`*`).
    assert drop_symbol_edges(["B-PER", "I-PER"], ["Phan_Văn_Giang", "@"]) == ["B-PER", "O"]
    assert drop_symbol_edges(["B-LOC", "I-LOC", "I-LOC"], ["**", "Hà_Nội", "**"]) == ["O", "B-LOC", "O"]
    assert drop_symbol_edges(["B-TITLE", "I-TITLE"], ["#", "Bộ_trưởng"]) == ["O", "B-TITLE"]
    # Inside a name a mark stays, and a word with a letter is no mark; dates keep theirs.
    org = ["B-ORG", "I-ORG", "I-ORG"]
    assert drop_symbol_edges(org, ["Vinaconex", "&", "Partners"]) == org
    assert drop_symbol_edges(["B-PER", "I-PER"], ["Giang", "@bqp"]) == ["B-PER", "I-PER"]
    assert drop_symbol_edges(["B-DATE", "I-DATE"], ["12/5", "*"]) == ["B-DATE", "I-DATE"]


def test_an_entity_over_emoji_is_trimmed_to_whole_clusters(tiny_extractor, monkeypatch):
    monkeypatch.setattr(tiny_extractor, "tagger", TagEverything(tiny_extractor.tagger.aligner))
    text = f"{FLAG_VN} Bộ trưởng {FAMILY}{FLAG_LA} Bùi Thanh Sơn {THUMBS_MEDIUM} {HEART}"
    (entity,) = tiny_extractor(text).entities
    assert entity.text == f"Bộ trưởng {FAMILY}{FLAG_LA} Bùi Thanh Sơn"
    check_clusters_and_edges(text, [entity])


_PIECES = st.sampled_from(["Bộ", "trưởng", "Lào", "Sơn", " ", "\n", ".", *CLUSTER_PIECES])


@pytest.mark.parametrize("text", ["Bộ\u200d\u0301", "a\U0001f3fb\u200d\u0301b", "\U0001f600\u200d\u0301 Lào"])
def test_marks_after_a_joiner_do_not_make_a_second_word(text):
    test_words_never_split_a_cluster_or_overlap.hypothesis.inner_test(text)


@given(st.lists(_PIECES, max_size=40).map("".join))
def test_words_never_split_a_cluster_or_overlap(text):
    bounds = {a for a, _ in cluster_bounds(text)} | {len(text)}
    previous_end = 0
    for sentence in prepare_text(text, segmenter="syllables").sentences:
        for word in sentence.words:
            assert previous_end <= word.start < word.end
            assert word.start in bounds and word.end in bounds, (word, text)
            previous_end = word.end


def test_the_flag_example_of_the_issue_with_the_bundled_model():
    from viextract import extract

    text = f"Bộ trưởng {FLAG_VN} Bùi Thanh Sơn thăm Lào."
    entities = extract(text).entities
    check_clusters_and_edges(text, entities)
    assert "\U0001f1fb" not in "".join(e.text for e in entities)
