"""A library is quiet by default (issue 17, item 9): nothing printed on load or save unless
`verbose=True`, one warning per call at most for what had to be cut, no deprecation warnings
from our own calls, and the user's transformers settings left as they were."""

from __future__ import annotations

import logging
import warnings

import pytest

from viextract import Extractor
from viextract.relations import RelationExtractor


@pytest.fixture(scope="module")
def full_model_dir(tiny_tokenizer_dir, tmp_path_factory):
    from tests.relation_helpers import build_tiny_full_model

    return build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("full"))


def viextract_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("viextract") and r.levelno >= logging.WARNING]


def test_load_and_save_print_nothing_by_default(full_model_dir, tmp_path, capfd):
    extractor = Extractor.from_pretrained(full_model_dir, device="cpu")
    extractor.save_pretrained(tmp_path / "model")
    RelationExtractor.from_pretrained(full_model_dir / "re", device="cpu").save_pretrained(tmp_path / "re")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_shows_the_progress_bars(full_model_dir, tmp_path, capfd):
    Extractor.from_pretrained(full_model_dir, device="cpu", verbose=True).save_pretrained(
        tmp_path / "model", verbose=True
    )
    err = capfd.readouterr().err
    assert "Loading weights" in err and "Writing model shards" in err
    relations = RelationExtractor.from_pretrained(full_model_dir / "re", device="cpu", verbose=True)
    assert "Loading weights" in capfd.readouterr().err
    relations.save_pretrained(tmp_path / "re", verbose=True)
    assert "Writing model shards" in capfd.readouterr().err


def test_the_users_transformers_settings_are_restored(full_model_dir, tmp_path):
    from transformers.utils import logging as hf_logging

    before = (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity())
    hf_logging.set_verbosity_info()
    try:
        Extractor.from_pretrained(full_model_dir, device="cpu").save_pretrained(tmp_path / "model")
        assert hf_logging.get_verbosity() == logging.INFO
        assert hf_logging.is_progress_bar_enabled() == before[0]
    finally:
        hf_logging.set_verbosity(before[1])


def test_int8_loading_gives_no_deprecation_warnings(full_model_dir, corpus):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extractor = Extractor.from_pretrained(full_model_dir, device="cpu", quantize="int8")
        extractor(corpus[0][:500])
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


def test_many_cut_words_give_one_warning_per_call(tiny_extractor, caplog):
    text = "x" * 3000 + " Lào " + "đ" * 3000 + " và " + "y" * 3000 + "."
    with caplog.at_level(logging.DEBUG, logger="viextract"):
        tiny_extractor(text)
    messages = viextract_warnings(caplog)
    assert len(messages) == 1
    assert "3 words longer than a model window were cut" in messages[0]


def test_pipe_gives_one_warning_for_all_its_documents(tiny_extractor, caplog):
    texts = ["x" * 3000 + " Lào.", "Hà Nội.", "y" * 3000 + " Huế."] * 5
    with caplog.at_level(logging.WARNING, logger="viextract"):
        results = list(tiny_extractor.pipe(texts, batch_size=1))
    assert len(results) == 15
    assert viextract_warnings(caplog) == ["viextract: 10 words longer than a model window were cut"]


def test_a_sentence_with_many_cut_pairs_gives_one_warning(full_model_dir, caplog):
    relations = RelationExtractor.from_pretrained(full_model_dir / "re", device="cpu")
    words = ["Hà_Nội", "và", "Viêng_Chăn"] * 120  # far over one window of subwords
    mentions = [(i, i + 1, "PER") for i in range(0, 60, 3)] + [(300, 301, "ORG")]
    for number, (start, _, _) in enumerate(mentions[:-1]):  # twenty people: one name twice is no pair (same_name)
        words[start] = f"Người_{number}"
    with caplog.at_level(logging.WARNING, logger="viextract"):
        found = relations.predict([(words, mentions)])
    assert len(found[0]) > 20  # threshold 0: every candidate pair is a relation
    messages = viextract_warnings(caplog)
    assert len(messages) == 1
    count = int(messages[0].split("viextract: ")[1].split(" ")[0])
    assert count > 20 and "relation candidates' sentences were cut" in messages[0]


def test_a_long_one_line_text_gives_one_warning(tiny_extractor, caplog):
    text = "Bộ trưởng thăm Lào " * 150 + "x" * 3000  # a sentence over the segmenter's limit and an overlong word
    with caplog.at_level("WARNING", logger="viextract"):
        tiny_extractor(text)
    (record,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "sentences longer than the segmenter's limit were cut" in record.getMessage()


class TagEveryThirtiethWord:
    """A stand-in tagger: a TITLE, then 30 words on a PER, and so on; relation candidates far apart."""

    def __init__(self, aligner):
        self.aligner = aligner

    def tag(self, sentences, batch_size=32, batch_tokens=None, windows=None):
        from viextract.ner import WordTag

        labels = {0: "B-TITLE", 30: "B-PER"}
        return [[WordTag(labels.get(i % 60, "O"), 0.9) for i in range(len(s))] for s in sentences]


def test_one_pass_pairs_no_window_holds_are_in_the_one_warning(tiny_extractor, tiny_tokenizer_dir, tmp_path, caplog):
    """A long one-line text: a sentence cut for the segmenter, and relation candidates too far apart for one
    window of a one-pass relation model. One warning says both (it was two lines on stderr)."""
    from tests.relation_helpers import build_tiny_relation_extractor, copy_tokenizer_with_markers, load_tokenizer
    from viextract.relations import ONE_PASS

    tokenizer = load_tokenizer(copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path))
    relations = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=ONE_PASS, max_input_length=62)
    extractor = Extractor(tiny_extractor.ner_model, tiny_extractor.tokenizer, relations)
    extractor.tagger = TagEveryThirtiethWord(extractor.tagger.aligner)
    with caplog.at_level(logging.WARNING, logger="viextract"):
        extractor("Bộ trưởng thăm Lào " * 150)
    (message,) = viextract_warnings(caplog)
    assert "sentences longer than the segmenter's limit were cut" in message
    assert "relation candidates lay in no window holding both arguments" in message


def test_extract_shows_no_dependency_warning_and_restores_the_users_filters(tiny_extractor, monkeypatch, capfd):
    import viextract.extractor

    def warning_extractor():
        def call(text, **kwargs):
            warnings.warn("a dependency's deprecation", FutureWarning, stacklevel=2)
            return tiny_extractor(text, **kwargs)

        return call

    monkeypatch.setattr(viextract.extractor, "default_extractor", warning_extractor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        viextract.extractor.extract("Đại tướng Phan Văn Giang thăm Lào.")
        assert caught == []
        warnings.warn("the user's own", UserWarning, stacklevel=1)  # the caller's filters are back after the call
    assert [str(w.message) for w in caught] == ["the user's own"]
    assert capfd.readouterr().err == ""
