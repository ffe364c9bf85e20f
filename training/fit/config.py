"""Training configurations as data: one dataclass per task, read from YAML, overridable with `--set`.

Every key that can change a result is a field here, so the `training_config.yaml` written
beside a model is enough to train it again. Unknown keys and values of the wrong type are
errors naming the key and where it came from (the YAML file or the `--set` argument).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from viextract.saving import atomic_file
from viextract.segment import DEFAULT_SEGMENTER, SEGMENTERS

from ..data.documents import DEFAULT_SPLITS_FILE

DEFAULT_BASE_MODEL = "vinai/phobert-base"  # MIT; vinai/phobert-base-v2 is AGPL-3.0: allowed, never the default
CONFIG_FILENAME = "training_config.yaml"
# transformers' schedules that need no arguments beyond warm-up and the step count.
LR_SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"
)  # fmt: skip


def add_overrides_option(parser, help: str = "override one config key (repeatable)") -> None:
    """`--set KEY=VALUE` (repeatable) into `args.overrides`, the list every `Config.load` takes."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names the key and its source."""


class DuplicateYamlKey(yaml.MarkedYAMLError):
    """A key given twice in one mapping; its message is the key and both lines, not 'not valid YAML'."""


def yaml_error(path: str | Path, error: yaml.YAMLError) -> ConfigError:
    """One line, `file:line: problem`: PyYAML's own message ran over several lines, quoting the text and
    naming the file "<unicode string>"."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    if isinstance(error, DuplicateYamlKey):
        return ConfigError(f"{where}: {error.problem}")
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    column = f" (column {mark.column + 1})" if mark is not None else ""
    return ConfigError(f"{where}: not valid YAML: {problem}{column}")


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error: PyYAML silently keeps the
    last, so a copied line edited for a sweep (or a stale one further down) quietly decided the value."""

    key_lines: dict[Any, int] = {}  # line of each top-level key, for errors about a key's value

    def construct_document(self, node: yaml.Node) -> Any:
        self.root = node
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` then overriding a key is meant
                continue
            key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
            try:
                if key in first_lines:
                    problem = f"{key}: given twice (first on line {first_lines[key]}); YAML would keep the last"
                    raise DuplicateYamlKey(problem=problem, problem_mark=key_node.start_mark)
                first_lines[key] = line
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
        if node is getattr(self, "root", None):
            self.key_lines = first_lines
        return super().construct_mapping(node, deep=deep)


@dataclass
class TrainConfig:
    """Fields every task shares. Paths are relative to the directory the command runs in."""

    task: ClassVar[str] = ""
    # Keys that only change how a trained model's outputs are read, not its weights (k-fold --rescore).
    decoding_keys: ClassVar[frozenset[str]] = frozenset()

    # Model to fine-tune: a Hub id or a local directory with config.json, weights, vocab.txt, bpe.codes.
    base_model: str = DEFAULT_BASE_MODEL
    # Hub revision (branch, tag or commit) of base_model; None means the default branch.
    revision: str | None = None
    # {"train": [ids], "dev": [ids], "test": [ids], "train_extra": [files]}: ids of documents in
    # <data_dir>/corpus.jsonl; used unless train_files/dev_files are given. Test is never read in training.
    splits_file: str | None = DEFAULT_SPLITS_FILE
    # Folder holding corpus.jsonl; None means the splits file's folder.
    data_dir: str | None = None
    # Whole JSONL files to train / early-stop on instead of the splits file (both must then be given).
    train_files: list[str] = field(default_factory=list)
    dev_files: list[str] = field(default_factory=list)
    # Word segmenter used to build words from text; stored in the model so prediction uses the same.
    segmenter: str = DEFAULT_SEGMENTER
    # Subwords per model input, <s> and </s> included; longer sentences become overlapping windows.
    max_length: int = 256
    learning_rate: float = 5e-5
    # Passes over the training data (the upper bound when early stopping is on).
    epochs: float = 20
    # Stop after this many optimizer steps (-1: run all epochs); for smoke runs and budgets.
    max_steps: int = -1
    # Windows per device per step; the effective batch is batch_size * gradient_accumulation_steps * GPUs.
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    eval_batch_size: int = 32
    # Fraction of all steps spent warming the learning rate up linearly from 0.
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    lr_scheduler: str = "linear"
    max_grad_norm: float = 1.0
    # Layer-wise learning-rate decay (training/fit/layer_decay.py): encoder layer i of L trains at
    # learning_rate * layer_decay ** (L - i), the embeddings one step lower; 1.0 turns it off.
    layer_decay: float = 1.0
    # Seeds model head initialisation, data order, dropout and augmentation.
    seed: int = 42
    # Add augmented copies of the training documents (training.weak.augment.augment_documents).
    augment: bool = False
    augment_copies: int = 1
    # Weakly labelled JSONL files (python -m training.weak.silver) added to the training documents after
    # augmentation; never dev or test. k-fold drops their sentences that name a held-out entity.
    silver_files: list[str] = field(default_factory=list)
    # Stop after this many epochs without a better dev score (0: train all epochs, keep the best).
    early_stopping_patience: int = 5
    # false: train all epochs and keep the last, whatever dev says (dev is still scored each epoch,
    # for the log). With a dev set of one document the best epoch is mostly noise; k-fold, which
    # has no dev set, measures exactly this recipe.
    select_on_dev: bool = True
    # Where the final model is written (atomically); must not be inside checkpoint_dir.
    output_dir: str = "outputs/ner"
    # Trainer checkpoints (for --resume); None means "<output_dir>.checkpoints".
    checkpoint_dir: str | None = None
    # Checkpoints kept on disk besides the best one.
    save_total_limit: int = 2
    # bfloat16 mixed precision: "auto" uses it on GPUs that support it, never on the CPU.
    bf16: bool | str = "auto"
    logging_steps: int = 10
    dataloader_num_workers: int = 0

    def __post_init__(self) -> None:
        self._drop_unread_splits_file()
        self.validate()

    # ---- checks -------------------------------------------------------------------------------

    def validate(self, source: str = "config") -> None:
        """Check value ranges; raises ConfigError naming the key."""

        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{source}: {key}: {problem}")

        if not 4 <= self.max_length <= 256:
            raise bad("max_length", f"must be between 4 and 256 (PhoBERT's limit), got {self.max_length}")
        for key in ("learning_rate", "epochs", "batch_size", "eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, key) <= 0:
                raise bad(key, f"must be positive, got {getattr(self, key)}")
        if not 0 <= self.warmup_ratio < 1:
            raise bad("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        if not 0 < self.layer_decay <= 1:
            raise bad("layer_decay", f"must be in (0, 1], got {self.layer_decay}")
        if self.weight_decay < 0:
            raise bad("weight_decay", f"must not be negative, got {self.weight_decay}")
        if self.early_stopping_patience < 0:
            raise bad("early_stopping_patience", "must not be negative")
        for key in ("max_grad_norm", "dataloader_num_workers"):
            if getattr(self, key) < 0:
                raise bad(key, f"must not be negative, got {getattr(self, key)}")
        for key in ("logging_steps", "save_total_limit"):
            if getattr(self, key) < 1:
                raise bad(key, f"must be at least 1, got {getattr(self, key)}")
        if not 0 <= self.seed < 2**32:  # numpy's range, found only after the data was read
            raise bad("seed", f"must be between 0 and {2**32 - 1}, got {self.seed}")
        if self.max_steps != -1 and self.max_steps < 1:
            raise bad("max_steps", f"must be -1 (all epochs) or at least 1, got {self.max_steps}")
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise bad("lr_scheduler", f"unknown schedule {self.lr_scheduler!r}; choose one of {list(LR_SCHEDULERS)}")
        if self.augment_copies < 1:
            raise bad("augment_copies", f"must be at least 1, got {self.augment_copies}")
        if self.segmenter not in SEGMENTERS:
            raise bad("segmenter", f"unknown segmenter {self.segmenter!r}; choose one of {sorted(SEGMENTERS)}")
        if isinstance(self.bf16, str) and self.bf16 != "auto":
            raise bad("bf16", f"must be true, false or 'auto', got {self.bf16!r}")
        if bool(self.train_files) != bool(self.dev_files):
            raise bad("train_files/dev_files", "give both, or neither (then splits_file is used)")
        if self.train_files:
            self._check_splits_unused(bad)
        if not self.train_files and not self.splits_file:
            raise bad("splits_file", "needed when train_files/dev_files are not given")
        if not self.base_model.strip():
            raise bad("base_model", f"must name a Hub id or a local folder, got {self.base_model!r}")
        if not str(self.output_dir).strip():
            raise bad("output_dir", "must name the folder the model is written to")

    def _check_splits_unused(self, bad) -> None:
        # A default splits_file the user did not write is null by now (_drop_unread_splits_file).
        for key in ("splits_file", "data_dir"):
            if getattr(self, key) is not None:
                raise bad(
                    f"train_files, {key}",
                    f"both given, but train_files/dev_files replace the splits file, which is then not read; "
                    f"give one ({key}: null to train on the files)",
                )

    def _drop_unread_splits_file(self) -> None:
        # With train_files the splits file is not read: its default, which the user did not write (configs/ner.yaml
        # gives it, train_files coming from --set), is recorded as null, so that a saved config reloads and one
        # that writes it beside train_files is refused as a value other than the default is.
        if self.train_files and self.splits_file == DEFAULT_SPLITS_FILE:
            self.splits_file = None

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.checkpoint_dir) if self.checkpoint_dir else Path(f"{self.output_dir}.checkpoints")

    # ---- reading and writing ------------------------------------------------------------------

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config", lines: dict[Any, int] | None = None):
        """Build from a mapping; every key must be a field, every value of (or coercible to) its type. `lines`
        (key -> line of `source`) puts the line in the errors about a key."""
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: expected a mapping of keys to values, got {type(values).__name__}")
        values = dict(values)
        task = values.pop("task", cls.task)
        if task != cls.task:
            raise ConfigError(f"{source}: task: this is a {task!r} config, but a {cls.task!r} config is needed")
        types_ = cls.field_types()
        kwargs = {}
        for key, value in values.items():
            where = f"{source}:{lines[key]}" if lines and key in lines else source
            if key not in types_:
                raise ConfigError(f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(types_))})")
            kwargs[key] = coerce(value, types_[key], key, where)
        return cls._build(kwargs, source, written=kwargs.keys(), lines=lines)

    @classmethod
    def _build(cls, kwargs: dict[str, Any], source: str, written: Collection[str], lines: dict[Any, int] | None = None):
        """The config of `kwargs`, checked; `written` are the keys that `source` itself gives, on `lines`."""
        # Not through __init__, so that range errors name `source` rather than "config".
        config = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            setattr(config, f.name, kwargs.get(f.name, default))
        if "splits_file" not in written:
            config._drop_unread_splits_file()
        try:
            config.validate(source)
        except ConfigError as error:
            raise at_key_line(error, source, lines) from None
        return config

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()):
        """Defaults, then the YAML file (if any), then `key=value` overrides in order."""
        values: dict[str, Any] = {}
        source, lines = "defaults", None
        if path is not None:
            source = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as error:
                raise ConfigError(f"{path}: cannot read the config file ({error.strerror or error})") from error
            except UnicodeDecodeError as error:  # saved in cp1258 or latin-1: it was a codec traceback
                line = error.object.count(b"\n", 0, error.start) + 1
                byte = error.object[error.start]
                problem = f"not UTF-8 text (byte 0x{byte:02x}); save the config as UTF-8"
                raise ConfigError(f"{path}:{line}: {problem}") from None
            loader = UniqueKeyLoader(text)
            try:
                loaded = loader.get_single_data()
            except yaml.YAMLError as error:
                raise yaml_error(path, error) from None
            finally:
                loader.dispose()
            values, lines = ({} if loaded is None else loaded), loader.key_lines
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: expected a mapping of keys to values, got {type(values).__name__}")
        config = cls.from_dict(values, source, lines)
        return config.with_overrides(overrides)

    def with_overrides(self, overrides: list[str] | tuple[str, ...]):
        """A copy with each `key=value` applied, the value parsed to the field's type."""
        types_ = self.field_types()
        changes: dict[str, Any] = {}
        for item in overrides:
            source = f"--set {item}"
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"{source}: expected key=value")
            if key not in types_:
                raise ConfigError(f"{source}: unknown key {key!r} (known keys: {', '.join(sorted(types_))})")
            changes[key] = coerce(raw, types_[key], key, source, from_text=True)
        if not changes:
            return self
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return self._build({**current, **changes}, "--set " + " ".join(overrides), written=changes.keys())

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, **dataclasses.asdict(self)}

    def save(self, directory: str | Path) -> Path:
        """Write the resolved config as `training_config.yaml` in `directory`."""
        path = Path(directory) / CONFIG_FILENAME
        # The folder the run ran in, not this file's: every path below is relative to it.
        header = (
            f"# Resolved {self.task} training config; to train again, in the folder this run ran in: "
            f"viextract train {self.task} --config {Path(self.output_dir) / CONFIG_FILENAME}\n"
        )
        text = header + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        # Written beside and renamed: a run killed mid-write left half a file, still valid YAML for the lines
        # it had, which --resume then read as the earlier run (other keys at their defaults).
        with atomic_file(path) as staging:
            staging.write_text(text, encoding="utf-8")
        return path


# ---- type coercion ------------------------------------------------------------------------------

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null", "~", ""}


def at_key_line(error: ConfigError, source: str, lines: dict[Any, int] | None) -> ConfigError:
    """`error` (`source: key: problem`, as validate words them) with the line of `source` that gives the key, or
    of the last key given where it names several (`train_files, splits_file`: the one its advice is about); as it
    was when `source` gives none of them."""
    message = str(error)
    if not message.startswith(f"{source}: "):
        return error
    rest = message[len(source) + 2 :]
    named, sep, _ = rest.partition(": ")
    keys = named.replace("/", ", ").split(", ")
    if not sep or not all(key.isidentifier() for key in keys):
        return error
    line = next((lines[key] for key in reversed(keys) if lines and key in lines), None)
    return error if line is None else ConfigError(f"{source}:{line}: {rest}")


def _options(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        # None first, so that "none"/"null" given for an optional string means None.
        return tuple(sorted(typing.get_args(annotation), key=lambda option: option is not type(None)))
    return (annotation,)


def _describe(annotation: Any) -> str:
    names = []
    for option in _options(annotation):
        if option is type(None):
            names.append("none")
        elif typing.get_origin(option) is list:
            names.append(f"a list of {typing.get_args(option)[0].__name__}")
        else:
            names.append(
                {"str": "a string", "int": "an integer", "float": "a finite number", "bool": "true/false"}.get(
                    option.__name__, option.__name__
                )
            )
    return " or ".join(names)


def coerce(value: Any, annotation: Any, key: str, source: str, from_text: bool = False) -> Any:
    """`value` as the field's type, or ConfigError naming the key, the source and the expected type."""
    options = _options(annotation)
    for option in options:
        try:
            return _coerce_one(value, option, from_text)
        except (TypeError, ValueError):
            continue
    raise ConfigError(f"{source}: {key}: expected {_describe(annotation)}, got {value!r}")


def _coerce_one(value: Any, option: Any, from_text: bool) -> Any:
    if option is type(None):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
            return None
        raise ValueError
    if option is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError
    if option is int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
        raise ValueError
    if option is float:
        if isinstance(value, bool):
            raise ValueError
        number = _number_from_text(value.strip()) if isinstance(value, str) else value  # PyYAML: 5e-5 is a string
        if isinstance(number, (int, float)) and math.isfinite(number):  # nan/inf would pass every range check
            return number  # `epochs: 20` stays 20: the saved config and the card show it as the user wrote it
        raise ValueError
    if option is str:
        if isinstance(value, str):
            return value
        raise ValueError
    if typing.get_origin(option) is list:
        (item_type,) = typing.get_args(option)
        if from_text and isinstance(value, str):
            value = _list_from_text(value.strip())
        if not isinstance(value, list):
            raise ValueError
        return [_coerce_one(item, item_type, from_text) for item in value]
    raise TypeError(f"unsupported field type {option!r}")


def _number_from_text(text: str) -> int | float:
    """`20` as an int, `20.0` and `5e-5` as floats: a whole number given for a float field keeps its form."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _list_from_text(text: str) -> Any:
    """`[a, b]` read as YAML, `a,b` split on commas; malformed YAML is a bad value like any other."""
    if not text.startswith("["):
        return [part.strip() for part in text.split(",") if part.strip()]
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None
