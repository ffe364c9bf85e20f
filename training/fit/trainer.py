"""What NER and relation fine-tuning share: training data, base models, Trainer settings, checkpoints."""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from viextract.loading import model_task

from ..data.documents import DataError, Document, field_error
from ..data.files import file_in_the_way, load_numbered_documents
from ..data.splits import load_split
from .config import CONFIG_FILENAME, DEFAULT_SPLITS_FILE, ConfigError, TrainConfig

logger = logging.getLogger(__name__)


METRICS_FILENAME = "training_metrics.json"


class BaseModelError(OSError):
    """The base model or its tokenizer could not be loaded; the message names the model."""


def describe_split(config: TrainConfig, split: str) -> str:
    files = config.train_files if split == "train" else config.dev_files
    return ", ".join(files) if files else f"{config.splits_file} [{split}]"


def load_training_documents(config: TrainConfig) -> tuple[list[Document], list[Document]]:
    """(train, dev) documents from train_files/dev_files or the splits file; never test."""
    if config.train_files:
        train_at: dict[str, str] = {}
        train = _documents_once("train_files", config.train_files, train_at)
        dev_at: dict[str, str] = {}
        dev = _documents_once("dev_files", config.dev_files, dev_at)
        # Allowed (one file as both makes a quick check of a run), but the dev F1 then flatters.
        if shared := [f"{doc_id} ({dev_at[doc_id]}, {train_at[doc_id]})" for doc_id in dev_at if doc_id in train_at]:
            logger.warning(
                "%d dev documents are also training documents, so the dev F1 scores what the model was trained on: %s",
                len(shared),
                ", ".join(shared[:3]) + (" ..." if len(shared) > 3 else ""),
            )
    else:
        _require_splits_file(config)
        train = load_split("train", config.splits_file, config.data_dir)
        dev = load_split("dev", config.splits_file, config.data_dir)
    for name, docs in (("train", train), ("dev", dev)):
        if not docs:
            raise DataError(f"{describe_split(config, name)}: {name}: the split is empty")
    _warn_dev_texts_in_train(train, dev)
    return train, dev


def _warn_dev_texts_in_train(train: Sequence[Document], dev: Sequence[Document]) -> None:
    """A dev document whose text a training document has under another id (one pasted twice, a batch converted
    again with new ids) leaks as a shared id does, and no id check sees it."""
    train_ids: dict[str, str] = {}
    for doc in train:
        train_ids.setdefault(doc.text, doc.id)
    copies = [f"{doc.id} (= {train_ids[doc.text]})" for doc in dev if train_ids.get(doc.text, doc.id) != doc.id]
    if copies:
        logger.warning(
            "%d dev documents have the text of a training document under another id, so the dev F1 scores what "
            "the model was trained on: %s",
            len(copies),
            ", ".join(copies[:3]) + (" ..." if len(copies) > 3 else ""),
        )


def _require_splits_file(config: TrainConfig) -> None:
    """Outside a viextract checkout there is no data/splits.json: name the keys that take one's own files."""
    if config.splits_file is None or Path(config.splits_file).exists():
        return
    default = " (the default: a viextract checkout's splits)" if config.splits_file == DEFAULT_SPLITS_FILE else ""
    raise DataError(
        f"splits_file: {config.splits_file}: no such splits file{default}; to train on your own JSONL files, "
        "give train_files and dev_files instead, e.g. --set train_files=train.jsonl --set dev_files=dev.jsonl "
        "(docs/training.md)"
    )


def _documents_once(key: str, paths: Sequence[str], seen: dict[str, str]) -> list[Document]:
    """The documents of `paths` (config `key`); an id already in `seen` (id -> `file:line`, filled here) is refused,
    as splits.json refuses one listed twice: in two train files it trained twice, in two dev files it was scored
    twice. A file without documents is refused too: beside other files it added nothing, and nothing said so."""
    documents = []
    for path in paths:
        numbered = load_numbered_documents(path)
        if not numbered:
            raise DataError(f"{key}: {path}: no documents (empty file)")
        for number, doc in numbered:
            where = f"{path}:{number}"
            if doc.id in seen:
                raise field_error(where, "id", f"document id {doc.id!r} is also at {seen[doc.id]}")
            seen[doc.id] = where
            documents.append(doc)
    return documents


def augment_documents(config: TrainConfig, documents: list[Document]) -> list[Document]:
    """The documents plus `augment_copies` augmented copies (training.weak.augment), if augment is on."""
    if not config.augment:
        return documents
    try:
        from ..weak.augment import augment_documents as augment
    except ImportError as error:
        raise ConfigError(f"augment: training.weak.augment is not available ({error}); set augment=false") from error
    augmented = list(augment(documents, config.augment_copies, config.seed))
    # Accept either the originals followed by the copies, or the copies alone.
    combined = augmented if augmented[: len(documents)] == documents else documents + augmented
    logger.info("augmentation: %d training documents -> %d", len(documents), len(combined))
    return combined


def add_silver(
    config: TrainConfig, train: list[Document], silver: Sequence[Document] | None = None
) -> tuple[list[Document], int]:
    """`train` followed by the silver documents (`silver`, else the config's silver_files), and their number."""
    if silver is None and config.silver_files:
        from ..weak.silver import load_silver

        silver = load_silver(config.silver_files)
    silver = list(silver or [])
    if silver:
        logger.info("silver data: %d weakly labelled documents join %d training documents", len(silver), len(train))
    return train + silver, len(silver)


# What fine-tuning needs from a Hub repo (PhoBERT repos also hold TF and Flax weights we skip).
BASE_MODEL_FILES = [
    "config.json",
    "vocab.txt",
    "bpe.codes",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
]


def _revision_of_a_folder(name: str, path: Path, revision: str) -> BaseModelError:
    from viextract.loading import could_be_hub_id

    if could_be_hub_id(name):  # the folder hides the Hub repo of that id, whose revision may be meant
        other = (
            f", or set base_model to the directory huggingface_hub.snapshot_download({name!r}, "
            f"revision={revision!r}) returns to train from that revision of the Hub repo"
        )
    else:
        other = " (revision pins a commit, branch or tag of a Hub repo id `owner/name`, not of a folder)"
    return BaseModelError(
        f"base model {name!r} is a local directory ({path.resolve()}), which has no revisions, but "
        f"revision {revision!r} was given: drop revision to train from this folder{other}"
    )


def fetch_base_model(name: str, revision: str | None = None) -> Path:
    """A local directory as is; a Hub id downloaded (weights, config, tokenizer files only)."""
    path = Path(name).expanduser()
    if path.is_dir():
        if revision is not None:  # a folder has no revisions: training on it would ignore the pinned one
            raise _revision_of_a_folder(name, path, revision)
        return path
    hint = (
        "If there is no network here, download the model where there is one and set base_model to its local "
        "directory (config.json, model.safetensors or pytorch_model.bin, vocab.txt, bpe.codes)."
    )
    if name.startswith((".", "/", "~")):
        raise BaseModelError(f"base model {name!r}: no such directory")
    try:
        return _download_base(name, revision)
    except Exception as error:  # network, auth, missing repo: all mean "not available here"
        reason = (str(error).strip().splitlines() or [""])[0]  # one line: the Hub's messages run on
        raise BaseModelError(
            f"cannot download base model {name!r} from the Hugging Face Hub ({type(error).__name__}: {reason}), "
            f"and {Path.cwd() / path} is not a directory. {hint}"
        ) from error


def _download_base(name: str, revision: str | None) -> Path:
    """The Hub snapshot of a base (weights, config, tokenizer files), through viextract's download: a Hub
    that never answers fails within its probe's timeout, and a copy already in the local cache is used."""
    from huggingface_hub import hf_hub_download

    from viextract.loading import download_snapshot

    directory = Path(download_snapshot(name, revision, None, allow_patterns=BASE_MODEL_FILES))
    if not any(directory.glob("*.safetensors")):
        hf_hub_download(repo_id=name, filename="pytorch_model.bin", revision=revision)
    return directory


def load_base_tokenizer(name: str, revision: str | None = None):
    """(local directory, PhobertTokenizer) of a base model given as a Hub id or a directory."""
    from transformers import PhobertTokenizer

    directory = fetch_base_model(name, revision)
    try:
        return directory, PhobertTokenizer.from_pretrained(str(directory))
    except Exception as error:
        raise BaseModelError(
            f"base model {name!r}: cannot load a PhoBERT tokenizer from vocab.txt/bpe.codes in {directory} "
            f"({type(error).__name__}: {error})"
        ) from error


def load_base(config: TrainConfig, kind: str, build: Callable[[str], tuple[Any, dict]]) -> tuple[Any, Any]:
    """(model, tokenizer) of the config's base model (Hub id or directory); `build(directory)` gives the model
    under its task's fresh head and its loading info (`load_base_weights`), and an error in it names the
    base and the `kind` of model it was to be."""
    name = config.base_model
    directory, tokenizer = load_base_tokenizer(name, config.revision)
    try:
        model, info = build(str(directory))
    except Exception as error:
        raise BaseModelError(
            f"base model {name!r}: cannot load {kind} from {directory} ({type(error).__name__}: {error})"
        ) from error
    check_encoder_loaded(name, directory, model, info)
    check_base_fits(config, model.config, len(tokenizer))
    return model, tokenizer


def load_base_weights(model_class: Any, directory: str, **kwargs: Any) -> tuple[Any, dict]:
    """(model, loading info) of `model_class` from a base directory. An int8-stored one (viextract's own
    models, the e5 base) is dequantised as `Extractor` loads it: plain from_pretrained finds none of its
    weights under their names and would start from random ones."""
    from viextract.storage import load_model, read_storage

    if read_storage(directory) is not None:
        return load_model(model_class, directory, **kwargs)
    return model_class.from_pretrained(directory, output_loading_info=True, ignore_mismatched_sizes=True, **kwargs)


def check_encoder_loaded(name: str, directory: Path, model: Any, info: dict) -> None:
    """Only the task head may start random: an encoder weight the base lacks (or has in another shape)
    would make the run fine-tune a random encoder, which trains and saves without a sign of it."""
    prefix = model.base_model_prefix + "."
    mismatched = [key[0] if isinstance(key, tuple) else key for key in info.get("mismatched_keys") or ()]
    lost = sorted(str(key) for key in [*(info.get("missing_keys") or ()), *mismatched] if str(key).startswith(prefix))
    if lost:
        raise BaseModelError(
            f"base model {name!r}: {len(lost)} encoder weights are not in {directory} under their names or "
            f"shapes (e.g. {lost[0]}), so training would start from random ones; is it a PhoBERT-architecture "
            "(RoBERTa) model?"
        )


def check_base_fits(config: TrainConfig, model_config: Any, tokens: int) -> None:
    """The tokenizer's `tokens` ids must fit the base's embeddings, and max_length subwords its positions."""
    from transformers import RobertaConfig

    name = config.base_model
    if tokens > model_config.vocab_size:
        raise BaseModelError(
            f"base model {name!r}: the tokenizer has {tokens} tokens but the model's vocab_size is "
            f"{model_config.vocab_size}"
        )
    positions = getattr(model_config, "max_position_embeddings", None)
    if positions is None:
        return
    # RoBERTa (and the relation model over it) numbers positions from pad_token_id + 1: PhoBERT's 258 hold 256.
    roberta = isinstance(model_config, RobertaConfig) or model_config.model_type in {"xlm-roberta", "camembert"}
    room = positions - (model_config.pad_token_id + 1 if roberta else 0)
    if room < config.max_length:
        raise ConfigError(
            f"max_length: {config.max_length} subwords do not fit base model {name!r}, which has "
            f"max_position_embeddings={positions} (room for {room})"
        )


def training_arguments(config: TrainConfig, evaluate: bool, **extra: Any):
    """The Trainer settings every viextract fine-tuning shares; `evaluate`: dev F1 each epoch, which
    picks the best epoch unless the config's `select_on_dev` is false."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(config.checkpoint_path),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a fraction of all steps
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.lr_scheduler,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        bf16=resolve_bf16(config.bf16),
        eval_strategy="epoch" if evaluate else "no",
        save_strategy="epoch",
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=evaluate and config.select_on_dev,
        metric_for_best_model="f1" if evaluate else None,
        greater_is_better=True if evaluate else None,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        logging_first_step=True,
        report_to="none",
        dataloader_num_workers=config.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        ddp_find_unused_parameters=False,
        # Without a GPU, accelerate runs DDP over gloo only when told it is on the CPU.
        use_cpu=int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available(),
        **extra,
    )


def make_trainer(config: TrainConfig, **kwargs: Any):
    """A Hugging Face Trainer; with `layer_decay` below 1, over the layer-wise optimizer of
    `layer_decay.py` (left to the Trainer otherwise, so a run without it is unchanged)."""
    from transformers import Trainer

    if config.layer_decay < 1:
        from .layer_decay import layer_decay_optimizer

        model = kwargs["model"]
        kwargs["optimizers"] = (
            layer_decay_optimizer(model, config.learning_rate, config.weight_decay, config.layer_decay),
            None,
        )
    return Trainer(**kwargs)


def dev_callbacks(config: TrainConfig, evaluate: bool) -> list:
    """Early stopping on dev F1, where dev picks the epoch kept and the patience is above 0."""
    from transformers import EarlyStoppingCallback

    if evaluate and config.select_on_dev and config.early_stopping_patience > 0:
        return [EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)]
    return []


def resolve_bf16(setting: bool | str) -> bool:
    """`auto`: on where a GPU supports it. `true` where none does was the Trainer's ValueError traceback (about
    `use_cpu`), after the data and the base had been loaded."""
    supported = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if setting is True and not supported:
        raise ConfigError(
            "bf16: true, but this machine has no GPU that supports bfloat16 (it is never used on the CPU); "
            "set bf16: auto (on where it can be) or false"
        )
    return supported if setting == "auto" else bool(setting)


def checkpoint_to_resume(config: TrainConfig, resume: bool) -> tuple[str | None, TrainConfig | None]:
    """The last complete checkpoint when resuming, and the config recorded beside it (None where unreadable),
    read once here for every later use; refuse to mix a fresh run into an old run's checkpoints."""
    checkpoints = check_checkpoint_dir(config, resume)
    if not checkpoints:
        return None, None
    directory = config.checkpoint_path
    last = last_complete_checkpoint(directory, checkpoints)
    previous = recorded_config(config)
    if _finished(Path(last), config, previous):
        raise ConfigError(
            f"--resume: the run in {directory} finished ({Path(last).name} is its last step, and its model was "
            f"written to {config.output_dir}); raise epochs or max_steps to train further"
        )
    return last, previous


# The Trainer's checkpoint folders (ASCII digits: int() of `checkpoint-²` failed).
CHECKPOINT_NAME = re.compile(r"checkpoint-([0-9]+)")


def checkpoint_folders(directory: Path) -> list[Path]:
    """The `checkpoint-N` folders of `directory`, newest (highest N) first; none where it does not exist."""
    if not directory.is_dir():
        return []
    steps = [
        (int(match[1]), path)
        for path in directory.iterdir()
        if (match := CHECKPOINT_NAME.fullmatch(path.name)) and path.is_dir()
    ]
    return [path for _, path in sorted(steps, reverse=True)]


def check_checkpoint_dir(config: TrainConfig, resume: bool) -> list[Path]:
    """The checkpoints of the run to resume, newest first ([] for a fresh run), from one listing of the folder;
    refuse --resume without one, or a fresh run into one. Cheap, so the trainers' `run` call it before minutes
    of loading, augmenting and segmenting."""
    directory = config.checkpoint_path
    checkpoints = checkpoint_folders(directory)
    if resume and not checkpoints:
        raise ConfigError(f"--resume: no checkpoint in {directory}; run without --resume to start")
    if not resume and checkpoints:
        raise ConfigError(
            f"checkpoint_dir: {directory} holds checkpoints of an earlier run ({checkpoints[0].name}); pass --resume "
            f"to continue it, or delete the directory to start over"
        )
    return checkpoints


def recorded_config(config: TrainConfig) -> TrainConfig | None:
    """The config the earlier run wrote beside its checkpoints, or None where it is missing or unreadable,
    said in one warning: without it a finished run is taken as unfinished and no changed key is listed."""
    try:
        return type(config).load(config.checkpoint_path / CONFIG_FILENAME)
    except (OSError, ConfigError) as error:  # ConfigError names the file and why
        reason = " ".join(str(error).split())  # YAML's errors point at the spot over several lines
        logger.warning("--resume: %s; cannot tell whether that run finished, nor which config keys changed", reason)
        return None


# The Trainer writes it last into a checkpoint: one without it was cut off while saving (Ctrl-C, a full disk).
TRAINER_STATE_FILE = "trainer_state.json"


def last_complete_checkpoint(directory: Path, checkpoints: Sequence[Path]) -> str:
    """The newest of `checkpoints` (those of `directory`, newest first) with its trainer state; newer ones cut off
    while saving are passed over with a warning (resuming one failed inside the Trainer). ConfigError if none is
    complete."""
    cut_off: list[str] = []
    for path in checkpoints:
        if (path / TRAINER_STATE_FILE).is_file():
            if cut_off:
                logger.warning(
                    "--resume: passing over %s, cut off while saving (no %s); resuming %s",
                    ", ".join(cut_off),
                    TRAINER_STATE_FILE,
                    path.name,
                )
            return str(path)
        cut_off.append(path.name)
    raise ConfigError(
        f"--resume: no complete checkpoint in {directory} ({', '.join(cut_off)} cut off while saving, no "
        f"{TRAINER_STATE_FILE}); delete it and run without --resume to start over"
    )


def check_resumable(model: Any, checkpoint: str | None) -> None:
    """The checkpoint's weights have the shapes of `model`, which this config built: a config changed in
    a key that reshapes it (entity_labels, another base) was torch's size-mismatch traceback."""
    if checkpoint is None or not (Path(checkpoint) / "model.safetensors").is_file():
        return  # nothing to resume, or the Trainer's own message names what the checkpoint lacks
    from safetensors import safe_open

    path = Path(checkpoint) / "model.safetensors"
    try:
        with safe_open(str(path), framework="pt") as weights:
            stored = {name: list(weights.get_slice(name).get_shape()) for name in weights.keys()}
    except Exception as error:  # safetensors raises its own error types for a truncated or garbled file
        raise ConfigError(f"--resume: {path}: cannot be read ({error})") from error
    shapes = {name: list(tensor.shape) for name, tensor in model.state_dict().items()}
    differ = sorted(name for name in stored.keys() & shapes.keys() if stored[name] != shapes[name])
    if differ:
        first = differ[0]
        raise ConfigError(
            f"--resume: {checkpoint} does not fit the model this config builds ({len(differ)} weights differ, e.g. "
            f"{first}: {stored[first]} there, {shapes[first]} here); resume with that run's config "
            f"({Path(checkpoint).parent / CONFIG_FILENAME}), or train afresh into another checkpoint_dir"
        )


def _finished(checkpoint: Path, config: TrainConfig, previous: TrainConfig | None) -> bool:
    """Whether `checkpoint` is the last step of a run (its config `previous`) with this config's length:
    resuming it would train a step past the end (the Trainer's behaviour) and overwrite the finished model."""
    if previous is None:
        return False
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same_length = (previous.epochs, previous.max_steps) == (config.epochs, config.max_steps)
    last_step = same_length and 0 < state.get("max_steps", 0) <= state.get("global_step", 0)
    return last_step and _model_written_after(checkpoint, Path(config.output_dir))


def _model_written_after(checkpoint: Path, output_dir: Path) -> bool:
    """Whether `output_dir` holds a model saved after `checkpoint`: a save cut off (full disk, Ctrl-C) left none,
    or an earlier run's, and resuming the last checkpoint is then how the model gets written."""
    try:
        saved = (output_dir / CONFIG_FILENAME).stat().st_mtime
        return saved >= (checkpoint / TRAINER_STATE_FILE).stat().st_mtime
    except OSError:
        return False


def record_config(trainer: Any, config: TrainConfig, resuming: bool, previous: TrainConfig | None) -> None:
    """Keep the run's config beside its checkpoints; when resuming, first name the keys that differ
    from `previous`, the run being continued as checkpoint_to_resume read it (allowed, but worth seeing).
    Main process only.

    A resumed run's config is written with its first checkpoint, not before: it describes the last
    checkpoint there, and a resume killed before saving one would otherwise leave a longer max_steps
    beside the finished run's last checkpoint, so that the same --resume was refused as finished.
    """
    if not trainer.is_world_process_zero():
        return
    if not resuming:
        config.checkpoint_path.mkdir(parents=True, exist_ok=True)
        config.save(config.checkpoint_path)
        return
    warn_config_changes(config, previous)
    from transformers import TrainerCallback

    class RecordConfigOnSave(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            config.save(config.checkpoint_path)

    trainer.add_callback(RecordConfigOnSave())


def warn_config_changes(config: TrainConfig, previous: TrainConfig | None) -> None:
    if previous is None:
        return
    recorded = previous.to_dict()
    changed = [key for key, value in config.to_dict().items() if recorded.get(key) != value]
    if changed:
        logger.warning("resuming with changed config keys: %s", ", ".join(changed))


def check_writable(key: str, path: Path) -> None:
    """ConfigError unless the folder that will hold `path` can be written: found by the first checkpoint,
    or by the model's save after the last epoch, it was a PermissionError traceback after the training."""
    for folder in (path if path.is_dir() else None, *path.parents):
        if folder is not None and folder.exists():
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ConfigError(f"{key}: {path}: cannot write in {folder} (permission denied); choose another folder")
            if folder != path:  # the folder the save makes its staging directory in; nothing above matters
                return


def check_paths(config: TrainConfig) -> None:
    """Before any work: both folders can be made, and the checkpoints survive writing the model."""
    for key, path in (("output_dir", Path(config.output_dir)), ("checkpoint_dir", config.checkpoint_path)):
        existing = file_in_the_way(path)
        if existing is not None:
            raise ConfigError(f"{key}: {path}: {existing} is a file, not a folder; a model is saved as a folder")
        check_writable(key, path)
    if (Path(config.output_dir) / "ner").is_dir():  # the loader reads that ner/, never a model written beside it
        raise ConfigError(
            f"output_dir: {config.output_dir} holds a full model (a ner/ folder), whose loading would ignore this "
            f"{config.task} model; write it to {Path(config.output_dir) / config.task} to replace that part"
        )
    _refuse_other_task_model(config)
    output = Path(config.output_dir).resolve()
    base = Path(config.base_model).expanduser()
    if base.exists() and (base.resolve() == output or output in base.resolve().parents):
        raise ConfigError(
            f"output_dir: {config.output_dir} would replace base_model {config.base_model}, which the saved "
            f"training_config.yaml names to train it again; write the model elsewhere"
        )
    checkpoints = config.checkpoint_path.resolve()
    if checkpoints == output or output in checkpoints.parents:
        raise ConfigError(
            f"checkpoint_dir: {config.checkpoint_path} is inside output_dir {config.output_dir}, which is replaced "
            f"when the model is written"
        )


def _refuse_other_task_model(config: TrainConfig) -> None:
    """ConfigError when output_dir holds a model of the other task (a relation run given `outputs/ner`): every
    file of that model was replaced by this one's, and the model lost, without a word."""
    try:
        held = json.loads((Path(config.output_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(held, dict):
        return
    task = model_task(held)
    if task is not None and task != config.task:
        kind = "a relation" if task == "re" else "a NER"
        raise ConfigError(
            f"output_dir: {config.output_dir} holds {kind} model, which this {config.task} model would replace; "
            "write it to another folder (or delete that one first)"
        )


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
