"""The pretraining recipe end to end on a tiny model and text, and its pieces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED
from training.fit.config import ConfigError
from training.pretraining.mlm import pretrain
from training.pretraining.mlm_config import PretrainConfig
from training.pretraining.mlm_data import pack_sequences
from training.pretraining.mlm_model import schedule_factor
from training.pretraining.text import (
    HELD_OUT_CORPUS_IDS,
    corpus_train_documents,
    extra_written_sources,
    gold_words_to_model_form,
    read_conllu_words,
    ud_vtb_source,
)
from training.pretraining.text import main as text_main
from viextract.inputs import InputError

UD_DIR = SHARED / "data" / "ud_vietnamese_vtb"


def tiny_config(tmp_path: Path, text_file: Path, **changes) -> PretrainConfig:
    values = {
        "use_corpus": False,
        "ud_parts": [],
        "ud_heldout_parts": [],
        "use_underthesea_vlsp2013": False,
        "text_files": [str(text_file)],
        "segmenter": "syllables",
        "num_merges": 200,
        "num_hidden_layers": 1,
        "hidden_size": 32,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_length": 64,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "warmup_ratio": 0.1,
        "max_steps": 30,
        "logging_steps": 5,
        "eval_steps": 0,
        "torch_threads": 1,
        "output_dir": str(tmp_path / "base"),
        **changes,
    }
    return PretrainConfig.from_dict(values)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory, corpus):
    tmp_path = tmp_path_factory.mktemp("pretrain")
    text_file = tmp_path / "tiny.txt"
    # A small text repeated: the loss on it must fall within 30 steps.
    text_file.write_text("\n\n".join([corpus[0][:700]] * 12), encoding="utf-8")
    config = tiny_config(tmp_path, text_file)
    metrics = pretrain(config)
    return Path(config.output_dir), metrics


def test_tiny_pretraining_lowers_the_mlm_loss(tiny_base):
    _, metrics = tiny_base
    assert metrics["steps"] == 30
    assert metrics["last_logged_train_loss"] < metrics["first_logged_train_loss"] - 0.5, metrics["history"]


def test_saved_base_loads_as_token_classifier_and_tokenizer(tiny_base):
    import torch
    from transformers import AutoModelForTokenClassification, PhobertTokenizer

    directory, _ = tiny_base
    for name in (
        "model.safetensors",
        "config.json",
        "vocab.txt",
        "bpe.codes",
        "training_config.yaml",
        "pretrain_data.json",
    ):
        assert (directory / name).is_file(), name
    tokenizer = PhobertTokenizer.from_pretrained(directory)
    model = AutoModelForTokenClassification.from_pretrained(directory, num_labels=5)
    assert model.config.max_position_embeddings == 258 and model.config.type_vocab_size == 1
    assert model.config.pad_token_id == tokenizer.pad_token_id and model.config.vocab_size == len(tokenizer)
    assert tokenizer.model_max_length == 64
    encoded = tokenizer("Trung_tướng Lê_Đức_Thái thăm Lào", return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits
    assert logits.shape == (1, encoded["input_ids"].shape[1], 5)
    data = json.loads((directory / "pretrain_data.json").read_text(encoding="utf-8"))
    assert data["train_sentences"] > 0 and data["tokenizer"]["vocab_size"] == len(tokenizer)
    # The saved config loads back and describes the same run.
    again = PretrainConfig.load(directory / "training_config.yaml")
    assert again.hidden_size == 32 and again.max_steps == 30


# Quiet on a CPU: no "pin_memory ... no accelerator is found" warning from the data loader.
@pytest.mark.filterwarnings("error:.*pin_memory:UserWarning")
def test_time_budget_stops_training(tmp_path, corpus):
    text_file = tmp_path / "tiny.txt"
    text_file.write_text(corpus[0][:400], encoding="utf-8")
    config = tiny_config(tmp_path, text_file, max_steps=-1, epochs=100000.0, max_minutes=0.02)
    metrics = pretrain(config)
    assert 0 < metrics["steps"] < 100000 and metrics["train_minutes"] < 0.2


def test_pack_sequences_keeps_every_id_in_order_within_the_limit():
    sentences = [list(range(10, 10 + n)) for n in (3, 7, 1, 20, 5)]
    sequences = pack_sequences(sentences, max_length=10, bos_id=0, eos_id=2)
    assert all(len(s) <= 10 and s[0] == 0 and s[-1] == 2 for s in sequences)
    assert [i for s in sequences for i in s[1:-1]] == [i for s in sentences for i in s]


def test_schedule_follows_whichever_of_steps_and_time_is_further():
    assert schedule_factor(0, 100, 0.0, None, 0.1, "linear") == pytest.approx(1e-3)
    assert schedule_factor(10, 100, 0.0, None, 0.1, "linear") == pytest.approx(1.0)
    assert schedule_factor(55, 100, 0.0, None, 0.1, "linear") == pytest.approx(0.5)
    assert schedule_factor(10, 100, 60.0, 60.0, 0.1, "linear") == 0.0  # the time budget is spent
    assert schedule_factor(50, 100, 0.0, None, 0.1, "constant") == 1.0


def test_gold_words_are_cut_and_normalised_as_at_inference():
    assert gold_words_to_model_form(["Cộng hòa", "Việt Nam-Lào", "10/10", "."]) == [
        "Cộng_hoà",
        "Việt_Nam",
        "-",
        "Lào",
        "10/10",
        ".",
    ]


def test_corpus_dev_and_test_documents_are_never_pretrained_on():
    docs, _ = corpus_train_documents(REPO / "data")
    assert docs and not {d["id"] for d in docs} & HELD_OUT_CORPUS_IDS


def test_config_rejects_keys_that_mean_nothing_for_pretraining(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'base_model'"):
        PretrainConfig.from_dict({"base_model": "vinai/phobert-base"})
    with pytest.raises(ConfigError, match="ud_heldout_parts"):
        PretrainConfig.from_dict({"ud_parts": ["train", "test"], "ud_heldout_parts": ["test"]})
    config = PretrainConfig.load(REPO / "configs" / "pretrain.yaml", ["max_minutes=3", "num_hidden_layers=2"])
    assert config.max_minutes == 3.0 and config.num_hidden_layers == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [("hidden_dropout_prob=1.5", r"hidden_dropout_prob: must be in \[0, 1\), got 1.5"),
     ("attention_probs_dropout_prob=-0.1", r"attention_probs_dropout_prob: must be in \[0, 1\)"),
     ("torch_threads=0", r"torch_threads: must be at least 1, or null, got 0"),
     ("torch_threads=-2", r"torch_threads: must be at least 1"),
     ("max_vocab=0", r"max_vocab: must be at least 1, or null, got 0"),
     ("eval_steps=-5", r"eval_steps: must be 0 \(before and after training only\) or more, got -5")],
)  # fmt: skip
def test_config_values_that_ran_as_something_else_or_failed_after_the_text_are_refused(override, message):
    """Dropout 1.5 failed in torch after the text was collected; torch_threads 0 ran as torch's default, -2 as a
    traceback; eval_steps -5 evaluated every 5 steps; max_vocab 0 kept every character anyway."""
    with pytest.raises(ConfigError, match=message):
        PretrainConfig.load(REPO / "configs" / "pretrain.yaml", [override])
    fine = ["hidden_dropout_prob=0", "torch_threads=null", "max_vocab=null", "eval_steps=0", "max_vocab=1"]
    assert PretrainConfig.load(REPO / "configs" / "pretrain.yaml", fine).eval_steps == 0


def test_missing_treebank_names_the_option_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="--ud-dir"):
        ud_vtb_source(tmp_path / "nowhere")


@pytest.mark.skipif(not UD_DIR.is_dir(), reason="UD VTB treebank not in ../shared/data/ud_vietnamese_vtb")
def test_ud_sentences_join_gold_syllables_with_underscores():
    first = read_conllu_words(UD_DIR / "vi_vtb-ud-train.conllu")[0]
    assert "chủ tịch" in first
    source = ud_vtb_source(UD_DIR, ["train"])
    assert "chủ_tịch" in source.sentences[0] and source.num_words == sum(len(s) for s in source.sentences)


GOOD_TEXT = "Hà_Nội là thủ_đô .\nông Nguyễn_Văn_An đến Đà_Nẵng .\n"
BAD_TEXTS = {
    "blank": (b"\n   \n\n", r"no text \(the file is empty or every line is blank\)"),
    "empty": (b"", r"no text"),
    "cp1258": ("Hà_Nội là thủ_đô\n".encode() + "ông Lê\n".encode("cp1258"), r"not UTF-8 text .*at line 2"),
}


@pytest.mark.parametrize("bad", sorted(BAD_TEXTS))
@pytest.mark.parametrize("key", ["text_file", "heldout_text_file", "text_files"])
def test_a_blank_or_non_utf8_text_file_is_refused_naming_key_file_and_line(tmp_path, capsys, key, bad):
    from training.pretraining.mlm import main

    content, message = BAD_TEXTS[bad]
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(content)
    given = {"text_file": [f"text_file={tmp_path / 'good.txt'}"], key: [f"{key}={tmp_path / 'bad.txt'}"]}
    overrides = [f"output_dir={tmp_path / 'base'}", "use_corpus=false", "ud_parts=[]", "ud_heldout_parts=[]",
                 "use_underthesea_vlsp2013=false", *(o for value in given.values() for o in value)]  # fmt: skip
    if key == "text_files":
        overrides = [o for o in overrides if not o.startswith("text_file=")]
    assert main([a for o in overrides for a in ("--set", o)]) == 2
    assert re.match(rf"error: {key}: {re.escape(str(tmp_path / 'bad.txt'))}: {message}", capsys.readouterr().err)
    assert not (tmp_path / "base").exists()


def test_a_text_file_saved_with_a_bom_and_crlf_reads_as_the_same_sentences(tmp_path):
    """Notepad's UTF-8 BOM stayed on the first word (`\\ufeffHà_Nội`), which PhoBERT's tokenizer cut as a subword."""
    from training.pretraining.build_e5_base import read_text_files
    from training.pretraining.text import read_text_file

    (tmp_path / "plain.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "notepad.txt").write_bytes(GOOD_TEXT.replace("\n", "\r\n").encode("utf-8-sig"))
    plain = read_text_file(tmp_path / "plain.txt").sentences
    assert plain[0][0] == "Hà_Nội"
    assert read_text_file(tmp_path / "notepad.txt").sentences == plain
    assert read_text_files([str(tmp_path / "notepad.txt")]) == plain


@pytest.mark.parametrize(
    ("key", "where", "message"),
    [
        ("output_dir", "a-file", r"output_dir: .*a-file: exists and is not a directory"),
        ("output_dir", "a-file/base", r"output_dir: .*a-file is a file, not a folder"),
        (
            "tokenizer_dir",
            "empty",
            r"tokenizer_dir: .*empty: no vocab\.txt there \(a tokenizer folder has vocab\.txt and bpe\.codes\)",
        ),
        ("init_from", "empty", r"init_from: .*empty: no vocab.txt there"),
        (
            "init_from",
            "tokenizer",
            r"init_from: .*tokenizer: no config.json there \(a model folder .* is tokenizer_dir\)",
        ),
    ],
)
def test_an_output_or_tokenizer_folder_that_cannot_serve_is_refused_before_training(
    tmp_path, capsys, monkeypatch, key, where, message
):
    from training.pretraining import mlm

    monkeypatch.setattr(mlm, "collect_text", lambda config: pytest.fail("the text was collected"))
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "tokenizer").mkdir()
    for name, line in (("vocab.txt", "Hà_Nội 5\n"), ("bpe.codes", "H à 5\n")):
        (tmp_path / "tokenizer" / name).write_text(line, encoding="utf-8")
    values = {"output_dir": str(tmp_path / "base"), "text_file": str(tmp_path / "good.txt"), key: str(tmp_path / where)}
    assert mlm.main([a for k, v in values.items() for a in ("--set", f"{k}={v}")]) == 2
    assert re.match(rf"error: {message}", capsys.readouterr().err)
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("out", ["model", "model/../model", "model/continued"])
def test_an_output_dir_that_is_the_init_from_model_is_refused_before_training(tmp_path, capsys, monkeypatch, out):
    """output_dir = init_from wrote the continued model over the e5 base it started from (its base_info.json, with
    the e5 checks, left beside the new weights)."""
    from training.pretraining import mlm

    monkeypatch.setattr(mlm, "collect_text", lambda config: pytest.fail("the text was collected"))
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "model").mkdir()
    for name, line in (("vocab.txt", "Hà_Nội 5\n"), ("bpe.codes", "H à 5\n"), ("config.json", "{}")):
        (tmp_path / "model" / name).write_text(line, encoding="utf-8")
    values = {
        "output_dir": str(tmp_path / out),
        "text_file": str(tmp_path / "good.txt"),
        "init_from": str(tmp_path / "model"),
    }
    assert mlm.main([a for k, v in values.items() for a in ("--set", f"{k}={v}")]) == 2
    assert re.match(
        r"error: output_dir: .* is (inside )?init_from .*: the continued model would replace", capsys.readouterr().err
    )
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["bpe.codes", "config.json", "vocab.txt"]


def test_a_heldout_text_file_that_is_the_text_file_is_refused(tmp_path, capsys, monkeypatch):
    """heldout_text_file = text_file measured the 'held-out' accuracy on training text, reported as held-out."""
    from training.pretraining import mlm

    monkeypatch.setattr(mlm, "collect_text", lambda config: pytest.fail("the text was collected"))
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    values = {"text_file": str(tmp_path / "good.txt"), "heldout_text_file": str(tmp_path / "." / "good.txt"),
              "output_dir": str(tmp_path / "base")}  # fmt: skip
    assert mlm.main([a for k, v in values.items() for a in ("--set", f"{k}={v}")]) == 2
    assert re.match(r"error: heldout_text_file: \S*good.txt is the text_file trained on", capsys.readouterr().err)


def test_text_files_beside_a_text_file_are_refused_not_left_unread(tmp_path):
    """collect_text reads text_file alone: text_files given with it were checked, then never trained on."""
    with pytest.raises(ConfigError, match=r"text_files: are not read when text_file is given"):
        PretrainConfig.from_dict({"text_file": "a.txt", "text_files": ["b.txt"]})


@pytest.mark.parametrize(
    ("listing", "message"),
    [(b"[{bad", ":1: json: invalid JSON"), (b'{"name": "x"}', "expected a JSON list of sources, got dict"),
     (b'[{"name": "x"}]', "source 0: field 'licence': expected a string")],
)  # fmt: skip
def test_a_broken_sources_listing_beside_the_text_file_is_one_line(tmp_path, capsys, listing, message):
    """The `.sources.json` is hand-editable and its licences go onto the card: a broken one was a traceback."""
    from training.pretraining.mlm import main

    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "good.txt.sources.json").write_bytes(listing)
    overrides = [f"output_dir={tmp_path / 'base'}", "use_corpus=false", "ud_parts=[]", "ud_heldout_parts=[]",
                 "use_underthesea_vlsp2013=false", f"text_file={tmp_path / 'good.txt'}"]  # fmt: skip
    assert main([a for o in overrides for a in ("--set", o)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'good.txt.sources.json'}") and message in error, error
    assert not (tmp_path / "base").exists()


def test_a_text_file_rewrite_killed_midway_keeps_the_earlier_text_and_its_sources(tmp_path, monkeypatch):
    # The text was renamed into place before its .sources.json was written: a kill between the two left the new
    # sentences under the old sources and licences (and a hidden .partial file behind).
    from training.pretraining.text import SOURCES_SUFFIX, TextSource, write_text_file

    path = tmp_path / "train.txt"
    write_text_file([TextSource("old", "test", "old text", [["một", "câu"]])], path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    write_text = Path.write_text

    def killed(self, data, *args, **kwargs):
        if self.name.startswith(f".{path.name}{SOURCES_SUFFIX}"):
            raise KeyboardInterrupt
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        write_text_file([TextSource("new", "test", "new text", [["hai", "câu"]])], path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def _corpus_dir(tmp_path: Path, corpus: str, splits: str = '{"train": ["a"]}') -> Path:
    (tmp_path / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (tmp_path / "splits.json").write_text(splits, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("corpus", "splits", "message"),
    [
        ('{"id": "a", "text": "x"}\n{"id": "b", \n', '{"train": ["a"]}', r"corpus\.jsonl:2: json: invalid JSON"),
        ('{"id": "a", "text": "x"}\n{"id": "b"}\n', '{"train": ["a"]}', r"corpus\.jsonl:2: text: missing"),
        ('{"id": "a", "text": "x"}\n[1]\n', '{"train": ["a"]}', r"corpus\.jsonl:2: document: expected a JSON object"),
        ('{"id": "a", "text": "x"}\n', '{"train": ["a"],\n "dev": ["a"]}', r"splits\.json:2: dev: document 'a'"),
        ('{"id": "a", "text": "x"}\n', '{"train": ["a"]\n', r"splits\.json:2: json: invalid JSON"),
    ],
)
def test_bad_corpus_or_splits_file_names_file_line_and_field(tmp_path, corpus, splits, message):
    with pytest.raises(InputError, match=message):
        corpus_train_documents(_corpus_dir(tmp_path, corpus, splits))


def test_bad_train_extra_file_names_file_line_and_field(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "extra.jsonl").write_text('{"id": "e", "text": 3}\n', encoding="utf-8")
    (tmp_path / "data" / "splits.json").write_text('{"train_extra": ["extra.jsonl"]}', encoding="utf-8")
    with pytest.raises(InputError, match=r"extra\.jsonl:1: text: expected a string, got int"):
        extra_written_sources(tmp_path / "data", "syllables")


def test_text_command_reports_a_bad_corpus_in_one_line(tmp_path, capsys):
    data = _corpus_dir(tmp_path, '{"id": "a", "text": "x"}\n{oops}\n')
    assert text_main(["--data-dir", str(data), "--ud-dir", str(tmp_path)]) == 2
    assert re.search(r"^error: \S*corpus\.jsonl:2: json: invalid JSON", capsys.readouterr().err)


@pytest.mark.parametrize(
    ("train", "heldout", "message"),
    [("t.txt", "t.txt", r"--heldout-out \S*t.txt is the --write-text file: the held-out sentences would replace"),
     ("t.txt", "./t.txt", r"is the --write-text file"),
     ("a-folder", "h.txt", r"--write-text \S*a-folder: is a folder"),
     ("t.txt", "a-file/h.txt", r"--heldout-out \S*h.txt: \S*a-file is a file, not a folder")],
)  # fmt: skip
def test_text_command_refuses_output_files_it_cannot_write_before_segmenting(
    tmp_path, capsys, monkeypatch, train, heldout, message
):
    """One file for both wrote the held-out UD test sentences over the training ones (then trained on by text_file)."""
    from training.pretraining import text

    monkeypatch.setattr(text, "collect_pretraining_text", lambda *a, **k: pytest.fail("the text was collected"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        text_main(["--write-text", train, "--heldout-out", heldout])
    assert refused.value.code == 2 and re.search(message, capsys.readouterr().err)


def test_bf16_true_without_a_gpu_that_supports_it_is_one_error_line_before_any_work(tmp_path, capsys, monkeypatch):
    # A GPU recipe run on a CPU machine was the Trainer's ValueError traceback about `use_cpu`, once the text had
    # been collected and the vocabulary learned; fine-tuning already said it in one line (resolve_bf16).
    import torch

    from training.pretraining import mlm

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(mlm, "collect_text", lambda config: pytest.fail("the text was collected"))
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    values = {"output_dir": str(tmp_path / "base"), "text_file": str(tmp_path / "good.txt"), "bf16": "true"}
    assert mlm.main([a for k, v in values.items() for a in ("--set", f"{k}={v}")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: bf16: true, but this machine has no GPU that supports bfloat16") and err.count("\n") == 1
    ), err
    assert not (tmp_path / "base").exists()
