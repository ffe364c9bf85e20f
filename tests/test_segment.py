import importlib.util
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viextract.graphemes import cluster_bounds
from viextract.normalize import is_separator
from viextract.segment import DEFAULT_SEGMENTER, group_tokens, merge_groups, split_tokens
from viextract.text import MAX_SENTENCE_TOKENS, prepare_text

# underthesea is an optional segmenter (the [bench] extra): test it where it is installed.
SEGMENTERS = [DEFAULT_SEGMENTER] + (["underthesea"] if importlib.util.find_spec("underthesea") else [])


def words_of(text, segmenter=DEFAULT_SEGMENTER):
    return [w.text for s in prepare_text(text, segmenter).sentences for w in s.words]


def test_hyphen_between_names_is_its_own_word():
    assert words_of("hợp tác Việt Nam-Lào") == ["hợp_tác", "Việt_Nam", "-", "Lào"]
    assert words_of("cặp cửa khẩu Lao Bảo–Densavan")[-3:] == ["Lao_Bảo", "–", "Densavan"]


def test_numbers_dates_and_codes_stay_whole():
    text = "từ ngày 25-27/12 năm 2024-2025 đến 16/3/2016, COVID-19 giảm 3.5 lần"
    tokens = [text[a:b] for a, b in split_tokens(text)]
    for whole in ["25-27/12", "2024-2025", "16/3/2016", "COVID-19", "3.5"]:
        assert whole in tokens


def test_words_carry_exact_offsets_into_nfd_original():
    import unicodedata

    original = unicodedata.normalize("NFD", "Trung tướng Lê Đức Thái thăm Lào.")
    for sentence in prepare_text(original).sentences:
        for word in sentence.words:
            surface = original[word.start : word.end]
            assert unicodedata.normalize("NFC", surface).replace(" ", "_") == word.text


def test_line_breaks_end_sentences_in_any_form():
    for newline in ["\n", "\r\n", "\u2028"]:
        text = f"Tiếp tục hợp tác Việt Nam-Lào{newline}Bộ trưởng Bùi Thanh Sơn hoan nghênh"
        sentences = prepare_text(text).sentences
        assert [text[s.start : s.end] for s in sentences] == text.split(newline)


def test_model_form_uses_old_style_tones():
    assert "hoà_bình" in words_of("duy trì hòa bình")


def test_segmenter_never_joins_punctuation_and_disagreement_falls_back():
    tokens = ["Việt", "Nam", ",", "Lào"]
    assert merge_groups(tokens, [0, 0, 0, 1]) == [[0, 1], [2], [3]]
    assert group_tokens(tokens, ["Việt Nam", "Lào"]) is None  # lost the comma: no alignment
    assert merge_groups(tokens, None) == [[0], [1], [2], [3]]


def test_segmenter_respacing_still_aligns():
    # pyvi writes `Việt_Nam` and splits `10/10` into three tokens: only joins are taken.
    tokens = ["Việt", "Nam", "10/10"]
    assert group_tokens(tokens, ["Việt_Nam", "10", "/", "10"]) == [0, 0, 1]


def test_forced_boundaries_split_words():
    text = "Bộ Tư lệnh Bộ đội Biên phòng"
    forced = {text.index("Tư")}
    words = [w.text for s in prepare_text(text, split_at=forced).sentences for w in s.words]
    assert "Tư_lệnh" in words and "Bộ" in words


_ALPHABET = st.sampled_from(
    list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĐỆ") + ["à", "ộ", "ữ", "\u0301", "\u0323", "😀", "\u200b", "\x00", "\t",
     "\r\n", " ", "-", "/", ".", ",", "…", "“", "_", "1", "9", "\ufeff", "𝕏"]
)


@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_words_cover_every_non_separator_character_in_order(text):
    covered = []
    previous_end = 0
    for sentence in prepare_text(text, segmenter="syllables").sentences:
        assert sentence.words
        for word in sentence.words:
            assert previous_end <= word.start < word.end <= len(text)
            assert not is_separator(text[word.start]) and not is_separator(text[word.end - 1])
            covered.extend(range(word.start, word.end))
            previous_end = word.end
    # A mark with no base (after a separator, or first) separates words like a space.
    lone = {
        i
        for a, b in cluster_bounds(text)
        if is_separator(text[a]) or unicodedata.category(text[a]).startswith("M")
        for i in range(a, b)
    }
    expected = [i for i, c in enumerate(text) if not is_separator(c) and i not in lone]
    assert [i for i in covered if not is_separator(text[i]) and i not in lone] == expected


@pytest.mark.parametrize("segmenter", SEGMENTERS)
@given(text=st.lists(_ALPHABET, max_size=60).map("".join))
def test_real_segmenters_keep_the_same_coverage(segmenter, text):
    syllables = prepare_text(text, segmenter="syllables").sentences
    words = prepare_text(text, segmenter).sentences
    cover = lambda sents: [(w.start, w.end) for s in sents for w in s.words]  # noqa: E731
    # Joining words never loses or reorders characters: starts of words are a subset of syllable starts.
    assert {a for a, _ in cover(words)} <= {a for a, _ in cover(syllables)}
    assert [b for _, b in cover(words)][-1:] == [b for _, b in cover(syllables)][-1:]


def test_a_sentence_over_the_limit_is_cut_after_a_comma_not_inside_a_name():
    # 8 + 16 per clause tokens: a cut at exactly 400 falls inside `Quốc | phòng`, splitting a TITLE in two.
    clause = "Thượng tướng Chansamone Chanyalath, Bộ trưởng Quốc phòng Lào tại Hà Nội"
    text = "Trong chuyến thăm chính thức tới Hà Nội " + ", sau đó ".join([clause] * 30) + "."
    pieces = prepare_text(text, segmenter="syllables").sentences
    assert len(pieces) == 2
    assert text[pieces[0].end - 1] == "," and len(pieces[0].words) <= MAX_SENTENCE_TOKENS
    assert text[pieces[1].start :].startswith("Bộ trưởng Quốc phòng Lào")


def test_a_long_sentence_without_clause_marks_is_cut_between_lower_case_words():
    text = "Bộ trưởng thăm Lào " * 150
    pieces = prepare_text(text, segmenter="syllables").sentences
    assert [len(p.words) for p in pieces] == [MAX_SENTENCE_TOKENS - 2, 202]  # `Bộ trưởng | thăm Lào`
    assert [len(p.words) for p in prepare_text("Lào " * 600, segmenter="syllables").sentences] == [400, 200]


def test_a_long_sentence_without_clause_marks_is_not_cut_inside_a_title():
    # The 400th token was `Đại` of `Đại tướng Phan Văn Giang`: the bundled model then gave the TITLE `tướng`.
    text = "hai bên trao đổi " * 99 + "với Đại tướng Phan Văn Giang tại Hà Nội."
    first, second = prepare_text(text, segmenter="syllables").sentences
    assert text[first.end :].lstrip().startswith("với Đại tướng") and len(first.words) <= MAX_SENTENCE_TOKENS


def test_word_segmented_input_reads_as_the_plain_text():
    # VnCoreNLP-style input: `_` between syllables was a token of its own, and the bundled model gave `Thủ_đô_`.
    plain = "Tại Thủ đô Vientiane, Đại tướng Phan Văn Giang hội đàm."
    joined = "Tại Thủ_đô Vientiane, Đại_tướng Phan_Văn_Giang hội_đàm."
    spans = lambda text: [(w.text, w.start, w.end) for s in prepare_text(text).sentences for w in s.words]  # noqa: E731
    assert spans(joined) == spans(plain)
