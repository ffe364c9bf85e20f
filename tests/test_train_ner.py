"""NER training and evaluation end to end on tiny PhoBERT-architecture models built here (no network).

The DDP test starts `torchrun` with two CPU processes; deselect it with `-k "not ddp"`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.data.files import load_documents, write_documents
from training.fit.ner import NerConfig
from viextract.labels import ENTITY_LABELS, SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus.jsonl"
SPLITS = REPO / "data" / "splits.json"


@pytest.fixture(autouse=True)
def one_thread():
    # On shared cores, intra-op threads spin against each other: one thread is 10x faster here.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build_tiny_base(tokenizer_dir: Path, out_dir: Path, hidden: int = 64, layers: int = 1) -> None:
    """A PhoBERT-architecture token classifier (1 layer, hidden 64): learns in seconds on a CPU."""
    from transformers import PhobertTokenizer, RobertaConfig, RobertaForTokenClassification

    from viextract.labels import bio_labels

    torch.manual_seed(0)
    tokenizer = PhobertTokenizer(
        vocab_file=str(tokenizer_dir / "vocab.txt"), merges_file=str(tokenizer_dir / "bpe.codes")
    )
    labels = bio_labels()
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=258,  # <s> + 254 subwords + </s>, numbered from pad_token_id + 1
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    RobertaForTokenClassification(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


@pytest.fixture(scope="module")
def base_model_dir(tmp_path_factory, tiny_tokenizer_dir) -> Path:
    directory = tmp_path_factory.mktemp("tiny_base")
    build_tiny_base(tiny_tokenizer_dir, directory)
    return directory


@pytest.fixture(scope="module")
def documents():
    return load_documents(CORPUS)


def write_yaml(path: Path, values: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    return path


def train_config(tmp_path: Path, base_model_dir: Path, **values) -> Path:
    """A NER training config on the corpus splits, writing its model to `tmp_path / "model"`."""
    base = {"base_model": str(base_model_dir), "splits_file": str(SPLITS), "output_dir": str(tmp_path / "model")}
    return write_yaml(tmp_path / "ner.yaml", {**base, **values})


def write_docs(path: Path, docs) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        write_documents(docs, handle)
    return path


def small_data(tmp_path: Path, documents) -> dict:
    """Config values training on one corpus document, dev on another, no augmentation: for tests of what
    a run does (resume, layer decay, which epoch is kept) that the ~100 train_extra documents only slow."""
    return {
        "train_files": [str(write_docs(tmp_path / "train.jsonl", documents[:1]))],
        "dev_files": [str(write_docs(tmp_path / "dev.jsonl", documents[3:4]))],
        "splits_file": None,  # train_config's, not read with train_files
        "allow_unseen_labels": True,
        "augment": False,
    }


def train_cli(argv, capsys):
    from training.fit.train import main

    code = main(argv)
    return code, capsys.readouterr().err


def check_offsets(result, text: str) -> None:
    for entity in result.entities:
        assert 0 <= entity.start < entity.end <= len(text)
        assert entity.text == text[entity.start : entity.end]
        assert entity.label in ENTITY_LABELS


# ---- (a) a few steps on the corpus; the model loads; --resume -----------------------------------


def test_training_steps_lower_the_loss_and_save_a_loadable_model(tmp_path, base_model_dir, documents, capsys, caplog):
    from viextract import Extractor

    output = tmp_path / "model"
    config_path = train_config(
        tmp_path,
        base_model_dir,
        max_steps=12,
        batch_size=8,
        learning_rate=5.0e-3,
        warmup_ratio=0.0,
        logging_steps=1,
        augment=False,  # the splits file and its train_extra are what this test reads, not the copies
    )
    code, err = train_cli(["ner", "--config", str(config_path)], capsys)
    assert code == 0, err

    metrics = json.loads((output / "training_metrics.json").read_text(encoding="utf-8"))
    losses = [entry["loss"] for entry in metrics["log_history"] if "loss" in entry]
    assert len(losses) >= 10
    assert sum(losses[-3:]) / 3 < 0.85 * sum(losses[:3]) / 3, losses
    assert metrics["best_dev_f1"] is not None  # dev was scored
    # The sizes of what it trained on, kept so a card made after the files change still tells the truth.
    data = {(row["name"], row["source"]): row for row in metrics["data"]}
    splits = json.loads(SPLITS.read_text(encoding="utf-8"))
    dev_source = f"data/corpus.jsonl ({splits['dev'][0]})"
    assert data[("dev", dev_source)]["documents"] == 1 and data[("dev", dev_source)]["entities"] > 0
    assert {source for name, source in data if name == "train (extra)"} == set(splits["train_extra"])

    config = json.loads((output / "config.json").read_text(encoding="utf-8"))
    bigrams = config["viextract"].pop("tag_bigrams")
    provenance = config["viextract"].pop("provenance")
    # The recipe's word-context and word-shape priors (NerConfig defaults) are stored for decoding too.
    assert {"word_context", "word_shapes"} <= set(config["viextract"])
    config["viextract"] = {k: v for k, v in config["viextract"].items() if k not in ("word_context", "word_shapes")}
    assert config["viextract"] == {"segmenter": NerConfig().segmenter, "schema_version": SCHEMA_VERSION}
    # The base (no provenance of its own) and the gold data trained on: what a model trained from this one inherits.
    assert provenance["bases"] == [str(base_model_dir)]
    assert [(s["name"], s["use"]) for s in provenance["sources"]] == [("viextract_gold", "fine-tuning")]
    assert set(config["label2id"]) == {"O", *(f"{p}-{label}" for label in ENTITY_LABELS for p in "BI")}
    # The training tags' bigrams, stored for Viterbi: distributions over the label set, learned from data.
    assert bigrams["weight"] == NerConfig().transition_weight
    assert set(bigrams["start"]) == set(bigrams["transition"]) == set(config["label2id"])
    for row in (bigrams["start"], *bigrams["transition"].values()):
        assert math.isclose(sum(math.exp(v) for v in row.values()), 1.0, rel_tol=1e-9)
    transition = bigrams["transition"]
    assert transition["B-PER"]["I-PER"] > transition["O"]["I-PER"]  # gold never has I-PER after O
    assert transition["O"]["O"] > transition["O"]["B-EVENT"]
    assert NerConfig.load(output / "training_config.yaml") == NerConfig.load(config_path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".dir.tmp") or p.name.startswith(".old-")]

    extractor = Extractor.from_pretrained(output, device="cpu")
    assert extractor.tagger.bigrams is not None and extractor.tagger.bigrams.weight == bigrams["weight"]
    doc = documents[0]
    check_offsets(extractor(doc.text), doc.text)

    # Checkpoints of an earlier run are never silently mixed into a new one...
    code, err = train_cli(["ner", "--config", str(config_path)], capsys)
    assert code == 2 and "--resume" in err
    # A finished run is not resumed (the Trainer would train a step past its end over the model)...
    code, err = train_cli(["ner", "--config", str(config_path), "--resume"], capsys)
    assert code == 2 and "finished (checkpoint-12 is its last step" in err, err
    assert json.loads((output / "training_metrics.json").read_text(encoding="utf-8"))["global_step"] == 12
    # ...and --resume continues from the last of them, naming what changed since.
    caplog.clear()
    code, err = train_cli(["ner", "--config", str(config_path), "--set", "max_steps=14", "--resume"], capsys)
    assert code == 0, err
    assert "resuming with changed config keys: max_steps" in caplog.text
    resumed = json.loads((output / "training_metrics.json").read_text(encoding="utf-8"))
    assert resumed["global_step"] == 14
    assert [e["step"] for e in resumed["log_history"] if "loss" in e][-2:] == [13, 14]


def test_a_resume_killed_before_its_first_checkpoint_resumes_again(
    tmp_path, base_model_dir, documents, capsys, monkeypatch
):
    # The resumed run's longer max_steps was recorded before training, beside the finished run's last
    # checkpoint: the same --resume was then refused as "finished; raise max_steps".
    import transformers

    config_path = train_config(tmp_path, base_model_dir, max_steps=2, batch_size=8, **small_data(tmp_path, documents))
    assert train_cli(["ner", "--config", str(config_path)], capsys)[0] == 0
    resume = ["ner", "--config", str(config_path), "--set", "max_steps=3", "--resume"]

    def preempted(*args, **kwargs):  # the machine is taken back as the resumed run starts
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(transformers.Trainer, "train", preempted)
        assert train_cli(resume, capsys)[0] == 130
    code, err = train_cli(resume, capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "model" / "training_metrics.json").read_text(encoding="utf-8"))["global_step"] == 3


def test_resuming_without_the_recorded_config_says_so_in_one_warning(tmp_path, caplog):
    # A finished run whose training_config.yaml was lost was silently taken as unfinished, and no change listed.
    from training.fit.trainer import checkpoint_to_resume

    config = NerConfig(output_dir=str(tmp_path / "model"), max_steps=2)
    last = config.checkpoint_path / "checkpoint-2"
    last.mkdir(parents=True)
    (last / "trainer_state.json").write_text(json.dumps({"max_steps": 2, "global_step": 2}), encoding="utf-8")
    assert checkpoint_to_resume(config, resume=True) == (str(last), None)
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert str(config.checkpoint_path / "training_config.yaml") in warning
    assert "cannot tell whether that run finished, nor which config keys changed" in warning
    caplog.clear()
    (config.checkpoint_path / "training_config.yaml").write_text("a: [\n", encoding="utf-8")  # broken YAML
    checkpoint_to_resume(config, resume=True)
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "\n" not in warning and "cannot tell whether" in warning


def test_resuming_a_checkpoint_that_does_not_fit_the_config_is_one_line(tmp_path, base_model_dir, documents, capsys):
    # Both were a torch or safetensors traceback once training had started.
    config_path = train_config(tmp_path, base_model_dir, max_steps=2, batch_size=8, **small_data(tmp_path, documents))
    assert train_cli(["ner", "--config", str(config_path)], capsys)[0] == 0
    resume = ["ner", "--config", str(config_path), "--set", "max_steps=3", "--resume"]
    code, err = train_cli([*resume, "--set", "entity_labels=PER,LOC"], capsys)
    assert code == 2 and "checkpoint-2 does not fit the model this config builds" in err
    assert "classifier.bias: [15] there, [5] here" in err and "Traceback" not in err
    weights = tmp_path / "model.checkpoints" / "checkpoint-2" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    code, err = train_cli(resume, capsys)
    assert code == 2 and f"--resume: {weights}: cannot be read" in err


def test_select_on_dev_false_trains_every_epoch_and_keeps_the_last(tmp_path, base_model_dir, documents, capsys):
    from safetensors.torch import load_file

    output = tmp_path / "model"
    config_path = train_config(
        tmp_path,
        base_model_dir,
        **small_data(tmp_path, documents),
        epochs=3,
        batch_size=32,
        early_stopping_patience=1,  # would stop after epoch 2 if dev chose
        select_on_dev=False,
        learning_rate=1.0e-5,  # barely moves: dev F1 stays flat, so early stopping would trigger
    )
    code, err = train_cli(["ner", "--config", str(config_path)], capsys)
    assert code == 0, err
    metrics = json.loads((output / "training_metrics.json").read_text(encoding="utf-8"))
    assert metrics["kept_epoch"] == "last"
    assert [round(e["epoch"]) for e in metrics["log_history"] if "eval_f1" in e] == [1, 2, 3]  # dev scored, for the log
    last = output.parent / "model.checkpoints" / f"checkpoint-{metrics['global_step']}" / "model.safetensors"
    saved, at_last = load_file(output / "model.safetensors"), load_file(last)
    assert saved.keys() == at_last.keys() and all(saved[k].equal(at_last[k]) for k in saved)


def test_layer_decay_moves_the_lower_layers_less(tmp_path, base_model_dir, documents, capsys):
    """`layer_decay` reaches the Trainer's optimizer: Adam's first steps move every weight by about its
    group's rate, so the 1-layer base's layer moves half as far as the head and the embeddings a quarter."""
    from safetensors.torch import load_file

    output = tmp_path / "model"
    config_path = train_config(
        tmp_path, base_model_dir, max_steps=2, batch_size=8, learning_rate=1.0e-2, warmup_ratio=0.0,
        weight_decay=0.0, layer_decay=0.5, select_on_dev=False, **small_data(tmp_path, documents),
    )  # fmt: skip
    code, err = train_cli(["ner", "--config", str(config_path)], capsys)
    assert code == 0, err
    before, after = load_file(base_model_dir / "model.safetensors"), load_file(output / "model.safetensors")

    def moved(name: str) -> float:
        return float((after[name] - before[name]).abs().max())

    head = moved("classifier.weight")
    assert 0.4 < moved("roberta.encoder.layer.0.attention.self.query.weight") / head < 0.6
    assert 0.2 < moved("roberta.embeddings.word_embeddings.weight") / head < 0.3
    assert NerConfig.load(output / "training_config.yaml").layer_decay == 0.5


# ---- (b) it learns: 20 sentences overfit to entity F1 = 1.0 --------------------------------------


def test_tiny_model_overfits_twenty_sentences(tmp_path, base_model_dir, documents):
    from training.evaluation.metrics import score_tags
    from training.fit.ner import tagged_sentences, train_sentences
    from viextract import Extractor

    config = NerConfig(
        base_model=str(base_model_dir),
        train_files=["(in memory)"],
        dev_files=["(in memory)"],
        output_dir=str(tmp_path / "model"),
        learning_rate=1e-2,
        epochs=30,  # dev F1 first reaches 1.0 near epoch 13 and holds it to the end: twice that is the margin
        batch_size=10,
        warmup_ratio=0.0,
        weight_decay=0.0,
        early_stopping_patience=0,
        save_total_limit=1,
        logging_steps=50,
        allow_unseen_labels=True,
    )
    with_entities = [s for s in tagged_sentences(documents[:3], config) if any(t != "O" for t in s.tags)]
    sentences = sorted(with_entities, key=lambda s: len(s.tokens))[:20]
    gold = [s.tags for s in sentences]
    assert len(sentences) == 20 and sum(t.startswith("B-") for tags in gold for t in tags) >= 40

    train_sentences(config, sentences, sentences)

    metrics = json.loads((tmp_path / "model" / "training_metrics.json").read_text(encoding="utf-8"))
    assert metrics["best_dev_f1"] == 1.0
    extractor = Extractor.from_pretrained(tmp_path / "model", device="cpu")
    predicted = [[t.label for t in tags] for tags in extractor.tagger.tag([s.tokens for s in sentences])]
    scores = score_tags(gold, predicted)
    assert scores["micro"]["f1"] == 1.0, scores["micro"]
    # The full pipeline (its own segmentation, no gold boundaries) gives exact offsets.
    for doc, result in zip(documents[:3], extractor.pipe([d.text for d in documents[:3]])):
        check_offsets(result, doc.text)
    assert any(result.entities for result in extractor.pipe([d.text for d in documents[:3]]))


def test_augmentation_adds_copies_to_the_originals(documents):
    from training.fit.ner import augment_documents

    originals = list(documents[:2])
    config = NerConfig(augment=True, augment_copies=2, seed=3)
    augmented = augment_documents(config, originals)
    assert augmented[:2] == originals and 2 < len(augmented) <= 6
    assert {doc.id for doc in augmented[2:]}.isdisjoint(doc.id for doc in originals)
    assert augment_documents(NerConfig(augment=False), originals) == originals


# ---- training inputs use viextract's windows ------------------------------------------------------


def test_windows_carry_first_subword_labels_and_map_back(tiny_tokenizer_dir):
    from transformers import PhobertTokenizer

    from training.fit.ner import IGNORE_INDEX, TaggedSentence, WindowCollator, encode_windows, words_from_windows
    from viextract.align import SubwordAligner
    from viextract.labels import bio_labels

    tokenizer = PhobertTokenizer(str(tiny_tokenizer_dir / "vocab.txt"), str(tiny_tokenizer_dir / "bpe.codes"))
    labels = bio_labels()
    label2id = {label: i for i, label in enumerate(labels)}
    words = ["Trung_tướng", "Lê_Đức_Thái", ",", "Tư_lệnh", "Bộ_đội", "Biên_phòng", "đến", "Vientiane", "ngày", "10/10"]
    tags = ["B-TITLE", "B-PER", "O", "B-TITLE", "B-ORG", "I-ORG", "O", "B-LOC", "B-DATE", "I-DATE"]
    sentences = [TaggedSentence(words * 3, tags * 3), TaggedSentence(words[:2], tags[:2])]
    aligner = SubwordAligner(tokenizer, max_subwords=12, overlap=4)
    features, index = encode_windows(sentences, aligner, label2id)
    assert len([i for i in index if i[0] == 0]) > 2  # the long sentence became several windows
    for feature, (s_index, window) in zip(features, index):
        assert feature["input_ids"] == list(window.input_ids)
        firsts = set(window.word_positions)
        for position, label in enumerate(feature["labels"]):
            if position in firsts:
                word = window.first_word + window.word_positions.index(position)
                assert label == label2id[sentences[s_index].tags[word]]
            else:
                assert label == IGNORE_INDEX
    # Predictions certain of the labels give back every sentence's tags.
    batch = WindowCollator(tokenizer.pad_token_id)(features)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tokenizer.pad_token_id).all()
    certain = torch.log(torch.nn.functional.one_hot(batch["labels"].clamp_min(0), len(labels)).float() * 0.9 + 0.005)
    recovered = words_from_windows(certain, index, [len(s.tokens) for s in sentences], dict(enumerate(labels)))
    assert recovered == [s.tags for s in sentences]


# ---- evaluation --------------------------------------------------------------------------------


# Every train_extra file of the splits (the written documents), as the k-fold reads them.
EXTRA_IDS = [
    json.loads(line)["id"]
    for path in json.loads(SPLITS.read_text(encoding="utf-8"))["train_extra"]
    for line in (REPO / path).open(encoding="utf-8")
]


def test_evaluate_and_kfold_write_json(tmp_path, base_model_dir, documents, capsys):
    from training.evaluation.evaluate import main

    data = write_docs(tmp_path / "docs.jsonl", documents[:3])
    out = tmp_path / "results.json"
    assert main(["ner", "--model", str(base_model_dir), "--data", str(data), "--out", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["documents"] == 3
    assert results["words"]["micro"]["support"] == results["chars"]["micro"]["support"] == results["gold_entities"]
    for level in ("words", "chars"):
        assert set(results[level]["confusion"]) == {"correct", "label", "boundary", "both", "spurious", "missed"}
        assert set(results[level]["per_label"]) <= set(ENTITY_LABELS)
    assert "Character spans" in capsys.readouterr().out
    assert results["decoding"] == "viterbi"  # what Extractor does
    argmax_out = tmp_path / "argmax.json"
    argmax_argv = ["ner", "--model", str(base_model_dir), "--data", str(data), "--decoding", "argmax"]
    assert main([*argmax_argv, "--out", str(argmax_out)]) == 0
    assert json.loads(argmax_out.read_text(encoding="utf-8"))["decoding"] == "argmax"

    # --capitals scores the texts in capitals; it never trains on them.
    assert main(["ner", "--model", str(base_model_dir), "--data", str(data), "--capitals", "--out", str(out)]) == 0
    capitals = json.loads(out.read_text(encoding="utf-8"))
    assert capitals["capitals"] is True and capitals["gold_entities"] == results["gold_entities"]
    assert main(["ner", "--kfold", "2", "--config", "configs/ner.yaml", "--data", str(data), "--capitals"]) == 2
    assert "--capitals with --kfold needs --rescore" in capsys.readouterr().err

    # --docs picks a split's documents by id.
    assert (
        main(["ner", "--model", str(base_model_dir), "--data", str(CORPUS), "--docs", "test", "--out", str(out)]) == 0
    )
    assert json.loads(out.read_text(encoding="utf-8"))["document_ids"] == json.loads(SPLITS.read_text())["test"]

    config = write_yaml(
        tmp_path / "kfold.yaml",
        {
            "base_model": str(base_model_dir),
            "output_dir": str(tmp_path / "kf"),
            "max_steps": 2,
            "batch_size": 4,
            "allow_unseen_labels": True,
            "logging_steps": 1,
            "augment": False,  # copies of the ~100 train_extra documents would only slow each fold
            # Folds without a word context or shapes, so --rescore below can be refused for them.
            "context_weight": 0.0,
            "shape_weight": 0.0,
        },
    )
    # The project's splits file named: its train_extra join the folds of a data file other than its corpus.
    argv = ["ner", "--kfold", "2", "--config", str(config), "--data", str(data), "--splits", str(SPLITS)]
    argv += ["--out", str(out)]
    assert main(argv) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["k"] == 2 and len(results["folds"]) == 2
    held_out = [doc_id for fold in results["folds"] for doc_id in fold["test_ids"]]
    assert sorted(held_out) == sorted(d.id for d in documents[:3])  # written extras train, never test
    assert results["extra_train_documents"] == len(EXTRA_IDS) > 0
    assert set(results["summary"]["chars"]["f1"]) == {"mean", "std"}
    assert sorted(p.name for p in (tmp_path / "kf-kfold").iterdir()) == ["fold-0", "fold-1"]
    assert main(argv) == 0  # a second run replaces the fold models
    assert "mean ± std" in capsys.readouterr().out

    # --rescore reads the fold models again, untouched, under another decoding setting.
    weights = [(tmp_path / "kf-kfold" / f"fold-{i}" / "model.safetensors").read_bytes() for i in range(2)]
    unweighted, constrained = tmp_path / "w0.json", tmp_path / "constrained.json"
    assert main([*argv[:-1], str(unweighted), "--rescore", "--set", "transition_weight=0"]) == 0
    assert main([*argv[:-1], str(constrained), "--rescore", "--decoding", "constrained"]) == 0
    rescored = [json.loads(path.read_text(encoding="utf-8")) for path in (unweighted, constrained)]
    assert all(fold["rescored"] for result in rescored for fold in result["folds"])
    assert rescored[0]["summary"] == rescored[1]["summary"]  # weight 0 is decoding without the bigrams
    assert [(tmp_path / "kf-kfold" / f"fold-{i}" / "model.safetensors").read_bytes() for i in range(2)] == weights
    capsys.readouterr()
    # The folds were trained without a word context (context_weight 0): none to weigh.
    assert main([*argv, "--rescore", "--set", "context_weight=0.5"]) == 2
    assert "context_weight:" in capsys.readouterr().err
    assert main([*argv, "--rescore", "--set", "shape_weight=0.5"]) == 2
    err = capsys.readouterr().err
    assert "shape_weight:" in err and "has no word shapes" in err
    assert main([*argv, "--rescore", "--set", "shape_weight=-1"]) == 2
    assert "shape_weight: must be finite and >= 0" in capsys.readouterr().err
    assert main([*argv, "--rescore", "--set", "max_steps=3"]) == 2  # not the models' recipe
    err = capsys.readouterr().err
    assert "--rescore:" in err and "other values of ['max_steps']" in err
    assert main([*argv, "--rescore", "--work-dir", str(tmp_path / "nowhere")]) == 2
    assert "fold-0/training_config.yaml is missing" in capsys.readouterr().err
    assert main(["ner", "--model", str(base_model_dir), "--data", str(data), "--rescore"]) == 2
    assert "--rescore/--fold: only used with --kfold" in capsys.readouterr().err


# ---- (d) errors before training -------------------------------------------------------------------


def test_config_errors_name_the_key(tmp_path, capsys):
    bad = write_yaml(tmp_path / "bad.yaml", {"learning_rate": 1.0e-4, "epochz": 3})
    code, err = train_cli(["ner", "--config", str(bad)], capsys)
    assert code == 2 and "bad.yaml:1: unknown key 'epochz'" in err
    code, err = train_cli(["ner", "--set", "batch_size=big"], capsys)
    assert code == 2 and "--set batch_size=big: batch_size: expected an integer" in err
    code, err = train_cli(["ner", "--set", "no_such_key=1"], capsys)
    assert code == 2 and "unknown key 'no_such_key'" in err
    code, err = train_cli(["ner", "--set", "output_dir="], capsys)  # was: checkpoint_dir .checkpoints is inside ''
    assert code == 2 and "output_dir: must name the folder the model is written to" in err


def test_data_errors_stop_before_training(tmp_path, base_model_dir, documents, capsys, monkeypatch):
    good = write_docs(tmp_path / "good.jsonl", documents[:1])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({**documents[0].to_dict(), "entities": [{"id": "T1", "start": 0, "end": 5}]}) + "\n")
    no_agreement = write_docs(
        tmp_path / "few.jsonl",
        [d for d in documents if all(e.label != "AGREEMENT" for e in d.entities)][:1],
    )
    common = ["ner", "--set", f"base_model={base_model_dir}", "--set", f"output_dir={tmp_path / 'out'}"]

    code, err = train_cli([*common, "--set", f"train_files={empty}", "--set", f"dev_files={good}"], capsys)
    assert code == 2 and err == f"error: train_files: {empty}: no documents (empty file)\n"
    code, err = train_cli([*common, "--set", f"train_files={broken}", "--set", f"dev_files={good}"], capsys)
    assert code == 2 and "broken.jsonl:1: entities[0].label: missing" in err
    # One empty file among others (a silver file that generated nothing, one saved empty) added nothing, unsaid.
    monkeypatch.setattr("training.fit.ner.load_base", lambda *a, **k: pytest.fail("loaded the base"))
    for key, files in [("train_files", f"{good},{empty}"), ("dev_files", f"{empty},{good}"), ("silver_files", empty)]:
        chosen = {"train_files": str(good), "dev_files": str(good), key: files, "allow_unseen_labels": "true"}
        code, err = train_cli([*common, *(f"--set={k}={v}" for k, v in chosen.items())], capsys)
        assert code == 2 and err == f"error: {key}: {empty}: no documents (empty file)\n", err
    monkeypatch.undo()
    code, err = train_cli([*common, "--set", f"train_files={no_agreement}", "--set", f"dev_files={good}"], capsys)
    assert code == 2 and "no training example of" in err and "AGREEMENT" in err and "allow_unseen_labels" in err
    code, err = train_cli(
        [
            "ner",
            "--set",
            "base_model=/no/such/phobert",
            "--set",
            f"train_files={good}",
            "--set",
            f"dev_files={good}",
            "--set",
            "allow_unseen_labels=true",
            "--set",
            f"output_dir={tmp_path / 'out'}",
        ],
        capsys,
    )
    assert code == 2 and "'/no/such/phobert'" in err
    assert not (tmp_path / "out").exists()


def test_path_errors_stop_before_training(tmp_path, base_model_dir, documents, capsys):
    """A file where the model folder goes, or a silver file not made yet: one line, exit 2, no work done."""
    good = write_docs(tmp_path / "good.jsonl", documents[:2])
    notes = tmp_path / "notes"
    notes.write_text("mine\n", encoding="utf-8")
    common = ["ner", "--set", f"base_model={base_model_dir}", "--set", f"train_files={good}",
              "--set", f"dev_files={good}", "--set", "allow_unseen_labels=true"]  # fmt: skip
    code, err = train_cli([*common, "--set", f"output_dir={notes}"], capsys)
    assert code == 2 and f"output_dir: {notes}: {notes} is a file, not a folder" in err
    assert notes.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.jsonl", "notes"]
    missing = tmp_path / "silver.jsonl"
    code, err = train_cli([*common, "--set", f"output_dir={base_model_dir}"], capsys)
    assert code == 2 and "would replace base_model" in err
    # A full model folder: its ner/ would be loaded, not the model written beside it, and nothing said so.
    (tmp_path / "full" / "ner").mkdir(parents=True)
    code, err = train_cli([*common, "--set", f"output_dir={tmp_path / 'full'}"], capsys)
    assert code == 2 and "holds a full model (a ner/ folder), whose loading would ignore this ner model" in err
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["ner"]
    # A relation model's folder (a ner run given outputs/re): every file of it was replaced, without a word.
    (tmp_path / "re").mkdir()
    (tmp_path / "re" / "config.json").write_text('{"model_type": "viextract_relation"}', encoding="utf-8")
    code, err = train_cli([*common, "--set", f"output_dir={tmp_path / 're'}"], capsys)
    assert code == 2 and f"output_dir: {tmp_path / 're'} holds a relation model, which this ner model would" in err
    assert [p.name for p in (tmp_path / "re").iterdir()] == ["config.json"]
    out = ["--set", f"output_dir={tmp_path / 'out'}"]
    code, err = train_cli([*common, *out, "--set", f"silver_files={missing}"], capsys)
    assert code == 2 and f"error: silver_files: {missing} does not exist" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", ["output_dir", "checkpoint_dir"])
def test_a_folder_that_cannot_be_written_stops_before_training(
    tmp_path, base_model_dir, documents, capsys, monkeypatch, key
):
    """A read-only folder was found when the first checkpoint, or the model after the last epoch, was written:
    a PermissionError traceback after the hours of training (and a finished run --resume then refuses)."""
    good = write_docs(tmp_path / "good.jsonl", documents[:1])
    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access
    # Tests run as root here, which may write anywhere: the folder is read-only as os.access reports it.
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != locked and access(path, mode, **kw))
    monkeypatch.setattr("training.fit.ner.load_base", lambda *a, **k: pytest.fail("loaded the base"))
    paths = {"output_dir": tmp_path / "out", "checkpoint_dir": tmp_path / "ckpt", key: locked / "sub" / "model"}
    argv = ["ner", "--set", f"base_model={base_model_dir}", "--set", f"train_files={good}", "--set",
            f"dev_files={good}", "--set", "allow_unseen_labels=true", "--set", "augment=false"]  # fmt: skip
    code, err = train_cli([*argv, *(f"--set={k}={v}" for k, v in paths.items())], capsys)
    assert code == 2 and f"error: {key}: {paths[key]}: cannot write in {locked}" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_evaluate_refuses_an_out_that_would_replace_its_data_before_scoring(tmp_path, documents, capsys):
    from training.evaluation.evaluate import main

    gold = write_docs(tmp_path / "gold.jsonl", documents[:1])
    before = gold.read_bytes()
    for task in ("ner", "re"):
        assert main([task, "--model", str(tmp_path / "no-model"), "--data", str(gold), "--out", str(gold)]) == 2
        assert "is an input of this command" in capsys.readouterr().err
    assert main(["ner", "--model", str(tmp_path / "no-model"), "--data", str(gold), "--out", str(tmp_path)]) == 2
    assert f"--out: {tmp_path}: is a directory" in capsys.readouterr().err
    assert gold.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["gold.jsonl"]


# ---- (c) DDP: two CPU processes over gloo ----------------------------------------------------------


def test_ddp_two_cpu_processes_train_and_save(tmp_path, base_model_dir, documents):
    from viextract import Extractor

    train = write_docs(tmp_path / "train.jsonl", documents[:2])
    dev = write_docs(tmp_path / "dev.jsonl", documents[3:4])
    output = tmp_path / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "training.fit.train", "ner",
        "--set", f"base_model={base_model_dir}", "--set", f"train_files={train}", "--set", f"dev_files={dev}",
        "--set", f"output_dir={output}", "--set", "max_steps=3", "--set", "batch_size=4",
        "--set", "allow_unseen_labels=true", "--set", "segmenter=syllables",
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((output / "training_metrics.json").read_text(encoding="utf-8"))
    assert metrics["world_size"] == 2 and metrics["global_step"] == 3
    extractor = Extractor.from_pretrained(output, device="cpu")
    assert extractor.segmenter == "syllables"
    check_offsets(extractor(documents[4].text), documents[4].text)


def test_decoding_tables_are_estimated_from_the_training_tags_only_when_weighted():
    from training.fit.ner import DecodingTables, NerConfig, TaggedSentence

    labels = ["O", "B-PER", "I-PER"]
    train = [TaggedSentence(["Đại_tá", "A", "nói"], ["O", "B-PER", "O"])] * 6
    config = NerConfig(transition_weight=0.0, context_weight=0.0, shape_weight=0.0)
    assert DecodingTables.estimate(train, labels, config).settings() == {}
    tables = DecodingTables.estimate(train, labels, NerConfig(context_weight=0.5, shape_weight=0.25))
    assert set(tables.settings()) == {"tag_bigrams", "word_context", "word_shapes"}
    assert tables.shapes.weight == 0.25 and set(tables.shapes.shapes) == {"cap_first", "cap_all", "lower"}
    assert tables.shapes.shapes["lower"][1] < 0 < tables.shapes.shapes["cap_all"][1]  # `nói` is no person


def test_word_context_is_estimated_from_the_training_tags_only_when_weighted():
    from training.fit.ner import TaggedSentence, word_context

    labels = ["O", "B-PER", "I-PER"]
    train = [TaggedSentence(["Đại_tá", "A", "nói"], ["O", "B-PER", "O"])] * 6
    assert word_context(train, labels, 0.0) is None
    context = word_context(train, labels, 0.25)
    assert context.weight == 0.25 and set(context.previous) == {"Đại_tá", "A"}
    assert context.previous["Đại_tá"][1] > 0 > context.previous["A"][1]


def test_an_unreachable_base_is_one_line_naming_the_repo_and_the_missing_folder(monkeypatch):
    import huggingface_hub

    from training.fit.trainer import BaseModelError, fetch_base_model

    def offline(*args, **kwargs):
        raise OSError("Name or service not known\n\nAn error happened while trying to locate the files on the Hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(BaseModelError) as caught:
        fetch_base_model("my/base")
    message = str(caught.value)
    assert "\n" not in message and "'my/base' from the Hugging Face Hub (OSError: Name or service not known)" in message
    assert f"{Path.cwd() / 'my/base'} is not a directory" in message


def test_a_local_base_folder_with_a_pinned_revision_is_refused_not_trained_on(tmp_path, monkeypatch):
    from training.fit.trainer import BaseModelError, fetch_base_model

    monkeypatch.chdir(tmp_path)
    (tmp_path / "vinai" / "phobert-base").mkdir(parents=True)  # a folder named like the Hub id
    assert fetch_base_model("vinai/phobert-base") == Path("vinai/phobert-base")
    with pytest.raises(BaseModelError, match=r"local directory .* but revision 'v2' was given.*snapshot_download"):
        fetch_base_model("vinai/phobert-base", "v2")
    (tmp_path / "my-base").mkdir()  # no Hub id: snapshot_download('my-base') is no advice to give
    with pytest.raises(BaseModelError, match=r"drop revision to train from this folder \(revision pins") as caught:
        fetch_base_model("my-base", "v2")
    assert "snapshot_download" not in str(caught.value)


def test_training_outside_a_checkout_without_a_config_names_train_files_and_dev_files(tmp_path, monkeypatch, capsys):
    # It said only "data/splits.json: no such splits file", which a pip user has no way to make sense of.
    from training.fit.train import main

    monkeypatch.chdir(tmp_path)
    assert main(["ner"]) == 2
    err = capsys.readouterr().err
    assert "data/splits.json: no such splits file" in err and "viextract checkout" in err
    assert "--set train_files=train.jsonl --set dev_files=dev.jsonl" in err and "docs/training.md" in err


def test_resume_passes_over_a_checkpoint_cut_off_while_saving(tmp_path, caplog):
    # Ctrl-C while the Trainer saved checkpoint-10 left it without trainer_state.json (written last);
    # --resume took it and failed inside the Trainer, though checkpoint-9 was whole.
    from training.fit.config import ConfigError
    from training.fit.trainer import checkpoint_to_resume

    config = NerConfig(output_dir=str(tmp_path / "model"))
    for step, complete in [(2, True), (9, True), (10, False)]:
        checkpoint = config.checkpoint_path / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "model.safetensors").write_bytes(b"")
        if complete:
            (checkpoint / "trainer_state.json").write_text("{}", encoding="utf-8")
    assert checkpoint_to_resume(config, resume=True)[0] == str(config.checkpoint_path / "checkpoint-9")
    assert "passing over checkpoint-10, cut off while saving" in caplog.text
    for step in (2, 9):
        (config.checkpoint_path / f"checkpoint-{step}" / "trainer_state.json").unlink()
    with pytest.raises(ConfigError, match="no complete checkpoint in .*checkpoint-10, checkpoint-9, checkpoint-2 cut"):
        checkpoint_to_resume(config, resume=True)
    with pytest.raises(ConfigError, match="holds checkpoints of an earlier run"):  # without --resume: as before
        checkpoint_to_resume(config, resume=False)


def test_a_run_whose_model_was_never_written_resumes_to_write_it(tmp_path):
    # A full disk (or a kill) at the final save left the last checkpoint and no model; --resume then refused,
    # "the run finished ... and its model was written to output_dir", so the model could not be had at all.
    import time

    from training.fit.config import ConfigError
    from training.fit.trainer import checkpoint_to_resume

    config = NerConfig(output_dir=str(tmp_path / "model"), max_steps=12)
    last = config.checkpoint_path / "checkpoint-12"
    last.mkdir(parents=True)
    (last / "trainer_state.json").write_text('{"global_step": 12, "max_steps": 12}', encoding="utf-8")
    config.save(config.checkpoint_path)
    earlier = tmp_path / "model"
    earlier.mkdir()
    config.save(earlier)  # a model an earlier run wrote there
    past = time.time() - 3600
    os.utime(earlier / "training_config.yaml", (past, past))
    assert checkpoint_to_resume(config, resume=True)[0] == str(last)
    config.save(earlier)  # this run's model, written after its last checkpoint
    with pytest.raises(ConfigError, match="finished \\(checkpoint-12 is its last step"):
        checkpoint_to_resume(config, resume=True)


def test_resuming_lists_the_checkpoint_folder_once(tmp_path, monkeypatch):
    # The refusal check listed it (transformers' get_last_checkpoint), then the pick of the last complete
    # one listed it again; a file, or a name that is not checkpoint-<digits>, is no checkpoint.
    from training.fit.trainer import checkpoint_to_resume

    config = NerConfig(output_dir=str(tmp_path / "model"))
    for step in (2, 10):
        (config.checkpoint_path / f"checkpoint-{step}").mkdir(parents=True)
        (config.checkpoint_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}", encoding="utf-8")
    (config.checkpoint_path / "checkpoint-11").write_text("", encoding="utf-8")
    (config.checkpoint_path / "checkpoint-\u00b2").mkdir()
    listed = []
    scandir, listdir = os.scandir, os.listdir  # Path.iterdir lists with os.listdir, glob with os.scandir
    monkeypatch.setattr(os, "scandir", lambda path=".": listed.append(path) or scandir(path))
    monkeypatch.setattr(os, "listdir", lambda path=".": listed.append(path) or listdir(path))
    assert checkpoint_to_resume(config, resume=True)[0] == str(config.checkpoint_path / "checkpoint-10")
    assert [Path(path) for path in listed].count(config.checkpoint_path) == 1


def test_ctrl_c_during_training_is_one_line_and_exit_130(monkeypatch, capsys):
    # It was a KeyboardInterrupt traceback from deep inside the Trainer, with no word on --resume.
    import training.fit.train as train

    class Interrupted:
        CONFIG_CLASS = NerConfig

        @staticmethod
        def run(config, resume=False):
            raise KeyboardInterrupt

    monkeypatch.setattr(train, "task_module", lambda task: Interrupted)
    code, err = train_cli(["ner"], capsys)
    assert code == 130
    assert err == "interrupted: the same command with --resume continues from the last checkpoint\n"


def test_a_full_disk_while_training_is_one_line_and_exit_1(monkeypatch, capsys):
    # A checkpoint or the final model that could not be written was an OSError traceback from inside the Trainer
    # or the save, with no word on the checkpoints kept.
    import errno

    import training.fit.train as train

    class DiskFull:
        CONFIG_CLASS = NerConfig

        @staticmethod
        def run(config, resume=False):
            raise OSError(errno.ENOSPC, "No space left on device", "outputs/ner.checkpoints/checkpoint-40")

    monkeypatch.setattr(train, "task_module", lambda task: DiskFull)
    code, err = train_cli(["ner"], capsys)
    assert code == 1
    assert err == (
        "error: outputs/ner.checkpoints/checkpoint-40: No space left on device; the checkpoints saved before "
        "stay: the same command with --resume continues from the last one (and writes the model)\n"
    )


@pytest.mark.parametrize("task", ["ner", "relations"])
def test_a_wrong_resume_is_refused_before_the_data_is_read(tmp_path, monkeypatch, task):
    # Both were refused only after the data was loaded, augmented and segmented: minutes on a real corpus.
    import importlib

    from training.fit.config import ConfigError

    module = importlib.import_module(f"training.fit.{task}")
    monkeypatch.setattr(module, "load_training_documents", lambda config: pytest.fail("the data was read"))
    config = module.CONFIG_CLASS(output_dir=str(tmp_path / "model"))
    with pytest.raises(ConfigError, match="--resume: no checkpoint in"):
        module.run(config, resume=True)
    (config.checkpoint_path / "checkpoint-3").mkdir(parents=True)
    with pytest.raises(ConfigError, match="holds checkpoints of an earlier run"):
        module.run(config, resume=False)
