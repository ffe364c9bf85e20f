"""What the card reads besides results: the models' config.json and training_config.yaml, SCHEMA.md's
label tables, the data files a config names, and the base encoder's provenance."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from viextract.card import kept_dev_f1
from viextract.hub import UPLOAD_FILES
from viextract.labels import (
    ENTITY_DEFINITIONS,
    ENTITY_LABELS,
    NO_RELATION,
    RELATION_ARGUMENT_TYPES,
    RELATION_DEFINITIONS,
    RELATION_LABELS,
    entity_types,
)
from viextract.loading import could_be_hub_id
from viextract.storage import INT8_SUFFIX, SCALE_SUFFIX

from ..data.sizes import training_data_sizes
from ..fit.config import yaml_error
from .card_data import (
    CONFIG_FILENAME,
    RECOMMENDED_BASE,
    TRAINING_METRICS_FILENAME,
    BaseInfo,
    CardError,
    DataSplit,
    FineTuningData,
    LabelInfo,
    TrainingRun,
    read_utf8_text,
)
from .provenance import (
    PRETRAIN_DATA_FILENAME,
    PROVENANCE_KEY,
    SPLITS_ORIGIN_SUFFIX,
    USER_DATA_NAME,
    Provenance,
    gold_origins,
    is_project_file,
)

# What training.pretraining.build_e5_base (and truncate) write beside a base they built from another encoder.
BASE_INFO_FILENAME = "base_info.json"

logger = logging.getLogger(__name__)


REPO = Path(__file__).resolve().parents[2]


SCHEMA_CANDIDATES = (REPO / "SCHEMA.md", REPO.parent / "shared" / "SCHEMA.md")


def find_schema(schema_path: str | Path | None = None) -> Path | None:
    if schema_path is not None:
        path = Path(schema_path)
        if not path.is_file():
            raise CardError(f"{path}: no such schema file")
        return path
    return next((p for p in SCHEMA_CANDIDATES if p.is_file()), None)


def read_schema_tables(path: Path) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """SCHEMA.md's entity rows (label -> (what, examples)) and relation rows (label -> (head -> tail, example))."""
    entities: dict[str, tuple[str, str]] = {}
    relations: dict[str, tuple[str, str]] = {}
    section = None
    for line in read_utf8_text(path).splitlines():
        if line.startswith("## "):
            section = "entities" if "entity" in line.lower() else "relations" if "relation" in line.lower() else None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if section is None or len(cells) < 3 or not re.fullmatch(r"`[A-Za-z_]+`", cells[0]):
            continue
        (entities if section == "entities" else relations)[cells[0].strip("`")] = (cells[1], cells[2])
    return entities, relations


def label_infos(entity_labels: list[str], relation_labels: list[str], schema: Path | None):
    entity_rows, relation_rows = read_schema_tables(schema) if schema is not None else ({}, {})
    entities = [
        LabelInfo(name, entity_rows.get(name, (ENTITY_DEFINITIONS.get(name, ""), ""))[0],
                  entity_rows.get(name, ("", ""))[1])
        for name in entity_labels
    ]  # fmt: skip
    relations = []
    for name in relation_labels:
        heads, tails = RELATION_ARGUMENT_TYPES.get(name, (frozenset(), frozenset()))
        arguments = f"{' or '.join(sorted(heads))} -> {' or '.join(sorted(tails))}"
        example = relation_rows.get(name, ("", ""))[1]
        relations.append(LabelInfo(name, RELATION_DEFINITIONS.get(name, ""), f"{arguments}" + (
            f"; e.g. {example}" if example else "")))  # fmt: skip
    return entities, relations


def model_parts(model_dir: Path) -> tuple[Path, Path | None]:
    """(ner dir, re dir or None), as viextract.loading lays them out."""
    from viextract.errors import ModelLoadError
    from viextract.loading import split_model_dir

    try:
        return split_model_dir(model_dir)
    except ModelLoadError as error:
        raise CardError(str(error)) from error


# The card's record of the weights it describes (an HTML comment: not shown on the Hub), which `publish push`
# checks: a model retrained or saved over after its card was written was published with the old card.
WEIGHTS_STAMP = re.compile(r"<!-- viextract weights: (?P<files>[^<>]*?) -->")


def weights_digests(model_dir: Path) -> dict[str, str]:
    """{path under `model_dir`: sha256} of the weights file of `ner/` and `re/` (or of a bare NER folder)."""
    from viextract.loading import WEIGHTS_FILE
    from viextract.onnx import weights_digest

    digests = {}
    for part in (part for part in model_parts(model_dir) if part is not None):
        if (part / WEIGHTS_FILE).is_file():
            digests[(part / WEIGHTS_FILE).relative_to(model_dir).as_posix()] = weights_digest(part)
    return digests


def weights_stamp(digests: dict[str, str]) -> str:
    """The card line that records `digests`; empty when there are none."""
    files = " ".join(f"{name}=sha256:{digest}" for name, digest in sorted(digests.items()))
    return f"<!-- viextract weights: {files} -->" if files else ""


def stamped_digests(card_text: str) -> dict[str, str] | None:
    """The digests a card records (`weights_stamp`), None when it records none."""
    match = WEIGHTS_STAMP.search(card_text)
    if match is None:
        return None
    pairs = (item.partition("=sha256:") for item in match["files"].split())
    return {name: digest for name, _, digest in pairs}


def read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(read_utf8_text(path))
    except (OSError, json.JSONDecodeError) as error:
        raise CardError(f"{path}: not valid JSON ({error})") from error
    return value if isinstance(value, dict) else None


def _read_yaml(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = yaml.safe_load(read_utf8_text(path))
    except yaml.YAMLError as error:  # one line, file:line, as a training config's errors are
        raise CardError(str(yaml_error(path, error))) from error
    return value if isinstance(value, dict) else None


def labels_of(config: dict[str, Any], relation: bool) -> list[str]:
    tags = [str(v) for v in (config.get("id2label") or {}).values()]
    if relation:
        return [label for label in RELATION_LABELS if label in tags] + sorted(
            set(tags) - set(RELATION_LABELS) - {NO_RELATION}
        )
    names = entity_types(tags)
    return [label for label in ENTITY_LABELS if label in names] + sorted(names - set(ENTITY_LABELS))


def _resolve_local(name: str, *anchors: Path) -> Path | None:
    """`name` as an existing directory: absolute, or relative to the working directory or an anchor."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path if path.is_dir() else None
    for anchor in (Path.cwd(), *anchors):
        if (anchor / path).is_dir():
            return (anchor / path).resolve()
    return None


SETTINGS_KEYS = {
    "ner": ("base_model", "segmenter", "entity_labels", "max_length", "epochs", "max_steps", "learning_rate",
            "batch_size", "gradient_accumulation_steps", "warmup_ratio", "weight_decay", "early_stopping_patience",
            "select_on_dev", "augment", "transition_weight", "context_weight", "shape_weight", "seed", "splits_file",
            "train_files", "dev_files", "silver_files"),
    "re": ("base_model", "segmenter", "relation_labels", "architecture", "marker_format", "max_length", "epochs",
           "max_steps", "learning_rate", "batch_size", "negative_ratio", "class_weights", "threshold", "single_head",
           "single_tail", "single_share", "single_choice", "adjacent_rules", "early_stopping_patience",
           "select_on_dev", "seed", "splits_file", "train_files", "dev_files", "silver_files"),
}  # fmt: skip


SIZE_KEYS = (
    "train_documents", "silver_documents", "train_sentences", "train_windows", "dev_documents", "dev_sentences",
    "train_pairs", "train_pairs_before_sampling", "dev_pairs", "train_labels", "truncated_pairs", "global_step",
    "kept_dev_f1", "dev_relations_scored", "threshold",
)  # fmt: skip


def training_run(task: str, directory: Path, prefix: str) -> tuple[TrainingRun | None, dict[str, Any] | None]:
    """The run that wrote `directory` (None if it saved no training_config.yaml) and its raw config."""
    config = _read_yaml(directory / CONFIG_FILENAME)
    if config is None:
        return None, None
    metrics = read_json(directory / TRAINING_METRICS_FILENAME) or {}
    config_path = f"{prefix}{CONFIG_FILENAME}"
    settings = {key: config[key] for key in SETTINGS_KEYS[task] if key in config and config[key] not in (None, [])}
    if settings.get("select_on_dev") is False:
        settings.pop("early_stopping_patience", None)  # no epoch is chosen on dev, so it never stops a run
    # The dev F1 of the saved weights (older metrics files only hold the best epoch's, best_dev_f1).
    metrics = {**metrics, "kept_dev_f1": kept_dev_f1(metrics)}
    # How many gold relations that F1 is over: one-pass runs before 7e91d58 scored one window's pairs only.
    dev_scores = metrics.get("dev_at_threshold")
    if isinstance(dev_scores, dict) and isinstance(dev_scores.get("gold"), int):
        metrics["dev_relations_scored"] = dev_scores["gold"]
    sizes = {key: metrics[key] for key in SIZE_KEYS if key in metrics and metrics[key] is not None}
    if not sizes.get("silver_documents"):
        sizes.pop("silver_documents", None)  # a run without silver data says nothing about it
    command = f"viextract train {task} --config {config_path}"
    base = str(config.get("base_model") or "")
    machine_base = base if base.startswith("~") or Path(base).is_absolute() else None
    if machine_base:  # no other machine has that folder: the command as saved would fail there
        command += " --set base_model=BASE_DIR"
    return TrainingRun(task, config_path, command, settings, sizes, machine_base), config


DECODING_TABLES = {"tag_bigrams": "tag-bigram scores", "word_context": "word-context", "word_shapes": "word-shape"}


def describe_decoding_tables(settings: dict[str, Any]) -> str:
    """The priors Viterbi adds, as the card names them: 'tag-bigram scores (viextract.tag_bigrams), ...'."""
    return ", ".join(f"{name} (`viextract.{key}`)" for key, name in DECODING_TABLES.items() if settings.get(key))


def base_info(config: dict[str, Any] | None, ner_config: dict[str, Any], base_model: str | None,
              base_dir: str | Path | None, model_dir: Path) -> BaseInfo:  # fmt: skip
    """Where the encoder came from; a local base's pretrain_data.json gives its text and licences."""
    settings = ner_config.get("viextract") if isinstance(ner_config.get("viextract"), dict) else {}
    source = str(
        (config or {}).get("base_model") or settings.get("base_model") or ner_config.get("_name_or_path") or ""
    )
    local = Path(base_dir).resolve() if base_dir is not None else None
    if local is not None and not local.is_dir():
        raise CardError(f"--base-dir {base_dir}: no such directory")
    if local is None and source:
        local = _resolve_local(source, REPO, model_dir.parent)
    hub_id = base_model
    if hub_id is None and source and local is None and could_be_hub_id(source):
        hub_id = source
    info = BaseInfo(source=source or "unknown", hub_id=hub_id, local_dir=str(local) if local else None)
    info.is_recommended = (hub_id or source) == RECOMMENDED_BASE
    if local is not None:
        pretrain_config = _read_yaml(local / CONFIG_FILENAME)
        if pretrain_config is not None and pretrain_config.get("task") == "pretrain":
            shown = source if source and not Path(source).is_absolute() else str(local)
            info.pretrain_command = f"python -m training.pretraining.mlm --config {shown}/{CONFIG_FILENAME}"
        summary = read_json(local / PRETRAIN_DATA_FILENAME)
        if summary is not None:
            info.pretrain_sources = [s for s in summary.get("train", []) if isinstance(s, dict)]
            info.pretrain_words = summary.get("train_words") if isinstance(summary.get("train_words"), int) else None
            info.licences = sorted({str(s.get("licence")) for s in info.pretrain_sources if s.get("licence")})
        else:
            info.note = f"{local} has no {PRETRAIN_DATA_FILENAME}: the base's pretraining text is unknown"
    elif source and hub_id is None:
        info.note = f"the base {source!r} is not at hand here: its pretraining text and licences are unknown"
    provenance = _add_stored_provenance(info, settings, model_dir)
    info.made = base_made(info, local, provenance)
    return info


def base_made(info: BaseInfo, local: Path | None, provenance: Provenance | None) -> str:
    """How the base was made, in words, from what its own files (or the model's provenance) record; ""
    when they record nothing (a randomly initialised twin records nothing either)."""
    if info.pretrain_command:
        words = f" on {info.pretrain_words:,} words" if info.pretrain_words else ""
        return f"pretrained here by masked language modelling{words}"
    # The model's own record first: it travels with the model, so a fresh clone (without the base's folder)
    # writes the same card.
    earlier = [base for base in (provenance.bases if provenance else ()) if base not in (info.source, info.local_dir)]
    if earlier:
        named = ", ".join(_with_origin(base, provenance.sources) for base in earlier)
        return f"built on {named}, as the model's provenance records"
    built = (read_json(local / BASE_INFO_FILENAME) or {}).get("provenance") if local is not None else None
    if isinstance(built, dict) and built.get("base"):
        return f"built here from {built['base']} (its {BASE_INFO_FILENAME})"
    if info.pretrain_sources:
        return "pretrained on the text listed under Training data, as its pretraining record says"
    return ""


def _with_origin(base: str, sources: tuple[dict[str, Any], ...]) -> str:
    """`intfloat/multilingual-e5-small` with the licence and origin of the pretraining source of that name."""
    for source in sources:
        if source.get("use") == "pretraining" and source.get("name") == base.rsplit("/", 1)[-1]:
            details = "; ".join(str(source[key]) for key in ("licence", "origin") if source.get(key))
            return f"`{base}` ({details})" if details else f"`{base}`"
    return f"`{base}`"


def _add_stored_provenance(info: BaseInfo, settings: dict[str, Any], model_dir: Path) -> Provenance | None:
    """Fold in the provenance the model's own config.json carries (training.release.provenance): it holds
    out even when the base directory is not at hand, and names the fine-tuning text's licences too."""
    if PROVENANCE_KEY not in settings:
        return None
    try:
        provenance = Provenance.from_dict(settings[PROVENANCE_KEY], str(model_dir / "config.json"))
    except ValueError as error:
        raise CardError(str(error)) from None
    info.licences = sorted(set(info.licences) | set(provenance.licences))
    if not info.pretrain_sources:
        pretraining = [s for s in provenance.sources if s.get("use") == "pretraining"]
        info.pretrain_sources = [{"sentences": "–", "words": "–", **source} for source in pretraining]
        if info.pretrain_sources:
            info.note = ""
    return provenance


def fine_tuning_data(configs: list[dict[str, Any] | None], settings: dict[str, Any]) -> FineTuningData:
    """Whose text the models trained on: the files their training configs name, else the model's provenance.

    The configs win: provenance written before user files were told apart calls every gold file the project's.
    """
    data = FineTuningData()
    for config in filter(None, configs):
        train_files = [str(file) for file in config.get("train_files") or []]
        if not train_files and not config.get("splits_file"):
            continue
        names = SimpleNamespace(train_files=train_files, splits_file=config.get("splits_file"),
                                data_dir=config.get("data_dir"))  # fmt: skip
        own, others = gold_origins(names)
        data.project = data.project or bool(own)
        data.user_files += [file for file in others if file not in data.user_files]
        dev_files = [str(file) for file in config.get("dev_files") or [] if not is_project_file(file)]
        data.user_dev_files += [file for file in dev_files if file not in data.user_dev_files]
    if data.project or data.user_files or PROVENANCE_KEY not in settings:
        return data
    try:
        sources = Provenance.from_dict(settings[PROVENANCE_KEY], "config.json").sources
    except ValueError:
        return data  # base_info reports a broken record, naming the file
    for source in sources:
        origin = str(source.get("origin") or "")
        if source.get("name") == USER_DATA_NAME:
            data.user_files += [origin]
        elif source.get("name") == "viextract_gold":
            files = [] if origin.endswith(SPLITS_ORIGIN_SUFFIX) else origin.split(", ")
            data.user_files += [file for file in files if not is_project_file(file)]
            data.project = data.project or not files or any(is_project_file(file) for file in files)
    return data


DATA_SPLIT_KEYS = ("name", "source", "documents", "entities", "relations")


def data_splits(config: dict[str, Any] | None) -> list[DataSplit]:
    """Documents, entities and relations of each split the training config reads, counted in today's files."""
    if not config:
        return []
    return [DataSplit(**{key: row[key] for key in DATA_SPLIT_KEYS}) for row in training_data_sizes(config)]


def recorded_splits(metrics: dict[str, Any] | None) -> list[DataSplit]:
    """The counts training recorded (`data` in training_metrics.json); empty when it recorded none."""
    recorded = (metrics or {}).get("data")
    if not isinstance(recorded, list):
        return []
    try:
        return [DataSplit(**{key: row[key] for key in DATA_SPLIT_KEYS}) for row in recorded]
    except (KeyError, TypeError) as error:
        logger.warning("training_metrics.json: malformed data record (%s); counting the files instead", error)
        return []


def model_shape(ner_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    shape = {key: config[key] for key in ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")
             if key in config}  # fmt: skip
    try:
        from safetensors import safe_open

        with safe_open(str(ner_dir / "model.safetensors"), framework="pt") as handle:
            total = 0
            names = set(handle.keys())
            for name in names:
                if name.endswith(SCALE_SUFFIX) and name.removesuffix(SCALE_SUFFIX) + INT8_SUFFIX in names:
                    continue  # int8 storage's per-row scales are how a weight is stored, not parameters
                count = 1
                for size in handle.get_slice(name).get_shape():
                    count *= size
                total += count
        shape["parameters"] = total
    except Exception as error:  # an unreadable weight file is the loader's business, not the card's
        logger.warning("%s: parameters not counted (%s)", ner_dir / "model.safetensors", error)
    return shape


def schema_version(schema: Path | None) -> str:
    """'v1.1' from SCHEMA.md's title line `# Extraction schema (v1.1)`; '' when there is none."""
    if schema is None:
        return ""
    first = read_utf8_text(schema).split("\n", 1)[0]
    found = re.search(r"\((v\d+(?:\.\d+)*)\)", first)
    return found.group(1) if found else ""


def model_size(model_dir: Path) -> tuple[dict[str, float], str]:
    """(megabytes of ner/, re/ and in all, how the weights are stored), of the files `publish push` uploads
    (UPLOAD_FILES): checkpoints, optimizer states and logs beside the model were counted, so a card told
    users of a download several times the size of the one they get, and a checkpoint's config its dtype."""
    ner_dir, re_dir = model_parts(model_dir)
    parts = [part for part in (ner_dir, re_dir) if part is not None]

    def megabytes(folder: Path) -> float:
        return sum((folder / name).stat().st_size for name in UPLOAD_FILES if (folder / name).is_file()) / 1e6

    sizes = {part.name: megabytes(part) for part in parts if part != model_dir}
    sizes["total"] = sum(megabytes(part) for part in parts)
    configs = [read_json(part / "config.json") or {} for part in parts]
    storage = next((str(c["viextract_storage"]) for c in configs if c.get("viextract_storage")), "")
    # "dtype" as transformers 5 writes it, "torch_dtype" as 4 did.
    dtypes = [c.get("dtype") or c.get("torch_dtype") for c in configs]
    dtype = next((str(d) for d in dtypes if d), "float32")
    return sizes, storage or dtype
