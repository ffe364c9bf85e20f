"""The faster text steps must give exactly what the plain ones give: normalisation and pyvi's segmentation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_fast_tokenizer import HOSTILE, TEXT_SETS
from tests.test_robustness import ODD_INPUTS
from viextract.normalize import _normalize_clusters, normalize_text
from viextract.segment import _pyvi, split_tokens
from viextract.sentences import split_sentences


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
