"""A damaged model directory is refused at load time, never loaded into silently wrong answers
(issue 17, item 5): each ModelLoadError names the directory, the file and the problem."""

from __future__ import annotations

import json
import shutil

import pytest

from viextract import Extractor, ModelLoadError
from viextract.relations import RelationExtractor


@pytest.fixture(scope="module")
def full_model_dir(tiny_tokenizer_dir, tmp_path_factory):
    from tests.relation_helpers import build_tiny_full_model

    return build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("full"))


@pytest.fixture
def broken(full_model_dir, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(full_model_dir, target)
    return target


def edit_config(path, **changes) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(json.dumps(config), encoding="utf-8")


def rename_a_weight(path) -> None:
    from safetensors.torch import load_file, save_file

    weights = load_file(str(path))
    name = next(key for key in weights if key.endswith("classifier.weight"))
    weights[name.replace("classifier", "classifier_renamed")] = weights.pop(name)
    save_file(weights, str(path), metadata={"format": "pt"})


@pytest.mark.parametrize("part", ["ner", "re"])
def test_an_empty_vocabulary_is_refused(broken, part):
    (broken / part / "vocab.txt").write_text("", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=rf"{part}/vocab\.txt: the vocabulary is empty"):
        Extractor.from_pretrained(broken, device="cpu")


def test_a_vocabulary_line_without_a_count_is_refused(broken):
    path = broken / "ner" / "vocab.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "brokenline"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"ner/vocab\.txt: line 3: expected 'token count', got 'brokenline'"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "no BPE merges"),
        (b"\n\n", "no BPE merges"),
        (b"n g</w> 12\nthis is not a merge\n", r"line 2: expected a merge 'left right count'"),
        (b"a b many\n", r"line 1: expected a merge"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_an_empty_or_garbled_bpe_codes_is_refused(broken, content, problem):
    (broken / "ner" / "bpe.codes").write_bytes(content)
    with pytest.raises(ModelLoadError, match=rf"{broken / 'ner' / 'bpe.codes'}: {problem}"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize("name", ["tokenizer_config.json", "added_tokens.json"])
def test_a_broken_tokenizer_json_file_is_named(broken, name):
    # Was: "cannot load the tokenizer from vocab.txt/bpe.codes", naming files that were fine.
    (broken / "ner" / name).write_text("{bad", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=rf"{broken / 'ner' / name}: cannot be read as JSON"):
        Extractor.from_pretrained(broken, device="cpu")


def test_a_model_type_that_does_not_match_the_weights_is_refused(broken):
    edit_config(broken / "ner" / "config.json", model_type="bert")
    with pytest.raises(ModelLoadError, match=r"ner/model\.safetensors: does not match .*'bert'.*not used.*random"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize("part", ["ner", "re"])
def test_a_checkpoint_weight_the_model_does_not_use_is_refused(broken, part):
    rename_a_weight(broken / part / "model.safetensors")
    with pytest.raises(ModelLoadError, match=rf"{part}/model\.safetensors: .*1 weights in it were not used"):
        Extractor.from_pretrained(broken, device="cpu")


def test_relation_extractor_alone_checks_its_weights_too(broken):
    rename_a_weight(broken / "re" / "model.safetensors")
    with pytest.raises(ModelLoadError, match="classifier_renamed"):
        RelationExtractor.from_pretrained(broken / "re", device="cpu")


@pytest.mark.parametrize("part", ["ner", "re"])
def test_a_padding_id_that_is_not_the_tokenizers_is_refused(broken, part):
    edit_config(broken / part / "config.json", pad_token_id=3)  # positions would all shift
    with pytest.raises(ModelLoadError, match=rf"{part}/config\.json: field 'pad_token_id' is 3 but .* is 1"):
        Extractor.from_pretrained(broken, device="cpu")


def test_an_unknown_segmenter_in_the_config_names_the_file(broken):
    edit_config(broken / "ner" / "config.json", viextract={"segmenter": "rdrsegmenter"})
    with pytest.raises(ModelLoadError, match=r"ner/config\.json: field 'viextract.segmenter': .*'rdrsegmenter'"):
        Extractor.from_pretrained(broken, device="cpu")
    # Naming a segmenter we have overrides the config's, so the model can still be used.
    assert Extractor.from_pretrained(broken, device="cpu", segmenter="syllables").segmenter == "syllables"


@pytest.mark.parametrize("part", ["ner", "re"])
def test_label_ids_with_a_gap_are_refused(broken, part):
    config = json.loads((broken / part / "config.json").read_text(encoding="utf-8"))
    edit_config(broken / part / "config.json", id2label={str(2 * int(k)): v for k, v in config["id2label"].items()})
    with pytest.raises(ModelLoadError, match=rf"{part}/config\.json: field 'id2label': its keys must be the ids 0 to"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"B-PER": 3, "B-TITLE": 1}, "label 'B-PER' has id 3, but 'id2label' gives it id 1"),
        ({"B-PER": "1"}, "label 'B-PER' has id '1', but 'id2label' gives it id 1"),
        ({"B-PER": None}, "label 'B-PER' is missing; 'id2label' gives it id 1"),
        ({"B-PERSON": 1}, "label 'B-PERSON' is not in 'id2label'"),
    ],
)
def test_a_label2id_that_does_not_invert_id2label_names_the_first_label(broken, edit, problem):
    # Nothing of ours reads label2id, but transformers' pipelines and training do: an edit there was silently ignored.
    config = json.loads((broken / "ner" / "config.json").read_text(encoding="utf-8"))
    label2id = {label: i for label, i in {**config["label2id"], **edit}.items() if i is not None}
    edit_config(broken / "ner" / "config.json", label2id=label2id)
    with pytest.raises(ModelLoadError) as caught:
        Extractor.from_pretrained(broken, device="cpu")
    path = broken / "ner" / "config.json"
    assert str(caught.value) == f"{path}: field 'label2id' does not invert 'id2label': {problem}"


def test_a_relation_label2id_that_does_not_invert_id2label_names_the_label(broken):
    config = json.loads((broken / "re" / "config.json").read_text(encoding="utf-8"))
    first, second = config["id2label"]["1"], config["id2label"]["2"]
    edit_config(broken / "re" / "config.json", label2id={**config["label2id"], first: 2, second: 1})
    with pytest.raises(ModelLoadError, match=rf"re/config\.json: field 'label2id' does not invert 'id2label': label "
                                             rf"'{first}' has id 2, but 'id2label' gives it id 1$"):  # fmt: skip
        Extractor.from_pretrained(broken, device="cpu")


def test_a_config_without_label2id_still_loads(broken):
    config = json.loads((broken / "ner" / "config.json").read_text(encoding="utf-8"))
    del config["label2id"]
    (broken / "ner" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert Extractor.from_pretrained(broken, device="cpu").relation_extractor is not None


@pytest.mark.parametrize("stored", ["float", "int8"])
def test_a_label_map_of_another_size_than_the_classifier_names_the_shapes(broken, tmp_path, stored):
    from viextract.storage import convert_directory

    model = convert_directory(broken, tmp_path / stored, to_int8=stored == "int8")
    config = json.loads((model / "ner" / "config.json").read_text(encoding="utf-8"))
    last = str(len(config["id2label"]) - 1)
    label = config["id2label"].pop(last)
    config["label2id"].pop(label, None)
    (model / "ner" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"weights have the wrong shape .*classifier") as caught:
        Extractor.from_pretrained(model, device="cpu")
    assert "\n" not in str(caught.value) and "ignore_mismatched_sizes" not in str(caught.value)


def test_a_relation_model_that_is_a_file_is_refused_not_skipped(broken):
    shutil.rmtree(broken / "re")
    (broken / "re").write_text("not a model")
    with pytest.raises(ModelLoadError, match=r"re: not a directory"):
        Extractor.from_pretrained(broken, device="cpu")


def test_a_relation_model_given_as_the_model_says_so(broken):
    # `--model outputs/re` was refused with "labels ['affiliated_with', ...] are not in SCHEMA.md".
    with pytest.raises(ModelLoadError, match=r"re: a relation model, not a NER model: give the folder that holds ner/"):
        Extractor.from_pretrained(broken / "re", device="cpu")


def test_a_ner_model_given_as_the_relation_model_says_so(broken):
    # `evaluate re --model outputs/ner` was refused with "relation labels ['B-AGREEMENT', ...] are not in SCHEMA.md".
    with pytest.raises(ModelLoadError, match=r"ner: a NER model, not a relation model: give the folder that holds"):
        RelationExtractor.from_pretrained(broken / "ner", ["PER"], device="cpu")


def test_the_intact_copy_loads(broken):
    assert Extractor.from_pretrained(broken, device="cpu").relation_extractor is not None


def test_a_ner_label_listed_twice_is_refused(broken):
    # Id 1 (B-PER) renamed to I-PER: the model loaded and silently never predicted a PER entity.
    config = json.loads((broken / "ner" / "config.json").read_text(encoding="utf-8"))
    edit_config(broken / "ner" / "config.json", id2label={**config["id2label"], "1": config["id2label"]["2"]})
    with pytest.raises(ModelLoadError, match=r"ner/config\.json: field 'id2label': labels \['I-PER'\] are listed"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("vocab_size", "533", "expected a positive integer, got '533'"),
        ("vocab_size", None, "expected a positive integer, got None"),
        ("viextract", "pyvi", "expected a JSON object, got 'pyvi'"),
    ],
)
def test_a_config_field_of_the_wrong_type_names_the_file_and_field(broken, field, value, problem):
    # These were a raw ValueError, TypeError or AttributeError from inside from_pretrained.
    edit_config(broken / "ner" / "config.json", **{field: value})
    with pytest.raises(ModelLoadError, match=rf"ner/config\.json: field '{field}': {problem}"):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize("part", ["ner", "re"])
def test_an_added_token_past_the_embeddings_is_refused_naming_its_file(broken, part):
    """Ids counted, not their range: '<mask>' moved past vocab_size kept the count and loaded, to fail
    (index out of range) only when the token was first used."""
    vocab_size = json.loads((broken / part / "config.json").read_text(encoding="utf-8"))["vocab_size"]
    (broken / part / "added_tokens.json").write_text(json.dumps({"<mask>": vocab_size + 7}), encoding="utf-8")
    with pytest.raises(
        ModelLoadError,
        match=rf"{part}/added_tokens\.json: token '<mask>' has id {vocab_size + 7}, but config\.json's vocab_size "
        rf"is {vocab_size} \(ids 0 to {vocab_size - 1}\)",
    ):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("added_tokens.json", {"<mask>": 1.5}, r"added_tokens\.json: token '<mask>': expected a non-negative integer"),
        ("added_tokens.json", {"<mask>": "abc"}, r"added_tokens\.json: token '<mask>': expected a non-negative"),
        ("tokenizer_config.json", {"added_tokens_decoder": {"abc": {"content": "<x>"}}}, r"tokenizer_config\.json: "
         r"field 'added_tokens_decoder': expected an id -> \{'content': token, \.\.\.\} object, got 'abc'"),
        ("tokenizer_config.json", {"added_tokens_decoder": {"5": "<x>"}}, r"tokenizer_config\.json: .* got '5'"),
    ],
)  # fmt: skip
def test_a_malformed_added_token_names_its_file(broken, name, content, message):
    """An id of 1.5 was read as 1 (the padding token); others failed as if vocab.txt/bpe.codes were at fault."""
    (broken / "ner" / name).write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=rf"^{broken / 'ner'}/{message}"):
        Extractor.from_pretrained(broken, device="cpu")


def test_a_relation_model_trained_on_other_words_than_the_ner_model_is_refused_at_load(broken, tmp_path):
    """A hand-copied re/ trained on pyvi words beside a syllables NER model loaded without a word, its
    relations then found on words it never saw in training."""
    edit_config(broken / "ner" / "config.json", viextract={"segmenter": "syllables"})
    edit_config(broken / "re" / "config.json", viextract={"segmenter": "pyvi"})
    with pytest.raises(ModelLoadError) as caught:
        Extractor.from_pretrained(broken, device="cpu")
    message = str(caught.value)
    assert message.startswith(f"{broken / 're' / 'config.json'}: field 'viextract.segmenter': the relation model ")
    assert f"trained on 'pyvi' words, but the NER model ({broken / 'ner'}) segments with 'syllables'" in message
    # Naming the segmenter runs both models on its words: the caller's choice, as for a NER model alone.
    chosen = Extractor.from_pretrained(broken, device="cpu", segmenter="syllables")
    chosen.save_pretrained(tmp_path / "saved")  # and the saved copy records it for both, so it loads again
    assert Extractor.from_pretrained(tmp_path / "saved", device="cpu").segmenter == "syllables"
    # A relation model that records no segmenter is taken as it is.
    edit_config(broken / "re" / "config.json", viextract={})
    assert Extractor.from_pretrained(broken, device="cpu").segmenter == "syllables"


@pytest.mark.parametrize(
    ("part", "version", "problem"),
    [
        ("ner", "2.0", r"SCHEMA\.md version 2\.0, which this viextract does not read"),
        ("re", "0.9", r"SCHEMA\.md version 0\.9, which this viextract does not read"),
        ("ner", 1.1, r"expected a version such as '1\.1', got 1\.1"),
    ],
)
def test_a_schema_major_version_the_library_does_not_read_is_refused(broken, part, version, problem):
    """A config saying "2.0" loaded without a word: its labels or spans may mean something else by the same names."""
    path = broken / part / "config.json"
    settings = json.loads(path.read_text(encoding="utf-8")).get("viextract") or {}
    edit_config(path, viextract={**settings, "schema_version": version})
    reads = r"; it reads SCHEMA\.md 1\.x \(v1\.1\)$"
    with pytest.raises(
        ModelLoadError, match=rf"{part}/config\.json: field 'viextract.schema_version': {problem}{reads}"
    ):
        Extractor.from_pretrained(broken, device="cpu")


@pytest.mark.parametrize("version", ["1.7", None])
def test_a_later_minor_schema_version_or_none_at_all_still_loads(broken, version):
    """Minor versions keep the labels; a model saved before training wrote the version has none."""
    for part in ("ner", "re"):
        path = broken / part / "config.json"
        settings = {
            k: v for k, v in (json.loads(path.read_text()).get("viextract") or {}).items() if k != "schema_version"
        }
        edit_config(path, viextract={**settings, **({"schema_version": version} if version else {})})
    assert Extractor.from_pretrained(broken, device="cpu").relation_extractor is not None
