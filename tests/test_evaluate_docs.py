"""`evaluate --data FILE --docs SPLITS`: ids from the splits file, documents from FILE.

No model is loaded here: scoring is replaced by a recorder, so what is tested is which documents it gets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.data.files import load_documents, write_documents

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus.jsonl"


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


def test_the_project_corpus_and_splits_still_select_by_split(monkeypatch):
    ids = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    argv = ["--model", "m", "--data", str(CORPUS), "--splits", str(REPO / "data" / "splits.json"), "--docs", "dev,test"]
    scored = run_ner(monkeypatch, argv)["scored"]
    assert scored == [*ids["dev"], *ids["test"]]
