"""The faster text steps must give exactly what the plain ones give: normalisation, tokens, pyvi's CRF, words."""

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_fast_tokenizer import BUNDLED, HOSTILE, TEXT_SETS
from tests.test_robustness import ODD_INPUTS
from viextract import text as text_module
from viextract.align import SubwordAligner
from viextract.fast_tokenizer import FastPhobertTokenizer
from viextract.normalize import (
    _MOVABLE_PAIRS,
    _TONED_VOWELS,
    _normalize_clusters,
    _old_style_tones,
    _old_style_tones_plain,
    _split_tone,
    normalize_text,
)
from viextract.pyvi_crf import PyviCrf, _NgramCodes
from viextract.segment import _pyvi
from viextract.sentences import split_sentences
from viextract.text import prepare_text
from viextract.tokens import char_classes, split_tokens, split_tokens_plain


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
    found = [
        ViTokenizer.sylabelize(" ".join(norm[a:b] for a, b in split_tokens(norm, *span)))[1]
        for span in split_sentences(norm)
    ]
    return [syllables for syllables in found if syllables]


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_split_tokens_equals_the_plain_loop(texts):
    for text in _texts(texts):
        norm = normalize_text(text).text
        classes = char_classes(norm)
        assert split_tokens(norm) == split_tokens_plain(norm), norm
        for start, end in split_sentences(norm) + [(1, len(norm) - 1)]:
            plain = split_tokens_plain(norm, start, end)
            assert split_tokens(norm, start, end, classes=classes) == plain, norm[start:end]
            assert split_tokens(norm, start, end) == plain, norm[start:end]


# Digits of several scripts, letters, marks, joiners, separators, emoji, skin tones, flags and tags.
_TOKEN_CHARS = "a1Z9٣²ộ\u0301\u0323-–/.,:_!?@ \n\t\u00a0\u200b\u200d😀👍🏽🇻🇳\U000e0067\ufe0f"


@given(st.text(alphabet=st.sampled_from(_TOKEN_CHARS)), st.integers(0, 5), st.integers(0, 5))
def test_split_tokens_equals_the_plain_loop_on_any_string(text, cut_start, cut_end):
    end = max(cut_start, len(text) - cut_end)
    assert split_tokens(text) == split_tokens_plain(text)
    assert split_tokens(text, cut_start, end) == split_tokens_plain(text, cut_start, end)
    assert split_tokens(text, cut_start, end, classes=char_classes(text)) == split_tokens_plain(text, cut_start, end)


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_tone_placement_equals_the_plain_loop(texts):
    for text in _texts(texts) + ["hòa thủy quý QÙY khỏe Hòa. hòA tòan ùy-òa òa"]:
        assert _old_style_tones(text) == _old_style_tones_plain(text), text


@given(st.text(alphabet=st.sampled_from("oaueyqOAUEYQ òóỏõọùúủũụÒÙÝýỳàè\u0300\u0301\u0323-.1")))
def test_tone_placement_equals_the_plain_loop_on_any_string(text):
    assert _old_style_tones(text) == _old_style_tones_plain(text)


def test_every_movable_pair_is_a_candidate():
    """No character outside the fast path's candidate pattern can start or end a movable pair."""
    split_tone = _split_tone.__wrapped__  # uncached: a million code points would fill the cache
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        base, tone = split_tone(char)
        if tone is not None and base.lower() in ("o", "u"):
            assert char in _TONED_VOWELS, hex(code)
        if tone is None and any((first + char).lower() in _MOVABLE_PAIRS for first in "oOuU"):
            assert char in "aAeEyY", hex(code)


_SYLLABLE = st.text(alphabet=st.sampled_from("aAΣσςİiI\u0307\u0301.'b"), min_size=1, max_size=4)


@given(st.lists(_SYLLABLE, max_size=10), st.lists(_SYLLABLE, max_size=6))
def test_ngram_codes_equal_pyvi_lookups(syllables, others):
    """pyvi's `" ".join(words).lower() in dictionary`, final sigmas and dotted capitals included."""
    every = syllables + others
    bi = {" ".join(pair).lower() for pair in zip(every[::2], every[1::2])} | {"ας σ", "σ ας", "i̇ a"}
    tri = {" ".join(triple).lower() for triple in zip(every, every[1:], every[3:])} | {"a ας σ"}
    codes = _NgramCodes(bi, tri)
    pairs, triples = codes.flags(np.array([codes.word_id(s.lower()) for s in syllables], dtype=np.int64))
    assert pairs.tolist() == [float(" ".join([a, b]).lower() in bi) for a, b in zip(syllables, syllables[1:])]
    expected = [float(" ".join(t).lower() in tri) for t in zip(syllables, syllables[1:], syllables[2:])]
    assert triples.tolist() == expected


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
def test_one_window_equals_the_sliding_windows(texts):
    aligner = SubwordAligner(FastPhobertTokenizer.from_pretrained(BUNDLED / "ner"))
    for text in _texts(texts):
        for sentence in prepare_text(text).sentences:
            words = [w.text for w in sentence.words]
            pieces = aligner.words_ids(words)
            assert aligner.windows(words) == aligner._sliding_windows(list(pieces), list(map(len, pieces)))
    assert aligner.windows([]) == []


_PYVI_CHARS = "aĐđTpMrsD1209.,_+-@:/=><xyz!?()“”…'"


@given(st.lists(st.text(alphabet=st.sampled_from(_PYVI_CHARS), min_size=1, max_size=6), max_size=8))
def test_tokens_that_are_each_one_pyvi_syllable_are_the_sentence_syllables(tokens):
    """No pyvi pattern matches a space: a sentence of one-syllable tokens is those syllables (the batch's shortcut)."""
    from pyvi.ViTokenizer import ViTokenizer

    if all(ViTokenizer.sylabelize(token)[1] == [token] for token in tokens):
        assert ViTokenizer.sylabelize(" ".join(tokens))[1] == tokens


def test_pyvi_labels_when_the_syllable_table_starts_again_and_threads_share_it(monkeypatch):
    """A full syllable table starts again, and four threads adding syllables at once still get crfsuite's labels."""
    import threading

    from pyvi import ViTokenizer as module

    from viextract import pyvi_crf

    pyvi = module.ViTokenizer
    sentences = [syllables for text in TEXT_SETS["written"]() for syllables in _pyvi_syllables(text)]
    expected = [list(pyvi.model.predict_single(pyvi.sent2features(s, False))) for s in sentences]
    monkeypatch.setattr(pyvi_crf, "_CACHED_SYLLABLES", 300)
    crf = PyviCrf.from_pyvi()
    batches = [range(i, min(i + 3, len(sentences))) for i in range(0, len(sentences), 3)]
    found: dict[int, list] = {}

    def work(worker: int) -> None:  # each thread in its own order, so they add different syllables at once
        order = batches[worker::4] + batches[:worker:-1]
        found[worker] = [(batch, crf.predict([sentences[i] for i in batch])) for batch in order]

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == [0, 1, 2, 3]
    for results in found.values():
        for batch, labels in results:
            assert labels == [expected[i] for i in batch]


def test_crfsuite_reader_refuses_what_it_cannot_reproduce():
    from viextract.crfsuite_model import UnsupportedModel, read_crfsuite
    from viextract.segment import _pyvi_tagger

    with pytest.raises(UnsupportedModel, match="not a CRFsuite"):
        read_crfsuite(b"\\0" * 64)
    # The fallback when it refuses: pyvi's own tagger, the same labels.
    sentences = [s for text in TEXT_SETS["written"]()[:20] for s in _pyvi_syllables(text)]
    sentences = [[], *sentences[:5], [], *sentences[5:], []]  # empty sentences have no labels, wherever they are
    assert _pyvi_tagger(sentences) == PyviCrf.from_pyvi().predict(sentences)
