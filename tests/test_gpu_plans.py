"""The GPU plans in configs/ expand to jobs whose every command and config key is valid here.

A GPU machine is lent for minutes: a misspelt key found there costs the run, so it is found here.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from training.evaluation import evaluate
from training.evaluation import relations as evaluate_re
from training.evaluation.kfold_jobs import main as plan_main
from training.evaluation.kfold_jobs import plan_jobs
from training.fit import train
from training.fit.jobs import load_jobs
from training.pretraining import mlm, truncate

REPO = Path(__file__).resolve().parents[1]
PLANS = sorted((REPO / "configs").glob("gpu_*.yaml"))


def module_args(cmd: str) -> tuple[str, list[str]]:
    """(module, its arguments) of `python[3] -m MODULE ARGS...`."""
    words = shlex.split(cmd)
    assert words[0] in ("python", "python3") and words[1] == "-m", cmd
    return words[2], words[3:]


def check_command(cmd: str) -> tuple[list[str], list[str]]:
    """Parse `cmd` and load its config (unknown keys and wrong types raise); (paths it reads, paths it writes)."""
    module, argv = module_args(cmd)
    if module == "viextract.storage":  # expand|int8 SOURCE TARGET
        return [argv[-2]], [argv[-1]]
    if module == "training.pretraining.truncate":
        args = truncate.build_parser().parse_args(argv)
        return [args.base], [args.out]
    if module == "training.evaluation.evaluate":
        # `evaluate re` hands its arguments to the relation evaluation's own parser, as main() does.
        parser = evaluate_re.build_parser() if argv[:1] == ["re"] else evaluate.build_parser()
        args = parser.parse_args(argv[1:] if argv[:1] == ["re"] else argv)
        config_class = train.task_module(argv[0]).CONFIG_CLASS
    elif module == "training.fit.train":
        args = train.build_parser().parse_args(argv)
        config_class = train.task_module(args.task).CONFIG_CLASS
    elif module == "training.pretraining.mlm":
        args = mlm.build_parser().parse_args(argv)
        config_class = mlm.PretrainConfig
    else:
        raise AssertionError(f"no check for {module}: {cmd}")
    config = config_class.load(REPO / args.config, args.overrides)  # unknown keys and wrong types raise here
    reads = [str(args.config)]
    if module == "training.pretraining.mlm":
        reads += [p for p in (config.init_from, config.text_file, config.heldout_text_file) if p]
        reads += [config.ud_dir] if config.ud_parts or config.ud_heldout_parts else []
        return reads, [config.output_dir]
    reads += [config.base_model, *config.silver_files, *config.train_files, *config.dev_files]
    reads += [config.splits_file] if config.splits_file else []
    if module == "training.fit.train":
        return reads, [config.output_dir]
    reads += [str(args.data)] + ([str(args.ner_kfold)] if getattr(args, "ner_kfold", None) else [])
    reads += [args.work_dir] if args.rescore else []  # the fold models the fold jobs wrote
    return reads, [args.work_dir, str(args.out)]


def _under(path, folders) -> bool:
    """`path` is one of `folders` or inside one."""
    return any(Path(path) == Path(f) or Path(f) in Path(path).parents for f in folders)


@pytest.mark.parametrize("plan_path", PLANS, ids=lambda p: p.name)
def test_every_job_of_the_plan_parses_and_loads_its_config(plan_path, tmp_path):
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    jobs = plan_jobs(plan)
    assert jobs
    (tmp_path / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    load_jobs(tmp_path / "jobs.json")  # unique names, dependencies on earlier jobs only
    for job in jobs:
        check_command(job["cmd"])


@pytest.mark.parametrize("plan_path", PLANS, ids=lambda p: p.name)
def test_every_file_a_job_reads_travels_or_an_earlier_job_writes_it(plan_path):
    """On the GPU machine there is the repository, the plan's `inputs` and what the jobs write: a job that
    reads anything else (a file of the development machine only, ../shared) or a file of a job it does not
    wait for fails there."""
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    inputs = [str(path) for path in plan["inputs"]]
    assert all(path.startswith("outputs/") for path in inputs), inputs  # git holds the rest
    writes: dict[str, list[str]] = {}
    before: dict[str, set[str]] = {}  # every job a job waits for, directly or not
    for job in plan_jobs(plan):
        reads, written = check_command(job["cmd"])
        writes[job["name"]] = [str(path) for path in written]
        before[job["name"]] = set(job.get("after", [])).union(*(before[a] for a in job.get("after", [])))
        written_before = [w for name in before[job["name"]] for w in writes[name]]
        for path in map(str, reads):
            if _under(path, inputs) or _under(path, written_before):
                continue
            assert not path.startswith("outputs/"), f"{job['name']} reads {path}: no input, no job it waits for"
            assert (REPO / path).exists() and ".." not in Path(path).parts, f"{job['name']} reads {path}"


def test_an_absent_input_stops_the_plan_before_any_job(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("k: 2\ndata: d.jsonl\ndocs: train\nwork_dir: w\ninputs: [no/such/base]\nvariants: {}\n")
    assert plan_main(["--plan", str(plan), "--out", str(tmp_path / "jobs.json")]) == 2
    assert "inputs missing here: no/such/base" in capsys.readouterr().err
    assert not (tmp_path / "jobs.json").exists()


def test_the_check_catches_a_misspelt_key():
    from training.fit.config import ConfigError

    cmd = "python -m training.fit.train ner --config configs/bundled/ner.yaml --set learnig_rate=1e-4"
    with pytest.raises(ConfigError, match="learnig_rate"):
        check_command(cmd)


def test_a_bad_plan_is_a_one_line_error_and_the_plan_is_never_overwritten(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    out = tmp_path / "jobs.json"
    for text, message in [
        ("k: [4", "plan.yaml:1: not valid YAML: expected ',' or ']'"),
        ("", "expected a YAML mapping"),
        # k 0 wrote one gathering job and no fold job, exit 0; "4" was a TypeError.
        (
            "k: 0\nvariants: {a: {ner_config: c.yaml}}\n",
            "plan.yaml: k: expected a number of folds of at least 2, got 0",
        ),
        ("k: '4'\nvariants: {}\n", "plan.yaml: k: expected a number of folds of at least 2, got '4'"),
        ("k: 2\nvariants: {b: {re_config: r.yaml, ner_from: z}}\n", "plan.yaml: variants.b.ner_from: 'z'"),
        # A misspelt key was ignored: the variant ran without its settings, the plan without its final models.
        (
            "k: 2\nvariants: {a: {ner_config: c.yaml, ner_sett: {epochs: 3}}}\n",
            "plan.yaml: variants.a: unknown key 'ner_sett'; expected after, ner_config, ner_from",
        ),
        ("k: 2\nfianl: []\nvariants: {}\n", "plan.yaml: unknown key 'fianl'; expected data, docs, final"),
        ("k: 4\nvariants: {a: {ner_config: c.yaml}}\n", "a key is missing or of the wrong kind (KeyError"),
    ]:
        plan.write_text(text, encoding="utf-8")
        assert plan_main(["--plan", str(plan), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert plan_main(["--plan", str(plan), "--out", str(plan)]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert plan.read_text(encoding="utf-8").startswith("k: 4") and not out.exists()


def test_paths_with_spaces_are_quoted_and_ner_from_must_name_another_variant():
    import shlex

    from training.data.documents import DataError

    plan = {"k": 2, "data": "my data/corpus.jsonl", "docs": "train,dev", "work_dir": "my out",
            "variants": {"a": {"ner_config": "c d.yaml"}}}  # fmt: skip
    for job in plan_jobs(plan):
        argv = shlex.split(job["cmd"])
        assert "my data/corpus.jsonl" in argv and "c d.yaml" in argv, argv
        assert any(arg.startswith("my out/a/") for arg in argv), argv
    both = {**plan, "variants": {"a": {"ner_config": "c.yaml"}, "b": {"ner_config": "c.yaml", "ner_from": "a"}}}
    with pytest.raises(DataError, match="variants.b.ner_from: 'a': give ner_config or ner_from, not both"):
        plan_jobs(both)
    with pytest.raises(DataError, match="variants.b.ner_from: 'z': no such variant"):
        plan_jobs({**plan, "variants": {"b": {"re_config": "r.yaml", "ner_from": "z"}}})


def test_a_jobs_file_that_cannot_be_written_is_one_line_and_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    """A full disk or read-only folder was an OSError traceback, and the jobs file was written in place."""
    import errno

    plan = tmp_path / "plan.yaml"
    plan.write_text("k: 2\ndata: d.jsonl\ndocs: train\nwork_dir: w\nvariants: {a: {ner_config: c.yaml}}\n")
    out = tmp_path / "jobs.json"
    out.write_text("[]\n", encoding="utf-8")

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    assert plan_main(["--plan", str(plan), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {out}: cannot write the jobs (No space left on device)\n" and not captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.json", "plan.yaml"]
    assert out.read_text(encoding="utf-8") == "[]\n"


def test_jobs_the_runner_would_refuse_are_found_when_the_plan_is_expanded(tmp_path, capsys):
    """A relation variant without NER folds, a setup job named like a fold job or a variant name with a space
    wrote a jobs file that training.fit.jobs refused only once started (on a lent GPU)."""
    head = "k: 2\ndata: d.jsonl\ndocs: train\nwork_dir: w\n"
    cases = [
        ("variants: {a: {re_config: r.yaml}}", "'a.re_kfold': 'after' names ['a.ner_kfold'], not earlier jobs"),
        ("setup: [{name: a.ner0, cmd: 'true'}]\nvariants: {a: {ner_config: n.yaml}}", "name 'a.ner0' is used twice"),
        ("variants: {'a b': {ner_config: n.yaml}}", "job 0: name: 'a b.ner0' is not a name"),
    ]
    plan, out = tmp_path / "plan.yaml", tmp_path / "jobs.json"
    for text, message in cases:
        plan.write_text(head + text + "\n", encoding="utf-8")
        assert plan_main(["--plan", str(plan), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {plan}: the jobs it makes: ") and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_a_plan_whose_folds_hold_test_documents_is_warned_of_when_it_is_made(tmp_path, monkeypatch, caplog):
    """The k-fold warning that the folds hold the test split came only in each fold job's log, on a lent GPU."""
    import shutil

    (tmp_path / "data").mkdir()
    for name in ("corpus.jsonl", "splits.json"):
        shutil.copy(REPO / "data" / name, tmp_path / "data" / name)
    monkeypatch.chdir(tmp_path)  # jobs read the default data/splits.json where they run
    head = "k: 2\ndata: data/corpus.jsonl\nwork_dir: w\nvariants: {a: {ner_config: c.yaml}}\n"
    for docs, warned in [("train,dev", False), ("train,test", True), ("all", True)]:
        (tmp_path / "plan.yaml").write_text(f"{head}docs: {docs}\n", encoding="utf-8")
        caplog.clear()
        assert plan_main(["--plan", "plan.yaml", "--out", "jobs.json"]) == 0
        assert ("the folds hold 1 document of the test split of data/splits.json" in caplog.text) == warned, docs
    (tmp_path / "plan.yaml").write_text(f"{head}docs: trian\n", encoding="utf-8")
    assert plan_main(["--plan", "plan.yaml", "--out", "jobs.json"]) == 2
