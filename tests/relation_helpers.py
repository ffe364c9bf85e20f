"""Tiny relation models and examples for the relation tests (no network, seconds on a CPU)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from viextract.markers import HEAD_MARKER, HEAD_TYPE_MARKER, TAIL_MARKER, TAIL_TYPE_MARKER

MARKER_WORDS = (HEAD_MARKER, HEAD_TYPE_MARKER, TAIL_MARKER, TAIL_TYPE_MARKER)


def copy_tokenizer_with_markers(tokenizer_dir: Path, out_dir: Path) -> Path:
    """The tests' tiny tokenizer learned from news text, which has no `@ # * ^`: add them, as PhoBERT has them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "bpe.codes"):
        shutil.copy(tokenizer_dir / name, out_dir / name)
    known = {line.split(" ")[0] for line in (out_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()}
    with open(out_dir / "vocab.txt", "a", encoding="utf-8") as handle:
        for word in MARKER_WORDS:
            if word not in known:
                handle.write(f"{word} 1\n")
    return out_dir


def load_tokenizer(tokenizer_dir: Path):
    from transformers import PhobertTokenizer

    return PhobertTokenizer(vocab_file=str(tokenizer_dir / "vocab.txt"), merges_file=str(tokenizer_dir / "bpe.codes"))


def tiny_relation_config(tokenizer, **overrides):
    from tests.conftest import tiny_config_values
    from viextract.relations import RelationConfig

    return RelationConfig(**tiny_config_values(tokenizer, **overrides))


def build_tiny_relation_extractor(tokenizer, seed: int = 0, **overrides):
    import torch

    from viextract.relations import RelationExtractor, RobertaForRelationClassification

    torch.manual_seed(seed)
    return RelationExtractor(RobertaForRelationClassification(tiny_relation_config(tokenizer, **overrides)), tokenizer)


def build_tiny_full_model(tiny_tokenizer_dir: Path, root: Path) -> Path:
    """`root/ner` (random tiny token classifier) and `root/re` (tiny relation model, threshold 0, so
    every candidate pair becomes a relation and checks on relations are never vacuous)."""
    from tests.conftest import build_tiny_token_classifier

    tokenizer_dir = copy_tokenizer_with_markers(tiny_tokenizer_dir, root / ".tokenizer")
    build_tiny_token_classifier(tokenizer_dir, root / "ner")
    build_tiny_relation_extractor(load_tokenizer(tokenizer_dir), threshold=0.0).save_pretrained(root / "re")
    return root


def record_provenance(root, licences):
    """Each part's config.json records having learned from text under its licence (part -> licence)."""
    for part, licence in licences.items():
        path = root / part / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        source = {"name": f"{part}_text", "origin": "o", "licence": licence, "use": "pretraining"}
        config.setdefault("viextract", {})["provenance"] = {"bases": [f"x/{part}-base"], "sources": [source]}
        path.write_text(json.dumps(config), encoding="utf-8")
