"""Model cards from data: `CardData` is filled from a model directory and evaluation JSON, then rendered.

    card = build_card_data("outputs/model", ["results/ner_test.json", "re.test=results/re_test.json"])
    text = render_card(card)   # Hugging Face YAML front matter + markdown (templates/model_card.md)

Everything the card states comes from files: the labels from the models' `config.json`, their
definitions from SCHEMA.md, the training commands and settings from the `training_config.yaml`
saved beside each model, sizes from `training_metrics.json` and the data files the config names,
the base encoder's text and licences from `pretrain_data.json` beside a local base, and every
score from the results JSON. What no file says is written as "not measured" or "unknown".
The results JSON it reads: training.release.card_results.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from viextract.card import REPO_ID_PLACEHOLDER, choose_licence, provenance_licences

from ..data.stats import counts_line
from .card_data import (
    CONFIG_FILENAME,
    DEFAULT_DATASET,
    RECOMMENDED_BASE,
    TRAINING_METRICS_FILENAME,
    BaseInfo,
    CardData,
    CardError,
    DataSplit,
    Evaluation,
    FineTuningData,
    TrainingRun,
)
from .card_results import read_ablation, read_challenge, read_results, read_speed
from .card_sources import (
    base_info,
    data_splits,
    describe_decoding_tables,
    find_schema,
    fine_tuning_data,
    label_infos,
    labels_of,
    model_parts,
    model_shape,
    model_size,
    read_json,
    recorded_splits,
    schema_version,
    training_run,
    weights_digests,
)
from .provenance import USER_DATA_LICENCE

logger = logging.getLogger(__name__)


def choose_license(base: BaseInfo) -> tuple[str, str]:
    """A licence id the Hub accepts, and why: viextract.card.choose_licence, the rule save_pretrained's card uses."""
    return choose_licence(base.licences)


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
    speed: str | Path | None = None,
) -> CardData:
    """Fill a CardData from a model directory (`ner/` + optional `re/`, or bare NER) and results files.

    `ablation` holds `TASK=FILE` dev results of the same fine-tuning from a random-init base;
    `challenge` the JSON of `python -m training.evaluation.challenge --out FILE`; `speed` the JSON of
    `python benchmarks/speed.py --json FILE` run on this model.
    """
    model_dir = Path(model_dir)
    ner_dir, re_dir, ner_config, re_config = read_model_configs(model_dir)
    entity_names = labels_of(ner_config, relation=False)
    relation_names = labels_of(re_config, relation=True) if re_config else []
    schema = find_schema(schema_path)
    entity_labels, relation_labels = label_infos(entity_names, relation_names, schema)
    training, ner_train_config, re_train_config = training_runs(model_dir, ner_dir, re_dir)

    base = base_info(ner_train_config or re_train_config, ner_config, base_model, base_dir, model_dir)
    settings = ner_config.get("viextract") if isinstance(ner_config.get("viextract"), dict) else {}
    fine_tuning = fine_tuning_data([ner_train_config, re_train_config], settings)
    if fine_tuning.user_files:  # a record written before user files were told apart calls them the project's
        base.licences = sorted({*base.licences, USER_DATA_LICENCE})
    if re_config is not None:  # the relation model's own record: fine-tuned from another base, it kept that licence
        base.licences = sorted({*base.licences, *provenance_licences(re_config)})
    chosen_license, license_reason = choose_license(base)
    if license is not None:
        chosen_license, license_reason = license, "chosen by the publisher"

    digests = weights_digests(model_dir)
    evaluations = model_evaluations(results, model_dir, has_relations=re_dir is not None, digests=digests)

    segmenter = str(settings.get("segmenter") or (ner_train_config or {}).get("segmenter") or "unknown")
    name = model_name or (repo_id.split("/")[-1] if repo_id else model_dir.resolve().name)
    tags = ["viextract", "token-classification", "ner", "vietnamese", "phobert", "roberta"]
    if re_dir is not None:
        tags.insert(3, "relation-extraction")
    if not datasets:  # the project's dataset id names only the project's corpus
        datasets = [DEFAULT_DATASET] if fine_tuning.project_only else []
    # What training recorded wins: the files may have changed since, and then the card says so.
    recorded = recorded_splits(read_json(ner_dir / TRAINING_METRICS_FILENAME))
    today = data_splits(ner_train_config or re_train_config)
    card = CardData(
        model_name=name,
        repo_id=repo_id or REPO_ID_PLACEHOLDER,
        base=base,
        license=chosen_license,
        license_reason=license_reason,
        datasets=list(datasets),
        entity_labels=entity_labels,
        relation_labels=relation_labels,
        training=training,
        data=recorded or today,
        evaluations=evaluations,
        shape=model_shape(ner_dir, ner_config),
        segmenter=segmenter,
        credits=[],
        limitations=[],
        retrain_commands=[],
        library_name=library_name,
        tags=tags,
        decoding_tables=describe_decoding_tables(settings),
        fine_tuning=fine_tuning,
    )
    card.retrain_commands = [
        f"viextract train {task} --config configs/{task}.yaml --set base_model={RECOMMENDED_BASE}"
        for task in (("ner", "re") if re_dir is not None else ("ner",))
    ]
    card.ablation = read_ablation(ablation)
    card.challenge = read_challenge(Path(challenge)) if challenge is not None else None
    if card.challenge is not None and not set(card.challenge.weights) <= set(digests.values()):
        raise CardError(
            f"--challenge {challenge}: scores of other weights than {model_dir} holds now (its field 'weights'; "
            f"retrained, converted or saved over since); nothing was written. Score it again: python -m "
            f"training.evaluation.challenge --model {model_dir} --out {challenge}"
        )
    card.speed = read_speed(Path(speed)) if speed is not None else None
    card.size_mb, card.storage = model_size(model_dir)
    card.weights_sha256 = digests
    card.schema_version = schema_version(schema)
    card.limitations = _limitations(card) + _changed_data(recorded, today)
    card.credits = _credits(card)
    return card


def read_model_configs(model_dir: Path) -> tuple[Path, Path | None, dict[str, Any], dict[str, Any] | None]:
    """(ner dir, re dir or None, their config.json contents); a missing or broken config is a CardError."""
    if not model_dir.is_dir():
        raise CardError(f"{model_dir}: no such model directory")
    ner_dir, re_dir = model_parts(model_dir)
    ner_config = read_json(ner_dir / "config.json")
    if ner_config is None:
        raise CardError(f"{ner_dir / 'config.json'}: missing or not a JSON object")
    re_config = read_json(re_dir / "config.json") if re_dir is not None else None
    if re_dir is not None and re_config is None:
        raise CardError(f"{re_dir / 'config.json'}: missing or not a JSON object")
    return ner_dir, re_dir, ner_config, re_config


def training_runs(
    model_dir: Path, ner_dir: Path, re_dir: Path | None
) -> tuple[list[TrainingRun], dict[str, Any] | None, dict[str, Any] | None]:
    """The training runs saved beside each model, and the NER and relation training configs (None if absent)."""
    training: list[TrainingRun] = []
    ner_run, ner_train_config = training_run("ner", ner_dir, "ner/" if ner_dir != model_dir else "")
    if ner_run is not None:
        training.append(ner_run)
    re_train_config = None
    if re_dir is not None:
        re_run, re_train_config = training_run("re", re_dir, "re/")
        if re_run is not None:
            training.append(re_run)
    if not training:
        logger.warning("%s: no %s beside the model: training commands and data are unknown", ner_dir, CONFIG_FILENAME)
    return training, ner_train_config, re_train_config


def model_evaluations(
    results: list[str] | tuple[str, ...], model_dir: Path, has_relations: bool, digests: dict[str, str] | None = None
) -> dict[str, dict[str, Evaluation | None]]:
    """The results files read per task and split; relation scores are dropped for a model without re/.
    CardError for scores of other weights than `model_dir` holds (`digests`, its weights_digests)."""
    evaluations = read_results(list(results))
    if not has_relations and any(evaluations["re"].values()):
        logger.warning("the results hold relation scores but %s has no re/ model: they are left out", model_dir)
    if not has_relations:
        del evaluations["re"]
    _check_scored_weights(evaluations, model_dir, weights_digests(model_dir) if digests is None else digests)
    _warn_other_model(evaluations, model_dir)
    return evaluations


def _check_scored_weights(
    evaluations: dict[str, dict[str, Evaluation | None]], model_dir: Path, digests: dict[str, str]
) -> None:
    """CardError when a results file records weights `model_dir` no longer holds: it was evaluated, then
    retrained or saved over in the same folder, and the card showed the old scores as the new weights'.
    A file that records none (written before evaluate recorded them) is not checked."""
    current = set(digests.values())
    for by_split in evaluations.values():
        for evaluation in by_split.values():
            if evaluation is None or not evaluation.weights or set(evaluation.weights) <= current:
                continue
            again = f": {evaluation.command} --out {evaluation.source}" if evaluation.command else ""
            raise CardError(
                f"{evaluation.source}: {evaluation.task} {evaluation.split} scores of other weights than {model_dir} "
                f"holds now (its field 'weights'; retrained, converted or saved over since it was evaluated); "
                f"nothing was written. Evaluate it again{again}"
            )


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
        out.append(
            f"The encoder is a PhoBERT-architecture base ({shape}"
            + (f", {_count(size)} parameters" if size else "")
            + f") {card.base.described}, not `{RECOMMENDED_BASE}`: a PhoBERT-base fine-tune may score higher. "
            f"To compare, retrain on `{RECOMMENDED_BASE}` (commands below)."
        )
    train_docs = sum(s.documents for s in card.data if s.name == "train")
    if train_docs and card.fine_tuning.project_only:
        out.append(
            f"Trained on {train_docs} annotated news articles"
            + (" plus sentences written for training" if any(s.name == "train (extra)" for s in card.data) else "")
            + "; dev and test are one article each, so a single score moves by several points with one entity."
        )
    elif train_docs:
        out.append(f"Trained on {train_docs} annotated documents (the training data table above).")
    silver = sum(s.documents for s in card.data if s.name == "train (silver)")
    if silver:
        out.append(
            f"The NER model also learned from {silver:,} machine-labelled documents: sentences labelled by viextract's "
            "rule-based weak annotator (training.weak.silver), and spelling variants of annotated text "
            "(training.weak.variants), whichever the silver rows above hold; the first share some of the rules' blind "
            "spots: names missing from their gazetteers were trained as O there."
        )
    if card.fine_tuning.project_only:
        out.append(
            "Domain: Vietnamese news about diplomacy, defence and border cooperation (mostly Vietnam-Laos). "
            "Other domains, informal text and text without diacritics are untested."
        )
    else:
        out.append("Domain: that of the fine-tuning data (see Credits and licences); other text is untested.")
    out.append(
        f"Words come from the `{card.segmenter}` segmenter; an entity boundary that falls inside a segmenter word "
        "cannot be found exactly. Entities are flat (no nesting)."
    )
    if card.has_relations:
        out.append("Relations are only predicted between two entities of one sentence, one label per ordered pair.")
    return out


def _changed_data(recorded: list[DataSplit], now: list[DataSplit]) -> list[str]:
    """A limitation for each training file whose counts differ from those recorded when the model trained."""
    current = {(split.name, split.source): split for split in now}
    out = []
    for split in recorded:
        later = current.get((split.name, split.source))
        then = (split.documents, split.entities, split.relations)
        now = None if later is None else (later.documents, later.entities, later.relations)
        if now is None or now == then:
            continue
        out.append(
            f"Trained on `{split.source}` as it stood then ({counts_line(*then)}); it has changed since (now "
            f"{counts_line(*now)}), so retraining from today's files gives a different model."
        )
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
    return out + fine_tuning_credits(card.fine_tuning)


def fine_tuning_credits(data: FineTuningData) -> list[str]:
    """What the card says of the fine-tuning text: the project's corpus only where the model read it."""
    out = []
    if data.project:
        out.append(
            "Fine-tuning data: Vietnamese news articles annotated for viextract by two independent passes, "
            "reconciled (data/README.md in the viextract repository), and sentences written by the viextract team."
        )
    if data.user_files:
        out.append(
            f"Fine-tuning data: {', '.join(f'`{file}`' for file in data.user_files)}, the publisher's own files; "
            "their licence is not recorded here: it is the publisher's to state."
        )
    if not data.project and not data.user_files:
        out.append("Fine-tuning data: not recorded (no training config or provenance beside the model).")
    return out
