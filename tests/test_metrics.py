"""training.evaluation.metrics against counts worked out by hand, and against seqeval on valid IOB2."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fakes import silent_ner_extractor
from training.evaluation.metrics import PRF, format_table, mean_std, score_items, score_spans

# Unit 0: one exact hit, one label error, one boundary error, one "both" error, one spurious.
# Unit 1: one exact hit, one missed gold span, and a span that is gold only in unit 0
# (units never match each other, so it is spurious here).
GOLD = [
    [(0, 5, "PER"), (6, 10, "TITLE"), (12, 20, "ORG"), (22, 25, "LOC")],
    [(0, 4, "LOC"), (5, 9, "DATE")],
]
PRED = [
    [(0, 5, "PER"), (6, 10, "ORG"), (12, 18, "ORG"), (22, 26, "DATE"), (30, 33, "LOC")],
    [(0, 4, "LOC"), (12, 20, "ORG")],
]


def test_micro_scores_by_hand():
    scores = score_spans(GOLD, PRED)
    assert (scores.micro.correct, scores.micro.predicted, scores.micro.gold) == (2, 7, 6)
    assert scores.micro.precision == pytest.approx(2 / 7)
    assert scores.micro.recall == pytest.approx(1 / 3)
    assert scores.micro.f1 == pytest.approx(4 / 13)


def test_per_label_rows_by_hand():
    rows = score_spans(GOLD, PRED).per_label
    assert list(rows) == ["DATE", "LOC", "ORG", "PER", "TITLE"]
    counts = {label: (r.correct, r.predicted, r.gold) for label, r in rows.items()}
    assert counts == {
        "PER": (1, 1, 1),
        "TITLE": (0, 0, 1),
        "ORG": (0, 3, 1),
        "LOC": (1, 2, 2),
        "DATE": (0, 1, 1),
    }
    assert rows["LOC"].f1 == pytest.approx(0.5)
    assert rows["TITLE"].precision == 0.0 and rows["TITLE"].f1 == 0.0


def test_confusion_by_hand():
    confusion = score_spans(GOLD, PRED).confusion
    assert confusion.to_dict() == {"correct": 2, "label": 1, "boundary": 1, "both": 1, "spurious": 2, "missed": 1}
    # Every wrong prediction falls in exactly one class: together they are the false positives.
    micro = score_spans(GOLD, PRED).micro
    assert confusion.label + confusion.boundary + confusion.both + confusion.spurious == micro.predicted - micro.correct


def test_fixed_label_rows_and_empty_input():
    scores = score_spans([[]], [[]], labels=["PER", "LOC"])
    assert list(scores.per_label) == ["PER", "LOC"]
    assert scores.micro.to_dict()["f1"] == 0.0
    assert PRF(0, 0, 0).precision == 0.0
    with pytest.raises(ValueError, match="units"):
        score_spans([[]], [])


def test_relation_items_reuse_score_items():
    gold = [[(0, 5, 6, 10, "has_title"), (0, 5, 12, 20, "affiliated_with")]]
    pred = [[(0, 5, 6, 10, "has_title"), (0, 5, 12, 20, "meets")]]
    scores = score_items(gold, pred)
    assert scores.micro.f1 == pytest.approx(0.5)
    assert scores.per_label["meets"].to_dict()["predicted"] == 1


def test_agrees_with_seqeval_strict_on_valid_iob2():
    from seqeval.metrics import classification_report, f1_score
    from seqeval.scheme import IOB2

    from viextract.bio import decode_bio, encode_bio

    rng = random.Random(0)
    labels = ["PER", "LOC", "ORG"]

    def random_spans(n):
        spans, i = [], 0
        while i < n:
            if rng.random() < 0.4:
                length = rng.randint(1, 3)
                spans.append((i, min(n, i + length), rng.choice(labels)))
                i += length + rng.randint(0, 1)
            else:
                i += 1
        return spans

    gold_tags, pred_tags, gold_spans, pred_spans = [], [], [], []
    for _ in range(40):
        n = rng.randint(1, 12)
        g, p = random_spans(n), random_spans(n)
        gold_tags.append(encode_bio(n, g))
        pred_tags.append(encode_bio(n, p))
        gold_spans.append([(s.start, s.end, s.label) for s in decode_bio(gold_tags[-1])])
        pred_spans.append([(s.start, s.end, s.label) for s in decode_bio(pred_tags[-1])])
    ours = score_spans(gold_spans, pred_spans)
    assert ours.micro.f1 == pytest.approx(f1_score(gold_tags, pred_tags, mode="strict", scheme=IOB2))
    report = classification_report(gold_tags, pred_tags, mode="strict", scheme=IOB2, output_dict=True)
    for label in labels:
        assert ours.per_label[label].f1 == pytest.approx(report[label]["f1-score"])
        assert ours.per_label[label].gold == report[label]["support"]


def test_mean_std_and_table():
    mean, std = mean_std([0.5, 0.7, 0.9])
    assert mean == pytest.approx(0.7) and std == pytest.approx(0.2)
    assert mean_std([0.4]) == (0.4, 0.0)
    table = format_table("spans", score_spans(GOLD, PRED).to_dict())
    assert "micro" in table and "28.57" in table and "boundary 1" in table
    # A label with no gold and no prediction has no score: "–" as on the model card, not a row of 0.00.
    table = format_table("re", score_items([[(1, 2, "meets")]], [[(1, 2, "meets")]], ["meets", "signed"]).to_dict())
    assert table.splitlines()[3] == f"{'signed':<12}{'–':>8}{'–':>8}{'–':>8}{0:>7}{0:>7}"
    assert table.splitlines()[2] == f"{'meets':<12}{'100.00':>8}{'100.00':>8}{'100.00':>8}{1:>7}{1:>7}"


def test_a_table_of_long_relation_labels_keeps_its_columns_aligned():
    labels = ["has_title", "participates_in", "affiliated_with"]
    scores = score_items([[(1, 2, "has_title")]], [[(1, 2, "has_title")]], labels).to_dict()
    lines = format_table("re", scores).splitlines()[1:5]
    # Every row is as wide as the header: `participates_in` once pushed its cells 3 columns right of it.
    assert {len(line) for line in lines} == {len(lines[0])}
    assert lines[2].startswith("participates_in ")


@pytest.fixture
def corpus_document_without_entities():
    import dataclasses

    from training.data.files import load_documents

    document = load_documents(Path(__file__).resolve().parents[1] / "data" / "corpus.jsonl")[0]
    return dataclasses.replace(document, entities=(), relations=())


def test_documents_without_entities_print_their_tables(corpus_document_without_entities):
    """`evaluate ner` on documents with no gold entity, where the model found none, wrote --out and then died in
    format_table (TypeError: 'int' object is not iterable): no label row left max(12) one argument."""
    from training.evaluation.ner import evaluate_ner, format_results

    extractor = silent_ner_extractor(["O", "B-PER", "I-PER"])
    scores = evaluate_ner(extractor, [corpus_document_without_entities])
    assert scores["words"]["per_label"] == scores["chars"]["per_label"] == {}
    table = format_results(scores)
    assert table.count("\nmicro") == 2 and "micro              –       –       –      0      0" in table


def test_score_tags_of_sentences_without_entities_is_zero_and_quiet():
    """All-O gold and predictions: seqeval's macro average printed numpy's 'Mean of empty slice' and 'invalid value
    encountered in scalar divide' warnings on stderr (quiet by default), for scores it then did not use."""
    import warnings

    from training.evaluation.metrics import score_tags

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = score_tags([["O", "O"], ["O"]], [["O", "O"], ["O"]])
    assert scores == score_tags([], [])


def test_score_tags_reads_predictions_like_the_product():
    from training.evaluation.metrics import score_tags

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"]]
    # "I-PER I-PER" (no B-) is read as one PER entity, as viextract.bio.decode_bio reads it.
    pred = [["I-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O"]]
    scores = score_tags(gold, pred)
    assert list(scores["per_label"]) == ["PER", "ORG", "LOC"]
    assert (scores["micro"]["correct"], scores["micro"]["predicted"], scores["micro"]["support"]) == (1, 3, 3)
    assert scores["micro"]["f1"] == pytest.approx(1 / 3)
    assert scores["per_label"]["ORG"]["predicted"] == 2 and scores["per_label"]["ORG"]["f1"] == 0.0
    assert scores["confusion"] == {"correct": 1, "label": 1, "boundary": 1, "both": 0, "spurious": 0, "missed": 0}


def test_score_tags_of_no_sentence_is_zero_like_score_spans():
    """Only empty documents (or a held-out fold of them) give no sentence; seqeval raised a TypeError."""
    from training.evaluation.metrics import score_tags

    scores = score_tags([], [])
    assert scores == {**score_spans([], []).to_dict(), "per_label": {}}
    assert scores["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0, "correct": 0}


def test_run_folds_only_fold_trains_and_scores_that_fold_alone(tmp_path):
    """--fold N: one fold per process (parallel on a GPU); the others are left for their own runs."""
    from types import SimpleNamespace

    import pytest

    from training.evaluation.kfold import make_folds, run_folds
    from training.fit.config import ConfigError
    from training.fit.ner import NerConfig

    documents = [SimpleNamespace(id=f"d{i}") for i in range(4)]
    config = NerConfig(seed=3)
    trained = []

    def train_fold(fold_config, train, held_out, where):
        trained.append(fold_config.output_dir)
        return {}

    results = run_folds(config, documents, 4, tmp_path, [], train_fold, lambda d, held: {}, only_fold=2)
    assert trained == [str(tmp_path / "fold-2")]
    assert [r["test_ids"] for r in results] == [[doc.id for doc in make_folds(documents, 4, 3)[2]]]
    with pytest.raises(ConfigError, match="--fold: 4"):
        run_folds(config, documents, 4, tmp_path, [], train_fold, lambda d, held: {}, only_fold=4)


def test_rescore_refuses_fold_models_that_trained_on_documents_of_its_folds(tmp_path, caplog):
    """A document added to --data reshuffles the folds: --rescore scored each old fold model on documents it had
    trained on (fold-0's held-out ones are now in fold-1's training set), inflated scores and no word."""
    from types import SimpleNamespace

    from training.evaluation.kfold import FOLD_DOCUMENTS, reuse_fold_model, run_folds
    from training.fit.config import ConfigError
    from training.fit.ner import NerConfig

    config = NerConfig(seed=3)

    def train_fold(fold_config, train, held_out, where):
        fold_config.save(fold_config.output_dir)  # what reuse_fold_model compares with the config
        return {}

    def rescore(documents):
        return run_folds(config, documents, 2, tmp_path, [], reuse_fold_model, lambda d, held: {"held": held})

    documents = [SimpleNamespace(id=f"d{i}") for i in range(4)]
    trained = run_folds(config, documents, 2, tmp_path, [], train_fold, lambda d, held: {})
    assert [r["test_ids"] for r in rescore(documents)] == [r["test_ids"] for r in trained]  # the same folds: scored
    with pytest.raises(ConfigError, match=r"fold-0 held out other documents than this run's fold"):
        rescore([*documents, SimpleNamespace(id="d4")])
    (tmp_path / "fold-0" / FOLD_DOCUMENTS).unlink()  # folds trained before the record: scored, with a warning
    with caplog.at_level("WARNING", logger="training.evaluation.kfold"):
        rescore(documents)
    assert f"{tmp_path / 'fold-0'} has no {FOLD_DOCUMENTS}: cannot check" in caplog.text
    assert not (tmp_path / "fold-0" / FOLD_DOCUMENTS).exists()  # a rescore certifies nothing it did not check


def test_run_folds_logs_a_fold_of_one_training_document_in_the_singular(tmp_path, caplog):
    import logging
    from types import SimpleNamespace

    from training.evaluation.kfold import run_folds
    from training.fit.ner import NerConfig

    documents = [SimpleNamespace(id=f"d{i}") for i in range(2)]
    with caplog.at_level(logging.INFO, logger="training.evaluation.kfold"):
        run_folds(NerConfig(seed=3), documents, 2, tmp_path, [], lambda *a: {}, lambda d, held: {})
    assert "fold 1/2: training on 1 document, testing on 1" in caplog.text
