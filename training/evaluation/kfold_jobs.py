"""Jobs (for training.fit.jobs) that run a NER + relation k-fold with one process per fold, then gather it.

    python -m training.evaluation.kfold_jobs --plan configs/gpu_plan.yaml --out jobs.json

A plan lists the final models to train and the k-fold variants to compare; each variant trains
its NER folds and relation folds as separate processes (a GPU holds them all at once), then
`--rescore` gathers each k-fold into one results file, scored end to end with the NER folds of
the same variant (or of the variant it names in `ner_from`), and rescored under each decoding
setting the plan lists. Commands are the documented ones of training.evaluation.evaluate, so a CPU
machine can run the same plan one job at a time. The plan's `inputs` (files its jobs read that git
does not hold and no job writes) must be there: when one is not, no jobs file is written.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..data.documents import DataError
from ..data.files import check_output_file, load_documents, read_utf8
from ..fit.config import ConfigError, yaml_error
from ..fit.jobs import JobsError, check_jobs
from ..pipes import quiet_pipe
from .kfold import warn_of_test_documents
from .runs import resolve_splits, select_documents, write_out

EVALUATE = "python -m training.evaluation.evaluate"


def _text(value: Any) -> str:
    """A value as `--set` reads it: lists as YAML flow lists, None as null, booleans lower-case."""
    if isinstance(value, (list, bool)) or value is None:
        return json.dumps(value)
    return str(value)


def _sets(values: dict[str, Any]) -> str:
    return " ".join(f"--set {shlex.quote(f'{key}={_text(value)}')}" for key, value in values.items())


def _kfold(task: str, variant: dict[str, Any], plan: dict[str, Any], work: str, extra: str) -> str:
    config = variant[f"{task}_config"]
    sets = _sets(variant.get(f"{task}_set", {}))
    q = shlex.quote  # paths may hold spaces
    return (
        f"{EVALUATE} {task} --kfold {plan['k']} --config {q(str(config))} {sets} --data {q(str(plan['data']))} "
        f"--docs {q(str(plan['docs']))} --work-dir {q(f'{work}/{task}')} {extra}"
    )


def variant_jobs(name: str, variant: dict[str, Any], plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Fold jobs, then the gathering and rescoring jobs of one variant."""
    work = f"{plan['work_dir']}/{name}"
    after_base = variant.get("after", [])
    jobs: list[dict[str, Any]] = []
    tasks = [t for t in ("ner", "re") if f"{t}_config" in variant]
    for task in tasks:
        for fold in range(plan["k"]):
            out = shlex.quote(f"{work}/{task}_fold{fold}.json")
            cmd = _kfold(task, variant, plan, work, f"--fold {fold} --out {out}")
            jobs.append({"name": f"{name}.{task}{fold}", "cmd": cmd, "after": after_base})
    ner_source = variant.get("ner_from", name)
    ner_results = f"{plan['work_dir']}/{ner_source}/ner_kfold.json"
    ner_gather = f"{ner_source}.ner_kfold"
    if "ner" in tasks:
        folds = [f"{name}.ner{f}" for f in range(plan["k"])]
        gather = _kfold("ner", variant, plan, work, f"--rescore --out {shlex.quote(ner_results)}")
        jobs.append({"name": ner_gather, "cmd": gather,
                     "after": folds})  # fmt: skip
        for label, values in variant.get("ner_rescore", {}).items():
            rescored = {**variant, "ner_set": {**variant.get("ner_set", {}), **values}}
            out = shlex.quote(f"{work}/ner_kfold_{label}.json")
            cmd = _kfold("ner", rescored, plan, work, f"--rescore --out {out}")
            jobs.append({"name": f"{name}.ner_kfold_{label}", "cmd": cmd, "after": [ner_gather]})
    if "re" in tasks:
        folds = [f"{name}.re{f}" for f in range(plan["k"])]
        settings = {"": {}, **{f"_{k}": v for k, v in variant.get("re_rescore", {}).items()}}
        for label, values in settings.items():
            rescored = {**variant, "re_set": {**variant.get("re_set", {}), **values}}
            out = shlex.quote(f"{work}/re_kfold{label}.json")
            extra = f"--rescore --ner-kfold {shlex.quote(ner_results)} --out {out}"
            jobs.append({"name": f"{name}.re_kfold{label}", "cmd": _kfold("re", rescored, plan, work, extra),
                         "after": folds + [ner_gather]})  # fmt: skip
    return jobs


PLAN_KEYS = ("data", "docs", "final", "inputs", "k", "last", "setup", "variants", "work_dir")
VARIANT_KEYS = ("after", "ner_config", "ner_from", "ner_rescore", "ner_set", "re_config", "re_rescore", "re_set")


def check_keys(values: dict[str, Any], known: tuple[str, ...], where: str = "") -> None:
    """DataError for a key the plan does not read: misspelt, it was ignored (a variant ran without its settings)."""
    if unknown := [key for key in values if key not in known]:
        raise DataError(f"{where}unknown key {unknown[0]!r}; expected {', '.join(known)}")


def plan_jobs(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's `setup` and `final` jobs first (they come first in priority), then every variant's."""
    check_keys(plan, PLAN_KEYS)
    for name, variant in plan.get("variants", {}).items():
        check_keys(variant, VARIANT_KEYS, f"variants.{name}: ")
    k = plan.get("k")
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:  # k 0 made no fold job, only a gathering one
        raise DataError(f"k: expected a number of folds of at least 2, got {k!r}")
    jobs = [dict(job) for job in plan.get("setup", [])] + [dict(job) for job in plan.get("final", [])]
    variants = plan.get("variants", {})
    for name, variant in variants.items():
        source = variant.get("ner_from")
        if source is not None and ("ner_config" in variant or source not in variants):
            problem = "give ner_config or ner_from, not both" if "ner_config" in variant else "no such variant"
            raise DataError(f"variants.{name}.ner_from: {source!r}: {problem}")
        jobs.extend(variant_jobs(name, variant, plan))
    jobs.extend(dict(job) for job in plan.get("last", []))
    return jobs


def checked_jobs(path: Path, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """plan_jobs of the plan at `path`, checked as training.fit.jobs will check them (a name used twice, an
    `after` naming no earlier job): found here, not when the runner starts on a lent GPU. DataError naming
    the plan."""
    try:
        jobs = plan_jobs(plan)
        check_jobs(jobs, "the jobs it makes")
    except (DataError, JobsError) as error:
        raise DataError(f"{path}: {error}") from None
    return jobs


def missing_inputs(plan: dict[str, Any], root: Path = Path(".")) -> list[str]:
    """The plan's `inputs` (files its jobs read that no job writes and git does not hold) absent under `root`."""
    return [str(path) for path in plan.get("inputs", []) if not (root / str(path)).exists()]


def warn_of_plan_test_documents(path: Path, plan: dict[str, Any]) -> None:
    """The warning each fold job gives when the plan's `data` + `docs` hold test documents, given once here,
    where the plan can still be changed, not first in the logs of jobs on a lent GPU. Jobs pass no --splits,
    so the default splits file is read, as they read it; a `data` not here is missing_inputs' to report."""
    if not Path(str(plan["data"])).is_file():
        return
    args = argparse.Namespace(data=str(plan["data"]), docs=str(plan["docs"]), splits=None)
    resolve_splits(args)
    try:
        documents = select_documents(load_documents(args.data), args.docs, args.splits, args.data)
    except ConfigError as error:  # a misspelt split in `docs` fails every job: say so now
        raise DataError(f"{path}: {error} (the plan's docs)") from None
    warn_of_test_documents(args, documents)


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.kfold_jobs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--plan", type=Path, required=True, help="YAML plan (see configs/gpu_plan.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="jobs JSON for python -m training.fit.jobs")
    args = parser.parse_args(argv)
    try:
        check_output_file(args.out, [args.plan])
        plan = yaml.safe_load(read_utf8(args.plan, "plan file"))
        if not isinstance(plan, dict):
            raise DataError(f"{args.plan}: expected a YAML mapping with k, data, docs, work_dir and variants")
        jobs = checked_jobs(args.plan, plan)
        missing = missing_inputs(plan)
        if missing:  # found here, in seconds, not by every job on a lent GPU
            raise DataError(
                f"{args.plan}: inputs missing here: {', '.join(missing)} (bash training/build_inputs.sh makes them; "
                "they must travel with the repository)"
            )
        warn_of_plan_test_documents(args.plan, plan)
    except yaml.YAMLError as error:
        print(f"error: {yaml_error(args.plan, error)}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, AttributeError) as error:  # a missing or mistyped key of the plan
        print(f"error: {args.plan}: a key is missing or of the wrong kind ({type(error).__name__}: {error})",
              file=sys.stderr)  # fmt: skip
        return 2
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if write_out(args.out, jobs, "jobs"):  # renamed into place: a jobs runner never reads half a file
        return 1
    print(f"{len(jobs)} jobs -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
