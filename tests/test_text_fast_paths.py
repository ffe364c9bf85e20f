"""The faster text steps must give exactly what the plain ones give: normalisation, pyvi's CRF and segmentation, words."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_fast_tokenizer import HOSTILE, TEXT_SETS
from tests.test_robustness import ODD_INPUTS
from viextract import text as text_module
from viextract.normalize import _normalize_clusters, normalize_text
from viextract.pyvi_crf import PyviCrf
from viextract.segment import _pyvi, split_tokens
from viextract.sentences import split_sentences
from viextract.text import prepare_text


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_the_simple_path_normalises_as_the_cluster_path(texts):
    for text in TEXT_SETS[texts]() + ["Hòa bình, thủy lợi, quý, KHOẺ, Hoà."]:
        assert normalize_text(text) == _normalize_clusters(text), text


@given(st.text(alphabet=st.sampled_from("aoueyAOUEYqQ òóỏõọủúùũụ ýỳỷỹỵ\n\t\u00a0\u200b.,-" + "àáảãạèéẻẽẹ")))
def test_the_simple_path_normalises_as_the_cluster_path_on_any_vietnamese_like_text(text):
    assert normalize_text(text) == _normalize_clusters(text)


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_pyvi_segments_as_pyvi_itself(texts):
    from pyvi import ViTokenizer

    for text in TEXT_SETS[texts]() + HOSTILE + list(ODD_INPUTS.values()):
        norm = normalize_text(text).text
        for start, end in split_sentences(norm):
            tokens = [norm[a:b] for a, b in split_tokens(norm, start, end)]
            assert _pyvi(tokens) == ViTokenizer.tokenize(" ".join(tokens)).split(), tokens


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_pyvi_labels_equal_python_crfsuite(texts):
    """PyviCrf decodes pyvi's model to python-crfsuite's labels, one sentence at a time and in one batch."""
    from pyvi import ViTokenizer as module

    pyvi = module.ViTokenizer
    crf = PyviCrf.from_pyvi()
    sentences = [syllables for text in _texts(texts) for syllables in _pyvi_syllables(text)]
    expected = [list(pyvi.model.predict_single(pyvi.sent2features(s, False))) for s in sentences]
    assert crf.predict(sentences) == expected
    assert [crf.predict([s])[0] for s in sentences[:300]] == expected[:300]


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_prepared_text_equals_the_general_path(texts, monkeypatch):
    """`prepare_text`'s batch pyvi path gives the words of segmenting each sentence and matching strings back."""
    fast = [prepare_text(text) for text in _texts(texts)]
    forced = [prepare_text(text, split_at=range(0, len(text), 7)) for text in _texts(texts)]
    monkeypatch.setattr(text_module, "pyvi_word_starts", lambda sentences: [None] * len(sentences))
    assert fast == [prepare_text(text) for text in _texts(texts)]
    assert forced == [prepare_text(text, split_at=range(0, len(text), 7)) for text in _texts(texts)]


def _texts(name: str) -> list[str]:
    return TEXT_SETS[name]() + HOSTILE + list(ODD_INPUTS.values())


def _pyvi_syllables(text: str) -> list[list[str]]:
    """pyvi's syllables of each sentence, as `prepare_text` hands them to the segmenter."""
    from pyvi.ViTokenizer import ViTokenizer

    norm = normalize_text(text).text
    found = [ViTokenizer.sylabelize(" ".join(norm[a:b] for a, b in split_tokens(norm, *span)))[1] for span in split_sentences(norm)]
    return [syllables for syllables in found if syllables]
