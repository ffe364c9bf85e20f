import json
import shutil

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.relation_helpers import (
    build_tiny_full_model,
    build_tiny_relation_extractor,
    copy_tokenizer_with_markers,
    load_tokenizer,
)
from viextract import Extractor, ModelLoadError
from viextract.align import SubwordAligner
from viextract.labels import ENTITY_LABELS, NO_RELATION, RELATION_ARGUMENT_TYPES, RELATION_LABELS, SYMMETRIC_RELATIONS
from viextract.markers import (
    HEAD_MARKER,
    TAIL_MARKER,
    candidate_pairs,
    encode_pair,
    mark_pair,
)
from viextract.relations import RelationExtractor, collate_pairs

torch.set_num_threads(1)


def gold_documents():
    from training.data.files import load_documents

    path = REPO / "data" / "corpus.jsonl"
    return load_documents(path if path.is_file() else REPO / "data" / "passes" / "pass_a.jsonl")


@pytest.fixture(scope="module")
def relation_rows():
    from training.data.features import relation_rows as rows_of

    return [row for doc in gold_documents() for row in rows_of(doc)]


@pytest.fixture(scope="module")
def tokenizer_dir(tiny_tokenizer_dir, tmp_path_factory):
    return copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path_factory.mktemp("re_tokenizer"))


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    return load_tokenizer(tokenizer_dir)


# ---- markers ------------------------------------------------------------------------------------


@st.composite
def sentence_with_pair(draw):
    words = draw(
        st.lists(
            st.sampled_from(["Lê", "Đức_Thái", "Lào", "@", "#", "10/10", ",", "Bộ_Quốc_phòng"]), min_size=2, max_size=30
        )
    )
    cuts = sorted(draw(st.lists(st.integers(0, len(words)), min_size=4, max_size=4)))
    first, second = (cuts[0], cuts[1]), (cuts[2], cuts[3])
    if first[0] == first[1] or second[0] == second[1]:
        first, second = (0, 1), (len(words) - 1, len(words))
    head, tail = (first, second) if draw(st.booleans()) else (second, first)
    return words, head, tail


@given(sentence_with_pair())
def test_marked_words_reproduce_the_sentence_and_both_spans(case):
    words, head, tail = case
    marked = mark_pair(words, head, tail, "người", "chức_vụ")
    assert [w for w, s in zip(marked.words, marked.sources) if s >= 0] == words
    assert list(marked.words[slice(*marked.head_span)]) == words[slice(*head)]
    assert list(marked.words[slice(*marked.tail_span)]) == words[slice(*tail)]
    assert [marked.sources[i] for i in range(*marked.head_span)] == list(range(*head))
    h, t = marked.head_marker, marked.tail_marker
    assert marked.words[h : h + 4] == (HEAD_MARKER, "*", "người", "*") and h + 4 == marked.head_span[0]
    assert marked.words[t : t + 4] == (TAIL_MARKER, "^", "chức_vụ", "^") and t + 4 == marked.tail_span[0]
    assert marked.words[marked.head_span[1]] == HEAD_MARKER and marked.sources[marked.head_span[1]] == -1
    assert marked.words[marked.tail_span[1]] == TAIL_MARKER and marked.sources[marked.tail_span[1]] == -1
    assert len(marked.words) == len(words) + 10


def test_overlapping_or_outside_arguments_are_errors():
    with pytest.raises(ValueError, match="overlap"):
        mark_pair(["a", "b", "c"], (0, 2), (1, 3), "người", "người")
    with pytest.raises(ValueError, match="inside"):
        mark_pair(["a", "b"], (0, 1), (1, 3), "người", "người")


def _expected_block(aligner, marked, start, end):
    return [i for w in marked.words[start:end] for i in aligner.word_ids(w)]


@pytest.mark.parametrize(
    "head_at, tail_at",
    [(3, 10), (10, 3), (0, 399), (399, 0), (200, 201), (150, 300), (398, 5), (250, 260)],
)
def test_marker_positions_are_found_in_windowed_long_sentences(tokenizer, corpus, head_at, tail_at):
    from viextract.text import prepare_text

    pool = [w.text for s in prepare_text(corpus[0]).sentences for w in s.words]
    words = (pool * 3)[:400]
    aligner = SubwordAligner(tokenizer)
    assert sum(len(aligner.word_ids(w)) for w in words) > 254  # really longer than one input
    head, tail = (head_at, head_at + 1), (tail_at, tail_at + 1)
    marked = mark_pair(words, head, tail, "người", "tổ_chức")
    encoded = encode_pair(aligner, marked)
    ids = encoded.input_ids
    assert encoded.truncated and len(ids) <= 256
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert ids[encoded.head_position] == tokenizer.convert_tokens_to_ids(HEAD_MARKER)
    assert ids[encoded.tail_position] == tokenizer.convert_tokens_to_ids(TAIL_MARKER)
    head_block = _expected_block(aligner, marked, marked.head_marker, marked.head_span[1] + 1)
    tail_block = _expected_block(aligner, marked, marked.tail_marker, marked.tail_span[1] + 1)
    assert list(ids[encoded.head_position : encoded.head_position + len(head_block)]) == head_block
    assert list(ids[encoded.tail_position : encoded.tail_position + len(tail_block)]) == tail_block


@given(case=sentence_with_pair(), budget=st.integers(24, 60))
def test_any_window_keeps_both_arguments_and_their_markers(tokenizer, case, budget):
    words, head, tail = case
    words = words * 4  # longer than the budget in most draws
    aligner = SubwordAligner(tokenizer)
    marked = mark_pair(words, head, tail, "người", "tổ_chức")
    encoded = encode_pair(aligner, marked, max_subwords=budget)
    assert len(encoded.input_ids) <= budget + 2
    blocks = [
        (encoded.head_position, marked.head_marker, marked.head_span[1] + 1),
        (encoded.tail_position, marked.tail_marker, marked.tail_span[1] + 1),
    ]
    arguments_fit = sum(len(_expected_block(aligner, marked, start, end)) for _, start, end in blocks) <= budget
    for position, start, end in blocks:
        # Arguments too long to fit together lose their last words; the opening block and first word stay.
        block = _expected_block(aligner, marked, start, end if arguments_fit else start + 5)
        assert list(encoded.input_ids[position : position + len(block)]) == block


def test_short_sentence_is_encoded_whole(tokenizer):
    aligner = SubwordAligner(tokenizer)
    words = ["Trung_tướng", "Lê_Đức_Thái", "thăm", "Lào"]
    marked = mark_pair(words, (1, 2), (3, 4), "người", "địa_điểm")
    encoded = encode_pair(aligner, marked)
    assert not encoded.truncated
    assert list(encoded.input_ids[1:-1]) == _expected_block(aligner, marked, 0, len(marked.words))


# ---- candidates ---------------------------------------------------------------------------------


def test_candidates_obey_argument_types_and_the_symmetric_rule():
    mentions = [(0, 1, "PER"), (1, 2, "TITLE"), (2, 3, "PER"), (3, 4, "DATE"), (4, 5, "ORG"), (5, 6, "EVENT")]
    pairs = candidate_pairs(mentions)
    for h, t in pairs:
        allowed = [
            name
            for name, (heads, tails) in RELATION_ARGUMENT_TYPES.items()
            if mentions[h][2] in heads and mentions[t][2] in tails
        ]
        assert allowed, (mentions[h], mentions[t])
    assert (0, 2) in pairs and (2, 0) not in pairs  # meets: the first mention is the head
    assert (0, 1) in pairs and (1, 0) not in pairs  # has_title is directed: PER -> TITLE only
    assert (5, 3) in pairs and (3, 5) not in pairs
    assert all(mentions[h][2] != "DATE" for h, _ in pairs)
    every = [(h, t) for h in range(len(mentions)) for t in range(len(mentions)) if h != t]
    expected = [
        (h, t)
        for h, t in every
        if any(mentions[h][2] in heads and mentions[t][2] in tails for heads, tails in RELATION_ARGUMENT_TYPES.values())
        and not (mentions[h][2] == mentions[t][2] == "PER" and h > t)
    ]
    assert pairs == expected
    assert candidate_pairs(mentions, relation_labels=["has_title"]) == [(0, 1), (2, 1)]


def test_symmetric_relations_are_the_ones_candidates_order():
    assert SYMMETRIC_RELATIONS == {"meets"}  # the rule tested above is written for this set


def test_prediction_candidates_match_the_training_rows(relation_rows):
    """training.data.features builds labelled rows; RelationExtractor scores pairs: the same pairs, always."""
    by_sentence = {}
    for row in relation_rows:
        key = (row["doc_id"], row["sentence_start"])
        sentence = by_sentence.setdefault(key, {"mentions": {}, "pairs": set()})
        for role in ("head", "tail"):
            arg = row[role]
            sentence["mentions"][(arg["start"], arg["end"])] = arg["label"]
        sentence["pairs"].add(((row["head"]["start"], row["head"]["end"]), (row["tail"]["start"], row["tail"]["end"])))
    assert by_sentence
    for sentence in by_sentence.values():
        spans = sorted(sentence["mentions"])
        mentions = [(s, e, sentence["mentions"][(s, e)]) for s, e in spans]
        predicted = {(spans[h], spans[t]) for h, t in candidate_pairs(mentions)}
        assert predicted == sentence["pairs"]


# ---- the model ----------------------------------------------------------------------------------


def _handful(relation_rows, per_label=2, negatives=4):
    chosen, counts = [], {}
    for row in relation_rows:
        limit = negatives if row["label"] == NO_RELATION else per_label
        if counts.get(row["label"], 0) < limit:
            counts[row["label"]] = counts.get(row["label"], 0) + 1
            chosen.append(row)
    return chosen


def _item(row):
    head, tail = row["head"], row["tail"]
    return row["tokens"], [(head["start"], head["end"], head["label"]), (tail["start"], tail["end"], tail["label"])]


def test_a_tiny_model_overfits_a_handful_of_relations(relation_rows, tokenizer):
    rows = _handful(relation_rows)
    assert len({r["label"] for r in rows}) >= 4
    extractor = build_tiny_relation_extractor(tokenizer, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    encoder, model = extractor.encoder, extractor.model
    inputs, masks, labels = [], [], []
    for row in rows:
        words, (head, tail) = _item(row)
        inputs.append(encoder.encode(words, head, tail))
        masks.append(encoder.label_mask(head[2], tail[2]))
        labels.append(int(model.config.label2id[row["label"]]))
    batch = collate_pairs(inputs, masks, tokenizer.pad_token_id, labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(60):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    predicted = extractor.predict([_item(row) for row in rows], batch_size=4)
    found = {(i, label) for i, sentence in enumerate(predicted) for h, t, label, _ in sentence if (h, t) == (0, 1)}
    gold = {(i, row["label"]) for i, row in enumerate(rows) if row["label"] != NO_RELATION}
    assert all(len(sentence) <= 1 for sentence in predicted)
    true_positives = len(found & gold)
    f1 = 2 * true_positives / (len(found) + len(gold))
    assert f1 == 1.0, (found, gold, float(loss))


def test_predict_returns_allowed_labels_sorted_and_batch_size_does_not_matter(relation_rows, tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0)
    by_sentence = {}
    for row in relation_rows[:60]:
        sentence = by_sentence.setdefault((row["doc_id"], row["sentence_start"]), (row["tokens"], set()))
        for role in ("head", "tail"):
            sentence[1].add((row[role]["start"], row[role]["end"], row[role]["label"]))
    items = [(words, sorted(mentions)) for words, mentions in by_sentence.values()]
    items.append((["Lào"], [(0, 1, "LOC")]))  # one mention: nothing to score
    one = extractor.predict(items, batch_size=1)
    many = extractor.predict(items, batch_size=64)
    assert one == many or all(
        [(h, t, label) for h, t, label, _ in a] == [(h, t, label) for h, t, label, _ in b] for a, b in zip(one, many)
    )
    assert one[-1] == []
    for (_, mentions), found in zip(items, one):
        assert [(h, t) for h, t, _, _ in found] == candidate_pairs(mentions)  # threshold 0: every candidate
        for h, t, label, score in found:
            heads, tails = RELATION_ARGUMENT_TYPES[label]
            assert mentions[h][2] in heads and mentions[t][2] in tails
            assert 0.0 < score <= 1.0
    extractor.model.config.threshold = 1.0
    assert extractor.predict(items) == [[] for _ in items]


@pytest.mark.parametrize("architecture", ["typed_markers", "one_pass"])
def test_one_name_written_twice_never_meets_itself(tokenizer, architecture):
    # `Đại_tướng Phan_Văn_Giang cho biết , Đại_tướng PHAN_VĂN Giang sẽ tiếp Chansamone`: one person, twice.
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=architecture)
    extractor.model.config.single_tail_labels = ["meets"]
    words = ["Đại_tướng", "Phan_Văn_Giang", "cho", "biết", ","]
    words += ["Đại_tướng", "PHAN_VĂN", "Giang", "sẽ", "tiếp", "Chansamone"]
    mentions = [(0, 1, "TITLE"), (1, 2, "PER"), (5, 6, "TITLE"), (6, 8, "PER"), (10, 11, "PER")]
    [found] = extractor.predict([(words, mentions)])
    meets = {(h, t) for h, t, label, _ in found if label == "meets"}
    # Each mention of him may meet Chansamone (single tail: the self pair no longer takes his one tail).
    assert meets == {(1, 4), (3, 4)}
    assert [(h, t) for h, t, _, _ in found] == [pair for pair in candidate_pairs(mentions) if pair != (1, 3)]


@pytest.mark.parametrize("mention", [(2, 1, "PER"), (1, 1, "PER"), (3, 6, "PER"), (-1, 1, "PER"), (0.0, 1, "PER")])
@pytest.mark.parametrize("architecture", ["typed_markers", "one_pass"])
def test_a_mention_that_is_not_a_span_of_its_words_is_refused_naming_it(tokenizer, architecture, mention):
    # A reversed span made the one-pass input builder step backwards for ever, until memory ran out; one past the
    # end was "no window holding both". Every path now refuses it first, naming the sentence and the mention.
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=architecture)
    items = [(["Ông", "Hùng", "gặp", "Lào"], [(1, 2, "PER"), (3, 4, "LOC")]), (["Ông", "Hùng", "gặp"], [mention])]
    for call in (extractor.predict, extractor.score):
        with pytest.raises(ValueError, match=r"^items\[1\]: mention 0 .* is not a span .* of the sentence's 3 words"):
            call(items)


def test_single_head_labels_keep_only_the_most_probable_head_of_each_tail(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.3)
    # Two people, one title (mention 2): only one of them holds it. Mention 3 is a place.
    scored = [
        [
            (0, 2, "has_title", 0.55),
            (0, 3, "affiliated_with", 0.6),
            (1, 2, "has_title", 0.8),
            (1, 3, "affiliated_with", 0.6),
            (4, 2, "has_title", 0.2),  # below the threshold: never considered
        ]
    ]
    assert extractor._decide(scored) == [[r for r in scored[0] if r[3] >= 0.3]]  # no single-head label yet
    extractor.model.config.single_head_labels = ["has_title", "affiliated_with"]
    # has_title: the more probable head wins; affiliated_with: a tie keeps the first head.
    assert extractor._decide(scored) == [[(0, 3, "affiliated_with", 0.6), (1, 2, "has_title", 0.8)]]


def test_single_choice_nearest_keeps_the_closest_head_above_the_threshold(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.3)
    extractor.model.config.single_head_labels = ["has_title"]
    # `Đại_tướng A hội_đàm với B , Bộ_trưởng`: the title (4) follows B (3) after a comma.
    words = ["Đại_tướng", "A", "hội_đàm", "với", "B", ",", "Bộ_trưởng", "và", "C"]
    mentions = [(0, 1, "TITLE"), (1, 2, "PER"), (2, 3, "EVENT"), (4, 5, "PER"), (6, 7, "TITLE"), (8, 9, "PER")]
    items = [(words, mentions)]
    # A (3 words from the title) is likelier than B (1 word) and C (1 word, after it); D is below the threshold.
    scored = [[(1, 4, "has_title", 0.9), (3, 4, "has_title", 0.6), (5, 4, "has_title", 0.5), (2, 4, "has_title", 0.1)]]
    assert extractor.config.single_choice == "probability"  # a config without the field: as before
    assert extractor._decide(scored, items) == [[(1, 4, "has_title", 0.9)]]
    extractor.model.config.single_choice = "nearest"
    # B and C are both one word away: the probability breaks the tie.
    assert extractor._decide(scored, items) == [[(3, 4, "has_title", 0.6)]]
    # Only heads that reach the threshold compete: below it, the nearest head is no candidate.
    assert extractor._decide([[(1, 4, "has_title", 0.9), (3, 4, "has_title", 0.2)]], items) == [
        [(1, 4, "has_title", 0.9)]
    ]
    # Without the sentences' mentions there is no distance: the probability decides.
    assert extractor._decide(scored) == [[(1, 4, "has_title", 0.9)]]


def test_single_tail_labels_keep_one_tail_of_each_head(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.3)
    # `Hiệp_định 2016 , ký ngày 16/3/2016`: the agreement (0) has one date: 1 or 2.
    words = ["Hiệp_định", "2016", ",", "ký", "ngày_16/3/2016", "và", "Lễ_ký"]
    mentions = [(0, 1, "AGREEMENT"), (1, 2, "DATE"), (4, 5, "DATE"), (6, 7, "EVENT")]
    items = [(words, mentions)]
    scored = [[(0, 1, "date_of", 0.5), (0, 2, "date_of", 0.9), (3, 2, "date_of", 0.7)]]
    assert extractor._decide(scored, items) == scored  # no single-tail label: every pair above the threshold
    extractor.model.config.single_tail_labels = ["date_of"]
    assert extractor._decide(scored, items) == [[(0, 2, "date_of", 0.9), (3, 2, "date_of", 0.7)]]
    extractor.model.config.single_choice = "nearest"
    assert extractor._decide(scored, items) == [[(0, 1, "date_of", 0.5), (3, 2, "date_of", 0.7)]]
    # Single heads first, then single tails: date 2 keeps its nearer head, the event (3).
    extractor.model.config.single_head_labels = ["date_of"]
    assert extractor._decide(scored, items) == [[(0, 1, "date_of", 0.5), (3, 2, "date_of", 0.7)]]


TITLE_RULE = {"head": "PER", "tail": "TITLE", "order": "tail_first", "label": "has_title"}


def test_adjacency_rules_return_touching_pairs_whatever_their_probability(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.5)
    # `Trung_tướng A , Tư_lệnh ... B`: title 0 touches person 1; title 2 is two words from person 1.
    words = ["Trung_tướng", "A", ",", "Tư_lệnh", "và", "B"]
    mentions = [(0, 1, "TITLE"), (1, 2, "PER"), (3, 4, "TITLE"), (5, 6, "PER")]
    scored = [[(1, 0, "has_title", 0.1), (1, 2, "has_title", 0.7), (3, 0, "has_title", 0.9), (3, 2, "has_title", 0.2)]]
    extractor.model.config.single_head_labels = ["has_title"]
    # Without rules: the threshold, then the most probable head of each title (B takes title 0).
    assert extractor._decide(scored, [(words, mentions)]) == [[(1, 2, "has_title", 0.7), (3, 0, "has_title", 0.9)]]
    extractor.model.config.adjacent_relations = [TITLE_RULE]
    # With the rule: A holds the title that touches it, below the threshold and against a likelier head.
    assert extractor._decide(scored, [(words, mentions)]) == [[(1, 0, "has_title", 0.1), (1, 2, "has_title", 0.7)]]
    assert extractor._decide(scored) == [[(1, 2, "has_title", 0.7), (3, 0, "has_title", 0.9)]]  # no mentions, no rule
    # A rule covers its own label only: a touching pair the model scored as another label stays as it was.
    other = [[(1, 0, "affiliated_with", 0.1)]]
    assert extractor._decide(other, [(words, [(0, 1, "ORG"), (1, 2, "PER")])]) == [[]]


def test_adjacency_rules_fix_the_label_the_model_scores(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0)
    words = ["Trung_tướng", "A", "nói", "với", "Trung_tướng", "B"]
    items = [(words, [(0, 1, "TITLE"), (1, 2, "PER"), (4, 5, "TITLE"), (5, 6, "PER")])]
    before = {(h, t): (label, p) for h, t, label, p in extractor.score(items)[0]}
    extractor.model.config.adjacent_relations = [TITLE_RULE]
    after = {(h, t): (label, p) for h, t, label, p in extractor.score(items)[0]}
    assert after.keys() == before.keys()
    for pair in ((1, 0), (3, 2)):  # touching: the rule's label, with the model's probability for it
        assert after[pair][0] == "has_title" and 0.0 < after[pair][1] <= before[pair][1] + 1e-6
    assert all(after[pair] == before[pair] for pair in before if pair not in ((1, 0), (3, 2)))
    assert [(h, t) for h, t, *_ in extractor.predict(items)[0] if (h, t) in ((1, 0), (3, 2))] == [(1, 0), (3, 2)]


def test_nearest_counts_count_relations_whose_kept_argument_is_the_closest_of_its_type():
    from training.fit.relation_examples import RelationExample, nearest_counts

    # `A , Bộ_trưởng , gặp B`: the title (2) belongs to A, one word away; B is two words away.
    words = ("A", ",", "Bộ_trưởng", ",", "gặp", "B")
    a, title, b = (0, 1, "PER"), (2, 3, "TITLE"), (5, 6, "PER")
    examples = [RelationExample(words, a, title, "has_title"), RelationExample(words, b, title, "no_relation")]
    assert nearest_counts(examples, ["has_title"]) == {"has_title": [1, 1]}
    farther = [RelationExample(words, a, title, "no_relation"), RelationExample(words, b, title, "has_title")]
    assert nearest_counts(farther, ["has_title", "meets"]) == {"has_title": [0, 1]}  # meets: never seen
    tie = [*examples, RelationExample(words, (4, 5, "PER"), title, "no_relation")]  # as near as A: still nearest
    assert nearest_counts(tie, ["has_title"]) == {"has_title": [1, 1]}
    # Tails: `Lễ_ký ngày 1/1 , họp ngày 2/2`: the event (0) is dated by the farther date (4).
    words = ("Lễ_ký", "ngày_1/1", ",", "họp", "ngày_2/2")
    event, near, far = (0, 1, "EVENT"), (1, 2, "DATE"), (4, 5, "DATE")
    dated = [RelationExample(words, event, near, "no_relation"), RelationExample(words, event, far, "date_of")]
    assert nearest_counts(dated, ["date_of"], "tail") == {"date_of": [0, 1]}
    assert nearest_counts(dated, ["date_of"], "head") == {"date_of": [1, 1]}  # the only event: nearest


def test_adjacency_rules_are_the_touching_type_pairs_training_always_linked():
    from training.fit.relation_examples import RelationExample, adjacent_relations

    def sentence(i: int) -> tuple[str, ...]:
        return ("Trung_tướng", f"A{i}", "của", "Bộ_Quốc_phòng")

    title, person, org = (0, 1, "TITLE"), (1, 2, "PER"), (3, 4, "ORG")
    examples = []
    for i in range(5):
        examples.append(RelationExample(sentence(i), person, title, "has_title"))
        examples.append(RelationExample(sentence(i), person, org, "affiliated_with"))  # not touching
    labels = list(RELATION_LABELS)
    assert adjacent_relations(examples, labels) == [TITLE_RULE]
    assert adjacent_relations(examples, labels, min_count=6) == []  # five times is not six
    assert adjacent_relations(examples, ["affiliated_with"]) == []  # a label the model does not learn
    mixed = [*examples, RelationExample(("Trung_tướng", "B"), (1, 2, "PER"), (0, 1, "TITLE"), "no_relation")]
    assert adjacent_relations(mixed, labels) == []  # once without the relation: no rule


def test_single_head_and_tail_labels_are_the_labels_whose_training_arguments_have_one_partner():
    from training.fit.relation_examples import RelationExample, single_counts, single_labels

    words = ("Trung_tướng", "A", "và", "B", "ký", "Hiệp_định")
    title, a, b, agreement = (0, 1, "TITLE"), (1, 2, "PER"), (3, 4, "PER"), (5, 6, "AGREEMENT")
    examples = [
        RelationExample(words, a, title, "has_title"),
        RelationExample(words, b, title, "no_relation"),
        RelationExample(words, a, agreement, "signed"),
        RelationExample(words, b, agreement, "signed"),  # two signatories of one agreement
        RelationExample(words + (".",), a, title, "has_title"),  # the same head again, in another sentence
    ]
    labels = ["has_title", "signed", "meets"]
    heads = single_counts(examples, labels, "head")
    assert heads == {"has_title": [2, 2], "signed": [0, 1]}  # meets: never seen, so not counted or claimed
    assert single_labels(heads, 1.0) == ["has_title"]
    # Each person signs one agreement here: signed is single-tail; has_title too (A: one title).
    assert single_labels(single_counts(examples, labels, "tail"), 1.0) == ["has_title", "signed"]
    second_title = RelationExample(words, a, (2, 3, "TITLE"), "has_title")  # A holds two titles
    tails = single_counts([*examples, second_title], labels, "tail")
    assert tails["has_title"] == [1, 2] and single_labels(tails, 1.0) == ["signed"]
    # A's two has_title heads: one with two tails, one with one. A share of 0.5 still claims has_title.
    assert single_labels(tails, 0.5) == ["has_title", "signed"]
    assert single_labels(tails, 0.51) == ["signed"]


def test_save_and_load_round_trip_via_auto_model_and_relation_extractor(tokenizer, tmp_path, relation_rows):
    from transformers import AutoConfig, AutoModel

    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.37)
    extractor.save_pretrained(tmp_path / "re")
    saved = {p.name for p in (tmp_path / "re").iterdir()}
    assert saved >= {"config.json", "model.safetensors", "vocab.txt", "bpe.codes"}
    config = json.loads((tmp_path / "re" / "config.json").read_text())
    assert config["model_type"] == "viextract_relation" and config["threshold"] == 0.37
    assert config["marker_type_words"]["PER"] == "người"
    assert set(config["entity_labels"]) == set(ENTITY_LABELS)

    assert type(AutoConfig.from_pretrained(tmp_path / "re")).__name__ == "RelationConfig"
    model = AutoModel.from_pretrained(tmp_path / "re")
    assert type(model) is type(extractor.model)
    for (name, a), b in zip(extractor.model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name

    reloaded = RelationExtractor.from_pretrained(tmp_path / "re", ["PER", "TITLE"], device="cpu")
    assert reloaded.threshold == 0.37
    items = [_item(row) for row in relation_rows[:12]]
    assert reloaded.predict(items) == extractor.predict(items)


@pytest.fixture(scope="module")
def full_model_dir(tmp_path_factory, tiny_tokenizer_dir):
    """ner/ with random weights, re/ with threshold 0 so every candidate becomes a relation."""
    return build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("full_model"))


def test_a_full_model_directory_returns_relations_between_its_own_entities(full_model_dir, corpus):
    extractor = Extractor.from_pretrained(full_model_dir, device="cpu")
    assert isinstance(extractor.relation_extractor, RelationExtractor)
    total = 0
    for text in [t[:1500] for t in corpus[:3]]:
        result = extractor(text)
        for relation in result.relations:
            assert any(relation.head is e for e in result.entities)
            assert any(relation.tail is e for e in result.entities)
            heads, tails = RELATION_ARGUMENT_TYPES[relation.label]
            assert relation.head.label in heads and relation.tail.label in tails
            if relation.label in SYMMETRIC_RELATIONS:
                assert relation.head.start < relation.tail.start
        total += len(result.relations)
    assert total > 0


def test_extractor_built_in_memory_saves_and_reloads(full_model_dir, tmp_path, corpus):
    from transformers import AutoModelForTokenClassification

    ner = AutoModelForTokenClassification.from_pretrained(full_model_dir / "ner")
    relations = RelationExtractor.from_pretrained(full_model_dir / "re", ["PER"])
    extractor = Extractor(ner, load_tokenizer(full_model_dir / "ner"), relations)
    before = extractor(corpus[1][:1000])
    extractor.save_pretrained(tmp_path / "model")
    assert (tmp_path / "model" / "re" / "config.json").is_file()
    after = Extractor.from_pretrained(tmp_path / "model", device="cpu")(corpus[1][:1000])
    assert before.relations
    assert after == before


@pytest.fixture
def broken_copy(full_model_dir, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(full_model_dir, target)
    return target


def _edit_relation_config(root, change):
    path = root / "re" / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_unknown_relation_label_is_rejected_naming_the_file(broken_copy):
    path = _edit_relation_config(broken_copy, lambda c: c["id2label"].update({"3": "born_in"}))
    with pytest.raises(ModelLoadError, match="born_in") as error:
        Extractor.from_pretrained(broken_copy)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda c: c["entity_labels"].remove("DATE"), "entity_labels"),
        (lambda c: c["marker_type_words"].pop("PER"), "marker_type_words"),
        (lambda c: c.update(threshold=1.5), "threshold"),
        (lambda c: c.update(model_type="roberta"), "model_type"),
        (lambda c: c.update(marker_format="entity_mask"), "marker_format"),
        (lambda c: c.update(single_head_labels=["has_title", "knows"]), "single_head_labels"),
        (lambda c: c.update(single_choice="first"), "single_choice"),
        (lambda c: c.update(single_tail_labels=["knows"]), "single_tail_labels"),
        (lambda c: c.update(adjacent_relations=[{**TITLE_RULE, "label": "knows"}]), "adjacent_relations"),
        (lambda c: c.update(adjacent_relations=[{**TITLE_RULE, "order": "sideways"}]), "adjacent_relations"),
        (lambda c: c.update(adjacent_relations=[{**TITLE_RULE, "head": "DATE"}]), "adjacent_relations"),
        (lambda c: c.update(adjacent_relations=[{"head": "PER"}]), "adjacent_relations"),
        (lambda c: c.update(adjacent_relations=[{**TITLE_RULE, "tail": ["TITLE"]}]), "adjacent_relations"),
    ],
)
def test_inconsistent_relation_config_is_rejected_naming_file_and_field(broken_copy, change, problem):
    path = _edit_relation_config(broken_copy, change)
    with pytest.raises(ModelLoadError, match=problem) as error:
        Extractor.from_pretrained(broken_copy)
    assert str(path) in str(error.value)


def test_missing_relation_weights_are_named(broken_copy):
    (broken_copy / "re" / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="model.safetensors") as error:
        Extractor.from_pretrained(broken_copy)
    assert str(broken_copy / "re") in str(error.value)
