"""The one-pass relation architecture: one encoding per sentence (window), every pair scored from it."""

import json
import logging

import pytest
import torch
import yaml

from tests.relation_helpers import build_tiny_relation_extractor, copy_tokenizer_with_markers, load_tokenizer
from viextract.align import SubwordAligner
from viextract.markers import DEFAULT_TYPE_SYMBOLS, SYMBOL_MARKER_FORMAT, candidate_pairs
from viextract.onepass import encode_sentence, opening_ids
from viextract.relations import ONE_PASS, TYPED_MARKERS, RelationExtractor

torch.set_num_threads(1)

TITLE_RULE = {"head": "PER", "tail": "TITLE", "order": "tail_first", "label": "has_title"}


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer_dir, tmp_path_factory):
    return load_tokenizer(copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path_factory.mktemp("op_tokenizer")))


def officials(n: int) -> tuple[list[str], list[tuple[int, int, str]]]:
    """`Bộ_trưởng A1 , Thứ_trưởng A2 , ... tại Hà_Nội`: n titled persons and a place."""
    words, mentions = [], []
    for i in range(n):
        mentions += [(len(words), len(words) + 1, "TITLE"), (len(words) + 1, len(words) + 2, "PER")]
        words += ["Bộ_trưởng" if i % 2 else "Thứ_trưởng", f"Nguyễn_Văn_{chr(65 + i % 26)}", ","]
    mentions.append((len(words) + 1, len(words) + 2, "LOC"))
    words += ["tại", "Hà_Nội", "."]
    return words, mentions


def count_encoder_calls(extractor) -> list[int]:
    calls = []
    extractor.model.roberta.register_forward_hook(lambda module, args, output: calls.append(1))
    return calls


def test_one_pass_scores_every_pair_of_a_sentence_from_one_forward(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=ONE_PASS)
    calls = count_encoder_calls(extractor)
    words, mentions = officials(5)
    scored = extractor.score([(words, mentions)])[0]
    assert len(calls) == 1
    assert [(h, t) for h, t, _, _ in scored] == candidate_pairs(mentions)
    assert len(scored) >= 40  # quadratic in entities, still one encoder call
    typed = build_tiny_relation_extractor(tokenizer, threshold=0.0)
    typed_calls = count_encoder_calls(typed)
    typed.score([(words, mentions)], batch_size=8)
    assert len(typed_calls) == -(-len(scored) // 8)  # one input per pair, 8 per forward


def test_windows_of_many_sentences_batch_together_and_batch_size_does_not_matter(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=ONE_PASS)
    calls = count_encoder_calls(extractor)
    items = [officials(n) for n in (1, 3, 2, 4)] + [(["Hà_Nội"], [(0, 1, "LOC")])]
    together = extractor.predict(items, batch_size=32)
    assert len(calls) == 1  # four sentences, one batch
    alone = extractor.predict(items, batch_size=1)
    assert [[r[:3] for r in s] for s in together] == [[r[:3] for r in s] for s in alone]
    for a, b in zip(together, alone):
        assert all(abs(x[3] - y[3]) < 1e-4 for x, y in zip(a, b))
    assert together[-1] == []


@pytest.mark.parametrize("architecture", [ONE_PASS, TYPED_MARKERS])
def test_a_token_budget_bounds_every_relation_forward_and_changes_no_score(tokenizer, architecture):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=architecture)
    shapes = []
    extractor.model.roberta.register_forward_hook(
        lambda module, args, kwargs, output: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    items = [officials(n) for n in (1, 6, 2, 4, 3)]
    unbounded = extractor.score(items, batch_size=1000)
    assert len(shapes) == 1
    shapes.clear()
    bounded = extractor.score(items, batch_size=1000, batch_tokens=120)
    assert len(shapes) > 1 and all(rows * width <= 120 for rows, width in shapes if rows > 1)
    assert [[r[:3] for r in s] for s in bounded] == [[r[:3] for r in s] for s in unbounded]
    for a, b in zip(bounded, unbounded):
        assert all(abs(x[3] - y[3]) < 1e-4 for x, y in zip(a, b))


def test_one_pass_follows_the_same_decision_rules_as_typed_markers(tokenizer):
    words, mentions = officials(3)
    found = {}
    for architecture in (TYPED_MARKERS, ONE_PASS):
        extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=architecture)
        every = extractor.predict([(words, mentions)])[0]
        assert [(h, t) for h, t, _, _ in every] == candidate_pairs(mentions)  # threshold 0: every candidate
        extractor.model.config.adjacent_relations = [TITLE_RULE]
        extractor.model.config.single_head_labels = ["has_title"]
        extractor.model.config.threshold = 1.0
        found[architecture] = [r[:3] for r in extractor.predict([(words, mentions)])[0]]
    # Nothing reaches threshold 1: only the adjacency rule's pairs (each title with the name it touches) remain.
    expected = [(h, t, "has_title") for h, t in candidate_pairs(mentions) if mentions[t][1] == mentions[h][0]]
    assert len(expected) == 3
    assert found[TYPED_MARKERS] == found[ONE_PASS] == expected


def test_long_sentences_become_windows_holding_both_arguments_and_lost_pairs_are_counted(tokenizer, caplog):
    words, mentions = officials(12)
    aligner = SubwordAligner(tokenizer)
    pairs = candidate_pairs(mentions)
    type_words = {"PER": "người", "TITLE": "chức_vụ", "LOC": "địa_điểm"}
    windows, lost = encode_sentence(aligner, words, mentions, pairs, type_words, max_subwords=60)
    assert len(windows) > 1 and lost
    scored = [pair for window in windows for pair in window.pairs]
    assert sorted(scored + lost) == sorted(pairs) and len(set(scored)) == len(scored)
    marker = aligner.word_ids("@")
    for window in windows:
        assert len(window.input_ids) <= 62
        for positions in window.positions:
            assert all(tuple(window.input_ids[p : p + len(marker)]) == marker for p in positions)
            assert positions[0] < positions[1] and positions[2] < positions[3]
    # Touching pairs are never lost; pairs far apart are.
    assert all(abs(mentions[h][0] - mentions[t][0]) > 4 for h, t in lost)

    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.0, architecture=ONE_PASS, max_input_length=62)
    with caplog.at_level(logging.WARNING, logger="viextract.relations"):
        scored_pairs = extractor.score([(words, mentions), (words, mentions)])
    warnings = [r for r in caplog.records if "no window" in r.getMessage()]
    assert len(warnings) == 1 and str(2 * len(lost)) in warnings[0].getMessage()
    assert [(h, t) for h, t, _, _ in scored_pairs[0]] == sorted(scored)
    assert extractor.encoder.lost == 2 * len(lost)


def test_one_pass_saves_and_loads_and_auto_model_builds_its_head(tokenizer, tmp_path):
    from transformers import AutoModel

    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.3, architecture=ONE_PASS)
    extractor.save_pretrained(tmp_path / "re", atomic=True)
    assert json.loads((tmp_path / "re" / "config.json").read_text())["architecture"] == ONE_PASS
    model = AutoModel.from_pretrained(tmp_path / "re")
    assert model.config.architecture == ONE_PASS and hasattr(model, "pair_classifier")
    for (name, a), b in zip(extractor.model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    reloaded = RelationExtractor.from_pretrained(tmp_path / "re", ["PER", "TITLE"], device="cpu")
    items = [officials(3), officials(2)]
    assert reloaded.score(items) == extractor.score(items)


def test_a_config_without_architecture_loads_as_typed_markers(tokenizer, tmp_path):
    extractor = build_tiny_relation_extractor(tokenizer, threshold=0.3)
    extractor.save_pretrained(tmp_path / "re")
    path = tmp_path / "re" / "config.json"
    config = json.loads(path.read_text())
    del config["architecture"]
    path.write_text(json.dumps(config))
    reloaded = RelationExtractor.from_pretrained(tmp_path / "re", device="cpu")
    assert reloaded.config.architecture == TYPED_MARKERS and hasattr(reloaded.model, "dense")
    assert reloaded.score([officials(2)]) == extractor.score([officials(2)])


def test_an_unknown_architecture_is_rejected_naming_the_field(tokenizer, tmp_path):
    from viextract import ModelLoadError

    build_tiny_relation_extractor(tokenizer).save_pretrained(tmp_path / "re")
    path = tmp_path / "re" / "config.json"
    config = json.loads(path.read_text())
    config["architecture"] = "levitated"
    path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"config\.json.*'architecture'"):
        RelationExtractor.from_pretrained(tmp_path / "re")


@pytest.fixture(scope="module")
def symbol_tokenizer(tiny_tokenizer_dir, tmp_path_factory):
    """The marker tokenizer plus the type symbols, as PhoBERT's vocabulary has them."""
    directory = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path_factory.mktemp("symbol_tokenizer"))
    with open(directory / "vocab.txt", "a", encoding="utf-8") as handle:
        for symbol in DEFAULT_TYPE_SYMBOLS.values():
            handle.write(f"{symbol} 1\n")
    return load_tokenizer(directory)


def test_typed_symbol_opens_each_entity_with_its_type_symbol_and_saves_three_subwords(symbol_tokenizer):
    aligner = SubwordAligner(symbol_tokenizer)
    words, mentions = officials(4)
    pairs = candidate_pairs(mentions)
    type_words = {"PER": "người", "TITLE": "chức_vụ", "LOC": "địa_điểm"}
    typed, _ = encode_sentence(aligner, words, mentions, pairs, type_words, 250)
    symbols, lost = encode_sentence(
        aligner, words, mentions, pairs, DEFAULT_TYPE_SYMBOLS, 250, marker_format=SYMBOL_MARKER_FORMAT
    )
    assert len(typed) == len(symbols) == 1 and not lost and symbols[0].pairs == typed[0].pairs
    assert all(len(opening_ids(aligner, symbol, SYMBOL_MARKER_FORMAT)) == 1 for symbol in "*#|")
    # Each entity's opening shrinks from `@ * type word *` to its one symbol; `@` still closes it.
    saved = sum(len(opening_ids(aligner, type_words[label])) - 1 for _, _, label in mentions)
    assert len(typed[0].input_ids) - len(symbols[0].input_ids) == saved
    ids, (closing,) = symbols[0].input_ids, aligner.word_ids("@")
    for (h, t), (h_open, h_close, t_open, t_close) in zip(symbols[0].pairs, symbols[0].positions):
        for mention, opening in ((mentions[h], h_open), (mentions[t], t_open)):
            assert (ids[opening],) == opening_ids(aligner, DEFAULT_TYPE_SYMBOLS[mention[2]], SYMBOL_MARKER_FORMAT)
        assert ids[h_close] == ids[t_close] == closing


def test_a_typed_symbol_model_scores_saves_and_loads_with_its_format(symbol_tokenizer, tmp_path):
    extractor = build_tiny_relation_extractor(
        symbol_tokenizer, threshold=0.0, architecture=ONE_PASS, marker_format=SYMBOL_MARKER_FORMAT
    )
    assert extractor.config.marker_type_words["PER"] == DEFAULT_TYPE_SYMBOLS["PER"]
    items = [officials(3), officials(2)]
    scored = extractor.score(items)
    assert [[(h, t) for h, t, _, _ in s] for s in scored] == [candidate_pairs(m) for _, m in items]
    extractor.save_pretrained(tmp_path / "re")
    saved = json.loads((tmp_path / "re" / "config.json").read_text())
    assert saved["marker_format"] == SYMBOL_MARKER_FORMAT
    assert RelationExtractor.from_pretrained(tmp_path / "re", device="cpu").score(items) == scored


def test_typed_symbol_with_typed_markers_is_refused_naming_the_field(tokenizer, tmp_path):
    from tests.relation_helpers import tiny_relation_config
    from training.fit.config import ConfigError
    from training.fit.relations import ReConfig

    config = tiny_relation_config(tokenizer, architecture=TYPED_MARKERS, marker_format=SYMBOL_MARKER_FORMAT)
    assert any("'marker_format'" in problem and ONE_PASS in problem for problem in config.problems())
    with pytest.raises(ConfigError, match="marker_format"):
        ReConfig(base_model="x", marker_format=SYMBOL_MARKER_FORMAT, output_dir=str(tmp_path)).validate()
    with pytest.raises(ConfigError, match="marker_format"):
        ReConfig(base_model="x", architecture=ONE_PASS, marker_format="boxes", output_dir=str(tmp_path)).validate()


@pytest.mark.parametrize("marker_format", ["typed_entity_marker_punct", SYMBOL_MARKER_FORMAT])
def test_training_one_pass_through_the_command_line(tiny_tokenizer_dir, tmp_path, marker_format):
    from transformers import RobertaConfig, RobertaForMaskedLM

    from tests.conftest import tiny_config_values
    from tests.test_train_re import corpus_path, write_config
    from training.data.files import load_documents, write_documents
    from training.fit.train import main

    base = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path / "base")
    tokenizer = load_tokenizer(base)
    torch.manual_seed(0)
    RobertaForMaskedLM(RobertaConfig(**tiny_config_values(tokenizer))).save_pretrained(base)
    tokenizer.save_pretrained(base)
    documents = load_documents(corpus_path())
    for name, docs in (("train", documents[:2]), ("dev", documents[2:3])):
        with open(tmp_path / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            write_documents(docs, handle)
    config = write_config(
        tmp_path / "re.yaml",
        base,
        tmp_path,
        tmp_path / "out",
        architecture=ONE_PASS,
        epochs=1,
        marker_format=marker_format,
    )
    assert main(["re", "--config", str(config)]) == 0
    out = tmp_path / "out"
    saved = json.loads((out / "config.json").read_text())
    assert saved["architecture"] == ONE_PASS and 0.0 < saved["threshold"] < 1.0
    assert saved["marker_format"] == marker_format
    assert yaml.safe_load((out / "training_config.yaml").read_text())["architecture"] == ONE_PASS
    metrics = json.loads((out / "training_metrics.json").read_text())
    assert any("eval_f1" in row for row in metrics["log_history"]) and metrics["pairs_in_no_window"] == 0
    # Every dev pair is scored, not one per window (the Trainer keeps one output row per dataset item).
    dev_relations = sum(len(doc.relations) for doc in documents[2:3])
    assert metrics["dev_at_threshold"]["gold"] == dev_relations
    # The tiny base tokenizer has no type symbols: training adds them rather than mark with <unk>.
    if marker_format == SYMBOL_MARKER_FORMAT:
        assert {"&", "<", ">"} <= set(metrics["added_marker_tokens"]) and not metrics["unknown_marker_words"]
    reloaded = RelationExtractor.from_pretrained(out, device="cpu")
    assert reloaded.config.architecture == ONE_PASS
    words, mentions = officials(2)
    assert len(reloaded.score([(words, mentions)])[0]) == len(candidate_pairs(mentions))


def test_a_float16_base_is_trained_in_float32(tiny_tokenizer_dir, tmp_path):
    from transformers import RobertaConfig, RobertaForMaskedLM

    from tests.conftest import tiny_config_values
    from training.fit.relations import ReConfig, load_base_model

    base = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path / "base")
    tokenizer = load_tokenizer(base)
    RobertaForMaskedLM(RobertaConfig(**tiny_config_values(tokenizer))).half().save_pretrained(base)
    tokenizer.save_pretrained(base)
    assert json.loads((base / "config.json").read_text())["dtype"] == "float16"
    config = ReConfig(base_model=str(base), architecture=ONE_PASS, output_dir=str(tmp_path / "out"))
    model, _ = load_base_model(config, ["no_relation", *config.relation_labels])
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_only_mentions_with_a_candidate_partner_are_marked(tokenizer):
    extractor = build_tiny_relation_extractor(tokenizer, architecture=ONE_PASS)
    words = ["Thứ_trưởng", "Nguyễn_Văn_A", "phát_biểu", "ngày", "12/3"]
    # No relation links a date to a person or a title: the date stays a plain word.
    mentions = [(0, 1, "TITLE"), (1, 2, "PER"), (4, 5, "DATE")]
    windows, lost = extractor.encoder.encode_sentence(words, mentions, candidate_pairs(mentions))
    marker = extractor.encoder.aligner.word_ids("@")
    assert len(windows) == 1 and not lost and len(marker) == 1
    assert windows[0].input_ids.count(marker[0]) == 4
    assert windows[0].pairs == ((1, 0),)
