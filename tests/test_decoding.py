"""Reading word tags from the model's distributions: the best valid IOB2 sequence (Viterbi)."""

import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viextract.bio import (
    BIGRAM_SMOOTHING,
    WORD_SHAPES,
    TagBigrams,
    WordContext,
    WordShapes,
    best_valid_tags,
    word_shape,
)
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


# ---- tag bigrams: the training data's tag transitions, added to the model's scores -----------------


def test_bigrams_are_smoothed_log_frequencies_of_the_training_tags():
    bigrams = TagBigrams.estimate([["B-PER", "I-PER", "O"], ["O"], []], LABELS, weight=0.5)
    s = BIGRAM_SMOOTHING
    # Starts: B-PER once, O once; every tag also gets the smoothing count.
    assert np.allclose(np.exp(bigrams.start), np.array([1 + s, 1 + s, s, s, s]) / (2 + 5 * s))
    # After B-PER: I-PER once. After O: nothing was seen, so the row is uniform.
    b_per = LABELS.index("B-PER")
    assert np.allclose(np.exp(bigrams.transition[b_per]), np.array([s, s, 1 + s, s, s]) / (1 + 5 * s))
    assert np.allclose(np.exp(bigrams.transition[LABELS.index("O")]), 0.2)
    assert bigrams.weight == 0.5 and bigrams.labels == tuple(LABELS)
    with pytest.raises(KeyError):
        TagBigrams.estimate([["B-LOC"]], LABELS, weight=1.0)


def test_bigrams_keep_a_name_whole_that_the_model_alone_splits_into_two_types():
    # "Sonexay Siphandone": the second word leans to B-ORG over I-PER, so even valid decoding
    # reads PER + ORG. The training data never shows B-ORG straight after B-PER.
    scores = log_rows([0.1, 0.8, 0.0, 0.1, 0.0], [0.1, 0.0, 0.4, 0.5, 0.0])
    training_tags = [["B-PER", "I-PER", "O"]] * 20 + [["B-ORG", "I-ORG", "O", "B-PER"]] * 10
    bigrams = TagBigrams.estimate(training_tags, LABELS, weight=0.75)
    assert [LABELS[i] for i in best_valid_tags(scores, LABELS)] == ["B-PER", "B-ORG"]
    assert [LABELS[i] for i in best_valid_tags(scores, LABELS, bigrams)] == ["B-PER", "I-PER"]
    assert best_valid_tags(scores, LABELS, replace(bigrams, weight=0.0)) == best_valid_tags(scores, LABELS)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5), min_size=1, max_size=4),
    st.lists(st.lists(st.sampled_from(LABELS), min_size=1, max_size=6), min_size=0, max_size=6),
    st.floats(0.0, 3.0),
)
def test_with_bigrams_it_is_the_best_valid_sequence_under_the_combined_score(rows, training_tags, weight):
    scores = log_rows(*rows)
    bigrams = TagBigrams.estimate(training_tags, LABELS, weight)
    best = best_valid_tags(scores, LABELS, bigrams)
    assert is_valid([LABELS[i] for i in best])

    def total(path):
        emissions = sum(scores[t, i] for t, i in enumerate(path))
        transitions = bigrams.start[path[0]] + sum(bigrams.transition[a, b] for a, b in zip(path, path[1:]))
        return emissions + weight * transitions

    valid = [p for p in itertools.product(range(len(LABELS)), repeat=len(rows)) if is_valid([LABELS[i] for i in p])]
    assert math.isclose(total(best), max(total(p) for p in valid), abs_tol=1e-9)


def test_bigrams_round_trip_through_config_json_by_tag_name():
    bigrams = TagBigrams.estimate([["B-PER", "I-PER", "O", "B-ORG"]], LABELS, weight=0.75)
    stored = json.loads(json.dumps(bigrams.to_dict()))
    back = TagBigrams.from_dict(stored, LABELS)
    assert back.weight == 0.75 and np.allclose(back.transition, bigrams.transition)
    # Read in another label order, each entry follows its tag.
    reordered = list(reversed(LABELS))
    moved = TagBigrams.from_dict(stored, reordered)
    i, j = reordered.index("B-PER"), reordered.index("I-PER")
    assert moved.transition[i, j] == pytest.approx(bigrams.transition[LABELS.index("B-PER"), LABELS.index("I-PER")])
    with pytest.raises(ValueError, match="tag_bigrams are for tags"):
        best_valid_tags(np.zeros((2, 5)), reordered, bigrams)
    with pytest.raises(ValueError, match="'I-ORG'"):
        TagBigrams.from_dict({**stored, "start": {k: v for k, v in stored["start"].items() if k != "I-ORG"}}, LABELS)
    with pytest.raises(ValueError, match="weight"):
        TagBigrams.from_dict({**stored, "weight": -1}, LABELS)


def saved_with_table(extractor, directory, table):
    """`directory`: `extractor` saved with `table` stored in its NER config.json; the one in memory keeps none."""
    extractor.ner_model.config.viextract = {"segmenter": "pyvi", table.KEY: table.to_dict()}
    try:
        extractor.save_pretrained(directory)
    finally:
        extractor.ner_model.config.viextract = {}
    return directory


def edit_stored_settings(directory, edit) -> None:
    """Apply `edit` to the `viextract` settings of the NER config.json saved in `directory`."""
    config_path = directory / "ner" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    edit(config["viextract"])
    config_path.write_text(json.dumps(config), encoding="utf-8")


def test_tagger_reads_bigrams_from_the_config_and_constrained_decoding_ignores_them(tiny_ner_dir, tmp_path):
    from viextract import Extractor, ModelLoadError

    extractor = Extractor.from_pretrained(tiny_ner_dir)
    assert extractor.tagger.bigrams is None  # a model saved without them decodes with constraints only
    labels = extractor.tagger.labels
    # Bigrams that make any entity tag all but impossible: Viterbi then reads every word as O.
    all_o = TagBigrams.estimate([["O"] * 50] * 50, labels, weight=3.0)
    model_dir = saved_with_table(extractor, tmp_path / "with_bigrams", all_o)
    loaded = Extractor.from_pretrained(model_dir)
    words = ["Lê_Đức_Thái", "gặp", "Bộ_trưởng", "Bộ", "Quốc_phòng", "Lào", "tại", "Vientiane"] * 6
    assert {t.label for t in loaded.tagger.tag([words])[0]} == {"O"}
    loaded.tagger.decoding = "constrained"
    extractor.tagger.decoding = "viterbi"
    assert loaded.tagger.tag([words]) == extractor.tagger.tag([words])

    edit_stored_settings(model_dir, lambda settings: settings["tag_bigrams"]["transition"].pop("O"))
    with pytest.raises(ModelLoadError, match=r"ner/config.json: field 'viextract': tag_bigrams: .*'O'"):
        Extractor.from_pretrained(model_dir)


# ---- word context: what the previous word tells about a tag ------------------------------------------

RANKED = [(["Thượng_tướng", "A", "và", "Thượng_tướng", "B"], ["O", "B-PER", "O", "O", "B-PER"])] * 3 + [
    (["tại", "Lào", "và", "tại", "Hà_Nội"], ["O", "B-ORG", "O", "O", "B-ORG"])
] * 3


def test_word_context_is_the_pmi_of_the_next_tag_for_frequent_previous_words():
    context = WordContext.estimate(RANKED, LABELS, weight=0.5, min_count=5)
    assert set(context.previous) == {"Thượng_tướng", "tại", "và"}  # 6 sightings each; A, Lào: 3
    rank = dict(zip(LABELS, context.previous["Thượng_tướng"]))
    assert rank["B-PER"] > 0 > rank["B-ORG"] and rank["O"] < 0  # after a rank comes a name
    after_and = dict(zip(LABELS, context.previous["và"]))
    assert after_and["O"] > 0 and after_and["B-PER"] < 0
    assert WordContext.estimate(RANKED, LABELS, weight=0.5, min_count=7).previous == {}
    bias = context.bias(["Thượng_tướng", "Khamphet", "nói"])
    assert not bias[0].any() and not bias[2].any()  # no predecessor; `Khamphet` was never seen
    assert np.allclose(bias[1], 0.5 * context.previous["Thượng_tướng"])


def test_word_context_turns_a_doubtful_name_after_a_rank_into_a_person():
    context = WordContext.estimate(RANKED, LABELS, weight=1.0, min_count=5)
    words = ["Thượng_tướng", "Chansamone_Chanyalath"]
    # The model leans to ORG for the name (0.5 vs 0.4); the context of a rank tips it to PER.
    rows = log_rows([0.9, 0.02, 0.02, 0.04, 0.02], [0.04, 0.4, 0.02, 0.5, 0.04])
    assert [LABELS[i] for i in best_valid_tags(rows, LABELS)] == ["O", "B-ORG"]
    assert [LABELS[i] for i in best_valid_tags(rows + context.bias(words), LABELS)] == ["O", "B-PER"]


def test_word_context_round_trips_through_config_json_and_refuses_bad_entries():
    context = WordContext.estimate(RANKED, LABELS, weight=0.25, min_count=5)
    stored = json.loads(json.dumps(context.to_dict()))
    back = WordContext.from_dict(stored, list(reversed(LABELS)))  # keyed by tag: any label order reads it
    for word, row in context.previous.items():
        assert np.allclose(back.previous[word][::-1], row, atol=1e-4)
    assert back.weight == 0.25
    with pytest.raises(ValueError, match="word_context is for tags"):
        best_valid_tags(np.zeros((2, 5)), list(reversed(LABELS)), context=context, words=["và", "A"])
    with pytest.raises(ValueError, match="3 words for 2 rows"):
        best_valid_tags(np.zeros((2, 5)), LABELS, context=context, words=["và", "A", "B"])
    with pytest.raises(ValueError, match="word_context: missing or malformed entry 'I-ORG'"):
        WordContext.from_dict({"weight": 1, "previous": {"và": {"O": 1.0}}}, LABELS[:1] + ["I-ORG"])
    with pytest.raises(ValueError, match="weight"):
        WordContext.from_dict({**stored, "weight": -1}, LABELS)
    with pytest.raises(ValueError, match="finite"):
        WordContext.from_dict({**stored, "previous": {"và": dict.fromkeys(LABELS, float("nan"))}}, LABELS)


def test_tagger_applies_the_stored_word_context_and_a_broken_one_is_refused_at_load(tiny_ner_dir, tmp_path):
    from viextract import Extractor, ModelLoadError

    extractor = Extractor.from_pretrained(tiny_ner_dir)
    assert extractor.tagger.context is None
    labels = extractor.tagger.labels
    # A context after which every word is a person, strongly: the tagger must follow it.
    # (every tag is seen somewhere, so that the PMI after `gặp` is high for B-PER alone)
    sentences = [(["gặp", "X", "nói"], ["O", "B-PER", "O"])] * 10 + [(["bên", "Y"], ["O", tag]) for tag in labels]
    context = WordContext.estimate(sentences, labels, weight=50.0)
    model_dir = saved_with_table(extractor, tmp_path / "with_context", context)
    loaded = Extractor.from_pretrained(model_dir)
    words = ["Lê_Đức_Thái", "gặp", "Bộ_trưởng", "gặp", "Vientiane"]
    tags = loaded.tagger.tag([words])[0]
    assert tags[2].label == tags[4].label == "B-PER"
    plain = extractor.tagger.tag([words])[0]
    (window,) = loaded.tagger.aligner.windows(words)
    model_log_probs = loaded.tagger._run([window])[0]
    assert tags[2].prob == pytest.approx(float(np.exp(model_log_probs[2][labels.index("B-PER")])), rel=1e-5)
    loaded.tagger.decoding = "constrained"
    assert loaded.tagger.tag([words])[0] == plain  # only Viterbi weighs the context

    edit_stored_settings(model_dir, lambda settings: settings["word_context"].update(weight="heavy"))
    with pytest.raises(ModelLoadError, match=r"ner/config.json: field 'viextract': word_context"):
        Extractor.from_pretrained(model_dir)


# ---- word shapes: what capitals and digits tell about a tag ----------------------------------------


@pytest.mark.parametrize(
    "word, shape",
    [
        ("Phan_Văn_Giang", "cap_all"),
        ("Lào", "cap_all"),
        ("Bộ_trưởng", "cap_first"),
        ("Đảng", "cap_all"),
        ("ASEAN", "allcaps"),
        ("TTXVN", "allcaps"),
        ("A", "cap_all"),  # one capital letter is a name's initial, not an acronym
        ("10/10", "digit"),
        ("COVID-19", "digit"),
        ("2024-2025", "digit"),
        (",", "punct"),
        ("“", "punct"),
        ("trưởng_đoàn", "lower"),
        ("thủ_đô", "lower"),
        ("nhân_dân_Lào", "cap_later"),
    ],
)
def test_word_shape_classes(word, shape):
    assert word_shape(word) == shape and shape in WORD_SHAPES


SHAPED = [(["Thượng_tướng", "Khamphet", "đến", "10/10"], ["O", "B-PER", "O", "O"])] * 6


def test_word_shapes_are_the_pmi_of_each_shape_and_steer_a_doubtful_word():
    shapes = WordShapes.estimate(SHAPED, LABELS, weight=1.0, min_count=5)
    assert set(shapes.shapes) == {"cap_first", "cap_all", "lower", "digit"}
    assert dict(zip(LABELS, shapes.shapes["cap_all"]))["B-PER"] > 0
    assert dict(zip(LABELS, shapes.shapes["lower"]))["B-PER"] < 0
    assert WordShapes.estimate(SHAPED, LABELS, weight=1.0, min_count=7).shapes == {}
    assert not WordShapes.estimate(SHAPED[:1], LABELS, 1.0, min_count=5).bias(["đến"]).any()  # unseen: no bias
    # The model reads a lowercase word as a person (0.5 vs 0.4 for O); its shape says otherwise.
    words = ["đến", "Vientiane"]
    rows = log_rows([0.4, 0.5, 0.02, 0.04, 0.04], [0.3, 0.2, 0.3, 0.1, 0.1])
    assert [LABELS[i] for i in best_valid_tags(rows, LABELS)][0] == "B-PER"
    assert [LABELS[i] for i in best_valid_tags(rows, LABELS, words=words, shapes=shapes)][0] == "O"
    assert best_valid_tags(rows, LABELS, shapes=shapes) == best_valid_tags(rows, LABELS)  # no words: no shapes


def test_word_shapes_round_trip_through_config_json_and_refuse_bad_entries():
    shapes = WordShapes.estimate(SHAPED, LABELS, weight=0.5, min_count=5)
    stored = json.loads(json.dumps(shapes.to_dict()))
    back = WordShapes.from_dict(stored, list(reversed(LABELS)))
    for shape, row in shapes.shapes.items():
        assert np.allclose(back.shapes[shape][::-1], row, atol=1e-4)
    assert back.weight == 0.5
    with pytest.raises(ValueError, match="word_shapes is for tags"):
        best_valid_tags(np.zeros((1, 5)), list(reversed(LABELS)), words=["A"], shapes=shapes)
    with pytest.raises(ValueError, match=r"word_shapes: shapes: \['camel'\]"):
        WordShapes.from_dict({**stored, "shapes": {**stored["shapes"], "camel": dict.fromkeys(LABELS, 0.0)}}, LABELS)
    with pytest.raises(ValueError, match="word_shapes: weight"):
        WordShapes.from_dict({**stored, "weight": float("inf")}, LABELS)


def test_tagger_applies_stored_word_shapes_and_broken_ones_are_refused_at_load(tiny_ner_dir, tmp_path):
    from viextract import Extractor, ModelLoadError

    extractor = Extractor.from_pretrained(tiny_ner_dir)
    assert extractor.tagger.shapes is None
    labels = extractor.tagger.labels
    # Shapes by which a lowercase word is O and a capitalised one B-LOC (every tag is seen once on a number).
    sentences = [(["đến", "Lào"], ["O", "B-LOC"])] * 10 + [(["1"], [tag]) for tag in labels]
    shapes = WordShapes.estimate(sentences, labels, weight=50.0, min_count=1)
    model_dir = saved_with_table(extractor, tmp_path / "with_shapes", shapes)
    loaded = Extractor.from_pretrained(model_dir)
    tags = [t.label for t in loaded.tagger.tag([["đến", "Vientiane", "và", "Hà_Nội"]])[0]]
    assert tags == ["O", "B-LOC", "O", "B-LOC"]

    edit_stored_settings(model_dir, lambda settings: settings["word_shapes"]["shapes"]["lower"].update(O="many"))
    with pytest.raises(ModelLoadError, match=r"ner/config.json: field 'viextract': word_shapes"):
        Extractor.from_pretrained(model_dir)
