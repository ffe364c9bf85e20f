"""The bundled default model: `pip install` then `extract(text)` works offline."""

from pathlib import Path

import pytest

import viextract
from viextract.extractor import BUNDLED_MODEL_DIR
from viextract.labels import ENTITY_LABELS, RELATION_LABELS

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample.txt"


def test_the_bundled_model_is_small_and_complete():
    files = [p for p in BUNDLED_MODEL_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 40 * 1024 * 1024
    for part in ("ner", "re"):
        for name in ("config.json", "model.safetensors", "vocab.txt", "bpe.codes"):
            assert (BUNDLED_MODEL_DIR / part / name).is_file(), f"{part}/{name}"


def test_extract_uses_the_bundled_model_with_exact_offsets(corpus):
    text = SAMPLE.read_text(encoding="utf-8")
    result = viextract.extract(text)
    assert result.entities, "the bundled model finds entities in the sample article"
    for entity in result.entities:
        assert entity.text == text[entity.start : entity.end]
        assert entity.label in ENTITY_LABELS
    ids = {id(e) for e in result.entities}
    for relation in result.relations:
        assert relation.label in RELATION_LABELS
        assert id(relation.head) in ids and id(relation.tail) in ids
    assert viextract.extract(text) == result  # cached default, repeatable


def test_extract_rejects_non_strings_before_loading_anything():
    with pytest.raises(TypeError, match="NoneType"):
        viextract.extract(None)
