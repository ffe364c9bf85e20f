"""Reading evaluation results JSON into `Evaluation`s for the card.

Results JSON (`--results [KEY=]FILE`, repeatable). Scores are fractions in [0, 1]. Accepted:

1. What `python -m training.evaluation.evaluate ner --model DIR --docs dev|test --out FILE` writes:
   `{"docs": "test", "document_ids": [...], "documents": 1, "gold_entities": 73,
     "words": TABLE, "chars": TABLE, ...}`; `words` is seqeval strict IOB2 on gold words,
   `chars` exact character spans through the full pipeline.
2. What `python -m training.evaluation.evaluate ner --kfold K ... --out FILE` writes:
   `{"k": 5, "docs": "train,dev", "document_ids": [...], "summary": {"words": KFOLD, "chars": KFOLD}, "folds": [...]}`
   with KFOLD = `{"precision": {"mean", "std"}, "recall": {...}, "f1": {...},
   "per_label_f1": {LABEL: {"mean", "std", "folds"}}}`; a label's mean is over the `folds` that have it.
3. What `python -m training.evaluation.evaluate re --model DIR --docs dev|test --out FILE` writes:
   `{"docs": "test", "document_ids": [...], "documents": 1, "gold_relations": 30, "threshold": 0.5,
     "relations_gold_entities": TABLE, "relations_end_to_end": TABLE, ...}`.
4. What `python -m training.evaluation.evaluate re --kfold K ... --out FILE` writes: like 2, with
   `"summary": {"relations_gold_entities": KFOLD}`, plus `"relations_end_to_end": KFOLD` (and
   `"ner_kfold": FILE`) when its folds were paired with NER fold models (`--ner-kfold`).
5. All of them in one file:
   `{"ner": {"dev": (1), "test": (1), "kfold": (2)}, "re": {"dev": (3), "test": (3), "kfold": (4)}}`.

TABLE = `{"micro": ROW, "per_label": {LABEL: ROW}}`, ROW = `{"precision", "recall", "f1", "support"}`
(training.evaluation.metrics' layout; other keys are ignored, and a label row with `support` and `predicted`
both 0 is left out: the card prints "–" for it, not a 0 F1). Which split a file of kind 1 or 3 holds comes
from its `docs` field, or from KEY: `dev`, `test`, `kfold`, optionally with the task: `re.test`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shlex
from pathlib import Path
from typing import Any

from ..data.documents import DEFAULT_SPLITS_FILE
from ..evaluation.kfold import missing_folds
from .card_data import (
    LEVELS,
    SPLITS,
    TASKS,
    CardError,
    ChallengeTable,
    Evaluation,
    KFoldTable,
    MeanStd,
    Score,
    ScoreTable,
    SpeedTable,
    read_utf8_text,
)
from .card_sources import read_json
from .provenance import is_project_corpus

logger = logging.getLogger(__name__)


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
        obj = json.loads(read_utf8_text(path))
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
        recorded = obj.get("docs")
        # KEY= names the split of a whole file (`all`: a user's own dev or test file), never another selection.
        if split_hint is not None and recorded not in (None, "all") and recorded != split_hint:
            raise CardError(f"{key}={path}: the file holds {recorded} scores (its 'docs'), not {split_hint}")
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
        f"'relations_end_to_end' or k-fold 'summary'); see training/release/card_results.py for the accepted shapes"
    )


def _split_of(obj: dict[str, Any], path: Path) -> str:
    docs = obj.get("docs")
    if docs in ("dev", "test"):
        return docs
    if docs not in (None, "all"):  # `train`, `dev,test`: it advised `test=FILE`, which put them on the card as test
        raise CardError(
            f"{path}: it holds scores of --docs {docs}, which a card shows neither as dev nor as test; evaluate "
            "with --docs dev or --docs test"
        )
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
    evaluation.weights = _scored_weights(obj, where)
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
        folds = obj.get("folds")
        if evaluation.k is None and isinstance(folds, list):
            evaluation.k = len(folds)
        problem = missing_folds(evaluation.k, folds)
        if problem:  # one fold's scores, published as the k-fold's with a std of 0
            raise CardError(f"{where}: {problem}")
        if evaluation.documents is None and evaluation.document_ids:
            evaluation.documents = len(evaluation.document_ids)
    else:
        for level in LEVELS[task]:
            if level in obj:
                evaluation.tables[level] = _parse_table(obj[level], f"{where}: {level}")
        if not evaluation.tables:
            raise CardError(f"{where}: none of {list(LEVELS[task])}")
    if isinstance(obj.get("data"), str):
        evaluation.data = obj["data"]
        evaluation.on_project_corpus = is_project_corpus(obj["data"])
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
        {
            str(label): _parse_score(row, f"{where}.per_label.{label}")
            for label, row in per_label.items()
            if not _says_nothing(row)
        },
    )


def _says_nothing(row: Any) -> bool:
    """A label row with no gold and no predicted item: its 0/0 scores are written as 0, which the card must
    not print as a 0 F1 ("–" instead). evaluate re writes a row for every relation label, found or not."""
    return isinstance(row, dict) and row.get("support") == 0 and row.get("predicted") == 0


def _parse_mean_std(values: Any, where: str) -> MeanStd:
    if not isinstance(values, dict):
        raise CardError(f"{where}: expected an object with mean and std")
    folds = values.get("folds")
    if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or folds < 1):
        raise CardError(f"{where}.folds: expected a count of folds (an integer >= 1), got {folds!r}")
    return MeanStd(_fraction(values, "mean", where), _fraction(values, "std", where), folds)


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
    splits = obj.get("splits")
    # The splits file --docs (and k-fold's train_extra) read; the default is left out, as the user would.
    splits = f" --splits {splits}" if isinstance(splits, str) and splits != DEFAULT_SPLITS_FILE else ""
    if split == "kfold":
        docs = f" --docs {evaluation.docs}" if evaluation.docs and evaluation.docs != "all" else ""
        docs += splits + (" --no-extra" if obj.get("no_extra") is True else "")
        sets = _overrides(obj)
        # Relation folds scored end to end name the NER k-fold results whose fold models they paired with
        # (several files when the folds were run one at a time).
        ner_kfold = obj.get("ner_kfold")
        if ner_kfold:
            ner_kfold = f" --ner-kfold {ner_kfold if isinstance(ner_kfold, str) else 'NER_KFOLD'}"
        ner_kfold = ner_kfold or ""
        evaluation.fold_by_fold = bool(obj.get("merged_from"))
        return (
            f"python -m training.evaluation.evaluate {task} --kfold {evaluation.k} --config CONFIG{sets} "
            f"--data {data}{docs}{ner_kfold}"
        )
    model = obj.get("model")
    if not isinstance(model, str):
        return None
    # A file that does not record its --docs (evaluate re before it did) was named dev/test by KEY: that split's.
    docs = evaluation.docs or split
    docs = f" --docs {docs}{splits}" if docs != "all" else ""
    return f"python -m training.evaluation.evaluate {task} --model {model} --data {data}{docs}"


def _overrides(obj: dict[str, Any]) -> str:
    """The k-fold run's `--set` arguments: as recorded (`overrides`), else, for files written before they were,
    rebuilt from the config's epochs and threshold (folds train a fixed number of epochs, usually set there)."""
    recorded = obj.get("overrides")
    if isinstance(recorded, list) and all(isinstance(item, str) for item in recorded):
        return "".join(f" --set {shlex.quote(item)}" for item in recorded)
    config = obj.get("config") or {}
    return "".join(
        f" --set {key}={config[key]:g}"
        for key in ("epochs", "threshold")  # relation folds also need a fixed threshold
        if isinstance(config.get(key), (int, float)) and not isinstance(config.get(key), bool)
    )


def read_challenge(path: Path) -> ChallengeTable:
    """The per-phenomenon rows of a `training.evaluation.challenge --out` file, formatted as that command does."""
    from ..evaluation.challenge import COLUMNS, table_rows

    report = read_json(path)
    if report is None or not isinstance(report.get("phenomena"), dict):
        raise CardError(
            f"--challenge {path}: missing, or not the results of `python -m training.evaluation.challenge --out`"
        )
    try:
        rows = table_rows(report)
    except (KeyError, TypeError) as error:
        message = f"--challenge {path}: field {error} missing; run training.evaluation.challenge again"
        raise CardError(message) from error
    command = f"python -m training.evaluation.challenge --model MODEL --out {path.name}"
    return ChallengeTable(list(COLUMNS), rows, command, _scored_weights(report, f"--challenge {path}"))


def _scored_weights(results: dict[str, Any], where: str) -> list[str]:
    """The sha256 digests of the weights a results file scored (`weights`, written by the evaluations), [] where
    it records none; CardError naming `where` for a field of another shape."""
    weights = results.get("weights")
    if weights is not None and not (isinstance(weights, list) and all(isinstance(w, str) for w in weights)):
        raise CardError(f"{where}: field 'weights': expected a list of sha256 digests, got {weights!r}")
    return list(weights or [])


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


SPEED_COLUMNS = ["run", "docs/s", "tokens/s", "p50 ms/doc", "p95 ms/doc", "peak RSS MB"]


def read_speed(path: Path) -> SpeedTable:
    """The `model` rows of a `benchmarks/speed.py --json FILE` run: what a user's call costs on that machine."""
    report = read_json(path)
    model = (report or {}).get("models", {}).get("model") if isinstance(report, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("pipe"), list):
        raise CardError(f"--speed {path}: missing, or not a `benchmarks/speed.py --json` run that measured the model")
    try:
        rows = [_speed_row(run) for run in model["pipe"]]
        machine = _speed_machine(report["machine"], model)
    except (KeyError, TypeError, ValueError) as error:
        raise CardError(f"--speed {path}: field {error} missing or malformed; run benchmarks/speed.py again") from error
    command = str(report["machine"].get("command") or "speed.py")
    return SpeedTable(machine, f"python benchmarks/{command}", list(SPEED_COLUMNS), rows)


def _speed_row(run: dict[str, Any]) -> list[str]:
    return [
        str(run["name"]),
        _figure(run["docs_per_s"], ",.2f"),
        _figure(run["tokens_per_s"], ",.0f"),
        _figure(run["latency_p50_ms"], ",.1f"),
        _figure(run["latency_p95_ms"], ",.1f"),
        _figure(run.get("peak_mb"), ",.0f"),
    ]


def _threads(count: int) -> str:
    return f"{count} torch thread" + ("" if count == 1 else "s")


def _figure(value: Any, spec: str) -> str:
    """A measured number, or "–" where the run has none (speed.py writes NaN for a row without latencies)."""
    if value is None:
        return "–"
    number = float(value)
    return "–" if math.isnan(number) else format(number, spec)


def _speed_machine(info: dict[str, Any], model: dict[str, Any]) -> str:
    load = info.get("load_average")
    parts = [
        f"{info['date'][:10]}, {info['cpu']} ({info['cores']} cores, {_threads(int(info['torch_threads']))})",
        f"torch {info['torch']}, device {info.get('gpu') or 'cpu'}, {model.get('dtype', 'fp32')}",
        f"{int(model['docs'])} documents, {int(model['tokens']):,} subword tokens",
    ]
    if isinstance(load, list) and load:
        parts.append("load average at the start " + " ".join(f"{float(x):.2f}" for x in load))
    return "; ".join(parts)
