"""Reading word tags from the model's distributions: the best valid IOB2 sequence (Viterbi)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viextract.bio import best_valid_tags
from viextract.labels import bio_labels

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]


def is_valid(tags):
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def log_rows(*rows):
    probs = np.array(rows, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(probs / probs.sum(axis=1, keepdims=True))


def test_a_stray_tag_inside_a_name_no_longer_splits_it():
    # Word by word: B-ORG, I-PER (wrong type, barely), I-ORG -> argmax reads ORG, PER, ORG.
    scores = log_rows(
        [0.05, 0.05, 0.0, 0.85, 0.05],
        [0.05, 0.0, 0.45, 0.0, 0.5 - 0.06],
        [0.05, 0.0, 0.05, 0.0, 0.9],
    )
    argmax = [LABELS[i] for i in scores.argmax(axis=1)]
    assert argmax == ["B-ORG", "I-PER", "I-ORG"]
    assert [LABELS[i] for i in best_valid_tags(scores, LABELS)] == ["B-ORG", "I-ORG", "I-ORG"]


def test_an_entity_never_starts_with_i():
    scores = log_rows([0.3, 0.2, 0.5, 0.0, 0.0], [0.1, 0.0, 0.9, 0.0, 0.0])
    assert [LABELS[i] for i in best_valid_tags(scores, LABELS)] == ["B-PER", "I-PER"]


def test_log_zero_probabilities_and_empty_input():
    # A float32 softmax can round a probability to 0; log 0 = -inf must not poison the sequence.
    with np.errstate(divide="ignore"):
        scores = np.log(np.array([[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]))
    assert best_valid_tags(scores, LABELS) == [1, 2]
    assert best_valid_tags(np.zeros((0, len(LABELS))), LABELS) == []
    with pytest.raises(ValueError, match="shape"):
        best_valid_tags(np.zeros((3, 4)), LABELS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5), min_size=1, max_size=5))
def test_it_is_the_most_probable_valid_sequence(rows):
    scores = log_rows(*rows)
    best = best_valid_tags(scores, LABELS)
    assert is_valid([LABELS[i] for i in best])

    def total(path):
        return sum(scores[t, i] for t, i in enumerate(path))

    valid = [p for p in itertools.product(range(len(LABELS)), repeat=len(rows)) if is_valid([LABELS[i] for i in p])]
    assert math.isclose(total(best), max(total(p) for p in valid), abs_tol=1e-9)
    # Where each word's own best tag already forms a valid sequence, nothing changes.
    argmax = scores.argmax(axis=1).tolist()
    if is_valid([LABELS[i] for i in argmax]):
        assert total(best) == pytest.approx(total(argmax))


def test_schema_labels_decode_to_valid_tags():
    labels = bio_labels()
    rng = np.random.default_rng(0)
    scores = np.log(rng.dirichlet(np.ones(len(labels)) * 0.3, size=40))
    assert is_valid([labels[i] for i in best_valid_tags(scores, labels)])


def test_tagger_decodes_valid_sequences_and_keeps_argmax_as_an_option(tiny_ner_dir):
    from viextract import Extractor

    extractor = Extractor.from_pretrained(tiny_ner_dir)
    words = ["Lê_Đức_Thái", "gặp", "Bộ_trưởng", "Bộ", "Quốc_phòng", "Lào", "tại", "Vientiane"] * 6
    viterbi = extractor.tagger.tag([words])[0]
    assert is_valid([t.label for t in viterbi])
    assert all(0.0 < t.prob <= 1.0 for t in viterbi)
    extractor.tagger.decoding = "argmax"
    argmax = extractor.tagger.tag([words])[0]
    # Argmax tags each word alone: its tag is the most probable one, so never less probable.
    assert all(a.prob >= v.prob - 1e-6 for a, v in zip(argmax, viterbi))
    with pytest.raises(ValueError, match="decoding"):
        type(extractor.tagger)(extractor.ner_model, extractor.tokenizer, decoding="greedy")
