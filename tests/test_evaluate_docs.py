"""`evaluate --data FILE --docs SPLITS`: ids from the splits file, documents from FILE; k-fold checks every fold first.

No model is trained or loaded here: training and scoring are replaced by recorders, so what is
tested is which documents each step gets and which errors stop a run before any fold trains.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from tests.fakes import install_silent_relation_model, silent_ner_extractor
from training.data.files import load_documents, write_documents
from training.evaluation.kfold import make_folds
from viextract.labels import ENTITY_LABELS

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus.jsonl"

EVENT_FREE = ("000_9365acc0a8d45d5b", "002_79f7865e023c2156")  # the corpus documents without an EVENT
WITH_EVENT = "004_c7fd43ec24ea10e9"


@pytest.fixture(scope="module")
def corpus():
    return load_documents(CORPUS)


def write_docs(path: Path, docs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        write_documents(docs, handle)
    return path


def user_data(tmp_path: Path, corpus, splits: dict) -> tuple[Path, Path]:
    """A user's own data file (not corpus.jsonl) and a splits file in another folder, with no corpus.jsonl."""
    data = write_docs(tmp_path / "mine" / "all.jsonl", corpus)
    splits_file = tmp_path / "my" / "splits.json"
    splits_file.parent.mkdir(exist_ok=True)
    splits_file.write_text(json.dumps(splits, indent=2), encoding="utf-8")
    return data, splits_file


def corpus_splits(corpus, **extra) -> dict:
    ids = [doc.id for doc in corpus]
    return {"train": ids[:3], "dev": ids[3:4], "test": ids[4:], **extra}


def run_ner(monkeypatch, argv: list[str]) -> dict:
    """`evaluate ner` up to its results, the model's scoring replaced by the ids it was given."""
    import training.evaluation.evaluate as evaluate

    monkeypatch.setattr(evaluate, "evaluate_model_dir", lambda model, docs, *a, **k: {"scored": [d.id for d in docs]})
    return evaluate._run(evaluate.build_parser().parse_args(["ner", *argv]))


def run_re(monkeypatch, argv: list[str]) -> dict:
    import training.evaluation.relations as relations

    monkeypatch.setattr(relations, "evaluate", lambda model, docs, *a, **k: {"scored": [d.id for d in docs]})
    return relations._run(relations.build_parser().parse_args(argv))


@pytest.mark.parametrize("task", ["ner", "re"])
def test_docs_takes_ids_from_the_splits_file_and_documents_from_data(task, tmp_path, corpus, monkeypatch):
    data, splits = user_data(tmp_path, corpus, corpus_splits(corpus))
    run = run_ner if task == "ner" else run_re
    common = ["--model", str(tmp_path), "--data", str(data), "--splits", str(splits)]
    ids = [doc.id for doc in corpus]
    assert run(monkeypatch, [*common, "--docs", "dev"])["scored"] == ids[3:4]
    assert run(monkeypatch, [*common, "--docs", "train,dev"])["scored"] == ids[:4]  # in the data file's order
    assert run(monkeypatch, [*common, "--docs", "test"])["scored"] == ids[4:]
    assert run(monkeypatch, [*common, "--docs", "all"])["scored"] == ids
    assert run(monkeypatch, common)["scored"] == ids
    assert not (splits.parent / "corpus.jsonl").exists()


@pytest.mark.parametrize("task", ["ner", "re"])
def test_docs_without_a_splits_file_says_which_flag_gives_one(task, tmp_path, corpus, monkeypatch):
    # Outside a checkout it said only "data/splits.json: no such splits file", a file the user never named.
    from training.data.documents import DEFAULT_SPLITS_FILE, DataError

    data, _ = user_data(tmp_path, corpus, corpus_splits(corpus))
    monkeypatch.chdir(tmp_path)
    run = run_ner if task == "ner" else run_re
    with pytest.raises(DataError) as caught:
        run(monkeypatch, ["--model", str(tmp_path), "--data", str(data), "--docs", "test"])
    assert str(caught.value) == (
        f"--splits: {DEFAULT_SPLITS_FILE}: no such splits file (the default, a viextract checkout's); --docs test "
        f"takes its ids from one: give yours with --splits FILE, or --docs all for every document of {data}"
    )


@pytest.mark.parametrize("task", ["ner", "re"])
@pytest.mark.parametrize("docs", ["", " ", ","])
def test_docs_that_name_no_split_are_refused_rather_than_read_as_all(task, docs, tmp_path, corpus, monkeypatch):
    # `--docs "$SPLIT"` with SPLIT unset scored every document, training ones included, as if it were `all`.
    from training.fit.config import ConfigError

    data, splits = user_data(tmp_path, corpus, corpus_splits(corpus))
    run = run_ner if task == "ner" else run_re
    with pytest.raises(ConfigError, match="--docs: .* names no split"):
        run(monkeypatch, ["--model", str(tmp_path), "--data", str(data), "--splits", str(splits), "--docs", docs])


@pytest.mark.parametrize("task", ["ner", "re"])
def test_a_results_file_records_its_docs_and_document_ids(task, tmp_path, corpus, monkeypatch):
    # `evaluate re` recorded neither: a card then claimed `--docs dev` for a run over a whole file of the user's.
    data, splits = user_data(tmp_path, corpus, corpus_splits(corpus))
    run = run_ner if task == "ner" else run_re
    common = ["--model", str(tmp_path), "--data", str(data)]
    whole = run(monkeypatch, common)
    assert (whole["task"], whole["docs"], whole["document_ids"]) == (task, "all", [doc.id for doc in corpus])
    dev = run(monkeypatch, [*common, "--splits", str(splits), "--docs", "dev"])
    assert (dev["docs"], dev["document_ids"], dev["splits"]) == ("dev", [corpus[3].id], str(splits))


@pytest.mark.parametrize("task", ["ner", "re"])
def test_an_id_the_data_file_lacks_names_both_files_and_the_id(task, tmp_path, corpus, capsys):
    from training.evaluation.evaluate import main

    splits = corpus_splits(corpus)
    splits["dev"] = [*splits["dev"], "ghost"]
    data, splits_file = user_data(tmp_path, corpus, splits)
    argv = [task, "--model", str(tmp_path), "--data", str(data), "--splits", str(splits_file), "--docs", "dev"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    line = 1 + splits_file.read_text(encoding="utf-8").split("\n").index('    "ghost"')
    assert err == f"error: {splits_file}:{line}: dev: document 'ghost' is not in {data}\n"


@pytest.mark.parametrize("task", ["ner", "re"])
def test_a_data_file_with_no_document_is_refused_before_the_model_loads(task, tmp_path, monkeypatch, capsys):
    # An empty (or blank) --data scored nothing, printed a table of zeros, wrote --out and exited 0: a wrong
    # file, or one cut short, read as a model that found nothing. --kfold stopped, but on "0 documents" folds.
    import training.evaluation.evaluate as evaluate
    import training.evaluation.relations as relations
    from training.evaluation.evaluate import main

    def scored(model, docs, *args, **kwargs):
        return {"scored": [doc.id for doc in docs]}

    monkeypatch.setattr(evaluate, "evaluate_model_dir", scored)
    monkeypatch.setattr(relations, "evaluate", scored)
    monkeypatch.setattr(evaluate, "format_results", lambda results: "")
    monkeypatch.setattr(relations, "format_report", lambda results: "")
    monkeypatch.setattr("viextract.loading.resolve_model_dir", lambda model: model)
    data = tmp_path / "empty.jsonl"
    data.write_text("\n  \n", encoding="utf-8")
    out = tmp_path / "scores.json"
    assert main([task, "--model", str(tmp_path), "--data", str(data), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {data}: no documents (empty file)\n"
    assert not out.exists()


def test_the_project_corpus_and_splits_still_select_by_split(monkeypatch):
    ids = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    argv = ["--model", "m", "--data", str(CORPUS), "--splits", str(REPO / "data" / "splits.json"), "--docs", "dev,test"]
    scored = run_ner(monkeypatch, argv)["scored"]
    assert scored == [*ids["dev"], *ids["test"]]


def kfold_config(tmp_path: Path, **values) -> Path:
    path = tmp_path / "ner_tiny.yaml"
    path.write_text(yaml.safe_dump({"base_model": "unused", "output_dir": str(tmp_path / "kf"), **values}))
    return path


def fake_fold_scores(*args, **kwargs) -> dict:
    level = {"micro": {"precision": 1.0, "recall": 1.0, "f1": 1.0}, "per_label": {}}
    return {"words": level, "chars": level}


def record_training(monkeypatch, module: str) -> list[tuple[list[str], str]]:
    """Replace `module.train_documents` by a recorder of (training document ids, source); scoring by a constant."""
    import importlib

    import training.evaluation.ner as evaluation_ner
    import training.evaluation.relations as evaluation_re

    calls: list[tuple[list[str], str]] = []

    def train_documents(config, train, dev, *args, source=None, **kwargs):
        calls.append(([doc.id for doc in train], source))
        return Path(config.output_dir)

    monkeypatch.setattr(importlib.import_module(module), "train_documents", train_documents)
    monkeypatch.setattr(evaluation_ner, "evaluate_model_dir", fake_fold_scores)
    relation_scores = {"relations_gold_entities": fake_fold_scores()["words"]}
    monkeypatch.setattr(evaluation_re, "evaluate", lambda *a, **k: relation_scores)
    return calls


def test_kfold_folds_are_the_docs_of_data_and_train_extra_joins_every_fold(tmp_path, corpus, monkeypatch, capsys):
    from training.evaluation.evaluate import main

    # The user's train_extra file, relative to the folder above the splits file's (as data/splits.json's are).
    extra = write_docs(tmp_path / "my" / "extra.jsonl", [dataclasses.replace(corpus[4], id="extra-1")])
    data, splits = user_data(tmp_path, corpus, corpus_splits(corpus, train_extra=["my/extra.jsonl"]))
    calls = record_training(monkeypatch, "training.fit.ner")
    out = tmp_path / "kfold.json"
    argv = ["ner", "--kfold", "2", "--config", str(kfold_config(tmp_path)), "--data", str(data)]
    assert main([*argv, "--splits", str(splits), "--docs", "train,dev", "--out", str(out)]) == 0, capsys.readouterr()
    results = json.loads(out.read_text(encoding="utf-8"))
    train_dev = [doc.id for doc in corpus[:4]]
    assert results["document_ids"] == train_dev and results["extra_train_documents"] == 1
    assert sorted(i for fold in results["folds"] for i in fold["test_ids"]) == sorted(train_dev)
    assert len(calls) == 2
    for (trained, source), fold in zip(calls, results["folds"]):
        assert sorted(trained) == sorted({*train_dev} - {*fold["test_ids"]} | {"extra-1"})
        assert f"--data {data} --docs train,dev and 1 train_extra documents of {splits}" in source
    assert extra.is_file() and corpus[4].id not in {i for trained, _ in calls for i in trained}  # test: never


def test_kfold_on_a_users_data_without_splits_leaves_out_the_projects_train_extra(
    tmp_path, corpus, monkeypatch, caplog
):
    """data/splits.json's train_extra are the project's written documents: not silently the user's folds'."""
    from training.evaluation.evaluate import main

    data, _ = user_data(tmp_path, corpus, corpus_splits(corpus))
    calls = record_training(monkeypatch, "training.fit.ner")
    out = tmp_path / "kfold.json"
    monkeypatch.chdir(REPO)  # where data/splits.json, the default, lies
    argv = ["ner", "--kfold", "2", "--config", str(kfold_config(tmp_path)), "--data", str(data), "--out", str(out)]
    assert main(argv) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["extra_train_documents"] == 0
    assert {i for trained, _ in calls for i in trained} <= {doc.id for doc in corpus}
    assert "the train_extra files of data/splits.json (the project's, not yours) are not added" in caplog.text


def doomed_in_last_fold(ids: list[str], k: int, doomed: str) -> int:
    """A seed whose last fold holds out `doomed`: the fold that loses its label trains after the others."""
    return next(seed for seed in range(100) if doomed in make_folds(ids, k, seed)[-1])


def test_kfold_checks_every_folds_labels_before_any_fold_trains(tmp_path, corpus, monkeypatch, capsys):
    from training.evaluation.evaluate import main

    docs = [doc for doc in corpus if doc.id in (*EVENT_FREE, WITH_EVENT)]
    data = write_docs(tmp_path / "my" / "all.jsonl", docs)
    seed = doomed_in_last_fold([doc.id for doc in docs], 2, WITH_EVENT)
    # The config's own train_files would be the wrong file to blame: the folds never read it.
    mine = [str(tmp_path / "my" / name) for name in ("train.jsonl", "dev.jsonl")]
    config = kfold_config(tmp_path, seed=seed, train_files=mine[:1], dev_files=mine[1:])
    calls = record_training(monkeypatch, "training.fit.ner")
    assert main(["ner", "--kfold", "2", "--config", str(config), "--data", str(data), "--no-extra"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: fold 2 of 2 (fold-1: trains on 2 documents of --data {data}): entities: ")
    assert "no training example of ['EVENT']" in err and "train.jsonl" not in err
    assert calls == [] and not (tmp_path / "kf-kfold").exists()  # no fold trained: the run failed in seconds
    # One process per fold (--fold 0, a fold with every label) fails too: the k-fold it belongs to is doomed.
    assert main(["ner", "--kfold", "2", "--config", str(config), "--data", str(data), "--no-extra", "--fold", "0"]) == 2
    assert "fold 2 of 2" in capsys.readouterr().err and calls == []
    # allow_unseen_labels trains anyway (training itself warns).
    assert main(["ner", "--kfold", "2", "--config", str(config), "--data", str(data), "--no-extra",
                 "--set", "allow_unseen_labels=true"]) == 0  # fmt: skip
    assert [source.split(" (")[0] for _, source in calls] == ["fold 1 of 2", "fold 2 of 2"]


def test_relation_kfold_checks_every_fold_has_a_relation_before_any_fold_trains(tmp_path, corpus, monkeypatch, capsys):
    from training.evaluation.evaluate import main

    docs = [dataclasses.replace(doc, relations=()) for doc in corpus[:2]] + [corpus[2]]
    data = write_docs(tmp_path / "my" / "all.jsonl", docs)
    seed = doomed_in_last_fold([doc.id for doc in docs], 2, corpus[2].id)
    config = tmp_path / "re_tiny.yaml"
    config.write_text(yaml.safe_dump({"base_model": "unused", "output_dir": str(tmp_path / "re"), "seed": seed}))
    calls = record_training(monkeypatch, "training.fit.relations")
    argv = ["re", "--kfold", "2", "--config", str(config), "--data", str(data), "--no-extra", "--set", "threshold=0.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: fold 2 of 2 (fold-1: trains on 2 documents of --data {data}): relations: no example")
    assert calls == []


def test_training_errors_name_the_fold_not_the_configs_train_files():
    from training.data.documents import DataError
    from training.fit.ner import NerConfig, check_labels_seen
    from training.fit.relations import ReConfig, sampled_examples

    where = "fold 2 of 2 (fold-1: trains on 2 documents of --data my/all.jsonl)"
    files = {"train_files": ["my/train.jsonl"], "dev_files": ["my/dev.jsonl"]}
    with pytest.raises(DataError, match=r"^fold 2 of 2 \(.*\): entities: no training example of \['PER'\]"):
        check_labels_seen([], NerConfig(entity_labels=["PER"], **files), where)
    with pytest.raises(DataError, match=r"^fold 2 of 2 \(.*\): train: no relation example"):
        sampled_examples(ReConfig(threshold=0.5, **files), [], None, where)


@pytest.mark.parametrize("task", ["ner", "re"])
@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [("--batch-size", "0", "must be a positive integer, got '0'"), ("--device", "gpu", "'gpu' is not a device")],
)
def test_a_bad_batch_size_or_device_stops_kfold_before_any_fold_trains(task, option, value, problem, tmp_path, capsys):
    # Both were tracebacks at the first prediction: with --kfold, after every fold model had trained.
    from training.evaluation.evaluate import main

    config = tmp_path / "config.yaml"
    config.write_text(f"task: {task}\noutput_dir: {tmp_path / 'model'}\n", encoding="utf-8")
    argv = [task, "--data", str(CORPUS), "--kfold", "2", "--config", str(config), option, value]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert f"argument {option}: {problem}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("task", ["ner", "re"])
@pytest.mark.parametrize("k", ["0", "1", "-3", "two"])
def test_too_few_folds_is_a_usage_error_before_any_data_or_warning(task, k, tmp_path, monkeypatch, capsys, caplog):
    # `--kfold 1` was read as a run: the data and splits were loaded and a train_extra warning printed first.
    from training.evaluation.evaluate import main

    monkeypatch.chdir(tmp_path)  # no data/splits.json here: nothing but the arguments can be read
    with pytest.raises(SystemExit) as stopped:
        main([task, "--data", str(tmp_path / "missing.jsonl"), "--kfold", k, "--config", "missing.yaml"])
    assert stopped.value.code == 2
    assert f"argument --kfold: must be an integer of at least 2, got '{k}'" in capsys.readouterr().err
    assert caplog.text == ""


@pytest.mark.parametrize("task", ["ner", "re"])
def test_ctrl_c_during_an_evaluation_is_one_line_and_exit_130(task, tmp_path, monkeypatch, capsys):
    import training.evaluation.evaluate as evaluate
    import training.evaluation.relations as relations

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate if task == "ner" else relations, "_run", interrupted)
    out = tmp_path / "results.json"
    assert evaluate.main([task, "--data", str(CORPUS), "--model", "m", "--out", str(out)]) == 130
    assert capsys.readouterr().err == "interrupted: no results written\n"
    assert not out.exists()


@pytest.mark.parametrize("task", ["ner", "re"])
def test_a_reader_that_stops_early_does_not_cost_the_results_file(task, tmp_path, monkeypatch):
    """`evaluate ... --out r.json | head`: the table was printed first, and its broken pipe lost the results."""
    import os
    import sys

    import training.evaluation.evaluate as evaluate
    import training.evaluation.relations as relations

    module = evaluate if task == "ner" else relations
    monkeypatch.setattr(module, "_run", lambda args: {"scores": 1})
    table = "a long results table\n" * 10_000  # past stdout's buffer: printing it breaks the pipe
    monkeypatch.setattr(module, "format_results" if task == "ner" else "format_report", lambda results: table)
    out = tmp_path / "results.json"
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        assert evaluate.main([task, "--data", str(CORPUS), "--model", "m", "--out", str(out)]) == 141
        monkeypatch.undo()
    assert json.loads(out.read_text(encoding="utf-8")) == {"scores": 1}


def test_an_out_that_is_a_pipe_or_device_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    # Results are written beside --out and renamed over it: over /dev/stdout or a FIFO that replaced the
    # device or pipe by a file (as root; others got a traceback creating the file in /dev).
    import os
    import stat

    import training.evaluation.evaluate as evaluate

    monkeypatch.setattr(evaluate, "evaluate_model_dir", lambda *a, **k: pytest.fail("the model was scored"))
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    assert evaluate.main(["ner", "--data", str(CORPUS), "--model", "m", "--out", str(fifo)]) == 2
    assert f"--out: {fifo}: not a regular file (a device or pipe)" in capsys.readouterr().err
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_an_out_that_cannot_be_written_is_one_line_after_the_printed_results(tmp_path, monkeypatch, capsys):
    # A full disk at the end of a k-fold was an OSError traceback that did not say which file.
    import errno

    import training.evaluation.evaluate as evaluate

    monkeypatch.setattr(evaluate, "evaluate_model_dir", lambda model, docs, *a, **k: {})
    monkeypatch.setattr(evaluate, "format_results", lambda results: "the results table")

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    out = tmp_path / "results.json"
    assert evaluate.main(["ner", "--data", str(CORPUS), "--model", "m", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "the results table\n"
    assert captured.err == f"error: {out}: cannot write the results (No space left on device)\n"
    assert list(tmp_path.iterdir()) == []


def test_a_model_of_some_entity_types_is_scored_on_those_types(corpus, caplog):
    # Trained with entity_labels [PER, LOC] (the others as O, as its dev F1 scored it), its evaluation and k-fold
    # counted every ORG, DATE, ... gold entity as missed: the micro recall and F1 fell with types it never had.
    from training.evaluation.ner import evaluate_ner, format_results

    extractor = silent_ner_extractor(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
    docs = corpus[:1]
    scores = evaluate_ner(extractor, docs)
    kept = [e for e in docs[0].entities if e.label in ("PER", "LOC")]
    assert scores["gold_entities"] == len(kept)
    assert scores["chars"]["micro"]["support"] == scores["words"]["micro"]["support"] == len(kept)
    left_out = {}
    for entity in docs[0].entities:
        if entity.label not in ("PER", "LOC"):
            left_out[entity.label] = left_out.get(entity.label, 0) + 1
    assert scores["unscored_gold"] == left_out and left_out
    assert "not scored" in caplog.text
    # The printed tables' support leaves them out: the text says so too, not only the JSON.
    shown = ", ".join(f"{count} {label}" for label, count in sorted(left_out.items()))
    assert format_results(scores).endswith(f"Not scored, gold of labels the model does not predict: {shown}")


def test_a_model_of_some_relation_labels_is_scored_on_those_labels(corpus, tmp_path, monkeypatch, caplog):
    # Trained with relation_labels [has_title], its evaluation counted every other gold relation as missed: the
    # micro recall and F1 fell with labels it never had, unlike its dev F1.
    from training.evaluation.relations import evaluate, format_report, gold_relations

    install_silent_relation_model(monkeypatch, ["has_title"], list(ENTITY_LABELS))
    docs = corpus[:3]
    labels = [item[-1] for doc in docs for item in gold_relations(doc)]
    left_out = {label: labels.count(label) for label in set(labels) - {"has_title"}}
    report = evaluate(tmp_path, docs)
    assert report["gold_relations"] == labels.count("has_title")
    assert report["relations_gold_entities"]["micro"]["support"] == labels.count("has_title")
    assert report["unscored_gold"] == dict(sorted(left_out.items())) and left_out
    assert list(report["relations_gold_entities"]["per_label"]) == ["has_title"]
    assert "gold relations of types the model does not predict are not scored" in caplog.text
    assert "Not scored, gold of labels the model does not predict: " in format_report(report)


def test_a_relation_model_of_some_entity_types_is_scored_on_relations_between_those_types(
    corpus, tmp_path, monkeypatch, caplog
):
    # Trained with entity_labels [PER, TITLE, ORG], it never scores a pair with a LOC, DATE or EVENT (its candidates
    # and its dev F1 leave them out), yet from gold entities each such gold relation was counted a miss.
    from training.evaluation.relations import evaluate, format_report
    from viextract.labels import RELATION_LABELS

    types = ["PER", "TITLE", "ORG"]
    install_silent_relation_model(monkeypatch, list(RELATION_LABELS), types)
    docs = corpus[:3]
    kept, left_out = 0, {}
    for doc in docs:
        type_of = {e.id: e.label for e in doc.entities}
        for relation in doc.relations:
            if {type_of[relation.head], type_of[relation.tail]} <= set(types):
                kept += 1
            else:
                left_out[relation.label] = left_out.get(relation.label, 0) + 1
    assert kept and left_out
    report = evaluate(tmp_path, docs)
    assert report["gold_relations"] == report["relations_gold_entities"]["micro"]["support"] == kept
    assert report["unscored_gold_entity_types"] == dict(sorted(left_out.items()))
    assert "with a head or tail entity type the relation model does not mark" in caplog.text
    assert "Not scored, gold relations with a head or tail type its relation model does not mark: " in format_report(
        report
    )


@pytest.mark.parametrize("task", ["ner", "re"])
def test_kfold_with_too_few_documents_names_the_data_file(task, tmp_path, corpus, capsys):
    # It said "--kfold: 5 folds but only 2 documents", leaving the user to guess which file (or --docs) was short.
    from training.evaluation.evaluate import main

    data = write_docs(tmp_path / "two.jsonl", corpus[:2])
    assert main([task, "--data", str(data), "--kfold", "5", "--config", str(tmp_path / "unread.yaml")]) == 2
    assert capsys.readouterr().err == f"error: --kfold: 5 folds but only 2 documents in --data {data}\n"


def _full_model_that_finds_nothing(monkeypatch, tmp_path, relation_labels, entity_types):
    """`Extractor.from_pretrained` gives a full model (ner/ and re/ in tmp_path) that knows these labels and
    finds nothing: what the evaluation scores then depends on the labels alone."""
    from types import SimpleNamespace

    import viextract

    config = SimpleNamespace(relation_labels=relation_labels, entity_labels=list(ENTITY_LABELS), single_choice="none")
    relation_extractor = SimpleNamespace(
        config=config,
        threshold=0.5,
        model=SimpleNamespace(config=config),
        predict=lambda items, size: [[] for _ in items],
    )
    tags = ["O", *(f"{prefix}-{label}" for label in entity_types for prefix in "BI")]
    extractor = SimpleNamespace(
        relation_extractor=relation_extractor,
        segmenter="syllables",
        tagger=SimpleNamespace(labels=tags),
        pipe=lambda texts, batch_size: [SimpleNamespace(entities=[], relations=[]) for _ in texts],
    )
    monkeypatch.setattr(viextract.Extractor, "from_pretrained", lambda *a, **k: extractor)
    (tmp_path / "ner").mkdir()
    (tmp_path / "re").mkdir()


def test_a_full_models_entities_end_to_end_are_scored_on_its_ner_types(corpus, tmp_path, monkeypatch, caplog):
    # `evaluate re` on a full model whose NER knows PER and LOC counted every other gold entity as an end-to-end
    # miss, unlike `evaluate ner` on the same model.
    from training.evaluation.relations import evaluate

    _full_model_that_finds_nothing(monkeypatch, tmp_path, ["has_title"], ["PER", "LOC"])
    docs = corpus[:1]
    report = evaluate(tmp_path, docs)
    labels = [e.label for e in docs[0].entities]
    assert report["entities_end_to_end"]["micro"]["support"] == labels.count("PER") + labels.count("LOC")
    assert list(report["entities_end_to_end"]["per_label"]) == ["PER", "LOC"]
    others = {label: labels.count(label) for label in set(labels) - {"PER", "LOC"}}
    assert report["unscored_gold_entities"] == dict(sorted(others.items())) and others
    assert "gold entities of types the model does not predict are not scored" in caplog.text


def test_a_full_models_relations_end_to_end_leave_out_entity_types_its_ner_cannot_predict(
    corpus, tmp_path, monkeypatch, caplog
):
    # A full model whose NER knows PER and ORG could never find a relation to a DATE or LOC entity end to end, yet
    # each such gold relation was counted a miss in relations_end_to_end; they are left out and counted per label.
    from training.evaluation.relations import evaluate, gold_relations
    from viextract.labels import RELATION_LABELS

    _full_model_that_finds_nothing(monkeypatch, tmp_path, list(RELATION_LABELS), ["PER", "ORG"])
    docs = corpus[:3]
    kept, left_out = 0, {}
    for doc in docs:
        types = {e.id: e.label for e in doc.entities}
        for relation in doc.relations:
            if {types[relation.head], types[relation.tail]} <= {"PER", "ORG"}:
                kept += 1
            else:
                left_out[relation.label] = left_out.get(relation.label, 0) + 1
    assert kept and left_out and sum(len(gold_relations(doc)) for doc in docs) == kept + sum(left_out.values())
    report = evaluate(tmp_path, docs)
    assert report["relations_end_to_end"]["micro"]["support"] == kept
    assert report["unscored_gold_end_to_end"] == dict(sorted(left_out.items()))
    assert report["relations_gold_entities"]["micro"]["support"] == kept + sum(left_out.values())
    assert "gold relations end to end with a head or tail entity type the NER model does not predict" in caplog.text


@pytest.mark.parametrize("task", ["ner", "re"])
def test_kfold_over_test_split_documents_warns_that_it_tunes_on_the_test_set(
    task, tmp_path, corpus, monkeypatch, caplog
):
    """`--kfold --docs train,dev,test` (or all) ran without a word, the folds scoring the test documents that
    settings were then chosen by."""
    from training.evaluation.evaluate import main

    data, splits = user_data(tmp_path, corpus, corpus_splits(corpus))
    record_training(monkeypatch, "training.fit.ner" if task == "ner" else "training.fit.relations")
    setting = "allow_unseen_labels=true" if task == "ner" else "threshold=0.5"
    argv = [task, "--kfold", "2", "--config", str(kfold_config(tmp_path)), "--data", str(data), "--splits",
            str(splits), "--no-extra", "--set", setting]  # fmt: skip
    with caplog.at_level("WARNING", logger="training.evaluation.kfold"):
        assert main([*argv, "--docs", "train,dev,test"]) == 0
    assert (f"k-fold on --data {data} --docs train,dev,test: the folds hold 1 document of the test split of "
            f"{splits}; settings chosen by these scores are tuned on the test set") in caplog.text  # fmt: skip
    caplog.clear()
    with caplog.at_level("WARNING", logger="training.evaluation.kfold"):
        assert main([*argv, "--docs", "train,dev"]) == 0
    assert "test split" not in caplog.text


def test_ner_kfold_results_whose_fold_models_were_trained_again_on_other_documents_are_refused(tmp_path):
    """`evaluate re --kfold --ner-kfold OLD.json`, after a NER k-fold on other documents replaced the fold models in
    the same work dir: end to end, each fold took its entities from a NER model trained on its held-out documents."""
    from training.evaluation.kfold import FOLD_DOCUMENTS
    from training.evaluation.relations import read_ner_folds
    from training.fit.config import ConfigError

    folds = []
    for index, (held_out, now) in enumerate([(["d0", "d2"], ["d0", "d2"]), (["d1", "d3"], ["d1", "d4"])]):
        model = tmp_path / f"fold-{index}"
        model.mkdir()
        (model / "config.json").write_text("{}", encoding="utf-8")
        (model / FOLD_DOCUMENTS).write_text(json.dumps({"test_ids": now, "train_ids": []}), encoding="utf-8")
        folds.append({"test_ids": held_out, "model": str(model)})
    results = tmp_path / "ner_kfold.json"
    results.write_text(json.dumps({"folds": folds}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"its fold model .*fold-1 now holds out other documents"):
        read_ner_folds(results)
    folds[1]["test_ids"] = ["d4", "d1"]  # the results of the run that trained them: read
    results.write_text(json.dumps({"folds": folds}), encoding="utf-8")
    assert set(read_ner_folds(results).models) == {frozenset({"d0", "d2"}), frozenset({"d1", "d4"})}
