"""benchmarks/relation_scaling.py runs end to end on a tiny one_pass model and says what it measured.

No timing assertions: this checks that the script runs and reports, not how fast anything is.
"""

from __future__ import annotations

import json

from benchmarks import relation_scaling
from tests.conftest import build_tiny_token_classifier
from tests.relation_helpers import build_tiny_relation_extractor, copy_tokenizer_with_markers, load_tokenizer


def test_delegation_sentences_name_distinct_officials():
    five, forty = relation_scaling.delegation_sentence(5), relation_scaling.delegation_sentence(40)
    names = {relation_scaling.official_name(i) for i in range(40)}
    assert len(names) == 40 and all(name in forty for name in names)
    assert relation_scaling.official_name(5) not in five and 2 * len(five) < len(forty)


def test_relation_scaling_prints_the_model_architecture_and_both_figures(tiny_tokenizer_dir, tmp_path, capsys):
    tokenizer_dir = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path / "tok")
    build_tiny_token_classifier(tokenizer_dir, tmp_path / "model" / "ner")
    extractor = build_tiny_relation_extractor(load_tokenizer(tokenizer_dir), threshold=0.0, architecture="one_pass")
    extractor.save_pretrained(tmp_path / "model" / "re")
    out = tmp_path / "figures.json"
    argv = ["--model", str(tmp_path / "model"), "--repeats", "1", "--docs", "2", "--batch-tokens", "64"]
    argv += ["--json", str(out)]
    assert relation_scaling.main(argv) == 0
    printed = capsys.readouterr().out
    assert "relation architecture **one_pass** (typed_entity_marker_punct)" in printed and "64 tokens" in printed
    assert "scaling (time ratio / length ratio)" in printed and "docs/s NER only" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["architecture"] == "one_pass" and set(figures["scaling"]["sentences"]) == {"5", "40"}
    assert figures["pipe"]["documents"] == 2 and figures["pipe"]["ratio"] > 0 and figures["pipe"]["batch_tokens"] == 64
    assert figures["marker_format"] == "typed_entity_marker_punct"
    tokens = figures["pipe"]["tokens"]
    assert all(0 < tokens[name]["tokens"] <= tokens[name]["padded"] for name in ("ner", "relations"))
    assert "subword tokens read in one pass" in printed
