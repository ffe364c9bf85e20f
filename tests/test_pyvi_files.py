"""pyvi's model, dictionary and syllables read without `pyvi.ViTokenizer` are exactly what that module gives."""

from pathlib import Path

import pytest

from tests.test_fast_tokenizer import HOSTILE
from viextract import pyvi_crf, pyvi_files, segment
from viextract.pyvi_files import read_model_bytes, read_ngrams, sylabelize

ViTokenizer = pytest.importorskip("pyvi.ViTokenizer").ViTokenizer

# One of each kind of pyvi pattern: abbreviations, specials, web address, e-mail, grouped digits, punctuation.
SENTENCES = [
    "Chiều tối 10/10 tại thủ đô Vientiane, Đoàn đại biểu Bộ Tư lệnh Bộ đội Biên phòng Việt Nam đã đến.",
    "TP. Hồ Chí Minh và Tp. Đà Nẵng: ông Mr. Smith, Dr. Lan, ThS. Hùng, UBND. tỉnh...",
    "Giá 1.234.567,89 đồng ==> tăng 2,5% -> 3_000 >> hết\nxem https://vnexpress.net/a-b?c=1",
    "hoặc viết cho ban.bien-tap@vnu.edu.vn...",
    "Ông NGUYỄN VĂN A (sinh năm 1970) nói: “Hoà bình!” — năm 2016-2020.",
    "Hòa bình, thủy lợi, quý, KHOẺ, Hoà.",  # NFD and NFC forms, as pyvi normalises them
    "ngày 5/3/2024 lúc 8h30, ¼ số người ✓ đồng ý _ x",
]


def test_the_model_file_and_dictionary_are_pyvis():
    assert read_model_bytes() == Path(ViTokenizer.model.modelfile.name).read_bytes()
    assert read_ngrams() == (ViTokenizer.bi_grams, ViTokenizer.tri_grams)


@pytest.mark.parametrize("text", SENTENCES + HOSTILE)
def test_syllables_are_pyvis(text):
    import unicodedata

    assert sylabelize(text) == ViTokenizer.sylabelize(text)
    assert sylabelize(unicodedata.normalize("NFD", text)) == ViTokenizer.sylabelize(unicodedata.normalize("NFD", text))


def _segmented(texts):
    segment._pyvi_predict.cache_clear(), segment._sylabelize.cache_clear(), segment._token_traits.cache_clear()
    sentences = [text.split() for text in texts]
    return [segment._pyvi(tokens) for tokens in sentences], segment.pyvi_word_starts(sentences)


def test_words_are_those_of_pyvis_own_module(monkeypatch):
    light = _segmented(SENTENCES)
    for module in (pyvi_files, pyvi_crf, segment):
        monkeypatch.setattr(module, "light_pyvi", lambda: False)
    try:
        assert _segmented(SENTENCES) == light
    finally:
        segment._pyvi_predict.cache_clear(), segment._sylabelize.cache_clear(), segment._token_traits.cache_clear()


def test_another_pyvi_release_uses_pyvis_own_module(monkeypatch):
    """Our copy of `sylabelize` and the pickle's layout are pyvi 0.1.1's; another release may change either."""
    pyvi_files.light_pyvi.cache_clear()
    monkeypatch.setattr(pyvi_files, "PYVI_VERSION", "0.0.0")
    try:
        assert not pyvi_files.light_pyvi()
    finally:
        pyvi_files.light_pyvi.cache_clear()


def test_a_pickle_without_the_model_file_is_unavailable(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "pyvi3.pkl").write_bytes(b"\x80\x02}q\x00.")  # an empty dict
    monkeypatch.setattr(pyvi_files, "_folder", lambda: tmp_path)
    with pytest.raises(pyvi_files.Unavailable, match="pyvi3.pkl: no CRFsuite model"):
        read_model_bytes()
