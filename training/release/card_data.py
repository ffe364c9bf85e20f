"""What a model card says, as data: `CardData` and its parts (scores, labels, runs, data, base)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


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


def read_utf8_text(path: Path) -> str:
    """The text of `path`; CardError naming the file, line and byte when it is not UTF-8 (a results file or
    card saved as cp1258 was a UnicodeDecodeError traceback). OSError is left to the caller's message."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CardError(f"{path}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); save it as UTF-8") from None


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
    weights: list[str] = field(default_factory=list)  # sha256 of the weights scored, where the file records them


@dataclass
class SpeedTable:
    """`benchmarks/speed.py --json` figures for one model, and the size of the model's files on disk."""

    machine: str
    command: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class ScoreTable:
    micro: Score
    per_label: dict[str, Score]


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float
    folds: int | None = None  # a label's: the folds that hold or predict it, which its mean is over


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
    data: str | None = None  # the data file the evaluation read (its `--data`), when the results file says
    on_project_corpus: bool = False  # that file is the project's data/corpus.jsonl
    fold_by_fold: bool = False  # k-fold: one fold per run, then merge_folds
    weights: list[str] = field(default_factory=list)  # sha256 of the weights scored, where the file records them


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
    # base_model as an absolute path: a folder of the publisher's machine, which the command replaces with BASE_DIR
    machine_base: str | None = None


@dataclass
class DataSplit:
    name: str
    source: str
    documents: int
    entities: int
    relations: int


@dataclass
class FineTuningData:
    """Whose text the models were fine-tuned on: the project's corpus, the publisher's own files, or both."""

    project: bool = False  # the project's corpus and written texts (files under the repository's data/)
    user_files: list[str] = field(default_factory=list)  # every other training file, as the config names it
    user_dev_files: list[str] = field(default_factory=list)  # the dev files of theirs the configs name (not trained on)

    @property
    def project_only(self) -> bool:
        return self.project and not self.user_files


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
    made: str = ""  # how it was made, as its files record ("pretrained here ..."); "" when they record nothing

    @property
    def described(self) -> str:
        """How the base was made, for the card's sentences ("pretrained here ..."); says so when nothing records it."""
        if self.made:
            return self.made
        if self.hub_id and not self.local_dir:
            return f"published as `{self.hub_id}`, whose pretraining is not recorded here"
        return "whose files record nothing of how it was made (no pretraining config, pretrain_data.json or provenance)"


def dataset_split(docs: str | None, split: str) -> str:
    """The model-index split of a results file: its --docs, or the dev/test its KEY named when that is "all"
    (every document of the user's own file) or unrecorded; a k-fold over "all" is over "all"."""
    if docs is None or (docs == "all" and split in ("dev", "test")):
        return split
    return docs


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
    speed: SpeedTable | None = None
    # megabytes of each part of the model directory as saved (ner/, re/, total), and how weights are stored
    size_mb: dict[str, float] = field(default_factory=dict)
    weights_sha256: dict[str, str] = field(default_factory=dict)  # path in the model -> sha256 of its weights
    storage: str = "float32"
    # "v1.1" when SCHEMA.md says so in its title
    schema_version: str = ""
    # The decoding priors the NER config.json stores, in words ("" when it stores none).
    decoding_tables: str = ""
    # Whose text the models were fine-tuned on (the card describes the project's corpus only where they read it).
    fine_tuning: FineTuningData = field(default_factory=FineTuningData)

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
                    dataset_type=self.datasets[0] if self.datasets else evaluation.data or "unknown",
                    dataset_name=self.dataset_name(evaluation),
                    dataset_split=dataset_split(evaluation.docs, split),
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

    def dataset_name(self, evaluation: Evaluation) -> str:
        """The `model-index` dataset name of an evaluation: the project's corpus only when it read that file."""
        if evaluation.on_project_corpus:
            return DATASET_NAME
        if evaluation.data is not None:
            return evaluation.data
        # An older results file without `data`: the corpus is a guess only a project-data model may make.
        return DATASET_NAME if self.fine_tuning.project_only else "not recorded in the results file"

    def front_matter(self) -> str:
        """The YAML between the `---` lines, in the Hub's schema (huggingface_hub.ModelCardData)."""
        from huggingface_hub import ModelCardData

        results = self.eval_results()
        data = ModelCardData(
            language=self.language,
            license=self.license,
            library_name=self.library_name,
            base_model=self.base.hub_id,
            datasets=list(self.datasets) or None,
            metrics=list(self.metrics),
            pipeline_tag=self.pipeline_tag,
            tags=list(self.tags),
            model_name=self.model_name,
            eval_results=results or None,
        )
        return data.to_yaml()


def _metric_title(metric: str) -> str:
    return {"precision": "precision", "recall": "recall", "f1": "F1"}[metric]
