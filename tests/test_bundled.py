"""The bundled default model: `pip install` then `extract(text)` works offline."""

import json
from pathlib import Path

import pytest

import viextract
from viextract.extractor import BUNDLED_MODEL_DIR
from viextract.labels import ENTITY_LABELS, RELATION_LABELS

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample.txt"


def test_the_bundled_model_is_small_and_complete():
    files = [p for p in BUNDLED_MODEL_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 60_000_000  # issue #18's bar for the package's model files
    for part in ("ner", "re"):
        for name in ("config.json", "model.safetensors", "vocab.txt", "bpe.codes"):
            assert (BUNDLED_MODEL_DIR / part / name).is_file(), f"{part}/{name}"
        config = json.loads((BUNDLED_MODEL_DIR / part / "config.json").read_text(encoding="utf-8"))
        assert config["viextract_storage"] == "int8-rowwise"  # two encoders (12 and 6 layers) fit only so


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


def test_the_readme_shows_what_the_bundled_model_prints_for_the_sample(capsys):
    """README's sample output is the bundled model's, so a retrained model must come with a new README block."""
    import re

    from viextract.cli import main

    readme = (SAMPLE.parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(== examples/sample\.txt\n.*?)```", readme, re.S)
    assert block, "README has no sample output block"
    assert main(["extract", str(SAMPLE), "--format", "table"]) == 0
    printed = capsys.readouterr().out

    def rows(text: str) -> list[tuple[str, float]]:
        # Scores may differ in the last digit across CPUs; everything before them must not.
        out = []
        for line in text.strip().splitlines()[1:]:
            body, score = line.rstrip().rsplit(maxsplit=1)
            out.append((" ".join(body.split()), float(score)))
        return out

    expected, got = rows(block.group(1)), rows(printed)
    assert [r[0] for r in got] == [r[0] for r in expected]
    assert all(abs(a[1] - b[1]) <= 0.02 for a, b in zip(got, expected))
