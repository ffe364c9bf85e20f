"""Model cards from data: `CardData` is filled from a model directory and evaluation JSON, then rendered.

    card = build_card_data("outputs/model", ["results/ner_test.json", "re.test=results/re_test.json"])
    text = render_card(card)   # Hugging Face YAML front matter + markdown (templates/model_card.md)

Everything the card states comes from files: the labels from the models' `config.json`, their
definitions from SCHEMA.md, the training commands and settings from the `training_config.yaml`
saved beside each model, sizes from `training_metrics.json` and the data files the config names,
the base encoder's text and licences from `pretrain_data.json` beside a local base, and every
score from the results JSON. What no file says is written as "not measured" or "unknown".

Results JSON (`--results [KEY=]FILE`, repeatable). Scores are fractions in [0, 1]. Accepted:

1. What `python -m training.evaluation.evaluate ner --model DIR --docs dev|test --out FILE` writes:
   `{"docs": "test", "document_ids": [...], "documents": 1, "gold_entities": 73,
     "words": TABLE, "chars": TABLE, ...}`; `words` is seqeval strict IOB2 on gold words,
   `chars` exact character spans through the full pipeline.
2. What `python -m training.evaluation.evaluate ner --kfold K ... --out FILE` writes:
   `{"k": 5, "docs": "train,dev", "document_ids": [...], "summary": {"words": KFOLD, "chars": KFOLD}, "folds": [...]}`
   with KFOLD = `{"precision": {"mean", "std"}, "recall": {...}, "f1": {...},
   "per_label_f1": {LABEL: {"mean", "std"}}}`.
3. What `python -m training.evaluation.evaluate re --model DIR --output FILE` writes:
   `{"documents": 1, "gold_relations": 30, "threshold": 0.5,
     "relations_gold_entities": TABLE, "relations_end_to_end": TABLE, ...}`.
4. What `python -m training.evaluation.evaluate re --kfold K ... --out FILE` writes: like 2, with
   `"summary": {"relations_gold_entities": KFOLD}`, plus `"relations_end_to_end": KFOLD` (and
   `"ner_kfold": FILE`) when its folds were paired with NER fold models (`--ner-kfold`).
5. All of them in one file:
   `{"ner": {"dev": (1), "test": (1), "kfold": (2)}, "re": {"dev": (3), "test": (3), "kfold": (4)}}`.

TABLE = `{"micro": ROW, "per_label": {LABEL: ROW}}`, ROW = `{"precision", "recall", "f1", "support"}`
(training.evaluation.metrics' layout; other keys are ignored). Which split a file of kind 1 or 3 holds comes
from its `docs` field, or from KEY: `dev`, `test`, `kfold`, optionally with the task: `re.test`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from viextract.labels import (
    ENTITY_DEFINITIONS,
    ENTITY_LABELS,
    NO_RELATION,
    RELATION_ARGUMENT_TYPES,
    RELATION_DEFINITIONS,
    RELATION_LABELS,
)

from .provenance import PRETRAIN_DATA_FILENAME, PROVENANCE_KEY, Provenance

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = Path(__file__).parent / "templates" / "model_card.md"
SCHEMA_CANDIDATES = (REPO / "SCHEMA.md", REPO.parent / "shared" / "SCHEMA.md")

CONFIG_FILENAME = "training_config.yaml"
TRAINING_METRICS_FILENAME = "training_metrics.json"

RECOMMENDED_BASE = "vinai/phobert-base"
DEFAULT_DATASET = "viextract-vi-diplomacy-news"
DATASET_NAME = "viextract Vietnamese diplomacy and defence news (data/corpus.jsonl)"
SPLITS = ("dev", "test", "kfold")
TASKS = ("ner", "re")
NOT_MEASURED = "not measured"

# The scorings each task reports (results JSON key -> what it means), in card order.
LEVELS: dict[str, dict[str, str]] = {
    "ner": {
        "words": "seqeval strict IOB2 on the gold words",
        "chars": "exact character spans through the full pipeline (real segmentation)",
    },
    "re": {
        "relations_gold_entities": "given the gold entities (the relation model alone)",
        "relations_end_to_end": "end to end, from the entities the NER model predicts",
    },
}
# Column headers of the k-fold tables: short forms of LEVELS' meanings.
LEVEL_HEADERS = {
    "words": "gold words",
    "chars": "character spans",
    "relations_gold_entities": "from gold entities",
    "relations_end_to_end": "end to end",
}
TASK_NAMES = {"ner": "Named entity recognition", "re": "Relation extraction"}
TASK_TYPES = {"ner": "token-classification", "re": "relation-extraction"}


class CardError(ValueError):
    """A model directory, results file or option the card cannot be built from; the message names it."""


# ---- card data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    support: int | None = None


@dataclass(frozen=True)
class ChallengeTable:
    """training.evaluation.challenge's per-phenomenon table (data/challenge.jsonl), as the command prints it."""

    header: list[str]
    rows: list[list[str]]
    command: str


@dataclass(frozen=True)
class ScoreTable:
    micro: Score
    per_label: dict[str, Score]


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float


@dataclass(frozen=True)
class KFoldTable:
    precision: MeanStd | None
    recall: MeanStd | None
    f1: MeanStd
    per_label_f1: dict[str, MeanStd]


@dataclass
class Evaluation:
    """One task's scores on one split (dev, test) or its k-fold estimate, as read from one file."""

    task: str
    split: str
    source: str
    documents: int | None = None
    document_ids: list[str] = field(default_factory=list)
    gold: int | None = None  # gold entities (ner) or relations (re) scored
    docs: str | None = None  # the `--docs` the evaluation ran with
    tables: dict[str, ScoreTable] = field(default_factory=dict)  # level -> scores (dev, test)
    k: int | None = None
    kfold: dict[str, KFoldTable] = field(default_factory=dict)  # level -> mean ± std (kfold)
    threshold: float | None = None
    command: str | None = None


@dataclass(frozen=True)
class LabelInfo:
    name: str
    definition: str
    detail: str = ""  # entity examples, or a relation's "head -> tail" types


@dataclass
class TrainingRun:
    """One fine-tuning run, from the `training_config.yaml` and `training_metrics.json` beside a model."""

    task: str
    config_path: str  # inside the model repository
    command: str
    settings: dict[str, Any]
    sizes: dict[str, Any]


@dataclass
class DataSplit:
    name: str
    source: str
    documents: int
    entities: int
    relations: int


@dataclass
class BaseInfo:
    """The encoder the models were fine-tuned from."""

    source: str  # as the training config names it: a Hub id or a local directory
    hub_id: str | None  # for `base_model:` in the front matter
    local_dir: str | None = None
    is_recommended: bool = False
    pretrain_command: str | None = None
    pretrain_sources: list[dict[str, Any]] = field(default_factory=list)
    pretrain_words: int | None = None
    licences: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class CardData:
    """Everything a model card says; `render_card` turns it into README.md text."""

    model_name: str
    repo_id: str
    base: BaseInfo
    license: str
    datasets: list[str]
    entity_labels: list[LabelInfo]
    relation_labels: list[LabelInfo]
    training: list[TrainingRun]
    data: list[DataSplit]
    evaluations: dict[str, dict[str, Evaluation | None]]  # task -> split -> evaluation or None
    shape: dict[str, Any]
    segmenter: str
    credits: list[str]
    limitations: list[str]
    retrain_commands: list[str]
    language: str = "vi"
    library_name: str = "viextract"
    pipeline_tag: str = "token-classification"
    tags: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=lambda: ["seqeval", "precision", "recall", "f1"])
    license_reason: str = ""
    # task -> dev scores of the same fine-tuning from a randomly initialised twin of the base
    ablation: dict[str, Evaluation] = field(default_factory=dict)
    challenge: ChallengeTable | None = None
    # The decoding priors the NER config.json stores, in words ("" when it stores none).
    decoding_tables: str = ""

    @property
    def has_relations(self) -> bool:
        return bool(self.relation_labels)

    @property
    def ablation_verdict(self) -> str:
        """What the ablation table says, in one sentence: whether the base beat its random twin on dev."""
        pairs = []
        for task, random_init in self.ablation.items():
            dev = (self.evaluations.get(task) or {}).get("dev")
            for level, table in random_init.tables.items():
                if dev is not None and level in dev.tables:
                    pairs.append((dev.tables[level].micro.f1, table.micro.f1))
        if not pairs:
            return ""
        ahead = sum(base > random for base, random in pairs)
        if ahead == len(pairs):
            return "The pretrained base scores higher on every row."
        if ahead == 0:
            return (
                "Pretraining did not help here: the randomly initialised twin scores as high or higher on every "
                "row (one dev document, so a difference of a few points is within noise)."
            )
        return f"Mixed: the pretrained base scores higher on {ahead} of {len(pairs)} rows (one dev document)."

    @property
    def fixed_relation_threshold(self) -> float | None:
        """The relation threshold its training config fixed; None when dev chose it (or no relations)."""
        for run in self.training:
            if run.task == "re" and isinstance(run.settings.get("threshold"), (int, float)):
                return float(run.settings["threshold"])
        return None

    def eval_results(self):
        """The measured micro scores as huggingface_hub `EvalResult`s (the `model-index` entries)."""
        from huggingface_hub import EvalResult

        results = []
        for task, by_split in self.evaluations.items():
            for split, evaluation in by_split.items():
                if evaluation is None:
                    continue
                common = dict(
                    task_type=TASK_TYPES[task],
                    task_name=TASK_NAMES[task],
                    dataset_type=self.datasets[0] if self.datasets else DEFAULT_DATASET,
                    dataset_name=DATASET_NAME,
                    dataset_split=evaluation.docs or split,
                )
                if split == "kfold":
                    for level, table in evaluation.kfold.items():
                        for metric in ("precision", "recall", "f1"):
                            value = getattr(table, metric)
                            if value is None:
                                continue
                            results.append(
                                EvalResult(
                                    **common,
                                    metric_type=metric,
                                    metric_value=round(value.mean, 4),
                                    metric_name=f"{evaluation.k}-fold mean {_metric_title(metric)} "
                                    f"(± {value.std:.4f}), {LEVELS[task].get(level, level)}",
                                )
                            )
                    continue
                for level, table in evaluation.tables.items():
                    for metric in ("precision", "recall", "f1"):
                        results.append(
                            EvalResult(
                                **common,
                                metric_type=metric,
                                metric_value=round(getattr(table.micro, metric), 4),
                                metric_name=f"{split} {_metric_title(metric)}, {LEVELS[task].get(level, level)}",
                            )
                        )
        return results

    def front_matter(self) -> str:
        """The YAML between the `---` lines, in the Hub's schema (huggingface_hub.ModelCardData)."""
        from huggingface_hub import ModelCardData

        results = self.eval_results()
        data = ModelCardData(
            language=self.language,
            license=self.license,
            library_name=self.library_name,
            base_model=self.base.hub_id,
            datasets=list(self.datasets),
            metrics=list(self.metrics),
            pipeline_tag=self.pipeline_tag,
            tags=list(self.tags),
            model_name=self.model_name,
            eval_results=results or None,
        )
        return data.to_yaml()


def _metric_title(metric: str) -> str:
    return {"precision": "precision", "recall": "recall", "f1": "F1"}[metric]


# ---- results JSON -------------------------------------------------------------------------------

_KEY = re.compile(r"^(?:(ner|re)\.)?(dev|test|kfold)$")


def read_results(specs: list[str]) -> dict[str, dict[str, Evaluation | None]]:
    """Every task's dev/test/kfold evaluation from `[KEY=]FILE` arguments; None where not measured."""
    found: dict[tuple[str, str], Evaluation] = {}
    for spec in specs:
        key, path = None, spec
        head, sep, tail = spec.partition("=")
        if sep and _KEY.match(head):
            key, path = head, tail
        for evaluation in _read_results_file(Path(path), key):
            where = (evaluation.task, evaluation.split)
            if where in found:
                raise CardError(
                    f"{path}: {evaluation.task} {evaluation.split} scores are also in {found[where].source}; "
                    f"give each once"
                )
            found[where] = evaluation
    return {task: {split: found.get((task, split)) for split in SPLITS} for task in TASKS}


def _read_results_file(path: Path, key: str | None) -> list[Evaluation]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CardError(f"{path}: cannot read the results file ({error.strerror or error})") from error
    except json.JSONDecodeError as error:
        raise CardError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(obj, dict):
        raise CardError(f"{path}: expected a JSON object")
    task_hint, split_hint = None, None
    if key is not None:
        match = _KEY.match(key)
        task_hint, split_hint = match.group(1), match.group(2)
    if _is_combined(obj):
        if key is not None:
            raise CardError(f"{key}={path}: a combined file names its splits itself; pass it without KEY=")
        out = []
        for task in TASKS:
            section = obj.get(task) or {}
            if not isinstance(section, dict):
                raise CardError(f"{path}: {task}: expected an object of splits")
            unknown = sorted(set(section) - set(SPLITS))
            if unknown:
                raise CardError(f"{path}: {task}: unknown splits {unknown}; expected {list(SPLITS)}")
            for split, value in section.items():
                if value is not None:
                    out.append(_parse_evaluation(value, task, split, f"{path}: {task}.{split}", str(path)))
        return out
    task = _task_of(obj, path)
    if task_hint is not None and task_hint != task:
        raise CardError(f"{key}={path}: the file holds {task} scores, not {task_hint}")
    if "summary" in obj:
        split = "kfold"
        if split_hint not in (None, "kfold"):
            raise CardError(f"{key}={path}: the file holds k-fold scores, not {split_hint}")
    else:
        split = split_hint or _split_of(obj, path)
        if split == "kfold":
            raise CardError(f"{key}={path}: the file holds scores of one model, not a k-fold summary")
    return [_parse_evaluation(obj, task, split, str(path), str(path))]


def _is_combined(obj: dict[str, Any]) -> bool:
    return any(task in obj and isinstance(obj[task], dict) for task in TASKS) and not any(
        level in obj for levels in LEVELS.values() for level in levels
    )


def _task_of(obj: dict[str, Any], path: Path) -> str:
    if "summary" in obj:
        return "re" if any(level in obj["summary"] for level in LEVELS["re"]) else "ner"
    if any(level in obj for level in LEVELS["re"]):
        return "re"
    if any(level in obj for level in LEVELS["ner"]):
        return "ner"
    raise CardError(
        f"{path}: not a results file of training.evaluation.evaluate (no 'words'/'chars', 'relations_gold_entities'/"
        f"'relations_end_to_end' or k-fold 'summary'); see training/release/card.py for the accepted shapes"
    )


def _split_of(obj: dict[str, Any], path: Path) -> str:
    docs = obj.get("docs")
    if docs in ("dev", "test"):
        return docs
    told = f"its 'docs' is {docs!r}" if docs is not None else "it has no 'docs' field"
    raise CardError(
        f"{path}: cannot tell whether it holds dev or test scores ({told}); name the split: "
        f"--results test={path} (or dev=...)"
    )


def _parse_evaluation(obj: Any, task: str, split: str, where: str, source: str) -> Evaluation:
    if not isinstance(obj, dict):
        raise CardError(f"{where}: expected a JSON object")
    evaluation = Evaluation(task=task, split=split, source=source)
    evaluation.documents = _optional_int(obj, "documents", where)
    evaluation.gold = _optional_int(obj, "gold_entities" if task == "ner" else "gold_relations", where)
    ids = obj.get("document_ids")
    evaluation.document_ids = [str(i) for i in ids] if isinstance(ids, list) else []
    evaluation.docs = obj.get("docs") if isinstance(obj.get("docs"), str) else None
    if isinstance(obj.get("threshold"), (int, float)):
        evaluation.threshold = float(obj["threshold"])
    if split == "kfold":
        summary = obj.get("summary")
        if not isinstance(summary, dict):
            raise CardError(f"{where}: k-fold results need a 'summary' object")
        evaluation.k = _optional_int(obj, "k", where)
        for level in LEVELS[task]:
            if level in summary:
                evaluation.kfold[level] = _parse_kfold(summary[level], f"{where}: summary.{level}")
        if not evaluation.kfold:
            raise CardError(f"{where}: summary: none of {list(LEVELS[task])}")
        if evaluation.k is None and isinstance(obj.get("folds"), list):
            evaluation.k = len(obj["folds"])
        if evaluation.documents is None and evaluation.document_ids:
            evaluation.documents = len(evaluation.document_ids)
    else:
        for level in LEVELS[task]:
            if level in obj:
                evaluation.tables[level] = _parse_table(obj[level], f"{where}: {level}")
        if not evaluation.tables:
            raise CardError(f"{where}: none of {list(LEVELS[task])}")
    evaluation.command = _evaluation_command(obj, task, split, evaluation)
    return evaluation


def _optional_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CardError(f"{where}: {key}: expected an integer, got {value!r}")
    return value


def _fraction(values: dict[str, Any], key: str, where: str) -> float:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CardError(f"{where}.{key}: expected a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise CardError(f"{where}.{key}: expected a fraction between 0 and 1, got {value!r}")
    return float(value)


def _parse_score(values: Any, where: str) -> Score:
    if not isinstance(values, dict):
        raise CardError(f"{where}: expected an object with precision, recall, f1")
    support = values.get("support")
    return Score(
        _fraction(values, "precision", where),
        _fraction(values, "recall", where),
        _fraction(values, "f1", where),
        int(support) if isinstance(support, (int, float)) and not isinstance(support, bool) else None,
    )


def _parse_table(values: Any, where: str) -> ScoreTable:
    if not isinstance(values, dict) or "micro" not in values:
        raise CardError(f"{where}: expected an object with 'micro' and 'per_label'")
    per_label = values.get("per_label") or {}
    if not isinstance(per_label, dict):
        raise CardError(f"{where}.per_label: expected an object of label rows")
    return ScoreTable(
        _parse_score(values["micro"], f"{where}.micro"),
        {str(label): _parse_score(row, f"{where}.per_label.{label}") for label, row in per_label.items()},
    )


def _parse_mean_std(values: Any, where: str) -> MeanStd:
    if not isinstance(values, dict):
        raise CardError(f"{where}: expected an object with mean and std")
    return MeanStd(_fraction(values, "mean", where), _fraction(values, "std", where))


def _parse_kfold(values: Any, where: str) -> KFoldTable:
    if not isinstance(values, dict) or "f1" not in values:
        raise CardError(f"{where}: expected an object with 'f1' (mean, std) and 'per_label_f1'")
    per_label = values.get("per_label_f1") or {}
    if not isinstance(per_label, dict):
        raise CardError(f"{where}.per_label_f1: expected an object of labels")
    return KFoldTable(
        _parse_mean_std(values["precision"], f"{where}.precision") if "precision" in values else None,
        _parse_mean_std(values["recall"], f"{where}.recall") if "recall" in values else None,
        _parse_mean_std(values["f1"], f"{where}.f1"),
        {str(label): _parse_mean_std(v, f"{where}.per_label_f1.{label}") for label, v in per_label.items()},
    )


def _evaluation_command(obj: dict[str, Any], task: str, split: str, evaluation: Evaluation) -> str | None:
    """The evaluation command, rebuilt from what the results file records (None if it records too little)."""
    data = obj.get("data")
    if not isinstance(data, str):
        return None
    if split == "kfold":
        docs = f" --docs {evaluation.docs}" if evaluation.docs and evaluation.docs != "all" else ""
        # Folds train a fixed number of epochs (no dev to stop on), usually set on the command line.
        config = obj.get("config") or {}
        sets = "".join(
            f" --set {key}={config[key]:g}"
            for key in ("epochs", "threshold")  # relation folds also need a fixed threshold
            if isinstance(config.get(key), (int, float)) and not isinstance(config.get(key), bool)
        )
        # Relation folds scored end to end name the NER k-fold results whose fold models they paired with.
        ner_kfold = f" --ner-kfold {obj['ner_kfold']}" if isinstance(obj.get("ner_kfold"), str) else ""
        return (
            f"python -m training.evaluation.evaluate {task} --kfold {evaluation.k} --config CONFIG{sets} --data {data}{docs}"
            f"{ner_kfold}"
        )
    model = obj.get("model")
    if not isinstance(model, str):
        return None
    # A file that does not record its --docs (evaluate re) was named dev/test by KEY: that split's documents.
    docs = evaluation.docs or split
    docs = f" --docs {docs}" if docs != "all" else ""
    return f"python -m training.evaluation.evaluate {task} --model {model} --data {data}{docs}"


# ---- labels -------------------------------------------------------------------------------------


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
    for line in path.read_text(encoding="utf-8").splitlines():
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


# ---- the model directory ------------------------------------------------------------------------


def model_parts(model_dir: Path) -> tuple[Path, Path | None]:
    """(ner dir, re dir or None), as viextract.loading lays them out."""
    from viextract.errors import ModelLoadError
    from viextract.loading import split_model_dir

    try:
        return split_model_dir(model_dir)
    except ModelLoadError as error:
        raise CardError(str(error)) from error


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CardError(f"{path}: not valid JSON ({error})") from error
    return value if isinstance(value, dict) else None


def _read_yaml(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CardError(f"{path}: not valid YAML ({error})") from error
    return value if isinstance(value, dict) else None


def _labels_of(config: dict[str, Any], relation: bool) -> list[str]:
    tags = [str(v) for v in (config.get("id2label") or {}).values()]
    if relation:
        return [label for label in RELATION_LABELS if label in tags] + sorted(
            set(tags) - set(RELATION_LABELS) - {NO_RELATION}
        )
    names = {tag[2:] for tag in tags if tag[:2] in ("B-", "I-")}
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


def _looks_like_hub_id(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name)) and not name.startswith((".", "/", "~"))


SETTINGS_KEYS = {
    "ner": ("base_model", "segmenter", "entity_labels", "max_length", "epochs", "max_steps", "learning_rate",
            "batch_size", "gradient_accumulation_steps", "warmup_ratio", "weight_decay", "early_stopping_patience",
            "select_on_dev", "augment", "transition_weight", "context_weight", "shape_weight", "seed", "splits_file",
            "train_files", "dev_files", "silver_files"),
    "re": ("base_model", "segmenter", "relation_labels", "max_length", "epochs", "max_steps", "learning_rate",
           "batch_size", "negative_ratio", "class_weights", "threshold", "single_head", "single_tail",
           "single_share", "single_choice", "adjacent_rules", "early_stopping_patience", "select_on_dev", "seed",
           "splits_file", "train_files", "dev_files", "silver_files"),
}  # fmt: skip
SIZE_KEYS = (
    "train_documents", "silver_documents", "train_sentences", "train_windows", "dev_documents", "dev_sentences",
    "train_pairs", "train_pairs_before_sampling", "dev_pairs", "train_labels", "truncated_pairs", "global_step",
    "best_dev_f1", "threshold",
)  # fmt: skip


def training_run(task: str, directory: Path, prefix: str) -> tuple[TrainingRun | None, dict[str, Any] | None]:
    """The run that wrote `directory` (None if it saved no training_config.yaml) and its raw config."""
    config = _read_yaml(directory / CONFIG_FILENAME)
    if config is None:
        return None, None
    metrics = _read_json(directory / TRAINING_METRICS_FILENAME) or {}
    config_path = f"{prefix}{CONFIG_FILENAME}"
    settings = {key: config[key] for key in SETTINGS_KEYS[task] if key in config and config[key] not in (None, [])}
    if settings.get("select_on_dev") is False:
        settings.pop("early_stopping_patience", None)  # no epoch is chosen on dev, so it never stops a run
    sizes = {key: metrics[key] for key in SIZE_KEYS if key in metrics and metrics[key] is not None}
    if not sizes.get("silver_documents"):
        sizes.pop("silver_documents", None)  # a run without silver data says nothing about it
    command = f"python -m training.fit.train {task} --config {config_path}"
    return TrainingRun(task, config_path, command, settings, sizes), config


DECODING_TABLES = {"tag_bigrams": "tag-bigram scores", "word_context": "word-context", "word_shapes": "word-shape"}


def _decoding_tables(settings: dict[str, Any]) -> str:
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
    if hub_id is None and source and local is None and _looks_like_hub_id(source):
        hub_id = source
    info = BaseInfo(source=source or "unknown", hub_id=hub_id, local_dir=str(local) if local else None)
    info.is_recommended = (hub_id or source) == RECOMMENDED_BASE
    if local is not None:
        pretrain_config = _read_yaml(local / CONFIG_FILENAME)
        if pretrain_config is not None and pretrain_config.get("task") == "pretrain":
            shown = source if source and not Path(source).is_absolute() else str(local)
            info.pretrain_command = f"python -m training.pretraining.mlm --config {shown}/{CONFIG_FILENAME}"
        summary = _read_json(local / PRETRAIN_DATA_FILENAME)
        if summary is not None:
            info.pretrain_sources = [s for s in summary.get("train", []) if isinstance(s, dict)]
            info.pretrain_words = summary.get("train_words") if isinstance(summary.get("train_words"), int) else None
            info.licences = sorted({str(s.get("licence")) for s in info.pretrain_sources if s.get("licence")})
        else:
            info.note = f"{local} has no {PRETRAIN_DATA_FILENAME}: the base's pretraining text is unknown"
    elif source and hub_id is None:
        info.note = f"the base {source!r} is not at hand here: its pretraining text and licences are unknown"
    _add_stored_provenance(info, settings, model_dir)
    return info


def _add_stored_provenance(info: BaseInfo, settings: dict[str, Any], model_dir: Path) -> None:
    """Fold in the provenance the model's own config.json carries (training.release.provenance): it holds
    out even when the base directory is not at hand, and names the fine-tuning text's licences too."""
    if PROVENANCE_KEY not in settings:
        return
    try:
        provenance = Provenance.from_dict(settings[PROVENANCE_KEY], str(model_dir / "config.json"))
    except ValueError as error:
        raise CardError(str(error)) from None
    info.licences = sorted(set(info.licences) | set(provenance.licences))
    if not info.pretrain_sources:
        pretraining = [s for s in provenance.sources if s.get("use") == "pretraining"]
        info.pretrain_sources = [{"sentences": "?", "words": "?", **source} for source in pretraining]
        if info.pretrain_sources:
            info.note = ""


def _count_jsonl(path: Path, ids: set[str] | None) -> tuple[int, int, int]:
    documents = entities = relations = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            doc = json.loads(line)
            if ids is not None and doc.get("id") not in ids:
                continue
            documents += 1
            entities += len(doc.get("entities") or [])
            relations += len(doc.get("relations") or [])
    return documents, entities, relations


def data_splits(config: dict[str, Any] | None) -> list[DataSplit]:
    """Documents, entities and relations of each split the training config used (empty if unreadable)."""
    if not config:
        return []
    out: list[DataSplit] = []
    try:
        if config.get("train_files"):
            for name, files in (("train", config["train_files"]), ("dev", config.get("dev_files") or [])):
                for file in files:
                    path = _find_file(file)
                    if path is not None:
                        out.append(DataSplit(name, file, *_count_jsonl(path, None)))
            return out
        splits_path = _find_file(str(config.get("splits_file") or ""))
        if splits_path is None:
            return []
        splits = json.loads(splits_path.read_text(encoding="utf-8"))
        data_dir = _find_dir(config["data_dir"]) if config.get("data_dir") else splits_path.parent
        corpus = (data_dir / "corpus.jsonl") if data_dir else None
        if corpus is not None and corpus.is_file():
            for name in ("train", "dev", "test"):
                ids = {str(i) for i in splits.get(name, [])}
                out.append(DataSplit(name, f"{_shown(corpus)} ({', '.join(sorted(ids))})", *_count_jsonl(corpus, ids)))
        for extra in splits.get("train_extra", []) or []:
            path = _find_file(extra, (data_dir.parent,) if data_dir else ())
            if path is not None:
                out.append(DataSplit("train (extra)", str(extra), *_count_jsonl(path, None)))
        for silver in config.get("silver_files") or []:
            path = _find_file(silver)
            source = f"{silver}: weak labels (training.weak.silver) on UD VTB and VLSP 2013 sentences"
            if path is not None:
                out.append(DataSplit("train (silver)", source, *_count_jsonl(path, None)))
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("training data sizes not counted: %s", error)
        return []
    return out


def _find_file(name: str, anchors: tuple[Path, ...] = ()) -> Path | None:
    if not name:
        return None
    path = Path(name)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, *(a / path for a in anchors), REPO / path]
    return next((p for p in candidates if p.is_file()), None)


def _find_dir(name: str) -> Path | None:
    return _resolve_local(name, REPO)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def model_shape(ner_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    shape = {key: config[key] for key in ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")
             if key in config}  # fmt: skip
    try:
        from safetensors import safe_open

        with safe_open(str(ner_dir / "model.safetensors"), framework="pt") as handle:
            total = 0
            for name in handle.keys():
                count = 1
                for size in handle.get_slice(name).get_shape():
                    count *= size
                total += count
        shape["parameters"] = total
    except Exception as error:  # an unreadable weight file is the loader's business, not the card's
        logger.warning("%s: parameters not counted (%s)", ner_dir / "model.safetensors", error)
    return shape


# ---- assembling ---------------------------------------------------------------------------------


def choose_license(base: BaseInfo) -> tuple[str, str]:
    """A licence id the Hub accepts, and why: CC BY-SA 4.0 when the weights learned from share-alike text."""
    if any("CC BY-SA" in licence.upper() for licence in base.licences):
        return "cc-by-sa-4.0", (
            "the weights learned from text under CC BY-SA 4.0 (UD Vietnamese VTB: in the base's pretraining, or in "
            "fine-tuning through an earlier model or silver data), so they are "
            "shared under the same licence; pass --license to choose otherwise"
        )
    return "mit", "viextract's licence; pass --license to choose otherwise"


def build_card_data(
    model_dir: str | Path,
    results: list[str] | tuple[str, ...] = (),
    *,
    repo_id: str | None = None,
    model_name: str | None = None,
    license: str | None = None,
    base_model: str | None = None,
    base_dir: str | Path | None = None,
    datasets: list[str] | None = None,
    library_name: str = "viextract",
    schema_path: str | Path | None = None,
    ablation: list[str] | tuple[str, ...] = (),
    challenge: str | Path | None = None,
) -> CardData:
    """Fill a CardData from a model directory (`ner/` + optional `re/`, or bare NER) and results files.

    `ablation` holds `TASK=FILE` dev results of the same fine-tuning from a random-init base;
    `challenge` the JSON of `python -m training.evaluation.challenge --out FILE`.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise CardError(f"{model_dir}: no such model directory")
    ner_dir, re_dir = model_parts(model_dir)
    ner_prefix = "ner/" if ner_dir != model_dir else ""
    ner_config = _read_json(ner_dir / "config.json")
    if ner_config is None:
        raise CardError(f"{ner_dir / 'config.json'}: missing or not a JSON object")
    re_config = _read_json(re_dir / "config.json") if re_dir is not None else None
    if re_dir is not None and re_config is None:
        raise CardError(f"{re_dir / 'config.json'}: missing or not a JSON object")

    entity_names = _labels_of(ner_config, relation=False)
    relation_names = _labels_of(re_config, relation=True) if re_config else []
    entity_labels, relation_labels = label_infos(entity_names, relation_names, find_schema(schema_path))

    training: list[TrainingRun] = []
    ner_run, ner_train_config = training_run("ner", ner_dir, ner_prefix)
    if ner_run is not None:
        training.append(ner_run)
    re_train_config = None
    if re_dir is not None:
        re_run, re_train_config = training_run("re", re_dir, "re/")
        if re_run is not None:
            training.append(re_run)
    if not training:
        logger.warning("%s: no %s beside the model: training commands and data are unknown", ner_dir, CONFIG_FILENAME)

    base = base_info(ner_train_config or re_train_config, ner_config, base_model, base_dir, model_dir)
    chosen_license, license_reason = choose_license(base)
    if license is not None:
        chosen_license, license_reason = license, "chosen by the publisher"

    evaluations = read_results(list(results))
    if re_dir is None and any(evaluations["re"].values()):
        logger.warning("the results hold relation scores but %s has no re/ model: they are left out", model_dir)
        evaluations["re"] = {split: None for split in SPLITS}
    if re_dir is None:
        del evaluations["re"]
    _warn_other_model(evaluations, model_dir)

    settings = ner_config.get("viextract") if isinstance(ner_config.get("viextract"), dict) else {}
    segmenter = str(settings.get("segmenter") or (ner_train_config or {}).get("segmenter") or "unknown")
    name = model_name or (repo_id.split("/")[-1] if repo_id else model_dir.resolve().name)
    tags = ["viextract", "token-classification", "ner", "vietnamese", "phobert", "roberta"]
    if re_dir is not None:
        tags.insert(3, "relation-extraction")
    card = CardData(
        model_name=name,
        repo_id=repo_id or "REPO_ID",
        base=base,
        license=chosen_license,
        license_reason=license_reason,
        datasets=list(datasets) if datasets else [DEFAULT_DATASET],
        entity_labels=entity_labels,
        relation_labels=relation_labels,
        training=training,
        data=data_splits(ner_train_config or re_train_config),
        evaluations=evaluations,
        shape=model_shape(ner_dir, ner_config),
        segmenter=segmenter,
        credits=[],
        limitations=[],
        retrain_commands=[],
        library_name=library_name,
        tags=tags,
        decoding_tables=_decoding_tables(settings),
    )
    card.retrain_commands = [
        f"python -m training.fit.train {task} --config configs/{task}.yaml --set base_model={RECOMMENDED_BASE}"
        for task in (("ner", "re") if re_dir is not None else ("ner",))
    ]
    card.ablation = read_ablation(ablation)
    card.challenge = read_challenge(Path(challenge)) if challenge is not None else None
    card.limitations = _limitations(card)
    card.credits = _credits(card)
    return card


def read_challenge(path: Path) -> ChallengeTable:
    """The per-phenomenon rows of a `training.evaluation.challenge --out` file, formatted as that command formats them."""
    from ..evaluation.challenge import COLUMNS, table_rows

    report = _read_json(path)
    if report is None or not isinstance(report.get("phenomena"), dict):
        raise CardError(f"--challenge {path}: missing, or not the results of `python -m training.evaluation.challenge --out`")
    try:
        rows = table_rows(report)
    except (KeyError, TypeError) as error:
        raise CardError(f"--challenge {path}: field {error} missing; run training.evaluation.challenge again") from error
    return ChallengeTable(list(COLUMNS), rows, f"python -m training.evaluation.challenge --model MODEL --out {path.name}")


def read_ablation(specs: list[str] | tuple[str, ...]) -> dict[str, Evaluation]:
    """`ner=FILE` / `re=FILE`: dev scores of fine-tuning from the random-init twin of the base."""
    ablation: dict[str, Evaluation] = {}
    for spec in specs:
        task, sep, path = spec.partition("=")
        if not sep or task not in TASKS:
            raise CardError(f"--ablation {spec}: expected ner=FILE or re=FILE")
        evaluation = read_results([f"{task}.dev={path}"])[task]["dev"]
        if evaluation is not None:
            ablation[task] = evaluation
    return ablation


def _warn_other_model(evaluations: dict[str, dict[str, Evaluation | None]], model_dir: Path) -> None:
    """A results file that names another model directory is probably a mistake; say so, do not fail."""
    for by_split in evaluations.values():
        for evaluation in by_split.values():
            if evaluation is None or evaluation.command is None or " --model " not in evaluation.command:
                continue
            named = evaluation.command.split(" --model ", 1)[1].split(" ", 1)[0]
            path = Path(named)
            if path.is_dir() and path.resolve() not in (model_dir.resolve(), *map(Path.resolve, model_dir.iterdir())):
                logger.warning("%s: scores of %s, not of %s", evaluation.source, named, model_dir)


def _limitations(card: CardData) -> list[str]:
    out = []
    if not card.base.is_recommended:
        size = card.shape.get("parameters")
        shape = ", ".join(
            f"{card.shape[k]} {label}" for k, label in (("num_hidden_layers", "layers"), ("hidden_size", "hidden"))
            if k in card.shape
        )  # fmt: skip
        words = f" on {card.base.pretrain_words:,} words" if card.base.pretrain_words else ""
        made = f"pretrained here{words}" if card.base.pretrain_command else "built here from another pretrained encoder"
        out.append(
            f"The encoder is a PhoBERT-architecture base ({shape}"
            + (f", {_count(size)} parameters" if size else "")
            + f") {made}, not `{RECOMMENDED_BASE}`: a PhoBERT-base fine-tune may score higher. "
            f"To compare, retrain on `{RECOMMENDED_BASE}` (commands below)."
        )
    train_docs = sum(s.documents for s in card.data if s.name == "train")
    if train_docs:
        out.append(
            f"Trained on {train_docs} annotated news articles"
            + (" plus sentences written for training" if any(s.name == "train (extra)" for s in card.data) else "")
            + "; dev and test are one article each, so a single score moves by several points with one entity."
        )
    silver = sum(s.documents for s in card.data if s.name == "train (silver)")
    if silver:
        out.append(
            f"The NER model also learned from {silver:,} sentences labelled by viextract's rule-based weak annotator "
            "(training.weak.silver), so it shares some of the rules' blind spots: names missing from their gazetteers "
            "were trained as O there."
        )
    out.append(
        "Domain: Vietnamese news about diplomacy, defence and border cooperation (mostly Vietnam-Laos). "
        "Other domains, informal text and text without diacritics are untested."
    )
    out.append(
        f"Words come from the `{card.segmenter}` segmenter; an entity boundary that falls inside a segmenter word "
        "cannot be found exactly. Entities are flat (no nesting)."
    )
    if card.has_relations:
        out.append("Relations are only predicted between two entities of one sentence, one label per ordered pair.")
    return out


def _count(value: int) -> str:
    return f"{value / 1e6:.1f}M" if value >= 1e6 else f"{value:,}"


def _credits(card: CardData) -> list[str]:
    out = [
        "Architecture and tokenizer: PhoBERT (Dat Quoc Nguyen and Anh Tuan Nguyen, 2020, "
        "[vinai/phobert-base](https://huggingface.co/vinai/phobert-base), MIT), through Hugging Face transformers "
        "(Apache-2.0)."
    ]
    if card.base.pretrain_sources:
        for source in card.base.pretrain_sources:
            out.append(
                f"Base pretraining text `{source.get('name')}`: {source.get('origin')} "
                f"({source.get('words', '?'):,} words); licence: {source.get('licence', 'unknown')}."
                if isinstance(source.get("words"), int)
                else f"Base pretraining text `{source.get('name')}`: {source.get('origin')}; "
                f"licence: {source.get('licence', 'unknown')}."
            )
        if any("CC BY-SA" in licence for licence in card.base.licences):
            out.append(
                "UD Vietnamese VTB (Universal Dependencies, "
                "https://github.com/UniversalDependencies/UD_Vietnamese-VTB) "
                "is licensed CC BY-SA 4.0."
            )
    elif card.base.note:
        out.append(f"Base encoder: {card.base.note}.")
    out.append(
        "Fine-tuning data: Vietnamese news articles annotated for viextract by two independent passes, reconciled "
        "(data/README.md in the viextract repository), and sentences written by the viextract team."
    )
    return out


# ---- rendering ----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}"


def _mean_std(value: MeanStd | None) -> str:
    return "–" if value is None else f"{value.mean * 100:.2f} ± {value.std * 100:.2f}"


def _table_labels(labels: list[str], tables: list[dict[str, Any]]) -> list[str]:
    """The model's labels, then any other label the results have rows for."""
    seen = {label for table in tables for label in table}
    return list(labels) + sorted(seen - set(labels))


def render_card(card: CardData, template_path: str | Path = TEMPLATE_PATH) -> str:
    """README.md text: the front matter, then the template's sections."""
    try:
        import jinja2
    except ImportError as error:  # jinja2 comes with the [train] tools; say so instead of a traceback
        raise CardError("rendering a model card needs jinja2: pip install jinja2") from error

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(template_path).parent)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["pct"] = _pct
    environment.filters["mean_std"] = _mean_std
    template = environment.get_template(Path(template_path).name)
    text = template.render(
        card=card,
        front_matter=card.front_matter().strip(),
        levels=LEVELS,
        level_headers=LEVEL_HEADERS,
        task_names=TASK_NAMES,
        not_measured=NOT_MEASURED,
        entity_names=[label.name for label in card.entity_labels],
        relation_names=[label.name for label in card.relation_labels],
        table_labels=_table_labels,
        recommended_base=RECOMMENDED_BASE,
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(parsed YAML front matter, markdown body) of a card; CardError if it has none or it does not parse."""
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    if not match:
        raise CardError("the card does not start with YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise CardError(f"the card's front matter is not valid YAML ({error})") from error
    if not isinstance(meta, dict):
        raise CardError("the card's front matter is not a mapping")
    return meta, text[match.end() :]
