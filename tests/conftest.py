"""Shared fixtures: a tiny PhoBERT-architecture model the tests build themselves (no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS_DIR = SHARED / "corpus"

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The fuzz run of issue #17: HYPOTHESIS_PROFILE=long, VIEXTRACT_FUZZ_EXAMPLES sets the count (10,000 by default).
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("VIEXTRACT_FUZZ_EXAMPLES", "10000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def corpus_texts() -> list[str]:
    """The raw corpus articles from ../shared, or the cleaned ones committed in data/."""
    if CORPUS_DIR.is_dir():
        return [p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt"))]
    import json

    return [json.loads(line)["text"] for line in (REPO / "data" / "passes" / "cleaned.jsonl").open(encoding="utf-8")]


@pytest.fixture(autouse=True)
def no_hub_probe(monkeypatch):
    """No test reaches the Hub: tests fake snapshot_download, so the reachability probe before it is
    a no-op here (tests/test_extractor.py checks the real one against a local server that never answers)."""
    monkeypatch.setattr("viextract.loading.probe_hub", lambda name, revision, token: None)


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return corpus_texts()


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory, corpus) -> Path:
    from training.pretraining.bpe import train_tokenizer
    from viextract.text import prepare_text

    words = [w.text for text in corpus for s in prepare_text(text).sentences for w in s.words]
    directory = tmp_path_factory.mktemp("tiny_tokenizer")
    train_tokenizer(words, directory, num_merges=400)
    return directory


def tiny_config_values(tokenizer, **overrides) -> dict:
    """RobertaConfig arguments of a tiny PhoBERT-architecture encoder over `tokenizer`."""
    values = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=258,  # PhoBERT's 256 positions plus the padding offset
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
    )
    values.update(overrides)
    return values


def build_tiny_token_classifier(tokenizer_dir: Path, out_dir: Path, seed: int = 0):
    """A 2-layer RoBERTa token classifier over the schema's BIO labels, saved with its tokenizer."""
    import torch
    from transformers import PhobertTokenizer, RobertaConfig, RobertaForTokenClassification

    from viextract.labels import bio_labels

    torch.manual_seed(seed)
    tokenizer = PhobertTokenizer(
        vocab_file=str(tokenizer_dir / "vocab.txt"), merges_file=str(tokenizer_dir / "bpe.codes")
    )
    labels = bio_labels()
    config = RobertaConfig(
        **tiny_config_values(
            tokenizer, id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)}
        )
    )
    model = RobertaForTokenClassification(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return model, tokenizer


@pytest.fixture(scope="session")
def tiny_ner_dir(tmp_path_factory, tiny_tokenizer_dir) -> Path:
    """A model directory with `ner/` only (random weights: predictions are arbitrary but valid)."""
    root = tmp_path_factory.mktemp("tiny_model")
    build_tiny_token_classifier(tiny_tokenizer_dir, root / "ner")
    return root


@pytest.fixture(scope="session")
def tiny_extractor(tiny_ner_dir):
    from viextract import Extractor

    return Extractor.from_pretrained(tiny_ner_dir, device="cpu")
