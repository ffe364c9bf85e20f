"""Text in capitals (headlines) reaches the models in the usual case of their vocabulary, offsets unchanged:
PhoBERT's cased vocabulary cuts `ĐẠI_TƯỚNG` into letters, and the bundled model found 4% of the
challenge set's entities in capitals."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.grapheme_helpers import TagEverything
from viextract import extract
from viextract.capitals import casing_table, in_capitals, recase_capitals

# Ids in order of frequency, as PhoBERT's vocab.txt: the first form of a word is its usual one.
VOCABULARY = {
    "<s>": 0,
    ",": 4,
    "hồ": 5,
    "Hồ": 6,
    "Hồ_Chí_Minh": 7,
    "hồ_chí_minh": 8,
    "Đại_tướng": 9,
    "tiếp": 10,
    "Phan_Văn_Giang": 11,
    "BĐBP": 12,
    "bđbp": 13,
    "Tiếp": 14,
    "ĐẠI@@": 15,
    "Khánh_Hoà": 16,  # old-style tone placement, as PhoBERT's vocabulary and normalize_text write it
    # A name's syllables alone are mostly common words: `phạm` (commit), `chính` (main).
    "phạm": 17,
    "chính": 19,
    "Phạm": 20,
    "Chính": 21,
    "lý_do": 22,
    "Lâm": 23,
}


class Vocabulary:
    def get_vocab(self):
        return VOCABULARY


def test_the_table_keeps_each_words_most_frequent_form_and_only_whole_words():
    table = casing_table(VOCABULARY)
    assert table["hồ"] == "hồ" and table["hồ_chí_minh"] == "Hồ_Chí_Minh" and table["bđbp"] == "BĐBP"
    assert table["tiếp"] == "tiếp" and "đại@@" not in table and "," not in table


@pytest.mark.parametrize(
    ("text", "model_text"),
    [
        # The longest known word wins over its syllables; an unknown syllable goes to lower case.
        ("ĐẠI TƯỚNG PHAN VĂN GIANG TIẾP BĐBP HỒ CHÍ MINH", "Đại tướng Phan Văn Giang tiếp BĐBP Hồ Chí Minh"),
        ("Tin mới. ĐẠI TƯỚNG PHAN VĂN GIANG TIẾP.\nHồ", "Tin mới. Đại tướng Phan Văn Giang tiếp.\nHồ"),
        # Too few capitals (an acronym, a label), or a lower-case letter: left as written.
        ("Theo BĐBP, UBND TỈNH", "Theo BĐBP, UBND TỈNH"),
        ("ĐẠI TƯỚNG Phan Văn Giang TIẾP", "ĐẠI TƯỚNG Phan Văn Giang TIẾP"),
        # Syllables joined by anything but one space are looked up alone.
        ("HỒ-CHÍ-MINH HỒ  CHÍ MINH", "Hồ-chí-minh hồ  chí minh"),
    ],
)
def test_runs_in_capitals_take_the_vocabularys_case(text, model_text):
    assert recase_capitals(text, Vocabulary()) == model_text


@pytest.mark.parametrize(
    ("text", "model_text"),
    [
        # Surname, middle name, given name: all three in title case, though `phạm` and `chính` are usually lower
        # and `minh` unknown.
        ("THỦ TƯỚNG PHẠM MINH CHÍNH TIẾP ĐOÀN", "Thủ tướng Phạm Minh Chính tiếp đoàn"),
        ("ĐÓN PHẠM MINH CHÍNH", "Đón Phạm Minh Chính"),
        # Each middle name carries the name one syllable further, four at most.
        ("BÀ NGUYỄN THỊ KIM NGÂN DỰ HỌP", "Bà Nguyễn Thị Kim Ngân dự họp"),
        ("ÔNG NGUYỄN VĂN THỊ MINH ĐỨC DỰ", "Ông Nguyễn Văn Thị Minh đức dự"),
        # After a given name that is no middle name the name ends; an unlisted surname keeps the vocabulary's case.
        ("ÔNG PHẠM CHÍNH TIẾP ĐOÀN", "Ông Phạm Chính tiếp đoàn"),
        ("CHỦ TỊCH TÔ LÂM TIẾP ĐOÀN", "Chủ tịch tô Lâm tiếp đoàn"),
        # A surname alone, inside a longer word, or not one space before the next syllable: no name.
        ("TIẾP ĐOÀN ĐẠI BIỂU PHẠM", "Tiếp đoàn đại biểu phạm"),
        ("TIẾP PHẠM HỒ CHÍ MINH", "Tiếp phạm Hồ Chí Minh"),
        ("LÝ DO TIẾP ĐOÀN ĐẠI BIỂU", "Lý do tiếp đoàn đại biểu"),
        ("TIẾP PHẠM, MINH CHÍNH", "Tiếp phạm, minh chính"),
    ],
)
def test_a_persons_name_in_capitals_reaches_the_models_in_title_case(text, model_text):
    """The bundled model found `PHẠM MINH` only in `THỦ TƯỚNG PHẠM MINH CHÍNH TIẾP ...`: it read `phạm Minh chính`."""
    assert recase_capitals(text, Vocabulary()) == model_text


def test_a_headline_in_nfd_or_with_new_style_tones_is_recased_as_its_nfc_old_style_twin():
    """Runs are looked up in the normalised text: combining marks do not split syllables, `HÒA` finds `Hoà`."""
    import unicodedata

    nfc = "ĐẠI TƯỚNG PHAN VĂN GIANG TIẾP"
    for form in ("NFD", "NFKD"):
        out = recase_capitals(unicodedata.normalize(form, nfc), Vocabulary())
        assert len(out) == len(unicodedata.normalize(form, nfc))
        assert unicodedata.normalize("NFC", out) == "Đại tướng Phan Văn Giang tiếp"
    # The caller's own tone placement is kept; only the case changes.
    assert recase_capitals("TỈNH KHÁNH HÒA", Vocabulary()) == "Tỉnh Khánh Hòa"
    assert recase_capitals("TỈNH KHÁNH HOÀ", Vocabulary()) == "Tỉnh Khánh Hoà"


@given(st.text(alphabet=st.sampled_from(list("ĐẠIHỒCHÍMINHßİﬁ ,.\n1aă")), max_size=60))
def test_the_length_never_changes_and_text_with_a_lower_case_letter_stays(text):
    out = recase_capitals(text, Vocabulary())
    assert len(out) == len(text)
    assert all(a.lower() == b.lower() or a == b for a, b in zip(text, out))
    if not any(in_capitals(run) for run in re.split(r"[.!?\n]", text)):
        assert out == text


def test_the_models_read_the_recased_words_and_entities_keep_the_callers_text(tiny_extractor, monkeypatch):
    seen = []

    class Recording(TagEverything):
        def tag(self, sentences, *args, **kwargs):
            seen.extend(sentences)
            return super().tag(sentences, *args, **kwargs)

    monkeypatch.setattr(tiny_extractor, "tagger", Recording(tiny_extractor.tagger.aligner))
    text = "BỘ TRƯỞNG QUỐC PHÒNG PHAN VĂN GIANG"
    (entity,) = tiny_extractor(text).entities
    assert (entity.text, entity.start, entity.end) == (text, 0, len(text))
    assert any(char.islower() for sentence in seen for word in sentence for char in word)


def test_the_bundled_model_reads_a_headline_in_capitals():
    text = "ĐẠI TƯỚNG PHAN VĂN GIANG TIẾP ĐOÀN ĐẠI BIỂU QUÂN ĐỘI NHÂN DÂN LÀO TẠI HÀ NỘI"
    found = {(e.label, e.text) for e in extract(text).entities}
    assert {("PER", "PHAN VĂN GIANG"), ("LOC", "HÀ NỘI")} <= found
    assert all(text[e.start : e.end] == e.text for e in extract(text).entities)
