"""The conventions of spaCy and transformers on Extractor: to(), as_tuples, call-time threshold and labels,
and the model card save_pretrained writes."""

import json

import pytest
import torch
import yaml

from tests.relation_helpers import build_tiny_full_model, record_provenance
from viextract import Extractor, extract
from viextract.card import CARD_MARKER, card_licence
from viextract.extractor import BUNDLED_MODEL_DIR

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def full(tiny_tokenizer_dir, tmp_path_factory):
    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("api_model"))
    return Extractor.from_pretrained(root, device="cpu")


@pytest.fixture(scope="module")
def texts_with_relations(full, corpus):
    # Two articles' first paragraphs: the random tiny model at threshold 0 relates every candidate
    # pair, so whole articles, or more of them, cost seconds per call and test nothing more.
    heads = [text[: text.find("\n", 600) + 1 or None] for text in corpus]
    texts = [t for t, r in zip(heads, full(heads)) if r.relations][:2]
    assert texts, "the tiny model (threshold 0) should relate some entities"
    return texts


def test_to_returns_self_and_moves_the_device(full):
    assert full.to("cpu") is full
    assert full.device == torch.device("cpu")
    assert full.relation_extractor.device == torch.device("cpu")


def test_to_a_gpu_this_machine_lacks_names_it_and_leaves_the_models_where_they_were(full, monkeypatch):
    """Was torch's AssertionError 'Torch not compiled with CUDA enabled' from inside the model."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", 0):
        with pytest.raises(ValueError, match=r"^cuda(:0)? is not available on this machine$"):
            full.to(device)
    with pytest.raises(TypeError, match=r"^to\(\) takes a device .*got None$"):
        full.to(None)
    assert full.device == torch.device("cpu")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "cuda:99"}, r"^cuda:99 is not available on this machine$"),
        ({"device": 99}, r"^cuda:99 is not available on this machine$"),  # was torch's bare RuntimeError
        ({"device": "gpu"}, r"^device: 'gpu' is not a device \(try cpu, cuda, cuda:0 or mps\)$"),  # torch's error
        ({"device": True}, r"^device: True is not a device"),  # was torch's TypeError
        ({"device": -1}, r"^device: -1 is not a device"),  # was 'Invalid device string: cuda:-1'
        ({"segmenter": "nope"}, r"^unknown segmenter 'nope'; choose one of"),
        ({"device": "cuda:0", "quantize": "int8"}, r"^quantize='int8' runs on the CPU only$"),
        ({"device": "meta"}, r"^meta is not available on this machine$"),  # loaded, then failed at the first text
        ({"device": "xpu"}, r"^xpu is not available on this machine$"),  # was torch's AssertionError, once loaded
        ({"device": "hip"}, r"^hip is not available on this machine$"),  # was torch's RuntimeError, once loaded
    ],
)
def test_a_device_or_segmenter_that_cannot_work_fails_before_loading(tiny_ner_dir, monkeypatch, options, message):
    """These failed only once the model was loaded (seconds to minutes), a missing GPU as torch's bare
    AssertionError 'Torch not compiled with CUDA enabled'."""
    import viextract.storage

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as if one GPU were here: cuda:0 is
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.xpu, "is_available", lambda: False)
    monkeypatch.setattr(viextract.storage, "load_model", lambda *a, **k: pytest.fail("loaded the model first"))
    with pytest.raises(ValueError, match=message):
        Extractor.from_pretrained(tiny_ner_dir, **options)


def test_to_the_meta_device_is_refused_and_the_weights_stay(full, corpus):
    """to("meta") dropped the weights: the extractor failed at every later text ('Cannot copy out of meta')."""
    before = full(corpus[0])
    with pytest.raises(ValueError, match=r"^meta is not available on this machine$"):
        full.to("meta")
    assert full.device == torch.device("cpu")
    assert full(corpus[0]) == before


def test_a_backend_whose_torch_module_says_it_is_here_is_accepted(monkeypatch):
    from viextract.arguments import check_device

    monkeypatch.setattr(torch.xpu, "is_available", lambda: True)
    monkeypatch.setattr(torch.xpu, "device_count", lambda: 2)
    assert check_device("xpu") == "xpu" and check_device("xpu:1") == "xpu:1"
    with pytest.raises(ValueError, match=r"^xpu:2 is not available on this machine$"):
        check_device("xpu:2")


def test_as_tuples_keeps_each_context_with_its_result(tiny_extractor, corpus):
    pairs = [(text, {"id": i}) for i, text in enumerate(corpus)]
    out = list(tiny_extractor.pipe(pairs, as_tuples=True, batch_size=2))
    assert [c for _, c in out] == [{"id": i} for i in range(len(corpus))]
    assert [r for r, _ in out] == list(tiny_extractor.pipe(corpus, batch_size=2))


def test_as_tuples_with_worker_processes(tiny_extractor, corpus):
    pairs = [(text, i) for i, text in enumerate(corpus[:3])]
    out = list(tiny_extractor.pipe(pairs, as_tuples=True, n_process=2))
    assert out == [(r, i) for i, r in enumerate(tiny_extractor.pipe(corpus[:3]))]


def test_as_tuples_refuses_bare_texts(tiny_extractor, corpus):
    with pytest.raises(TypeError, match="pairs"):
        list(tiny_extractor.pipe(corpus[:1], as_tuples=True))


def test_threshold_overrides_for_one_call_only(full, texts_with_relations):
    texts = texts_with_relations
    assert all(not r.relations for r in full(texts, threshold=1.0))
    assert all(not r.relations for r in full.pipe(texts, threshold=1.0))
    assert full(texts) == full(texts, threshold=0.0)  # the stored threshold (0) is back
    assert full.relation_extractor.threshold == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True])
def test_a_bad_threshold_is_a_value_error(full, bad):
    with pytest.raises(ValueError, match="threshold"):
        full("Hà Nội", threshold=bad)


def test_labels_keep_those_entities_and_relations_between_them(full, texts_with_relations):
    texts = texts_with_relations
    every = full(texts)
    present = sorted({e.label for r in every for e in r.entities})
    kept = {present[0]}
    for whole, only in zip(every, full(texts, labels=kept)):
        assert only.entities == tuple(e for e in whole.entities if e.label in kept)
        assert only.relations == tuple(r for r in whole.relations if r.head.label in kept and r.tail.label in kept)
    assert [r for r, _ in full.pipe([(t, 0) for t in texts], as_tuples=True, labels=kept)] == full(texts, labels=kept)


def test_an_unknown_label_names_the_valid_ones(full):
    with pytest.raises(ValueError, match="PER, TITLE, ORG"):
        full("Hà Nội", labels=["PERSON"])
    with pytest.raises(ValueError, match="PERSON"):
        extract("Hà Nội", labels=["PERSON"])  # before the bundled model loads


def _front_matter(text):
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_save_pretrained_writes_a_card(full, tmp_path):
    full.save_pretrained(tmp_path / "m")
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    meta = _front_matter(card)
    assert meta["library_name"] == "viextract"
    assert meta["pipeline_tag"] == "token-classification"
    assert meta["language"] == "vi"
    labels = json.loads((tmp_path / "m" / "ner" / "config.json").read_text())["id2label"].values()
    for label in {lab.split("-", 1)[-1] for lab in labels} - {"O"}:
        assert label in card
    assert "Extractor.from_pretrained" in card
    Extractor.from_pretrained(tmp_path / "m", device="cpu")  # the card does not disturb loading


def test_a_readme_viextract_did_not_write_is_kept(full, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "README.md").write_text("my notes\n")
    full.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "README.md").read_text() == "my notes\n"
    assert (tmp_path / "m" / "ner" / "config.json").is_file()


def test_a_readme_that_is_a_folder_is_kept(full, tmp_path):
    """A README.md folder gave an IsADirectoryError traceback from is_ours; it is the user's, left as it is."""
    (tmp_path / "m" / "README.md").mkdir(parents=True)
    (tmp_path / "m" / "README.md" / "notes.txt").write_text("mine\n")
    full.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "README.md" / "notes.txt").read_text() == "mine\n"
    assert (tmp_path / "m" / "ner" / "config.json").is_file()


def test_a_readme_link_to_a_missing_file_or_an_unreadable_readme_is_kept(full, tmp_path, monkeypatch):
    """A README.md linking to a file not there (a share not mounted) was taken as no README: the save replaced
    the link by its minimal card. An unreadable one stopped the save with a bare PermissionError."""
    import os
    from pathlib import Path

    (tmp_path / "m").mkdir()
    os.symlink(tmp_path / "share" / "card.md", tmp_path / "m" / "README.md")
    full.save_pretrained(tmp_path / "m")
    assert os.readlink(tmp_path / "m" / "README.md") == str(tmp_path / "share" / "card.md")
    assert (tmp_path / "m" / "ner" / "config.json").is_file()

    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "README.md").write_text("my notes\n")
    read_text = Path.read_text

    def unreadable(self, *args, **kwargs):  # as chmod 000 is for any user but root
        if self.name == "README.md":
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", unreadable)
    full.save_pretrained(tmp_path / "n")
    monkeypatch.undo()
    assert (tmp_path / "n" / "README.md").read_text() == "my notes\n"
    assert (tmp_path / "n" / "ner" / "config.json").is_file()


def test_our_own_card_is_rewritten(full, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "README.md").write_text(f"old\n{CARD_MARKER}\n")
    full.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "README.md").read_text().startswith("---\nlibrary_name: viextract")


def test_the_card_licence_keeps_the_relation_model_s_text_licence(tiny_tokenizer_dir, tmp_path):
    """A relation model fine-tuned from a base that read CC BY-SA text, beside an MIT NER model: the card read
    the NER model's record only and said mit for weights that must be shared alike."""
    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path / "full")
    record_provenance(root, {"ner": "MIT", "re": "CC BY-SA 4.0"})
    Extractor.from_pretrained(root, device="cpu").save_pretrained(tmp_path / "saved")
    assert "\nlicense: cc-by-sa-4.0\n" in (tmp_path / "saved" / "README.md").read_text(encoding="utf-8")


def test_licence_comes_from_provenance():
    def config(*licences):
        return {"viextract": {"provenance": {"sources": [{"licence": lic} for lic in licences]}}}

    assert card_licence(config("MIT", "CC BY-SA 4.0")) == "cc-by-sa-4.0"
    assert card_licence(config("MIT")) == "mit"
    # One rule with `publish card` (viextract.card.choose_licence): the project's own data is viextract's (MIT),
    # a user's data has no recorded licence, so the publisher states it; nothing recorded is viextract's default.
    assert card_licence(config("MIT", "the project's corpus and written texts")) == "mit"
    assert card_licence(config("MIT", "not recorded: the user's data")) == "other"
    assert card_licence({}) == "mit"
    bundled = json.loads((BUNDLED_MODEL_DIR / "ner" / "config.json").read_text(encoding="utf-8"))
    assert card_licence(bundled) == "cc-by-sa-4.0"


def test_stored_metrics_give_a_model_index():
    from viextract.card import render_card

    config = {"id2label": {"0": "O", "1": "B-PER", "2": "I-PER"}}
    meta = _front_matter(render_card(config, {"best_dev_f1": 0.89231}, has_relations=False))
    (result,) = meta["model-index"][0]["results"]
    assert result["metrics"][0] == {"type": "f1", "value": 0.8923, "name": "entity F1 (dev)"}
    assert result["task"]["type"] == "token-classification"
    assert result["dataset"]["name"] == "dev split"  # no record of which data: no name of ours given
    assert "model-index" not in _front_matter(render_card(config, None, has_relations=False))
    # The dev data training recorded names the dataset, quoted so that a `:` in a path stays YAML.
    recorded = {"best_dev_f1": 0.5, "data": [{"name": "dev", "source": "my/dev: news.jsonl"}]}
    (result,) = _front_matter(render_card(config, recorded, has_relations=False))["model-index"][0]["results"]
    assert result["dataset"] == {"type": "viextract", "name": "dev split: my/dev: news.jsonl", "split": "dev"}


def test_the_card_scores_the_weights_that_were_kept_not_the_best_epoch():
    """With select_on_dev: false the last epoch is saved; its dev F1, not the best epoch's, is the model's."""
    from viextract.card import kept_dev_f1, render_card

    history = [{"epoch": 1.0, "eval_f1": 0.9}, {"loss": 0.1}, {"epoch": 2.0, "eval_f1": 0.6}]
    last = {"best_dev_f1": 0.9, "kept_epoch": "last", "log_history": history}
    assert kept_dev_f1(last) == 0.6
    assert kept_dev_f1({**last, "kept_epoch": "best on dev"}) == 0.9
    assert kept_dev_f1({"best_dev_f1": 0.9, "kept_epoch": "last"}) is None  # no evaluation recorded
    config = {"id2label": {"0": "O", "1": "B-PER", "2": "I-PER"}}
    text = render_card(config, last, has_relations=False)
    assert _front_matter(text)["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.6
    assert "relation-extraction" not in _front_matter(text)["tags"]


def test_a_loaded_models_metrics_travel_to_the_saved_card(tiny_ner_dir, tmp_path):
    source = tmp_path / "source"
    Extractor.from_pretrained(tiny_ner_dir, device="cpu").save_pretrained(source)
    (source / "ner" / "training_metrics.json").write_text(json.dumps({"best_dev_f1": 0.75}), encoding="utf-8")
    Extractor.from_pretrained(source, device="cpu").save_pretrained(tmp_path / "copy")
    stored = json.loads((tmp_path / "copy" / "ner" / "training_metrics.json").read_text(encoding="utf-8"))
    assert stored == {"best_dev_f1": 0.75}
    meta = _front_matter((tmp_path / "copy" / "README.md").read_text(encoding="utf-8"))
    assert meta["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.75
