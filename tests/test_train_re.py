import json
import shutil

import pytest
import torch
import yaml

from tests.conftest import REPO, build_tiny_token_classifier, tiny_config_values
from tests.relation_helpers import copy_tokenizer_with_markers, load_tokenizer
from viextract import Extractor
from viextract.labels import NO_RELATION, RELATION_LABELS
from viextract.markers import adjacent_rule_key, candidate_pairs

torch.set_num_threads(1)


def corpus_path():
    path = REPO / "data" / "corpus.jsonl"
    return path if path.is_file() else REPO / "data" / "passes" / "pass_a.jsonl"


@pytest.fixture(scope="module")
def documents():
    from training.data.files import load_documents

    return load_documents(corpus_path())


@pytest.fixture(scope="module")
def data_files(documents, tmp_path_factory):
    """Two documents to train on, one to early-stop on (and to evaluate)."""
    from training.data.files import write_documents

    directory = tmp_path_factory.mktemp("re_data")
    for name, docs in (("train", documents[:2]), ("dev", documents[2:3])):
        with open(directory / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            write_documents(docs, handle)
    return directory


@pytest.fixture(scope="module")
def base_model_dir(tiny_tokenizer_dir, tmp_path_factory):
    """A tiny PhoBERT-architecture masked LM standing in for vinai/phobert-base."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    directory = copy_tokenizer_with_markers(tiny_tokenizer_dir, tmp_path_factory.mktemp("tiny_base"))
    tokenizer = load_tokenizer(directory)
    torch.manual_seed(0)
    config = RobertaConfig(**tiny_config_values(tokenizer))
    RobertaForMaskedLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def record_segmenter(model_dir, segmenter="syllables"):
    """A tiny NER model made to record the segmenter the relation runs here train with (write_config's): a pair
    whose relation model read other words than its NER model makes is refused at load."""
    path = model_dir / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["viextract"] = {**config.get("viextract", {}), "segmenter": segmenter}
    path.write_text(json.dumps(config), encoding="utf-8")


def write_config(path, base_model_dir, data_files, out, **extra):
    values = {
        "task": "re",
        "base_model": str(base_model_dir),
        "train_files": [str(data_files / "train.jsonl")],
        "dev_files": [str(data_files / "dev.jsonl")],
        "segmenter": "syllables",
        "learning_rate": 3e-3,
        "epochs": 2,
        "batch_size": 16,
        "eval_batch_size": 64,
        "negative_ratio": 1.0,
        "class_weights": "sqrt_balanced",
        "output_dir": str(out),
        "logging_steps": 50,
        "bf16": False,
        **extra,
    }
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(base_model_dir, data_files, tmp_path_factory):
    """One short training run through the command line: `python -m training.fit.train re --config ...`."""
    from training.fit.train import main

    root = tmp_path_factory.mktemp("re_run")
    config = write_config(root / "re.yaml", base_model_dir, data_files, root / "model" / "re")
    assert main(["re", "--config", str(config)]) == 0
    return root


def test_training_writes_a_relation_directory_with_threshold_and_resolved_config(trained):
    out = trained / "model" / "re"
    saved = {p.name for p in out.iterdir()}
    assert saved >= {
        "config.json",
        "model.safetensors",
        "vocab.txt",
        "bpe.codes",
        "training_config.yaml",
        "training_metrics.json",
    }
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "viextract_relation"
    assert 0.0 < config["threshold"] < 1.0
    assert config["id2label"]["0"] == NO_RELATION and set(config["id2label"].values()) == {
        NO_RELATION,
        *RELATION_LABELS,
    }
    assert len(config["class_weights"]) == len(config["id2label"])
    resolved = yaml.safe_load((out / "training_config.yaml").read_text())
    assert resolved["task"] == "re" and resolved["negative_ratio"] == 1.0
    metrics = json.loads((out / "training_metrics.json").read_text())
    assert metrics["threshold"] == config["threshold"]
    assert metrics["train_pairs"] <= metrics["train_pairs_before_sampling"]
    assert any("eval_f1" in row for row in metrics["log_history"])
    assert metrics["unknown_marker_words"] == []
    # The evidence for the single-head and single-tail labels: [with one partner, all] per label.
    for kept, stored in (("head", config["single_head_labels"]), ("tail", config["single_tail_labels"])):
        shares = metrics["single"][kept]
        assert set(stored) <= set(shares) and all(0 <= n <= total for n, total in shares.values())
        assert all(shares[label][0] >= 0.95 * shares[label][1] for label in stored)  # the default single_share
    assert not list(out.parent.glob(".*.dir.tmp"))


def test_the_trained_directory_is_the_re_of_a_full_model(trained, base_model_dir, documents, data_files, tmp_path):
    from training.evaluation.evaluate import main

    build_tiny_token_classifier(base_model_dir, trained / "model" / "ner")
    record_segmenter(trained / "model" / "ner")
    extractor = Extractor.from_pretrained(trained / "model", device="cpu")
    result = extractor(documents[2].text)
    for relation in result.relations:
        assert any(relation.head is e for e in result.entities) and any(relation.tail is e for e in result.entities)

    output = tmp_path / "scores.json"
    code = main(
        ["re", "--model", str(trained / "model"), "--data", str(data_files / "dev.jsonl"), "--out", str(output)]
    )
    assert code == 0
    report = json.loads(output.read_text())
    gold = sum(len(doc.relations) for doc in documents[2:3])
    for key in ("relations_gold_entities", "relations_end_to_end"):
        scores = report[key]
        assert scores["micro"]["support"] == gold
        assert set(scores["per_label"]) == set(RELATION_LABELS)
        assert sum(row["support"] for row in scores["per_label"].values()) == gold
        assert 0.0 <= scores["micro"]["f1"] <= 1.0


def test_relation_kfold_trains_without_dev_at_the_fixed_threshold(base_model_dir, documents, tmp_path, capsys):
    from training.data.features import align_document
    from training.data.files import write_documents
    from training.evaluation.evaluate import main
    from training.release.card_results import read_results

    data = tmp_path / "docs.jsonl"
    with open(data, "w", encoding="utf-8") as handle:
        write_documents(documents[:3], handle)
    config = write_config(tmp_path / "re.yaml", base_model_dir, tmp_path, tmp_path / "re", epochs=1)
    argv = ["re", "--kfold", "3", "--config", str(config), "--data", str(data), "--no-extra"]
    # Folds have no dev set to choose a threshold on: one must be given.
    assert main(argv) == 2
    assert "threshold" in capsys.readouterr().err

    out = tmp_path / "kfold.json"
    assert main([*argv, "--set", "threshold=0.3", "--work-dir", str(tmp_path / "folds"), "--out", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["task"] == "re" and results["k"] == 3
    assert sorted(i for fold in results["folds"] for i in fold["test_ids"]) == sorted(d.id for d in documents[:3])
    for fold in results["folds"]:
        assert fold["threshold"] == pytest.approx(0.3)
        held_out = [d for d in documents[:3] if d.id in fold["test_ids"]]
        assert fold["relations_gold_entities"]["micro"]["support"] == sum(len(d.relations) for d in held_out)
    summary = results["summary"]["relations_gold_entities"]
    assert set(summary["f1"]) == {"mean", "std"}
    saved = json.loads((tmp_path / "folds" / "fold-0" / "config.json").read_text())
    assert saved["threshold"] == pytest.approx(0.3)
    # Every title in the gold data has one holder, so training marks has_title single-head.
    assert "has_title" in saved["single_head_labels"] and set(saved["single_head_labels"]) <= set(RELATION_LABELS)
    assert saved["single_choice"] == "nearest" and results["folds"][0]["single_choice"] == "nearest"
    assert set(saved["single_tail_labels"]) <= set(RELATION_LABELS)
    assert "mean ± std" in capsys.readouterr().out
    # The model card reads it as the relation model's k-fold row.
    kfold = read_results([str(out)])["re"]["kfold"]
    assert kfold is not None and kfold.k == 3 and "relations_gold_entities" in kfold.kfold
    assert "relations_end_to_end" not in results["summary"]

    # --rescore scores the same fold models at another threshold, without training them again.
    weights = (tmp_path / "folds" / "fold-0" / "model.safetensors").read_bytes()
    rescored = tmp_path / "rescored.json"
    rescore = [*argv, "--work-dir", str(tmp_path / "folds"), "--rescore"]
    assert main([*rescore, "--set", "threshold=1.0", "--set", "adjacent_rules=false", "--out", str(rescored)]) == 0
    for fold in json.loads(rescored.read_text(encoding="utf-8"))["folds"]:
        assert fold["rescored"] and fold["threshold"] == 1.0
        assert fold["relations_gold_entities"]["micro"]["predicted"] == 0  # nothing reaches probability 1
    # With its adjacency rules, each fold model returns exactly the touching pairs they cover.
    assert main([*rescore, "--set", "threshold=1.0", "--out", str(rescored)]) == 0
    ruled_total = 0
    for index, fold in enumerate(json.loads(rescored.read_text(encoding="utf-8"))["folds"]):
        rules = {
            (r["head"], r["tail"], r["order"])
            for r in json.loads((tmp_path / "folds" / f"fold-{index}" / "config.json").read_text())[
                "adjacent_relations"
            ]
        }
        held_out = [d for d in documents[:3] if d.id in fold["test_ids"]]
        ruled = 0
        for sentence in (s for d in held_out for s in align_document(d, "pyvi")):
            mentions = [(e.start, e.end, e.entity.label) for e in sentence.entities]
            pairs = candidate_pairs(mentions)
            ruled += sum(adjacent_rule_key(mentions[h], mentions[t]) in rules for h, t in pairs)
        assert fold["relations_gold_entities"]["micro"]["predicted"] == ruled
        ruled_total += ruled
    assert ruled_total > 0  # `Trung tướng Lê Đức Thái`: the corpus has titles before names
    assert (tmp_path / "folds" / "fold-0" / "model.safetensors").read_bytes() == weights
    assert (
        main(
            [
                *rescore,
                "--set",
                "single_head=false",
                "--set",
                "single_tail=false",
                "--set",
                "threshold=0.0",
                "--out",
                str(rescored),
            ]
        )
        == 0
    )
    for fold in json.loads(rescored.read_text(encoding="utf-8"))["folds"]:
        held_out = [d for d in documents[:3] if d.id in fold["test_ids"]]
        sentences = [s for d in held_out for s in align_document(d, "pyvi") if len(s.entities) > 1]
        pairs = sum(len(candidate_pairs([(e.start, e.end, e.entity.label) for e in s.entities])) for s in sentences)
        assert fold["relations_gold_entities"]["micro"]["predicted"] == pairs  # threshold 0, no single head: all
    assert main([*rescore, "--set", "threshold=0.3", "--set", "single_choice=probability", "--out", str(rescored)]) == 0
    assert {fold["single_choice"] for fold in json.loads(rescored.read_text(encoding="utf-8"))["folds"]} == {
        "probability"
    }
    assert main([*rescore, "--set", "threshold=0.3", "--set", "single_choice=first"]) == 2
    assert "single_choice" in capsys.readouterr().err
    assert main([*rescore, "--set", "threshold=0.3", "--set", "epochs=2"]) == 2
    assert "other values of ['epochs']" in capsys.readouterr().err


def test_relation_kfold_end_to_end_pairs_each_fold_with_the_ner_model_that_held_out_the_same_documents(
    base_model_dir, tiny_ner_dir, documents, tmp_path, capsys
):
    from training.data.files import write_documents
    from training.evaluation.evaluate import main
    from training.evaluation.kfold import make_folds
    from training.fit.relations import ReConfig
    from training.release.card_results import read_results

    data = tmp_path / "docs.jsonl"
    with open(data, "w", encoding="utf-8") as handle:
        write_documents(documents[:3], handle)
    config = write_config(tmp_path / "re.yaml", base_model_dir, tmp_path, tmp_path / "re", epochs=1)
    # What `evaluate ner --kfold` records: each fold's held-out ids and its model (copies of one tiny model here).
    folds = make_folds(documents[:3], 3, ReConfig.load(config).seed)
    ner_models = [tmp_path / f"ner-fold-{index}" for index in range(len(folds))]
    for model in ner_models:
        shutil.copytree(tiny_ner_dir / "ner", model)
        record_segmenter(model)
    ner_kfold = tmp_path / "ner_kfold.json"
    ner_folds = [{"model": str(m), "test_ids": [d.id for d in f]} for m, f in zip(ner_models, folds)]
    ner_kfold.write_text(json.dumps({"folds": ner_folds}), encoding="utf-8")

    out, work = tmp_path / "kfold.json", tmp_path / "folds"
    argv = ["re", "--kfold", "3", "--config", str(config), "--data", str(data), "--no-extra", "--set", "threshold=0.3"]
    assert main([*argv, "--work-dir", str(work), "--ner-kfold", str(ner_kfold), "--out", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results["summary"]) == {"relations_gold_entities", "relations_end_to_end", "entities_end_to_end"}
    for fold in results["folds"]:
        paired = next(m for m, f in zip(ner_models, folds) if sorted(d.id for d in f) == sorted(fold["test_ids"]))
        assert fold["ner_model"] == str(paired)
        held_out = [d for d in documents[:3] if d.id in fold["test_ids"]]
        assert fold["relations_end_to_end"]["micro"]["support"] == sum(len(d.relations) for d in held_out)
        assert fold["entities_end_to_end"]["micro"]["support"] == sum(len(d.entities) for d in held_out)
    assert sorted(p.name for p in work.iterdir()) == ["fold-0", "fold-1", "fold-2"]  # no pipeline links left
    assert "relations end to end" in capsys.readouterr().out
    kfold = read_results([str(out)])["re"]["kfold"]
    assert "relations_end_to_end" in kfold.kfold and f"--ner-kfold {ner_kfold}" in kfold.command
    assert all("ner_decoding" not in fold for fold in results["folds"])  # nothing recorded: as the models store

    # The NER folds decode as the NER k-fold scored them (`--rescore --set context_weight=...`).
    recorded = {"folds": ner_folds, "decoding": "argmax", "config": {"transition_weight": 0.0}}
    ner_kfold.write_text(json.dumps(recorded), encoding="utf-8")
    assert main([*argv, "--work-dir", str(work), "--rescore", "--ner-kfold", str(ner_kfold), "--out", str(out)]) == 0
    for fold in json.loads(out.read_text(encoding="utf-8"))["folds"]:
        assert fold["ner_decoding"] == {"decoding": "argmax", "transition_weight": 0.0}
    ner_kfold.write_text(json.dumps({**recorded, "config": {"context_weight": 1.5}}), encoding="utf-8")
    assert main([*argv, "--work-dir", str(work), "--rescore", "--ner-kfold", str(ner_kfold)]) == 2
    assert "context_weight" in capsys.readouterr().err  # these tiny NER models store no word context

    # A NER k-fold over other folds cannot be paired; one without recorded models cannot be read.
    ner_kfold.write_text(json.dumps({"folds": ner_folds[:2]}), encoding="utf-8")
    assert main([*argv, "--work-dir", str(work), "--ner-kfold", str(ner_kfold)]) == 2
    assert "no NER fold holds out exactly" in capsys.readouterr().err
    # One fold scored alone needs only its own NER fold model (NER folds that train one at a time).
    ner_kfold.write_text(json.dumps({"folds": ner_folds[:1]}), encoding="utf-8")
    one = [*argv, "--work-dir", str(work), "--rescore", "--ner-kfold", str(ner_kfold)]
    assert main([*one, "--fold", "0", "--out", str(out)]) == 0
    (scored,) = json.loads(out.read_text(encoding="utf-8"))["folds"]
    assert scored["ner_model"] == str(ner_models[0]) and "relations_end_to_end" in scored
    assert main([*one, "--fold", "1"]) == 2
    assert "no NER fold holds out exactly" in capsys.readouterr().err
    ner_kfold.write_text(json.dumps({"folds": [{"test_ids": ["x"]}]}), encoding="utf-8")
    assert main([*argv, "--ner-kfold", str(ner_kfold)]) == 2
    assert "field 'model' missing" in capsys.readouterr().err
    assert main(["re", "--model", str(work / "fold-0"), "--data", str(data), "--ner-kfold", str(ner_kfold)]) == 2
    assert "--ner-kfold: only used with --kfold" in capsys.readouterr().err


def test_a_fresh_run_into_old_checkpoints_is_refused_and_resume_continues(
    trained, base_model_dir, data_files, capsys, caplog
):
    from training.fit.train import main

    config = write_config(trained / "re2.yaml", base_model_dir, data_files, trained / "model" / "re", epochs=3)
    assert main(["re", "--config", str(config)]) == 2
    assert "--resume" in capsys.readouterr().err
    caplog.clear()
    assert main(["re", "--config", str(config), "--resume"]) == 0
    assert "resuming with changed config keys: epochs" in caplog.text  # the continued run had 2
    metrics = json.loads((trained / "model" / "re" / "training_metrics.json").read_text())
    assert max(row.get("epoch", 0) for row in metrics["log_history"]) == pytest.approx(3.0)


def test_config_errors_name_the_key(tmp_path, base_model_dir, data_files, capsys):
    from training.fit.train import main

    config = write_config(tmp_path / "re.yaml", base_model_dir, data_files, tmp_path / "out")
    assert main(["re", "--config", str(config), "--set", "relation_labels=has_title,born_in"]) == 2
    assert "relation_labels" in capsys.readouterr().err
    assert main(["re", "--config", str(config), "--set", "class_weights=inverse"]) == 2
    assert "class_weights" in capsys.readouterr().err
    assert main(["re", "--config", str(config), "--set", "single_share=0"]) == 2
    assert "single_share" in capsys.readouterr().err
    assert main(["re", "--config", str(config), "--set", "base_model=" + str(tmp_path / "nowhere")]) == 2
    assert "base model" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["ner", "re"])
def test_a_base_model_that_cannot_serve_stops_before_training(task, tmp_path, base_model_dir, data_files, capsys):
    """Both tasks check their base in one place (training.fit.trainer.load_base): it loads, and max_length fits."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    from training.fit.train import main

    weightless, short = tmp_path / "weightless", tmp_path / "short"
    shutil.copytree(base_model_dir, weightless, ignore=shutil.ignore_patterns("*.safetensors"))
    shutil.copytree(weightless, short)
    tokenizer = load_tokenizer(short)
    short_config = RobertaConfig(**tiny_config_values(tokenizer, max_position_embeddings=130))  # room for 128
    RobertaForMaskedLM(short_config).save_pretrained(short)
    argv = [task, "--set", f"output_dir={tmp_path / 'out'}", "--set", "segmenter=syllables"]
    for key, name in (("train_files", "train.jsonl"), ("dev_files", "dev.jsonl")):
        argv += ["--set", f"{key}={data_files / name}"]
    argv += ["--set", "allow_unseen_labels=true"] if task == "ner" else []

    assert main([*argv, "--set", f"base_model={short}"]) == 2
    err = capsys.readouterr().err
    assert "max_length: 256 subwords do not fit base model" in err and "(room for 128)" in err
    assert main([*argv, "--set", f"base_model={weightless}"]) == 2
    err = capsys.readouterr().err
    assert f"base model '{weightless}': cannot load" in err
    assert not (tmp_path / "out").exists()


# ---- pieces, without a model --------------------------------------------------------------------


def _example(label, index=0):
    from training.fit.relation_examples import RelationExample

    return RelationExample(("a", "b", str(index)), (0, 1, "PER"), (1, 2, "TITLE"), label)


def test_negative_sampling_keeps_every_relation_and_ratio_negatives():
    from training.fit.relation_examples import sample_negatives

    examples = [_example("has_title", i) for i in range(5)] + [_example(NO_RELATION, i) for i in range(40)]
    sampled = sample_negatives(examples, 2.0, seed=1)
    assert sum(e.label == "has_title" for e in sampled) == 5
    assert sum(e.label == NO_RELATION for e in sampled) == 10
    assert sampled == sample_negatives(examples, 2.0, seed=1)
    assert sample_negatives(examples, -1, seed=1) == examples


def test_nothing_to_learn_names_the_files_at_fault():
    from training.data.documents import DataError
    from training.fit.relations import ReConfig, sampled_examples

    config = ReConfig(train_files=["mine/train.jsonl"], dev_files=["mine/dev.jsonl"], threshold=0.5)
    with pytest.raises(DataError, match=r"^mine/train\.jsonl: train: no relation example"):
        sampled_examples(config, [_example(NO_RELATION, i) for i in range(3)], None)
    with pytest.raises(DataError, match=r"^mine/dev\.jsonl: dev: no candidate pair"):
        sampled_examples(config, [_example("has_title")], [])


def test_class_weights_and_threshold_choice():
    from training.fit.relation_examples import class_weights
    from training.fit.relations import choose_threshold

    examples = [_example("has_title")] * 2 + [_example(NO_RELATION)] * 6
    labels = [NO_RELATION, "has_title", "meets"]
    assert class_weights(examples, labels, "none") is None
    assert class_weights(examples, labels, "balanced") == [round(8 / 12, 6), 2.0, 1.0]
    # Two gold relations at 0.9 and 0.6, a no_relation pair whose best relation has 0.55.
    probs = [[0.1, 0.9, 0.0], [0.4, 0.6, 0.0], [0.45, 0.55, 0.0]]
    threshold, scores = choose_threshold([1, 1, 0], probs, no_relation_id=0)
    assert 0.55 < threshold <= 0.6 and scores["f1"] == 1.0


def test_training_candidates_are_the_rows_of_training_data(documents):
    from training.fit.relation_examples import relation_examples
    from training.fit.relations import ReConfig

    config = ReConfig(relation_labels=["has_title"], entity_labels=["PER", "TITLE"], segmenter="syllables")
    examples = relation_examples(documents[:1], config)
    assert examples and all((e.head[2], e.tail[2]) == ("PER", "TITLE") for e in examples)
    assert {e.label for e in examples} <= {"has_title", NO_RELATION}
    gold = sum(r.label == "has_title" for r in documents[0].relations)
    assert sum(e.label == "has_title" for e in examples) == gold


def test_marker_words_missing_from_the_vocabulary_are_reported(tiny_tokenizer_dir, base_model_dir):
    from tests.relation_helpers import tiny_relation_config
    from training.fit.relation_features import unknown_marker_words
    from viextract.relations import RelationEncoder

    plain = load_tokenizer(tiny_tokenizer_dir)  # learned from news text: no @ # * ^
    assert set(unknown_marker_words(RelationEncoder(tiny_relation_config(plain), plain))) == {"@", "#", "*", "^"}
    marked = load_tokenizer(base_model_dir)
    assert unknown_marker_words(RelationEncoder(tiny_relation_config(marked), marked)) == []


def test_training_adds_marker_words_a_small_base_vocabulary_lacks(tiny_tokenizer_dir, data_files, tmp_path):
    """A base learned from news text has no `#`, `*`, `^`: they become tokens with learned embeddings."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    from training.fit.train import main

    plain_base = tmp_path / "plain_base"
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    config = RobertaConfig(**tiny_config_values(tokenizer, num_hidden_layers=1))
    RobertaForMaskedLM(config).save_pretrained(plain_base)
    tokenizer.save_pretrained(plain_base)
    out = tmp_path / "model" / "re"
    run_config = write_config(tmp_path / "re.yaml", plain_base, data_files, out, epochs=1)
    assert main(["re", "--config", str(run_config)]) == 0
    metrics = json.loads((out / "training_metrics.json").read_text())
    assert metrics["unknown_marker_words"] == []
    assert sorted(metrics["added_marker_tokens"]) == sorted("@#*^")
    from transformers import PhobertTokenizer

    saved = PhobertTokenizer.from_pretrained(str(out))  # as viextract loads it: added_tokens.json included
    assert len(saved) > len(tokenizer)
    assert all(saved.unk_token_id not in saved.convert_tokens_to_ids(saved.tokenize(w)) for w in "@#*^")
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(saved)
