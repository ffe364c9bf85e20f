import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from viextract import Entity, Extraction, Extractor, ModelLoadError, Relation
from viextract.labels import ENTITY_LABELS
from viextract.loading import probe_hub as PROBE_HUB


def test_every_entity_on_every_corpus_document_has_exact_offsets(tiny_extractor, corpus):
    found = 0
    for text in corpus:
        result = tiny_extractor(text)
        assert result.text is text
        for entity in result.entities:
            assert entity.text == text[entity.start : entity.end]
            assert entity.label in ENTITY_LABELS
            assert 0.0 <= entity.score <= 1.0
        found += len(result.entities)
        starts = [(e.start, e.end) for e in result.entities]
        assert starts == sorted(starts)
        assert all(a[1] <= b[0] for a, b in zip(starts, starts[1:]))  # no overlaps
    assert found > 0  # a random tiny model still tags something, so the checks above ran


def test_offsets_stay_exact_on_nfd_input(tiny_extractor, corpus):
    text = unicodedata.normalize("NFD", corpus[0][:600])
    for entity in tiny_extractor(text).entities:
        assert entity.text == text[entity.start : entity.end]


def test_pipe_matches_single_calls_and_batch_size_does_not_matter(tiny_extractor, corpus):
    singles = [tiny_extractor(t) for t in corpus]
    assert list(tiny_extractor.pipe(corpus, batch_size=1)) == singles
    assert list(tiny_extractor.pipe(corpus, batch_size=32)) == singles


def test_empty_and_whitespace_text_give_an_empty_extraction(tiny_extractor):
    assert tiny_extractor("") == Extraction("", (), ())
    assert tiny_extractor(" \n\t ").entities == ()


def test_non_string_input_is_a_type_error(tiny_extractor):
    for bad in (None, b"bytes", 42):
        with pytest.raises(TypeError, match=type(bad).__name__):
            tiny_extractor(bad)


def test_to_dict_gives_plain_json():
    entity = Entity("Lào", "LOC", 3, 6, 0.9)
    person = Entity("Lê Đức Thái", "PER", 10, 21, 0.8)
    result = Extraction("abcLào    Lê Đức Thái", (entity, person), (Relation(person, entity, "affiliated_with", 0.7),))
    round_tripped = json.loads(json.dumps(result.to_dict()))
    assert round_tripped["entities"][0] == {"text": "Lào", "label": "LOC", "start": 3, "end": 6, "score": 0.9}
    assert round_tripped["relations"][0]["head"]["text"] == "Lê Đức Thái"


def test_save_and_load_round_trip(tiny_extractor, tmp_path, corpus):
    tiny_extractor.save_pretrained(tmp_path / "model")
    saved = {p.name for p in (tmp_path / "model" / "ner").iterdir()}
    assert saved >= {"bpe.codes", "config.json", "model.safetensors", "vocab.txt"}
    reloaded = Extractor.from_pretrained(tmp_path / "model", device="cpu")
    assert reloaded.segmenter == tiny_extractor.segmenter
    assert reloaded(corpus[1]) == tiny_extractor(corpus[1])


def test_bare_ner_directory_loads_too(tiny_ner_dir, corpus):
    extractor = Extractor.from_pretrained(tiny_ner_dir / "ner", device="cpu")
    assert extractor.relation_extractor is None
    assert extractor(corpus[2]).relations == ()


@pytest.fixture
def broken_copy(tiny_ner_dir, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(tiny_ner_dir, target)
    return target


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors", "vocab.txt", "bpe.codes"])
def test_missing_file_is_named_at_load_time(broken_copy, missing):
    (broken_copy / "ner" / missing).unlink()
    with pytest.raises(ModelLoadError, match=missing) as error:
        Extractor.from_pretrained(broken_copy)
    if missing != "config.json":
        assert str(broken_copy / "ner") in str(error.value)


def test_corrupt_config_is_named(broken_copy):
    (broken_copy / "ner" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"config\.json: not valid JSON"):
        Extractor.from_pretrained(broken_copy)


def test_labels_outside_the_schema_are_rejected(broken_copy):
    path = broken_copy / "ner" / "config.json"
    config = json.loads(path.read_text())
    config["id2label"]["1"] = "B-MISC"
    path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"id2label.*B-MISC"):
        Extractor.from_pretrained(broken_copy)


def test_tokenizer_larger_than_the_embeddings_is_rejected(broken_copy):
    path = broken_copy / "ner" / "config.json"
    config = json.loads(path.read_text())
    config["vocab_size"] = 10
    path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="vocab_size"):
        Extractor.from_pretrained(broken_copy)


def test_unreachable_hub_repo_fails_clearly(monkeypatch):
    import huggingface_hub

    def offline(**kwargs):
        raise OSError("network is unreachable\n\nmore lines of advice from the Hub client")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(ModelLoadError, match=r"'someone/viextract-model'.*Hugging Face Hub.*directory") as caught:
        Extractor.from_pretrained("someone/viextract-model")
    assert "\n" not in str(caught.value) and "network is unreachable" in str(caught.value)
    # A mistyped relative folder (no ./) reads as a repo id: the error says no such folder exists either.
    assert f"{Path.cwd() / 'someone/viextract-model'} does not exist" in str(caught.value)


def test_a_hub_that_accepts_and_never_answers_fails_within_the_timeout(monkeypatch):
    """huggingface_hub's first request has no timeout: without the probe from_pretrained hung for good."""
    import socket
    import threading
    import time

    import huggingface_hub.constants

    import viextract.loading as loading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(loading, "HUB_TIMEOUT", 1.0)
    monkeypatch.setattr(loading, "probe_hub", PROBE_HUB)  # the real one, not conftest's no-op
    started = time.monotonic()
    try:
        with pytest.raises(ModelLoadError, match=r"'someone/viextract-model'.*Hugging Face Hub"):
            Extractor.from_pretrained("someone/viextract-model")
    finally:
        server.close()
    assert time.monotonic() - started < 30 and accepted  # it did connect, and gave up on the silence


def test_hub_snapshot_layout_loads(monkeypatch, tiny_ner_dir, corpus):
    """`snapshot_download` returns a directory laid out like the repo: ner/ (and re/) at its top."""
    import huggingface_hub

    calls = []

    def snapshot(repo_id, revision=None, token=None):
        calls.append((repo_id, revision))
        return str(tiny_ner_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    extractor = Extractor.from_pretrained("someone/viextract-model", revision="v1", device="cpu")
    assert calls == [("someone/viextract-model", "v1")]
    assert extractor(corpus[0]).text == corpus[0]


def test_a_local_folder_named_like_the_repo_is_refused_with_a_revision(monkeypatch, tmp_path, tiny_ner_dir):
    """A folder `someone/viextract-model` under the working directory wins over the Hub, so a revision
    given with it would be silently ignored: that is refused, and without a revision the folder loads."""
    import huggingface_hub

    shutil.copytree(tiny_ner_dir, tmp_path / "someone" / "viextract-model")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: pytest.fail("went to the Hub"))
    with pytest.raises(ModelLoadError, match=r"someone/viextract-model: a local directory .* revision='v1' was given"):
        Extractor.from_pretrained("someone/viextract-model", revision="v1", device="cpu")
    assert Extractor.from_pretrained("someone/viextract-model", device="cpu").relation_extractor is None


@pytest.mark.parametrize("name", ["my-model", "./my-model", "models/my-model/v1"])
def test_a_revision_with_a_folder_that_is_no_hub_id_is_not_sent_to_snapshot_download(tmp_path, monkeypatch, name):
    # snapshot_download('./my-model', revision='v1') was the advice: a folder's path is no Hub repo id.
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).mkdir(parents=True)
    with pytest.raises(ModelLoadError) as caught:
        Extractor.from_pretrained(name, revision="v1", device="cpu")
    message = str(caught.value)
    assert "revision='v1' was given: drop revision= to load this folder" in message
    assert "snapshot_download" not in message and "Hub repo id `owner/name`, not of a folder" in message


@pytest.mark.parametrize("name", ["weights.bin", "someone/model"])
def test_a_file_given_as_the_model_is_named_as_a_file(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).parent.mkdir(exist_ok=True)
    (tmp_path / name).write_text("not a model")
    with pytest.raises(ModelLoadError, match=rf"^{name}: a file, not a model directory"):
        Extractor.from_pretrained(name)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ("", ModelLoadError, r"^'': an empty model name; pass a model directory or a Hub repo id$"),
        ("  ", ModelLoadError, r"^'  ': an empty model name"),
        (None, TypeError, r"^expected a model directory or a Hub repo id, got NoneType$"),
        (b"model", TypeError, r"^expected a model directory or a Hub repo id, got bytes$"),
    ],
)
def test_an_empty_or_wrong_type_model_argument_is_named(tmp_path, tiny_ner_dir, monkeypatch, given, error, message):
    """'' loaded the working directory (here a model), None was "expected str, bytes or os.PathLike object"."""
    shutil.copytree(tiny_ner_dir, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        Extractor.from_pretrained(given, device="cpu")


def test_missing_local_directory_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model directory"):
        Extractor.from_pretrained(tmp_path / "nowhere" / "model")


@pytest.mark.parametrize(
    "given, hint",
    [
        ("https://huggingface.co/me/tiny", "; for the Hub model at that address pass its repo id 'me/tiny'$"),
        ("hf.co/me/tiny/tree/v1/ner", "; for the Hub model .* pass its repo id 'me/tiny' with revision='v1'$"),
        ("me/tiny/ner", "; if it is a folder of the Hub repo 'me/tiny': a Hub model is loaded whole, by its repo id"),
        ("./me/tiny/ner", "$"),  # a path, as written
    ],
)
def test_a_hub_address_or_a_folder_of_a_hub_repo_names_the_repo_id(tmp_path, monkeypatch, given, hint):
    """A Hub page's address or `owner/name/ner` was read as a local folder: only "no such model directory"."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match=f"^{re.escape(given)}: no such model directory{hint}"):
        Extractor.from_pretrained(given, device="cpu")


def test_an_empty_folder_named_like_a_hub_id_says_it_hides_the_hub_repo(tmp_path, monkeypatch):
    """A folder `owner/name` left in the working directory (an interrupted download) was loaded instead of the
    Hub repo: "not a viextract model directory", with no word of the Hub repo it hid."""
    (tmp_path / "me" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    hidden = r"^me/tiny: a local folder \(.*\) that holds no model .* to load the Hub model 'me/tiny', move the"
    with pytest.raises(ModelLoadError, match=hidden + r" folder or run from another directory$"):
        Extractor.from_pretrained("me/tiny", device="cpu")
    with pytest.raises(ModelLoadError, match=r"^me/tiny: not a viextract model directory"):  # "me/tiny/": a path
        Extractor.from_pretrained("me/tiny/", device="cpu")


def test_segmenter_can_be_overridden_and_unknown_names_fail_at_load(tiny_ner_dir):
    extractor = Extractor.from_pretrained(tiny_ner_dir, device="cpu", segmenter="syllables")
    assert extractor.segmenter == "syllables"
    with pytest.raises(ValueError, match="unknown segmenter 'rdrsegmenter'"):
        Extractor.from_pretrained(tiny_ner_dir, device="cpu", segmenter="rdrsegmenter")
