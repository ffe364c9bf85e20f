"""Training configs: YAML and --set values parsed to each field's type; unknown keys named with their source."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from training.fit.config import CONFIG_FILENAME, ConfigError, TrainConfig
from training.fit.ner import NerConfig
from training.fit.relations import ReConfig
from training.pretraining.mlm_config import PretrainConfig

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_the_defaults():
    config = NerConfig.load(REPO / "configs" / "ner.yaml")
    assert config == NerConfig()
    assert config.base_model == "vinai/phobert-base"
    assert config.max_length == 256


def test_every_field_is_documented_in_the_shipped_yaml():
    keys = set(yaml.safe_load((REPO / "configs" / "ner.yaml").read_text(encoding="utf-8")))
    assert keys == {f.name for f in dataclasses.fields(NerConfig)} | {"task"}


def test_overrides_are_parsed_to_the_field_type():
    config = NerConfig.load(
        None,
        [
            "learning_rate=3e-5",
            "epochs=2",
            "batch_size=4",
            "augment=yes",
            "bf16=false",
            "revision=none",
            "entity_labels=PER,LOC",
            "train_files=[a.jsonl, b.jsonl]",
            "dev_files=c.jsonl",
        ],
    )
    assert config.learning_rate == 3e-5 and isinstance(config.learning_rate, float)
    assert config.epochs == 2.0 and config.batch_size == 4
    assert config.augment is True and config.bf16 is False and config.revision is None
    assert config.entity_labels == ["PER", "LOC"]
    assert config.train_files == ["a.jsonl", "b.jsonl"] and config.dev_files == ["c.jsonl"]
    assert NerConfig.load(None, ["bf16=auto"]).bf16 == "auto"


def test_yaml_values_are_coerced_too(tmp_path):
    # PyYAML reads 5e-5 (no dot) as a string; it is still a learning rate.
    path = write(tmp_path / "c.yaml", "learning_rate: 5e-5\nepochs: 3\n")
    config = NerConfig.load(path)
    assert config.learning_rate == 5e-5 and config.epochs == 3.0


def test_unknown_key_in_yaml_names_key_and_file(tmp_path):
    path = write(tmp_path / "bad.yaml", "learning_rate: 1.0e-4\nlearnign_rate: 2.0e-4\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:2: unknown key 'learnign_rate'"):
        NerConfig.load(path)


def test_unknown_key_in_set_names_the_argument():
    with pytest.raises(ConfigError, match=r"--set foo=1: unknown key 'foo'"):
        NerConfig.load(None, ["foo=1"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("epochs=many", r"--set epochs=many: epochs: expected a finite number"),
        ("batch_size=2.5", r"batch_size: expected an integer"),
        ("augment=maybe", r"augment: expected true/false"),
        ("max_length=512", r"max_length: must be between 4 and 256"),
        ("entity_labels=PER,PERSON", r"entity_labels: \['PERSON'\] are not SCHEMA.md labels"),
        ("segmenter=jieba", r"segmenter: unknown segmenter 'jieba'"),
        ("bf16=sometimes", r"bf16: must be true, false or 'auto'"),
        ("learning_rate", r"expected key=value"),
        # Values transformers or torch would refuse only after the data and the base model are loaded.
        ("epochs=nan", r"epochs: expected a finite number, got 'nan'"),
        ("learning_rate=inf", r"learning_rate: expected a finite number"),
        ("lr_scheduler=bogus", r"lr_scheduler: unknown schedule 'bogus'; choose one of \['linear'"),
        ("logging_steps=0", r"logging_steps: must be at least 1"),
        ("save_total_limit=-1", r"save_total_limit: must be at least 1"),
        ("max_steps=0", r"max_steps: must be -1 \(all epochs\) or at least 1"),
        ("max_grad_norm=-1", r"max_grad_norm: must not be negative"),
        ("entity_labels=[PER, LOC", r"entity_labels: expected a list of str"),
        # numpy's seeding refused these with a traceback once the documents were read and segmented.
        ("seed=-1", r"seed: must be between 0 and 4294967295, got -1"),
        # An unset variable (`--set base_model=$BASE`) loaded the current folder as the base, after the data.
        ("base_model=", r"base_model: must name a Hub id or a local folder, got ''"),
        ("base_model= ", r"base_model: must name a Hub id or a local folder, got ' '"),
        ("seed=4294967296", r"seed: must be between 0 and 4294967295, got 4294967296"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        NerConfig.load(None, [override])


def test_bad_yaml_shapes(tmp_path):
    with pytest.raises(ConfigError, match=r"list\.yaml: expected a mapping"):
        NerConfig.load(write(tmp_path / "list.yaml", "- a\n- b\n"))
    with pytest.raises(ConfigError, match=r"re\.yaml: task: this is a 're' config"):
        NerConfig.load(write(tmp_path / "re.yaml", "task: re\n"))
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        NerConfig.load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"train_files/dev_files: give both"):
        NerConfig.load(None, ["train_files=a.jsonl"])


def test_a_misspelt_key_or_a_wrong_type_in_a_file_names_its_line(tmp_path):
    # "ner.yaml: unknown key 'learnig_rate'" left the user to find it in a long config.
    path = write(tmp_path / "ner.yaml", "epochs: 3\n\nlearnig_rate: 1.0e-4\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:3: unknown key 'learnig_rate' \(known keys: "):
        NerConfig.load(path)
    path = write(tmp_path / "ner.yaml", "epochs: 3\nbatch_size: big\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:2: batch_size: expected an integer, got 'big'$"):
        NerConfig.load(path)


@pytest.mark.parametrize(
    ("config_class", "text", "line", "message"),
    [
        (NerConfig, "epochs: 3\n\nmax_length: 512\n", 3, "max_length: must be between 4 and 256"),
        (NerConfig, "epochs: 3\nentity_labels: [PER, PERSON]\n", 2, "entity_labels: ['PERSON'] are not SCHEMA"),
        (NerConfig, "epochs: 3\ntrain_files: [a.jsonl]\n", 2, "train_files/dev_files: give both"),
        (
            NerConfig,
            "epochs: 3\nsplits_file: s.json\ntrain_files: [a]\ndev_files: [b]\n",
            2,
            "train_files, splits_file: both given",
        ),
        (ReConfig, "epochs: 3\nnegative_ratio: -2\n", 2, "negative_ratio: must be -1"),
        (PretrainConfig, "epochs: 3\nmlm_probability: 2\n", 2, "mlm_probability: must be in (0, 1)"),
    ],
)
def test_a_value_out_of_range_in_a_file_names_its_line(tmp_path, config_class, text, line, message):
    # "mine.yaml: max_length: ..." named the file only; validate's errors now say the key's line as the others do.
    path = write(tmp_path / "mine.yaml", text)
    with pytest.raises(ConfigError) as error:
        config_class.load(path)
    assert str(error.value).startswith(f"{path}:{line}: {message}")


def test_a_range_error_of_a_set_value_names_the_argument_not_a_line(tmp_path):
    path = write(tmp_path / "mine.yaml", "epochs: 3\n")
    with pytest.raises(ConfigError, match=r"^--set max_length=512: max_length: must be between"):
        NerConfig.load(path, ["max_length=512"])


def test_a_key_given_twice_names_both_lines(tmp_path):
    # PyYAML keeps the last value silently: a copied line edited for a sweep decided the learning rate.
    path = write(tmp_path / "twice.yaml", "learning_rate: 1.0e-4\nepochs: 3\nlearning_rate: 2.0e-4\n")
    with pytest.raises(ConfigError) as error:
        NerConfig.load(path)
    assert str(error.value) == f"{path}:3: learning_rate: given twice (first on line 1); YAML would keep the last"
    # A YAML merge key still lets a later key override what it merged.
    merged = write(tmp_path / "merged.yaml", "<<: {epochs: 3, seed: 1}\nepochs: 4\n")
    assert (NerConfig.load(merged).epochs, NerConfig.load(merged).seed) == (4, 1)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("epochs: [1\n", 2, "expected ',' or ']', but got '<stream end>'"),
        ("epochs: 2\n  batch_size: 3\n", 2, "mapping values are not allowed here"),
    ],
)
def test_broken_yaml_is_one_line_naming_the_file_and_line(tmp_path, text, line, problem):
    # PyYAML's message ran over five lines, named the file "<unicode string>" and repeated the text.
    path = write(tmp_path / "broken.yaml", text)
    with pytest.raises(ConfigError) as error:
        NerConfig.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}: not valid YAML: {problem}") and "\n" not in message
    assert "<unicode string>" not in message


def test_saved_config_reloads_identically(tmp_path):
    config = NerConfig.load(None, ["learning_rate=1e-4", "entity_labels=PER,ORG", "output_dir=x"])
    path = config.save(tmp_path)
    assert path.name == CONFIG_FILENAME
    assert NerConfig.load(path) == config


def test_the_saved_configs_rerun_command_names_the_file_from_the_folder_the_run_ran_in(tmp_path):
    # It said `--config training_config.yaml`: run beside that file, its relative paths (splits.json) missed.
    config = NerConfig.load(None, ["output_dir=out/ner"])
    first = config.save(tmp_path).read_text(encoding="utf-8").splitlines()[0]
    assert first.endswith(": viextract train ner --config out/ner/training_config.yaml")
    assert "in the folder this run ran in" in first


def test_a_whole_number_keeps_the_form_it_was_written_in_through_save_and_reload(tmp_path):
    # `epochs: 20` was saved as `epochs: 20.0`: not what the user wrote, and the model card showed 20.0.
    config = NerConfig.load(write(tmp_path / "c.yaml", "epochs: 20\nwarmup_ratio: 0.0\n"), ["learning_rate=1"])
    saved = config.save(tmp_path / "out").read_text(encoding="utf-8")
    assert "\nepochs: 20\n" in saved and "\nwarmup_ratio: 0.0\n" in saved and "\nlearning_rate: 1\n" in saved
    assert "\nepochs: 20\n" in NerConfig().save(tmp_path / "defaults").read_text(encoding="utf-8")
    assert NerConfig.load(tmp_path / "out" / CONFIG_FILENAME) == config
    assert NerConfig.load(None, ["epochs=2.5"]).epochs == 2.5
    assert type(NerConfig.load(None, ["epochs=3"]).epochs) is int


def test_a_save_killed_mid_write_keeps_the_config_there(tmp_path, monkeypatch):
    # Written in place, a kill left half a file, still YAML for the lines it had: --resume read it as the
    # earlier run with every later key at its default, so "finished?" and "what changed?" were wrong.
    earlier = NerConfig.load(None, ["max_steps=12", "output_dir=x"])
    path = earlier.save(tmp_path)
    write_text = Path.write_text

    def killed(self, data, *args, **kwargs):
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        NerConfig.load(None, ["max_steps=14", "output_dir=x"]).save(tmp_path)
    monkeypatch.undo()
    assert NerConfig.load(path) == earlier and [p.name for p in tmp_path.iterdir()] == [CONFIG_FILENAME]


def test_a_task_subclass_inherits_the_shared_fields():
    @dataclasses.dataclass
    class OtherConfig(TrainConfig):
        task = "other"
        margin: float = 0.5

    config = OtherConfig.load(None, ["margin=0.25", "seed=7"])
    assert (config.margin, config.seed, config.base_model) == (0.25, 7, "vinai/phobert-base")


def test_resume_reads_the_previous_config_once(tmp_path, monkeypatch, caplog):
    # checkpoint_to_resume (finished?) and record_config (what changed?) each read the earlier run's
    # training_config.yaml: a file rewritten between the two reads gave each check another run.
    from training.fit.trainer import checkpoint_to_resume, record_config

    config = NerConfig.from_dict({"output_dir": str(tmp_path / "model"), "max_steps": 8}, "test")
    checkpoint = config.checkpoint_path / "checkpoint-5"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"max_steps": 5, "global_step": 5}', encoding="utf-8")
    dataclasses.replace(config, max_steps=5).save(config.checkpoint_path)
    reads = []
    load = NerConfig.load.__func__
    monkeypatch.setattr(NerConfig, "load", classmethod(lambda cls, *args: reads.append(args) or load(cls, *args)))

    last, previous = checkpoint_to_resume(config, resume=True)
    assert last == str(checkpoint) and previous.max_steps == 5
    config.save(config.checkpoint_path)  # rewritten before the second read: no longer the run being continued

    class Trainer:
        callbacks: list = []

        def is_world_process_zero(self) -> bool:
            return True

        def add_callback(self, callback) -> None:
            self.callbacks.append(callback)

    record_config(Trainer(), config, True, previous)
    assert "resuming with changed config keys: max_steps" in caplog.text
    assert len(reads) == 1


def test_train_files_with_the_default_splits_file_written_is_refused_and_a_saved_config_reloads(tmp_path):
    # The default splits_file was let through wherever it came from: written beside train_files, in a file or by
    # --set, it is the user's as any other value is. Not written (the defaults, configs/ner.yaml under --set
    # train_files), it is recorded as null, so that the saved config is no such file.
    files = ["train_files=a.jsonl", "dev_files=b.jsonl"]
    with pytest.raises(ConfigError, match=r"train_files, splits_file: .*give one"):
        NerConfig.load(None, [*files, "splits_file=data/splits.json"])
    path = write(
        tmp_path / "mine.yaml", "splits_file: data/splits.json\ntrain_files: [a.jsonl]\ndev_files: [b.jsonl]\n"
    )
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:1: train_files, splits_file: "):
        NerConfig.load(path)
    with pytest.raises(ConfigError, match=r"train_files, splits_file: "):
        NerConfig.load(
            write(tmp_path / "files.yaml", "train_files: [a.jsonl]\ndev_files: [b.jsonl]\n"),
            ["splits_file=data/splits.json"],
        )
    for config in (NerConfig.load(REPO / "configs" / "ner.yaml", files), NerConfig(train_files=["a"], dev_files=["b"])):
        assert config.splits_file is None
        saved = config.save(tmp_path)
        assert "splits_file: null" in saved.read_text(encoding="utf-8")
        assert NerConfig.load(saved).to_dict() == config.to_dict()
    assert NerConfig.load(REPO / "configs" / "ner.yaml").splits_file == "data/splits.json"


def test_a_config_not_in_utf8_names_the_file_line_and_byte(tmp_path):
    # A config saved as cp1258 was a UnicodeDecodeError traceback from `train` and `evaluate --kfold`.
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"epochs: 3\n# H\xe0 N\xf4i\nlearning_rate: 3.0e-5\n")
    with pytest.raises(ConfigError, match=r"latin\.yaml:2: not UTF-8 text \(byte 0xe0\); save the config as UTF-8"):
        NerConfig.load(path)


def test_train_files_with_a_splits_file_or_data_dir_of_the_users_is_refused_naming_both_keys(tmp_path):
    # train_files replaces the splits file without a word: a user who also set splits_file (or data_dir) believed
    # their splits were read. The default splits_file (as configs/ner.yaml and a saved config give it) is no choice.
    files = ["train_files=a.jsonl", "dev_files=b.jsonl"]
    for key, value in (("splits_file", "my/splits.json"), ("data_dir", "my")):
        with pytest.raises(ConfigError, match=rf"train_files, {key}: .*give one"):
            NerConfig.load(None, [*files, f"{key}={value}"])
        path = write(tmp_path / "mine.yaml", f"{key}: {value}\ntrain_files: [a.jsonl]\ndev_files: [b.jsonl]\n")
        with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:1: train_files, {key}: "):
            NerConfig.load(path)
    assert NerConfig.load(REPO / "configs" / "ner.yaml", files).train_files == ["a.jsonl"]
    assert NerConfig.load(None, [*files, "splits_file=none"]).splits_file is None
    saved = NerConfig.load(None, files).save(tmp_path)
    assert NerConfig.load(saved).dev_files == ["b.jsonl"]


def test_bf16_true_without_a_gpu_that_supports_it_is_one_config_error(monkeypatch):
    # It was the Trainer's ValueError traceback about `use_cpu`, once the data and the base had been loaded.
    import torch

    from training.fit.trainer import resolve_bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"^bf16: true, but this machine has no GPU that supports bfloat16"):
        resolve_bf16(NerConfig.load(None, ["bf16=true"]).bf16)
    assert resolve_bf16("auto") is False and resolve_bf16(False) is False
