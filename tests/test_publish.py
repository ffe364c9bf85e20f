"""Model card rendering and Hub publishing, with every HfApi call intercepted (no network)."""

import errno
import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

from tests.conftest import REPO
from tests.relation_helpers import build_tiny_relation_extractor, copy_tokenizer_with_markers, load_tokenizer
from training.release.card import build_card_data
from training.release.card_data import CardError
from training.release.card_render import render_card, split_front_matter
from training.release.card_results import read_results
from training.release.card_sources import find_schema, read_schema_tables
from training.release.publish import PublishError, main, push_model
from viextract import Extractor
from viextract.card import CARD_MARKER
from viextract.card import render_card as render_minimal_card
from viextract.labels import ENTITY_DEFINITIONS, ENTITY_LABELS, RELATION_LABELS

torch.set_num_threads(1)

# The files a published repository may hold per model folder (docs/publishing.md), restated as the spec.
ALLOWED = {
    "config.json", "model.safetensors", "vocab.txt", "bpe.codes", "tokenizer_config.json",
    "special_tokens_map.json", "added_tokens.json", "training_config.yaml",
}  # fmt: skip
RETRAIN_NER = "viextract train ner --config configs/ner.yaml --set base_model=vinai/phobert-base"
RETRAIN_RE = "viextract train re --config configs/re.yaml --set base_model=vinai/phobert-base"


def row(p, r, f, support):
    return {"precision": p, "recall": r, "f1": f, "support": support, "predicted": 9, "correct": 6}


# A label row of `evaluate re` for a label that neither the gold nor the model has in the documents.
NOTHING = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0, "correct": 0}


# What training.evaluation.evaluate (ner, --docs test), its --kfold mode and training.evaluation.relations write.
NER_TEST = {
    "task": "ner", "data": "data/corpus.jsonl", "docs": "test", "document_ids": ["004_c7fd43ec24ea10e9"],
    "model": "outputs/model", "documents": 1, "sentences": 21, "gold_entities": 47,
    "words": {"micro": row(0.8125, 0.7647, 0.7879, 47),
              "per_label": {"PER": row(0.9, 0.8571, 0.878, 7), "LOC": row(0.95, 0.9048, 0.9268, 21)}},
    "chars": {"micro": row(0.7, 0.6596, 0.6792, 47),
              "per_label": {"PER": row(0.8, 0.5714, 0.6667, 7), "DATE": row(0.5, 0.25, 0.3333, 4)}},
}  # fmt: skip
NER_KFOLD = {
    "task": "ner", "data": "data/corpus.jsonl", "docs": "train,dev", "document_ids": ["000", "001", "002", "003"],
    "k": 4, "folds": [{}, {}, {}, {}], "config": {"epochs": 10.0},
    "summary": {
        level: {"precision": {"mean": 0.61, "std": 0.1}, "recall": {"mean": 0.52, "std": 0.05},
                "f1": {"mean": 0.5612, "std": 0.0734},
                "per_label_f1": {"PER": {"mean": 0.7, "std": 0.1234}, "EVENT": {"mean": 0.5, "std": 0.0, "folds": 1}}}
        for level in ("words", "chars")
    },
}  # fmt: skip
RE_TEST = {
    "model": "outputs/model", "data": "data/corpus.jsonl", "documents": 1, "gold_relations": 33, "threshold": 0.45,
    "relations_gold_entities": {"micro": row(0.5, 0.4242, 0.459, 33),
                                "per_label": {"has_title": row(0.8, 0.7, 0.7467, 10), "meets": NOTHING,
                                              "signed": {**NOTHING, "predicted": 2}}},
    "relations_end_to_end": {"micro": row(0.3, 0.1818, 0.2264, 33), "per_label": {"has_title": row(0.6, 0.3, 0.4, 10)}},
}  # fmt: skip


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    """A local base as training.pretraining.mlm leaves it: only the files the card reads."""
    base = tmp_path_factory.mktemp("base")
    (base / "training_config.yaml").write_text("task: pretrain\nnum_hidden_layers: 2\n", encoding="utf-8")
    summary = {
        "train": [
            {"name": "ud_vtb", "origin": "ud_vietnamese_vtb: vi_vtb-ud-train.conllu", "licence": "CC BY-SA 4.0",
             "sentences": 1400, "words": 30000},
            {"name": "corpus_train", "origin": "corpus.jsonl", "licence": "the project's corpus", "sentences": 30,
             "words": 1363},
        ],
        "train_words": 31363,
    }  # fmt: skip
    (base / "pretrain_data.json").write_text(json.dumps(summary), encoding="utf-8")
    return base


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_ner_dir, tiny_tokenizer_dir, base_dir) -> Path:
    """ner/ (tiny_ner_dir) + re/, each with its training config, and junk that must never be uploaded."""
    from training.fit.ner import NerConfig

    root = tmp_path_factory.mktemp("publish_model")
    shutil.copytree(tiny_ner_dir / "ner", root / "ner")
    tokenizer_dir = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path_factory.mktemp("re_tok"))
    build_tiny_relation_extractor(load_tokenizer(tokenizer_dir), threshold=0.0).save_pretrained(root / "re")
    NerConfig(base_model=str(base_dir), output_dir="outputs/ner").save(root / "ner")
    re_config = {"task": "re", "base_model": str(base_dir), "segmenter": "pyvi", "negative_ratio": 3.0,
                 "epochs": 10.0, "splits_file": "data/splits.json", "output_dir": "outputs/re"}  # fmt: skip
    (root / "re" / "training_config.yaml").write_text(yaml.safe_dump(re_config), encoding="utf-8")
    (root / "ner" / "training_metrics.json").write_text(json.dumps({"train_sentences": 250, "log_history": []}))
    (root / "ner" / "checkpoint-5").mkdir()
    (root / "ner" / "checkpoint-5" / "optimizer.pt").write_bytes(b"junk")
    (root / "ner" / "checkpoint-5" / "model.safetensors").write_bytes(b"junk")
    (root / "optimizer.pt").write_bytes(b"junk")
    (root / "runs").mkdir()
    (root / "runs" / "events.out.tfevents.1").write_bytes(b"junk")
    return root


@pytest.fixture(scope="module")
def results_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("results")
    files = {"ner_test": NER_TEST, "ner_kfold": NER_KFOLD, "re_test": RE_TEST}
    for name, value in files.items():
        (folder / f"{name}.json").write_text(json.dumps(value), encoding="utf-8")
    combined = {"ner": {"test": NER_TEST, "kfold": NER_KFOLD}, "re": {"test": RE_TEST}}
    (folder / "combined.json").write_text(json.dumps(combined), encoding="utf-8")
    return {name: folder / f"{name}.json" for name in [*files, "combined"]}


@pytest.fixture(scope="module")
def card_text(model_dir, results_files) -> str:
    card = build_card_data(
        model_dir,
        [str(results_files["ner_test"]), str(results_files["ner_kfold"]), f"re.test={results_files['re_test']}"],
        base_model="someone/viextract-base-small",
    )
    return render_card(card)


def section(body: str, *headings: str) -> str:
    """The text under each heading in turn, up to the next heading of the same or a higher level."""
    for heading in headings:
        level = heading.split(" ")[0]
        start = body.index(f"\n{heading}\n") + len(heading) + 2
        end = re.search(rf"\n#{{1,{len(level)}}} ", body[start:])
        body = body[start : start + end.start()] if end else body[start:]
    return body


def pct(value: float) -> str:
    return re.escape(f"{value * 100:.2f}")


# ---- (a) the rendered card ----------------------------------------------------------------------


def test_front_matter_parses_with_the_hub_fields_and_measured_values(card_text):
    assert card_text.startswith("---\n")
    meta = yaml.safe_load(card_text.split("---\n")[1])
    assert meta["language"] == "vi"
    assert meta["license"] == "cc-by-sa-4.0"  # the base saw UD VTB (CC BY-SA 4.0)
    assert meta["base_model"] == "someone/viextract-base-small"
    assert meta["library_name"] == "viextract"
    assert meta["pipeline_tag"] == "token-classification"
    assert meta["datasets"] and "f1" in meta["metrics"] and "viextract" in meta["tags"]
    (entry,) = meta["model-index"]
    found = {}
    for result in entry["results"]:
        for metric in result["metrics"]:
            key = (result["task"]["type"], result["dataset"]["split"], metric["name"])
            found[key] = (metric["type"], metric["value"])
    expected = {
        ("token-classification", "test", "test F1, seqeval strict IOB2 on the gold words"): ("f1", 0.7879),
        ("token-classification", "test", "test precision, seqeval strict IOB2 on the gold words"):
            ("precision", 0.8125),
        ("relation-extraction", "test", "test F1, given the gold entities (the relation model alone)"): ("f1", 0.459),
        ("relation-extraction", "test", "test recall, end to end, from the entities the NER model predicts"):
            ("recall", 0.1818),
    }  # fmt: skip
    for key, value in expected.items():
        assert found[key] == value, key
    kfold = [v for (_, split, name), v in found.items() if split == "train,dev" and name.startswith("4-fold mean F1")]
    assert kfold == [("f1", 0.5612), ("f1", 0.5612)]
    assert not any(split == "dev" for _, split, _ in found)  # dev was not measured: nothing claimed


def test_a_file_of_all_its_documents_named_dev_is_the_dev_split_of_the_model_index(model_dir, tmp_path):
    # `evaluate ner --data my_dev.jsonl` (no --docs) records docs "all"; `--results dev=FILE` says what it is.
    own = tmp_path / "ner_dev.json"
    own.write_text(json.dumps({**NER_TEST, "data": "my_dev.jsonl", "docs": "all"}), encoding="utf-8")
    card = render_card(build_card_data(model_dir, [f"dev={own}"], base_model="someone/viextract-base-small"))
    (entry,) = yaml.safe_load(card.split("---\n")[1])["model-index"]
    assert {result["dataset"]["split"] for result in entry["results"]} == {"dev"}
    # A k-fold over every document of the file is over "all", as its file says.
    kfold = tmp_path / "ner_kfold.json"
    kfold.write_text(json.dumps({**NER_KFOLD, "data": "my_all.jsonl", "docs": "all"}), encoding="utf-8")
    card = render_card(build_card_data(model_dir, [str(kfold)], base_model="someone/viextract-base-small"))
    (entry,) = yaml.safe_load(card.split("---\n")[1])["model-index"]
    assert {result["dataset"]["split"] for result in entry["results"]} == {"all"}


def test_sections_labels_commands_and_credits(card_text):
    _, body = split_front_matter(card_text)
    for heading in ("## Results at a glance", "## Intended use", "## Labels", "## Training data and size",
                    "## Training procedure", "## Evaluation", "## Limitations", "## How to use",
                    "## Credits and licences"):  # fmt: skip
        assert f"\n{heading}\n" in body, heading
    labels = section(body, "## Labels")
    for label in ENTITY_LABELS:
        assert re.search(rf"^\| `{label}` \| {re.escape(ENTITY_DEFINITIONS[label])} \|", labels, re.M), label
    for label in RELATION_LABELS:
        assert re.search(rf"^\| `{label}` \| ", labels, re.M), label
    procedure = section(body, "## Training procedure")
    assert "viextract train ner --config ner/training_config.yaml" in procedure
    assert "viextract train re --config re/training_config.yaml" in procedure
    limitations = section(body, "## Limitations")
    assert RETRAIN_NER in limitations and RETRAIN_RE in limitations
    assert 'Extractor.from_pretrained("REPO_ID")' in section(body, "## How to use")
    credits = section(body, "## Credits and licences")
    assert "UD Vietnamese VTB" in credits and "CC BY-SA 4.0" in credits
    data = section(body, "## Training data and size")
    splits = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    assert re.search(rf"^\| dev \| .* \| {len(splits['dev'])} \| \d+ \| \d+ \|$", data, re.M)
    assert re.search(r"^\| `ud_vtb` \| .* \| CC BY-SA 4\.0 \|$", data, re.M)


def test_per_label_rows_match_the_results_and_absent_ones_say_not_measured(card_text):
    _, body = split_front_matter(card_text)
    for level, title in (("words", "seqeval strict IOB2"), ("chars", "exact character spans")):
        test = section(body, "## Evaluation", "### Entities", "#### Test")
        table = test[test.index(title) :]
        table = table[: table.index("**micro**")]
        for label, values in NER_TEST[level]["per_label"].items():
            cells = [pct(values[key]) for key in ("precision", "recall", "f1")] + [str(values["support"])]
            line = rf"^\| `{label}` \| " + r" \| ".join(cells) + r" \|$"
            assert re.search(line, table, re.M), (level, label)
        assert re.search(r"^\| `EVENT` \| – \| – \| – \| – \|$", table, re.M)  # no row in the JSON
    micro = NER_TEST["words"]["micro"]
    assert re.search(
        rf"^\| \*\*micro\*\* \| {pct(micro['precision'])} \| {pct(micro['recall'])} \| {pct(micro['f1'])} \| 47 \|$",
        section(body, "## Evaluation", "### Entities", "#### Test"), re.M,
    )  # fmt: skip
    kfold = section(body, "## Evaluation", "### Entities", "#### k-fold")
    # The folds' fixed epoch count is part of the command that reproduces them.
    assert "--kfold 4 --config CONFIG --set epochs=10 --data data/corpus.jsonl --docs train,dev`" in kfold
    assert re.search(r"^\| label \| F1, gold words \| F1, character spans \|$", kfold, re.M)
    assert re.search(r"^\| `PER` \| 70\.00 ± 12\.34 \| 70\.00 ± 12\.34 \|$", kfold, re.M)
    # A label's mean is over the folds that have it, and the card says how many.
    assert re.search(r"^\| `EVENT` \| 50\.00 ± 0\.00 \(1 fold\) \| 50\.00 ± 0\.00 \(1 fold\) \|$", kfold, re.M)
    assert re.search(r"^\| \*\*micro F1\*\* \| 56\.12 ± 7\.34 \| 56\.12 ± 7\.34 \|$", kfold, re.M)
    relations = section(body, "## Evaluation", "### Relations", "#### Test")
    has_title = RE_TEST["relations_gold_entities"]["per_label"]["has_title"]
    assert re.search(rf"^\| `has_title` \| {pct(has_title['precision'])} \| {pct(has_title['recall'])} \| "
                     rf"{pct(has_title['f1'])} \| 10 \|$", relations, re.M)  # fmt: skip
    for headings in (("### Entities", "#### Dev"), ("### Relations", "#### Dev"), ("### Relations", "#### k-fold")):
        assert section(body, "## Evaluation", *headings).strip() == "not measured", headings
    glance = section(body, "## Results at a glance")
    first = r"^\| Entities, seqeval strict IOB2 on the gold words \| "
    assert re.search(first + r"not measured \| 78\.79 \| 56\.12 ± 7\.34 \|$", glance, re.M)
    # How far a one-document figure moves with one item: 100 / gold points.
    assert "entities test 47 gold, ±2.1; relations test 33 gold, ±3.0." in " ".join(glance.split())


def test_a_label_without_gold_or_predictions_is_a_dash_not_a_zero_f1(card_text):
    # evaluate re writes a 0/0 row for every relation label; "–" is what the card says such a row means.
    relations = section(split_front_matter(card_text)[1], "## Evaluation", "### Relations", "#### Test")
    relations = relations[relations.index("given the gold entities") : relations.index("end to end")]
    assert re.search(r"^\| `meets` \| – \| – \| – \| – \|$", relations, re.M)
    # Predicted where gold has none: a real 0 precision, printed.
    assert re.search(r"^\| `signed` \| 0\.00 \| 0\.00 \| 0\.00 \| 0 \|$", relations, re.M)


def test_the_card_says_who_chose_the_relation_threshold(model_dir, results_files, card_text, tmp_path):
    assert "dev chooses the best epoch and the relation threshold;" in card_text  # the config left it null
    fixed = tmp_path / "model"
    shutil.copytree(model_dir, fixed)
    config_path = fixed / "re" / "training_config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config_path.write_text(yaml.safe_dump({**config, "threshold": 0.4}), encoding="utf-8")
    text = render_card(build_card_data(fixed, [f"re.test={results_files['re_test']}"], base_model="someone/base"))
    assert "dev chooses the best epoch (the relation threshold, 0.4, is fixed in the training config);" in text
    for part in ("ner", "re"):  # both runs keep their last epoch: dev chose nothing
        config_path = fixed / part / "training_config.yaml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        config_path.write_text(yaml.safe_dump({**config, "select_on_dev": False}), encoding="utf-8")
    text = render_card(build_card_data(fixed, [f"re.test={results_files['re_test']}"], base_model="someone/base"))
    assert "the last epoch is kept and dev is only scored, for the log (the relation threshold" in text


def test_a_combined_results_file_gives_the_same_card(model_dir, results_files, card_text):
    card = build_card_data(model_dir, [str(results_files["combined"])], base_model="someone/viextract-base-small")
    assert render_card(card) == card_text


def test_a_hub_base_a_bare_ner_dir_and_no_results(tiny_ner_dir, tmp_path):
    from training.fit.ner import NerConfig

    shutil.copytree(tiny_ner_dir / "ner", tmp_path / "bare")
    NerConfig().save(tmp_path / "bare")  # base_model: vinai/phobert-base
    text = render_card(build_card_data(tmp_path / "bare", [], repo_id="me/bare"))
    meta, body = split_front_matter(text)
    assert meta["base_model"] == "vinai/phobert-base" and meta["license"] == "mit"
    assert "model-index" not in meta  # nothing measured, nothing claimed
    assert "## Relations" not in body and "### Relations" not in body
    assert "viextract train ner --config training_config.yaml\n" in body and "BASE_DIR" not in body
    assert RETRAIN_NER not in body  # already on the recommended base
    assert 'Extractor.from_pretrained("me/bare")' in body
    assert section(body, "## Evaluation", "### Entities", "#### Test").strip() == "not measured"


def test_the_card_shows_whole_epochs_as_the_config_wrote_them(tiny_ner_dir, tmp_path):
    from training.fit.ner import NerConfig

    shutil.copytree(tiny_ner_dir / "ner", tmp_path / "bare")
    NerConfig.load(None, ["epochs=20"]).save(tmp_path / "bare")
    body = render_card(build_card_data(tmp_path / "bare", [], repo_id="me/bare"))
    assert "| `epochs` | `20` |" in body


def test_one_folds_results_are_refused_as_a_kfold(tmp_path):
    """`evaluate --kfold 4 --fold 2 --out` holds one fold: its F1 ± 0.0 was published as the 4-fold figure."""
    one = tmp_path / "fold2.json"
    one.write_text(json.dumps({**NER_KFOLD, "folds": [{}]}), encoding="utf-8")
    with pytest.raises(CardError, match=r"fold2\.json: holds 1 of its 4 folds \(a --fold run\).*merge_folds"):
        read_results([str(one)])
    whole = tmp_path / "kfold.json"
    whole.write_text(json.dumps(NER_KFOLD), encoding="utf-8")
    assert read_results([str(whole)])["ner"]["kfold"].k == 4


def test_results_errors_name_the_file_and_the_fix(tmp_path):
    unsplit = tmp_path / "all.json"
    unsplit.write_text(json.dumps({**NER_TEST, "docs": "all"}), encoding="utf-8")
    with pytest.raises(CardError, match=r"all\.json.*--results test="):
        read_results([str(unsplit)])
    assert read_results([f"test={unsplit}"])["ner"]["test"].tables["words"].micro.f1 == 0.7879
    percent = tmp_path / "percent.json"
    percent.write_text(json.dumps({**NER_TEST, "words": {"micro": row(81.25, 76.47, 78.79, 47)}}), encoding="utf-8")
    with pytest.raises(CardError, match=r"percent\.json: words\.micro\.precision: expected a fraction"):
        read_results([str(percent)])
    with pytest.raises(CardError, match="also in"):
        read_results([f"test={unsplit}", f"test={unsplit}"])
    with pytest.raises(CardError, match="holds ner scores, not re"):
        read_results([f"re.test={unsplit}"])
    # A KEY that contradicts the file's own split would publish dev scores as test scores.
    tested = tmp_path / "test.json"
    tested.write_text(json.dumps(NER_TEST), encoding="utf-8")
    with pytest.raises(CardError, match=r"test\.json: the file holds test scores \(its 'docs'\), not dev"):
        read_results([f"dev={tested}"])
    # Scores of training documents: the error advised `test=FILE`, which put them on the card as test scores.
    trained = tmp_path / "train.json"
    trained.write_text(json.dumps({**NER_TEST, "docs": "train"}), encoding="utf-8")
    with pytest.raises(CardError, match=r"train\.json: it holds scores of --docs train, which a card shows neither"):
        read_results([str(trained)])
    for key in ("test", "dev", "ner.test"):
        with pytest.raises(CardError, match=r"train\.json: the file holds train scores \(its 'docs'\), not (dev|test)"):
            read_results([f"{key}={trained}"])


def test_the_card_never_overwrites_an_input_or_a_file_of_the_model(model_dir, results_files, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    before = results_files["ner_test"].read_bytes()
    common = ["card", "--model", str(model), "--results", str(results_files["ner_test"])]
    assert main([*common, "--out", str(results_files["ner_test"])]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert results_files["ner_test"].read_bytes() == before
    config = model / "ner" / "config.json"
    assert main([*common, "--out", str(config)]) == 2
    assert "inside the model" in capsys.readouterr().err and json.loads(config.read_text(encoding="utf-8"))
    assert main([*common, "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_builtin_definitions_match_schema_md():
    schema = find_schema()
    if schema is None:
        pytest.skip("SCHEMA.md is not next to this checkout")
    entities, relations = read_schema_tables(schema)
    assert {label: what for label, (what, _) in entities.items()} == ENTITY_DEFINITIONS
    assert list(relations) == list(RELATION_LABELS)


# ---- (b)-(d) pushing ----------------------------------------------------------------------------


class FakeHfApi:
    """Records every call; `upload_folder` keeps a copy of what it was given, as the repository would."""

    calls: list = []
    uploaded: Path | None = None
    fail_on: str | None = None
    private: bool | None = None  # the repo's visibility, None while it does not exist

    def __init__(self, token=None):
        FakeHfApi.calls.append(("HfApi", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        FakeHfApi.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if FakeHfApi.fail_on == "create_repo":
            raise ConnectionError("[Errno -3] Temporary failure in name resolution")
        if FakeHfApi.private is None:  # as on the Hub, `private` applies to a new repo only
            FakeHfApi.private = bool(kwargs.get("private"))

    def repo_info(self, repo_id, **kwargs):
        FakeHfApi.calls.append(("repo_info", {"repo_id": repo_id, **kwargs}))
        return SimpleNamespace(private=FakeHfApi.private)

    def create_branch(self, repo_id, **kwargs):
        FakeHfApi.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        FakeHfApi.calls.append(("upload_folder", kwargs))
        shutil.rmtree(FakeHfApi.uploaded, ignore_errors=True)
        shutil.copytree(kwargs["folder_path"], FakeHfApi.uploaded)
        return SimpleNamespace(commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/0123abc")


@pytest.fixture
def hub(monkeypatch, tmp_path):
    import huggingface_hub

    FakeHfApi.calls = []
    FakeHfApi.uploaded = tmp_path / "uploaded"
    FakeHfApi.fail_on = None
    FakeHfApi.private = None
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHfApi)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    return FakeHfApi


@pytest.fixture(scope="module")
def card_file(card_text, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("card") / "card.md"
    path.write_text(card_text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def unstamped_card_file(card_text, tmp_path_factory) -> Path:
    """The card without its record of the weights, for pushes of other models than the one it was written for."""
    path = tmp_path_factory.mktemp("card") / "card.md"
    path.write_text(re.sub(r"<!-- viextract weights: .* -->", "", card_text), encoding="utf-8")
    return path


def uploaded_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_push_sends_the_allow_listed_files_and_the_card(hub, model_dir, card_file):
    result = push_model(model_dir, "me/viextract-tiny", token="hf_test", private=True, card=card_file)
    names = [name for name, _ in hub.calls]
    assert names == ["HfApi", "create_repo", "repo_info", "upload_folder"]
    assert hub.calls[0][1] == {"token": "hf_test"}
    assert hub.calls[1][1] == {"repo_id": "me/viextract-tiny", "private": True, "exist_ok": True}
    upload = hub.calls[3][1]
    assert set(upload) == {"folder_path", "repo_id", "commit_message", "revision", "delete_patterns"}
    assert upload["repo_id"] == "me/viextract-tiny" and upload["revision"] is None
    assert upload["commit_message"] == "Upload viextract model (ner, re) and model card"

    sent = uploaded_files(hub.uploaded)
    expected = {"README.md"} | {
        f"{part}/{p.name}" for part in ("ner", "re") for p in (model_dir / part).iterdir() if p.name in ALLOWED
    }
    assert sent == expected == set(result.files)
    for part in ("ner", "re"):
        assert {f"{part}/{name}" for name in ("config.json", "model.safetensors", "vocab.txt", "bpe.codes",
                                              "training_config.yaml")} <= sent  # fmt: skip
    assert not any("checkpoint" in name or "optimizer" in name or "runs/" in name for name in sent)
    assert "ner/training_metrics.json" not in sent
    assert {"optimizer.pt", "ner/checkpoint-5/optimizer.pt", "ner/training_metrics.json"} <= set(result.left_out)
    readme = (hub.uploaded / "README.md").read_text(encoding="utf-8")
    assert split_front_matter(readme)[0]["language"] == "vi"
    assert 'Extractor.from_pretrained("me/viextract-tiny")' in readme and "REPO_ID" not in readme
    assert result.commit_url.endswith("/commit/0123abc")


def _commits_into_repo(hub, monkeypatch):
    """The fake Hub's upload_folder commits as the Hub does: sent files replace, delete_patterns remove the rest."""
    from tests.hub_helpers import commit_into_repo

    def upload_into_repo(self, **kwargs):
        commit_into_repo(hub.uploaded, kwargs["folder_path"], kwargs.get("delete_patterns"))
        return SimpleNamespace(commit_url="https://huggingface.co/me/viextract-tiny/commit/0123abc")

    monkeypatch.setattr(hub, "upload_folder", upload_into_repo)


def test_a_second_push_without_relations_leaves_no_old_relation_model_on_the_hub(
    hub, model_dir, unstamped_card_file, monkeypatch, tmp_path
):
    """The Hub keeps every file a commit neither sends nor deletes: an old re/ would serve old relations."""
    _commits_into_repo(hub, monkeypatch)
    push_model(model_dir, "me/viextract-tiny", token="hf_test", card=unstamped_card_file)
    assert "re/model.safetensors" in uploaded_files(hub.uploaded)
    shutil.copytree(model_dir / "ner", tmp_path / "ner_only" / "ner")
    push_model(tmp_path / "ner_only", "me/viextract-tiny", token="hf_test", card=unstamped_card_file)
    assert not any(name.startswith("re/") for name in uploaded_files(hub.uploaded))


def test_push_to_a_branch_creates_it_and_commits_there(hub, model_dir, card_file):
    push_model(model_dir, "me/viextract-tiny", token="hf_test", card=card_file, revision="v0.1")
    calls = dict(hub.calls)
    assert calls["create_repo"]["private"] is None  # the namespace's default, not public by force
    assert calls["create_branch"] == {"repo_id": "me/viextract-tiny", "branch": "v0.1", "exist_ok": True}
    assert calls["upload_folder"]["revision"] == "v0.1"


def test_what_was_uploaded_loads_from_a_snapshot_and_predicts_the_same(hub, model_dir, card_file, corpus,
                                                                       monkeypatch, tmp_path):  # fmt: skip
    import huggingface_hub

    push_model(model_dir, "me/viextract-tiny", token="hf_test", card=card_file)
    snapshot = tmp_path / "snapshot"
    shutil.copytree(hub.uploaded, snapshot)  # what snapshot_download lays out: the repository's tree
    requested = []

    def fake_snapshot_download(repo_id, revision=None, token=None, **kwargs):
        requested.append(repo_id)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.chdir(tmp_path)  # so "me/viextract-tiny" is no local directory
    text = corpus[0][:600]
    downloaded = Extractor.from_pretrained("me/viextract-tiny", device="cpu")
    original = Extractor.from_pretrained(model_dir, device="cpu")
    assert requested == ["me/viextract-tiny"]
    assert downloaded.relation_extractor is not None
    expected = original(text).to_dict()
    assert downloaded(text).to_dict() == expected
    assert expected["entities"]  # random weights still tag something: the comparison is not vacuous


def test_a_broken_model_is_refused_before_any_hub_call(hub, model_dir, card_file, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "ner" / "model.safetensors").unlink()
    with pytest.raises(PublishError, match=r"does not load.*model\.safetensors"):
        push_model(broken, "me/broken", token="hf_test", card=card_file)
    assert hub.calls == []
    for dry_run in (True, False):  # the dry run must not promise an upload the Hub would refuse
        with pytest.raises(PublishError, match=r"--repo-id 'bad id': not a Hub repository id"):
            push_model(model_dir, "bad id", token="hf_test", card=card_file, dry_run=dry_run)
    assert hub.calls == []


def test_missing_token_and_network_failure_are_clear_errors(hub, model_dir, card_file):
    with pytest.raises(PublishError, match=r"no Hugging Face token.*hf auth login.*huggingface-cli login.*HF_TOKEN"):
        push_model(model_dir, "me/viextract-tiny", card=card_file)
    assert hub.calls == []
    hub.fail_on = "create_repo"
    with pytest.raises(PublishError, match=r"could not create the repository me/viextract-tiny .*ConnectionError"):
        push_model(model_dir, "me/viextract-tiny", token="hf_test", card=card_file)
    assert [name for name, _ in hub.calls] == ["HfApi", "create_repo"]


def test_command_line_card_then_push(hub, model_dir, results_files, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    out = tmp_path / "cards" / "tiny.md"
    assert main(["card", "--model", str(model), "--results", str(results_files["combined"]), "--out", str(out),
                 "--write-into-model", "--base-model", "someone/viextract-base-small"]) == 0  # fmt: skip
    assert out.read_text(encoding="utf-8") == (model / "README.md").read_text(encoding="utf-8")
    assert main(["push", "--model", str(model), "--repo-id", "me/cli", "--token", "hf_test", "--private"]) == 0
    assert dict(hub.calls)["create_repo"]["private"] is True
    assert 'Extractor.from_pretrained("me/cli")' in (hub.uploaded / "README.md").read_text(encoding="utf-8")
    (model / "README.md").unlink()
    assert main(["push", "--model", str(model), "--repo-id", "me/cli", "--token", "hf_test"]) == 2
    assert "no model card" in capsys.readouterr().err


def test_a_card_written_for_other_weights_is_not_published(hub, model_dir, results_files, tmp_path, caplog):
    """Card written, then the model retrained and saved over it (save_pretrained keeps a card it did not
    write): the card's scores and sizes were published beside weights they do not describe."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    assert main(["card", "--model", str(model), "--results", str(results_files["combined"]), "--write-into-model",
                 "--base-model", "someone/viextract-base-small"]) == 0  # fmt: skip
    card = (model / "README.md").read_text(encoding="utf-8")
    assert re.search(r"<!-- viextract weights: ner/model.safetensors=sha256:[0-9a-f]{64} "
                     r"re/model.safetensors=sha256:[0-9a-f]{64} -->", card)  # fmt: skip
    assert push_model(model, "me/tiny", dry_run=True).files  # the card fits the weights

    retrained = Extractor.from_pretrained(model, device="cpu")
    with torch.no_grad():
        next(retrained.relation_extractor.model.parameters()).add_(0.01)
    retrained.save_pretrained(model)
    assert (model / "README.md").read_text(encoding="utf-8") == card
    with pytest.raises(PublishError, match=r"README.md: the card was written for other weights than .*model "
                                           r"holds now \(re/model.safetensors: not as the card records; retrained "
                                           r"or saved over since\); render it again: .*publish card"):  # fmt: skip
        push_model(model, "me/tiny", token="hf_test")
    assert hub.calls == []

    (model / "README.md").write_text(re.sub(r"<!-- viextract weights: .* -->", "", card), encoding="utf-8")
    with caplog.at_level("WARNING", logger="training.release.publish"):
        push_model(model, "me/tiny", dry_run=True)  # an older or hand-written card: published, with a warning
    assert "records no weights digest" in caplog.text


def test_write_into_model_alone_writes_only_the_models_readme(model_dir, results_files, tmp_path, monkeypatch):
    # A user's `publish card --model DIR --write-into-model` also left a model_cards/ folder wherever it ran.
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    monkeypatch.chdir(tmp_path)
    assert main(["card", "--model", str(model), "--results", str(results_files["combined"]), "--write-into-model"]) == 0
    assert (model / "README.md").is_file() and not (tmp_path / "model_cards").exists()


def test_the_pretraining_ablation_is_a_table_of_dev_scores(model_dir, tmp_path):
    """Fine-tuned from the base vs from a random twin: both dev figures come from the results files."""
    dev = {**NER_TEST, "docs": "dev"}
    random_dev = json.loads(json.dumps(dev))
    random_dev["chars"]["micro"]["f1"] = 0.125
    (tmp_path / "dev.json").write_text(json.dumps(dev), encoding="utf-8")
    (tmp_path / "random.json").write_text(json.dumps(random_dev), encoding="utf-8")
    card = build_card_data(model_dir, [str(tmp_path / "dev.json")], ablation=[f"ner={tmp_path / 'random.json'}"])
    text = render_card(card)
    table = section(text, "## Does pretraining help?")
    row = next(line for line in table.splitlines() if line.startswith("| Entities") and "12.50" in line)
    assert re.search(pct(dev["chars"]["micro"]["f1"]), row)
    # The base is ahead on character spans only (the word-level rows are equal): the card says so.
    assert "scores higher on 1 of 2 rows" in table
    random_dev["chars"]["micro"]["f1"] = random_dev["words"]["micro"]["f1"] = 0.99
    (tmp_path / "random.json").write_text(json.dumps(random_dev), encoding="utf-8")
    card = build_card_data(model_dir, [str(tmp_path / "dev.json")], ablation=[f"ner={tmp_path / 'random.json'}"])
    assert "Pretraining did not help here" in section(render_card(card), "## Does pretraining help?")
    with pytest.raises(CardError, match="ner=FILE"):
        build_card_data(model_dir, [], ablation=["ner"])
    assert "Does pretraining help?" not in render_card(build_card_data(model_dir, [str(tmp_path / "dev.json")]))


def test_card_data_table_counts_the_splits_and_the_silver_file(tmp_path):
    from training.release.card_sources import data_splits

    silver = tmp_path / "silver.jsonl"
    entity = {"id": "T1", "start": 0, "end": 3, "label": "PER"}
    silver.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "text": "Hải nói.", "entities": [entity], "relations": []}) + "\n"
            for i in range(3)
        ),
        encoding="utf-8",
    )
    rows = data_splits({"splits_file": str(REPO / "data" / "splits.json"), "silver_files": [str(silver)]})
    by_name = {r.name: r for r in rows}
    assert {"train", "dev", "test", "train (extra)", "train (silver)"} <= set(by_name)
    assert (by_name["train (silver)"].documents, by_name["train (silver)"].entities) == (3, 3)
    assert by_name["test"].documents == 1


@pytest.mark.parametrize("silver, shown", [(899, {"silver_documents": 899}), (0, {})])
def test_card_training_sizes_name_silver_data_only_when_used(tmp_path, silver, shown):
    from training.release.card_sources import training_run

    (tmp_path / "training_config.yaml").write_text("task: ner\nsilver_files: []\n", encoding="utf-8")
    metrics = {"train_documents": 90, "silver_documents": silver, "log_history": []}
    (tmp_path / "training_metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    run, _ = training_run("ner", tmp_path, "ner/")
    assert run.sizes == {"train_documents": 90, **shown}
    assert "silver_files" not in run.settings  # an empty list is not a setting worth a row


def test_a_saved_config_that_is_not_yaml_is_one_line_with_its_line(tmp_path):
    # It was PyYAML's message over several lines, quoting the text and naming "<unicode string>".
    from training.release.card_data import CardError
    from training.release.card_sources import training_run

    config = tmp_path / "training_config.yaml"
    config.write_text("task: ner\nepochs: 1: 2\nseed: 3\n", encoding="utf-8")
    with pytest.raises(CardError) as error:
        training_run("ner", tmp_path, "ner/")
    message = str(error.value)
    assert message.startswith(f"{config}:2: not valid YAML: ") and "\n" not in message, message


def test_every_scoring_level_has_a_kfold_column_header():
    from training.release.card_data import LEVEL_HEADERS, LEVELS

    assert set(LEVEL_HEADERS) == {level for levels in LEVELS.values() for level in levels}


@pytest.mark.parametrize("select_on_dev, listed", [(False, False), (True, True)])
def test_card_settings_leave_out_patience_when_dev_chooses_no_epoch(tmp_path, select_on_dev, listed):
    from training.release.card_sources import training_run

    config = f"task: ner\nearly_stopping_patience: 3\nselect_on_dev: {str(select_on_dev).lower()}\n"
    (tmp_path / "training_config.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "training_metrics.json").write_text("{}", encoding="utf-8")
    run, _ = training_run("ner", tmp_path, "ner/")
    assert ("early_stopping_patience" in run.settings) is listed
    assert run.settings["select_on_dev"] is select_on_dev


def test_the_challenge_table_is_the_scorer_s_rows(model_dir, tmp_path):
    """`--challenge`: training.evaluation.challenge's per-phenomenon rows, formatted as the command prints them."""
    from training.evaluation.metrics import PRF

    def row(sentences, entities, relations):
        return {
            "sentences": sentences,
            "entities": {"micro": PRF(*entities).to_dict()},
            "relations_end_to_end": {"micro": PRF(*relations).to_dict()},
        }

    report = {
        "phenomena": {"lao-names": row(25, (40, 98, 89), (7, 45, 46)), "all": row(180, (300, 656, 597), (60, 370, 304))}
    }
    (tmp_path / "challenge.json").write_text(json.dumps(report), encoding="utf-8")
    card = build_card_data(model_dir, [], challenge=tmp_path / "challenge.json")
    table = section(render_card(card), "### Challenge set, per phenomenon")
    assert "| lao-names | 25 | 40.8 | 44.9 | 42.8 | 89 | 98 | 15.6 | 15.2 | 15.4 | 46 | 45 |" in table
    assert "| all | 180 |" in table and "--out challenge.json" in table
    assert "Challenge set" not in render_card(build_card_data(model_dir, []))
    (tmp_path / "bad.json").write_text(json.dumps({"micro": {}}), encoding="utf-8")
    with pytest.raises(CardError, match="training.evaluation.challenge"):
        build_card_data(model_dir, [], challenge=tmp_path / "bad.json")


def test_speed_and_size_come_from_the_benchmark_json_and_the_files(model_dir, tmp_path):
    """`--speed`: benchmarks/speed.py's rows for the model; the size is what the files uploaded weigh."""
    run = {
        "name": "Extractor.pipe, batch 8, fp32",
        "seconds": 4.0,
        "docs": 10,
        "tokens": 5000,
        "peak_mb": 900.4,
        "docs_per_s": 2.5,
        "tokens_per_s": 1250.0,
        "latency_p50_ms": 400.0,
        "latency_p95_ms": 512.25,
    }
    machine = {
        "date": "2026-12-05T09:00:00+00:00",
        "cpu": "AMD EPYC",
        "cores": 2,
        "torch_threads": 1,
        "torch": "2.13.0+cpu",
        "command": "speed.py --docs 10 --json s.json",
        "load_average": [0.5, 0.4, 0.3],
    }
    # speed.py writes NaN latencies for its text-preparation row, and JSON carries them as NaN.
    prep = dict(run, name="text preparation only", latency_p50_ms=float("nan"), latency_p95_ms=float("nan"))
    report = {
        "machine": machine,
        "models": {"model": {"docs": 10, "tokens": 5000, "dtype": "fp32", "pipe": [run, prep]}},
    }
    (tmp_path / "speed.json").write_text(json.dumps(report), encoding="utf-8")
    text = render_card(build_card_data(model_dir, [], speed=tmp_path / "speed.json"))
    speed = section(text, "## Speed and size")
    assert "| Extractor.pipe, batch 8, fp32 | 2.50 | 1,250 | 400.0 | 512.2 | 900 |" in speed
    assert "| text preparation only | 2.50 | 1,250 | – | – | 900 |" in speed
    assert "`python benchmarks/speed.py --docs 10 --json s.json`" in speed and "(2 cores, 1 torch thread)" in speed
    # What a user downloads: the uploaded files, not the checkpoints and logs beside them (junk here).
    from training.release.publish import upload_plan

    total = sum(path.stat().st_size for path in upload_plan(model_dir).values()) / 1e6
    assert f"take {total:.1f} MB on disk" in speed
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    (model / "ner" / "checkpoint-5" / "optimizer.pt").write_bytes(bytes(3_000_000))
    (model / "ner" / "checkpoint-5" / "config.json").write_text(json.dumps({"dtype": "bfloat16"}), encoding="utf-8")
    card = build_card_data(model, [])
    assert (round(card.size_mb["total"], 1), card.storage) == (round(total, 1), "float32")
    assert "Speed: not measured." in section(render_card(build_card_data(model_dir, [])), "## Speed and size")
    (tmp_path / "bad.json").write_text(json.dumps({"machine": machine, "models": {}}), encoding="utf-8")
    with pytest.raises(CardError, match="--speed .*bad.json"):
        build_card_data(model_dir, [], speed=tmp_path / "bad.json")


def test_the_data_table_is_what_the_model_trained_on_and_later_edits_are_a_limitation(model_dir, tmp_path):
    """Counts recorded in training_metrics.json win over today's files, and a file that changed is named."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    now = build_card_data(model, []).data
    dev_now = next(split for split in now if split.name == "dev")
    recorded = [{"name": "dev", "source": dev_now.source, "documents": 1, "entities": dev_now.entities + 3,
                 "relations": dev_now.relations}]  # fmt: skip
    metrics = {"train_sentences": 250, "data": recorded}
    (model / "ner" / "training_metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    card = build_card_data(model, [])
    assert [(s.name, s.entities) for s in card.data] == [("dev", dev_now.entities + 3)]
    (changed,) = [item for item in card.limitations if "has changed since" in item]
    assert dev_now.source in changed and f"now 1 document, {dev_now.entities} entities" in changed
    assert "has changed" not in " ".join(build_card_data(model_dir, []).limitations)


def test_the_labels_section_names_the_schema_version(card_text):
    first = (REPO / "SCHEMA.md").read_text(encoding="utf-8").splitlines()[0]
    version = re.search(r"\((v[\d.]+)\)", first).group(1)
    assert f"(SCHEMA.md, {version})" in section(split_front_matter(card_text)[1], "## Labels")


def test_card_training_sizes_say_how_many_dev_relations_the_kept_f1_is_over(tmp_path):
    from training.release.card_sources import training_run

    (tmp_path / "training_config.yaml").write_text("task: re\n", encoding="utf-8")
    metrics = {"kept_epoch": "last", "log_history": [{"eval_f1": 1.0}],
               "dev_at_threshold": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "gold": 1, "predicted": 1}}  # fmt: skip
    (tmp_path / "training_metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    run, _ = training_run("re", tmp_path, "re/")
    assert run.sizes == {"kept_dev_f1": 1.0, "dev_relations_scored": 1}


def test_parameters_leave_out_the_scales_of_int8_storage(tmp_path):
    """The bundled model stores weights as int8 + a float scale per row; the scales are not parameters."""
    import torch
    from safetensors.torch import save_file

    from training.release.card_sources import model_shape

    tensors = {"dense.weight.int8": torch.zeros(4, 3, dtype=torch.int8), "dense.weight.scale": torch.ones(4),
               "dense.bias": torch.zeros(4), "norm.scale": torch.ones(2)}  # fmt: skip
    save_file(tensors, str(tmp_path / "model.safetensors"))
    assert model_shape(tmp_path, {"hidden_size": 3})["parameters"] == 12 + 4 + 2


# ---- a user's own data and base (docs/training.md with `train_files`) --------------------------------

MY_TEST = {**NER_TEST, "data": "my/all.jsonl", "splits": "my/splits.json"}
MY_KFOLD = {**NER_KFOLD, "data": "my/all.jsonl", "splits": "my/splits.json", "config": {"epochs": 1.0},
            "overrides": ["allow_unseen_labels=true"]}  # fmt: skip


@pytest.fixture()
def user_model(tmp_path, tiny_ner_dir) -> Path:
    """A NER model trained as a user would: their own files, from a randomly initialised base (no records)."""
    from tests.test_provenance import store
    from training.fit.ner import NerConfig
    from training.release.provenance import gold_origins, trained_provenance

    base = tmp_path / "base_random"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "roberta"}), encoding="utf-8")
    model = tmp_path / "mine"
    shutil.copytree(tiny_ner_dir / "ner", model / "ner")
    config = NerConfig(base_model=str(base), train_files=["my/train.jsonl"], dev_files=["my/dev.jsonl"])
    config.save(model / "ner")
    store(model / "ner", trained_provenance(str(base), ["a"], *gold_origins(config)))
    return model


def test_a_card_of_user_data_names_their_files_and_claims_nothing_of_ours(user_model, tmp_path):
    (tmp_path / "test.json").write_text(json.dumps(MY_TEST), encoding="utf-8")
    text = render_card(build_card_data(user_model, [str(tmp_path / "test.json")], repo_id="me/mine"))
    meta, body = split_front_matter(text)
    # Their data's licence is theirs to state: no licence id is claimed, and the card says why.
    assert meta["license"] == "other" and "the publisher's to state" in body
    assert "datasets" not in meta  # viextract's dataset id names the project's corpus only
    (result,) = {r["dataset"]["name"] for r in meta["model-index"][0]["results"]}
    assert result == "my/all.jsonl"
    credits = section(body, "## Credits and licences")
    assert "`my/train.jsonl`, the publisher's own files" in credits
    assert "annotated for viextract" not in body and "diplomacy" not in body
    # A random-init base records nothing of how it was made: the card says so, and no more.
    assert "pretrained for viextract" not in body and "another pretrained encoder" not in body
    assert "whose files record nothing of how it was made" in body
    # Its training files are the user's, where they trained it: not in a viextract checkout, and not uploaded.
    procedure = section(body, "## Training procedure")
    # Only test was measured: the card no longer says "Dev and test are one document each".
    assert "Test is one document, so one item found or missed" in body and "Dev and test" not in body
    assert "The k-fold's std" not in body  # no k-fold was measured to point to
    words = " ".join(procedure.split())
    assert "relative to a viextract checkout" not in words
    assert "own training files `my/train.jsonl` and dev files `my/dev.jsonl` were: they are not" in words
    # Its base_model is an absolute path of the publisher's machine: the command replaces it, and says so.
    assert "viextract train ner --config ner/training_config.yaml --set base_model=BASE_DIR\n" in procedure
    assert f"publisher's machine (`{user_model.parent / 'base_random'}`)" in words and "must be replaced" in words


def test_a_card_of_the_project_s_corpus_still_describes_it(card_text):
    meta, body = split_front_matter(card_text)
    assert meta["datasets"] == ["viextract-vi-diplomacy-news"]
    names = {r["dataset"]["name"] for r in meta["model-index"][0]["results"]}
    assert names == {"viextract Vietnamese diplomacy and defence news (data/corpus.jsonl)"}
    assert "annotated for viextract by two independent passes" in section(body, "## Credits and licences")
    assert "pretrained here by masked language modelling on 31,363 words" in section(body, "## Limitations")


def test_measured_with_gives_the_splits_file_and_the_overrides_the_run_was_given(tmp_path):
    (tmp_path / "test.json").write_text(json.dumps(MY_TEST), encoding="utf-8")
    (tmp_path / "kfold.json").write_text(json.dumps(MY_KFOLD), encoding="utf-8")
    results = read_results([str(tmp_path / "test.json"), str(tmp_path / "kfold.json")])
    assert results["ner"]["test"].command == (
        "python -m training.evaluation.evaluate ner --model outputs/model --data my/all.jsonl --docs test "
        "--splits my/splits.json"
    )
    # What the user passed, not the config's epochs (which the old rebuild turned into `--set epochs=1`).
    assert results["ner"]["kfold"].command == (
        "python -m training.evaluation.evaluate ner --kfold 4 --config CONFIG --set allow_unseen_labels=true "
        "--data my/all.jsonl --docs train,dev --splits my/splits.json"
    )


@pytest.mark.parametrize("task", ["ner", "re"])
def test_evaluate_records_its_splits_file_and_overrides(task):
    from training.evaluation.evaluate import build_parser
    from training.evaluation.relations import build_parser as build_re_parser
    from training.evaluation.runs import command_record

    parser = build_parser() if task == "ner" else build_re_parser()
    common = ["--data", "my/all.jsonl", "--splits", "my/splits.json"]
    argv = [*(["ner"] if task == "ner" else []), "--kfold", "2", "--config", "c.yaml",
            "--set", "allow_unseen_labels=true", "--docs", "train,dev", *common]  # fmt: skip
    assert command_record(parser.parse_args(argv)) == {
        "splits": "my/splits.json", "overrides": ["allow_unseen_labels=true"], "no_extra": False
    }  # fmt: skip
    argv = [*(["ner"] if task == "ner" else []), "--model", "m", "--docs", "test", *common]
    assert command_record(parser.parse_args(argv)) == {"splits": "my/splits.json"}


def test_save_pretrained_keeps_the_training_records_and_the_card_s_licence(model_dir, base_dir, tmp_path):
    """A saved copy still has what the card and push read: both training configs, both metrics files."""
    from tests.test_provenance import store
    from training.fit.ner import NerConfig
    from training.release.provenance import gold_origins, trained_provenance
    from training.release.publish import upload_plan

    source = tmp_path / "source"
    shutil.copytree(model_dir, source)
    (source / "re" / "training_metrics.json").write_text(json.dumps({"train_pairs": 12}), encoding="utf-8")
    Extractor.from_pretrained(source, device="cpu").save_pretrained(tmp_path / "saved")
    saved = tmp_path / "saved"
    for name in ("ner/training_config.yaml", "re/training_config.yaml"):
        assert (saved / name).read_text(encoding="utf-8") == (source / name).read_text(encoding="utf-8"), name
    for name in ("ner/training_metrics.json", "re/training_metrics.json"):
        assert json.loads((saved / name).read_text(encoding="utf-8")) == json.loads((source / name).read_text()), name
    assert {"ner/training_config.yaml", "re/training_config.yaml"} <= set(upload_plan(saved))
    body = render_card(build_card_data(saved, []))
    assert "viextract train re --config re/training_config.yaml" in body and "commands are unknown" not in body
    # Both cards take their licence from one rule: the project's data (mit), share-alike (cc-by-sa), the user's.
    mine = {"train_files": ["my/train.jsonl"], "dev_files": ["my/dev.jsonl"]}
    for config in (NerConfig(), NerConfig(base_model=str(base_dir)), NerConfig(**mine)):
        config.save(source / "ner")
        store(source / "ner", trained_provenance(config.base_model, ["a"], *gold_origins(config)))
        Extractor.from_pretrained(source, device="cpu").save_pretrained(saved)
        own = split_front_matter((saved / "README.md").read_text(encoding="utf-8"))[0]["license"]
        published = split_front_matter(render_card(build_card_data(saved, [])))[0]["license"]
        assert own == published, (config.base_model, config.train_files)
    assert own == "other"


def test_a_card_that_cannot_be_written_is_one_line_and_keeps_the_card_there(
    model_dir, results_files, tmp_path, monkeypatch, capsys
):
    # A full disk was an OSError traceback, with the card at --out already cut to the bytes that fitted.
    out = tmp_path / "card.md"
    out.write_text("the card of last week\n", encoding="utf-8")
    real_write_text = Path.write_text

    def disk_full(self, data, *args, **kwargs):
        real_write_text(self, data[:100], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    argv = ["card", "--model", str(model_dir), "--results", str(results_files["combined"]), "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"error: {out}: cannot write the card (No space left on device)\n"
    assert out.read_text(encoding="utf-8") == "the card of last week\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.md"]


def test_a_card_name_near_the_length_limit_and_a_linked_card_are_written(model_dir, results_files, tmp_path):
    """The card was staged as '.NAME.partial', 9 bytes over a 250-byte name's limit, and renamed over a link."""
    long = tmp_path / ("c" * 247 + ".md")
    (tmp_path / "cards").mkdir()
    linked = tmp_path / "card.md"
    linked.symlink_to(tmp_path / "cards" / "card.md")
    for out in (long, linked):
        argv = ["card", "--model", str(model_dir), "--results", str(results_files["combined"]), "--out", str(out)]
        assert main(argv) == 0
        assert out.read_text(encoding="utf-8").startswith("---\n")
    assert linked.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cards", "card.md", long.name])


def test_a_results_file_or_card_not_in_utf8_is_one_line(model_dir, tmp_path, capsys):
    # Both were a UnicodeDecodeError traceback.
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{\n "note": "H\xe0 N\xf4i"\n}\n')
    assert main(["card", "--model", str(model_dir), "--results", str(latin), "--out", str(tmp_path / "c.md")]) == 2
    assert capsys.readouterr().err == f"error: {latin}:2: not UTF-8 text (byte 0xe0); save it as UTF-8\n"
    card = tmp_path / "card.md"
    card.write_bytes(b"---\nlanguage: vi\n---\nH\xe0 N\xf4i\n")
    assert main(["push", "--model", str(model_dir), "--repo-id", "me/x", "--card", str(card), "--dry-run"]) == 2
    expected = f"error: {card}:4: not UTF-8 text (byte 0xe0); save it as UTF-8; nothing uploaded\n"
    assert capsys.readouterr().err == expected


def test_push_to_an_open_pull_request_creates_no_branch(hub, model_dir, card_file):
    # `--revision refs/pr/3` asked the Hub to create a branch named 'refs/pr/3', which it refuses: the push failed.
    push_model(model_dir, "me/viextract-tiny", token="hf_test", card=card_file, revision="refs/pr/3")
    calls = dict(hub.calls)
    assert "create_branch" not in calls
    assert calls["upload_folder"]["revision"] == "refs/pr/3"


def test_a_bare_ner_push_leaves_no_file_of_the_previous_bare_model_at_the_repo_root(
    hub, model_dir, unstamped_card_file, monkeypatch, tmp_path
):
    # A bare model's files sit at the root, which no delete pattern covered: a second push without the first one's
    # training_config.yaml (or added_tokens.json) left the old file beside the new weights, describing another model.
    _commits_into_repo(hub, monkeypatch)
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(model_dir / "ner", first)
    shutil.copytree(model_dir / "ner", second)
    (second / "training_config.yaml").unlink()
    push_model(first, "me/viextract-tiny", token="hf_test", card=unstamped_card_file)
    assert "training_config.yaml" in uploaded_files(hub.uploaded)
    result = push_model(second, "me/viextract-tiny", token="hf_test", card=unstamped_card_file)
    assert uploaded_files(hub.uploaded) == set(result.files)


def test_the_card_reads_the_weights_dtype_that_transformers_5_writes(tmp_path):
    # transformers 5 writes "dtype" (4 wrote "torch_dtype"): a float16 model's card said float32, twice its size.
    from training.release.card_sources import model_size

    for key in ("dtype", "torch_dtype"):
        (tmp_path / key / "ner").mkdir(parents=True)
        (tmp_path / key / "ner" / "config.json").write_text(json.dumps({key: "float16"}), encoding="utf-8")
        assert model_size(tmp_path / key)[1] == "float16"


def test_write_into_model_keeps_a_readme_viextract_did_not_write(model_dir, results_files, tmp_path, capsys):
    """A model folder's hand-written README.md was replaced by the card without a word, and lost."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    own = "# My model\n\nNotes nobody else has.\n"
    (model / "README.md").write_text(own, encoding="utf-8")
    out = tmp_path / "card.md"
    command = ["card", "--model", str(model), "--results", str(results_files["combined"]), "--write-into-model"]
    assert main([*command, "--out", str(out)]) == 2
    assert re.search(r"README.md: a README.md that viextract did not write; nothing was written\. Pass "
                     r"--replace-card", capsys.readouterr().err)  # fmt: skip
    assert (model / "README.md").read_text(encoding="utf-8") == own and not out.exists()
    assert main([*command, "--replace-card"]) == 0
    card = (model / "README.md").read_text(encoding="utf-8")
    assert "<!-- viextract weights: " in card
    assert main(command) == 0  # a card `publish card` wrote is its own to replace
    (model / "README.md").write_text(f"---\nlicense: mit\n---\n{CARD_MARKER}\n\n# model\n", encoding="utf-8")
    assert main(command) == 0  # so is save_pretrained's
    assert "<!-- viextract weights: " in (model / "README.md").read_text(encoding="utf-8")


def test_write_into_model_refuses_a_readme_that_is_a_folder(model_dir, results_files, tmp_path, capsys):
    """A model whose README.md is a folder gave an IsADirectoryError traceback from is_ours."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    (model / "README.md").mkdir()
    command = ["card", "--model", str(model), "--results", str(results_files["combined"]), "--write-into-model"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"{model / 'README.md'}: a folder" in err and "Traceback" not in err
    assert (model / "README.md").is_dir()


def test_write_into_model_keeps_a_readme_link_to_a_missing_file(model_dir, results_files, tmp_path, capsys):
    """A README.md linking to a file not there was taken as no README (written through the link), and
    `save_pretrained` replaced the link; an unreadable one was a FileNotFoundError traceback once kept."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    target = tmp_path / "share" / "card.md"
    os.symlink(target, model / "README.md")
    command = ["card", "--model", str(model), "--results", str(results_files["combined"]), "--write-into-model"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert f"{model / 'README.md'}: a README.md that cannot be read (No such file or directory)" in err
    assert "--replace-card" in err and os.readlink(model / "README.md") == str(target) and not target.exists()


def test_private_to_an_existing_public_repo_uploads_nothing(hub, model_dir, card_file, capsys):
    """create_repo ignores `private` for a repo that exists: `--private` to a public repo published the weights;
    and without --private, private=False made a repo public in an organisation whose repos are private by default."""
    hub.private = False
    command = ["push", "--model", str(model_dir), "--repo-id", "me/tiny", "--token", "hf_x", "--card", str(card_file)]
    assert main([*command, "--private"]) == 2
    assert capsys.readouterr().err == (
        "error: me/tiny already exists and is public, but --private was asked for (the Hub keeps an existing "
        "repository's visibility); nothing was uploaded. Make it private first (its Settings page, or "
        "HfApi().update_repo_settings('me/tiny', private=True)), or push to another repo id\n"
    )
    assert "upload_folder" not in dict(hub.calls)
    hub.private, hub.calls[:] = None, []
    assert main([*command, "--private"]) == 0 and hub.private is True and "upload_folder" in dict(hub.calls)


def test_scores_of_weights_since_retrained_are_not_put_on_the_card(model_dir, tmp_path, capsys):
    """Evaluated, then retrained into the same folder: the card showed the old scores beside the new weights
    (and stamped the new weights, so push published it). Results files now record the weights they scored."""
    from training.evaluation.evaluate import main as evaluate

    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    first = (REPO / "data" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "docs.jsonl").write_text(first + "\n", encoding="utf-8")
    results = {task: tmp_path / f"{task}_test.json" for task in ("ner", "re")}
    for task, out in results.items():
        argv = [task, "--model", str(model), "--data", str(tmp_path / "docs.jsonl"), "--out", str(out)]
        assert evaluate(argv) == 0
        assert len(json.loads(out.read_text(encoding="utf-8"))["weights"]) == (1 if task == "ner" else 2)
    specs = [f"test={results['ner']}", f"re.test={results['re']}"]
    assert build_card_data(model, specs).evaluations["re"]["test"] is not None  # the weights scored: accepted

    from training.evaluation.challenge import main as challenge

    challenge_file, challenge_docs = tmp_path / "challenge.json", tmp_path / "challenge.jsonl"
    first = (REPO / "data" / "challenge.jsonl").read_text(encoding="utf-8").splitlines()[0]
    challenge_docs.write_text(first + "\n", encoding="utf-8")
    assert challenge(["--model", str(model), "--data", str(challenge_docs), "--out", str(challenge_file)]) == 0
    assert build_card_data(model, specs, challenge=challenge_file).challenge is not None

    retrained = Extractor.from_pretrained(model, device="cpu")
    with torch.no_grad():
        next(retrained.relation_extractor.model.parameters()).add_(0.01)
    retrained.save_pretrained(model)
    assert build_card_data(model, [specs[0]]).evaluations["ner"]["test"] is not None  # NER scores: still its own
    with pytest.raises(CardError, match=r"--challenge .*challenge.json: scores of other weights than .* holds now"):
        build_card_data(model, [specs[0]], challenge=challenge_file)
    card = ["card", "--model", str(model), "--results", specs[0], "--results", specs[1], "--out", str(tmp_path / "c")]
    assert main(card) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {results['re']}: re test scores of other weights than {model} holds now")
    assert f"Evaluate it again: python -m training.evaluation.evaluate re --model {model}" in err
    assert not (tmp_path / "c").exists()


def test_a_card_rendered_for_another_repo_is_not_pushed_to_this_one(hub, model_dir, results_files, tmp_path):
    """`card --repo-id alice/x` pushed to bob/y: the card told bob/y's users to load alice/x's model."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    command = ["card", "--model", str(model), "--results", str(results_files["combined"]), "--write-into-model"]
    assert main([*command, "--repo-id", "alice/x"]) == 0
    with pytest.raises(PublishError, match=r"README.md: the card's usage example loads alice/x, not bob/y; render "
                                           r"it again with --repo-id bob/y .*; nothing uploaded"):  # fmt: skip
        push_model(model, "bob/y", token="hf_test")
    assert hub.calls == []
    push_model(model, "alice/x", token="hf_test")
    assert 'Extractor.from_pretrained("alice/x")' in (hub.uploaded / "README.md").read_text(encoding="utf-8")
    # save_pretrained's card as a push to alice/x left it (a model downloaded from there), pushed on to bob/y
    (model / "README.md").write_text(render_minimal_card({}, None, True).replace("REPO_ID", "alice/x"))
    with pytest.raises(PublishError, match=r"the card's usage example loads alice/x, not bob/y"):
        push_model(model, "bob/y", token="hf_test")


def test_the_card_licence_keeps_the_relation_model_s_text_licence(tiny_tokenizer_dir, tmp_path):
    """The card read the licences of the NER model's record and base only: a relation model that learned from
    CC BY-SA text (fine-tuned from another base) was published as mit."""
    from tests.relation_helpers import build_tiny_full_model, record_provenance

    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path / "full")
    record_provenance(root, {"ner": "MIT", "re": "CC BY-SA 4.0"})
    card = build_card_data(root, [])
    assert card.license == "cc-by-sa-4.0" and "CC BY-SA 4.0" in card.base.licences


FAKE_TOKEN = "hf_" + "aBcD1234" * 5  # the shape of a Hugging Face access token


def test_a_token_in_a_file_to_upload_stops_the_push(hub, model_dir, unstamped_card_file, tmp_path, capsys):
    """A training_config.yaml edited by hand (a token pasted in a comment) was uploaded as it was, for anyone
    who can read the repo to use."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    config = model / "re" / "training_config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"# pushed with --token {FAKE_TOKEN}\n")
    line = len(config.read_text(encoding="utf-8").splitlines())
    found = rf"{model}: re/training_config.yaml:{line}: holds what looks like a Hugging Face access token \(hf_...\)"
    for dry_run in (True, False):
        with pytest.raises(PublishError, match=found + ".*nothing was uploaded"):
            push_model(model, "me/tiny", token="hf_test", card=unstamped_card_file, dry_run=dry_run)
    assert hub.calls == []
    config.write_text(config.read_text(encoding="utf-8").replace(FAKE_TOKEN, "$HF_TOKEN"), encoding="utf-8")
    push_model(model, "me/tiny", token="hf_test", card=unstamped_card_file)
    assert FAKE_TOKEN not in capsys.readouterr().err
