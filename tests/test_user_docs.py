"""What the user documentation and `--help` texts show can be copied and run as written."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
USER_DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "benchmarks" / "README.md"]
MODULE_DIRS = [REPO / "src" / "viextract", REPO / "training", REPO / "benchmarks"]


def module_docstring_nodes():
    for folder in MODULE_DIRS:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
                yield path, tree.body[0].value


@pytest.mark.parametrize("path,node", list(module_docstring_nodes()), ids=lambda x: getattr(x, "name", ""))
def test_a_usage_line_continued_with_a_backslash_keeps_it_in_help(path, node):
    # argparse prints the module docstring: in a plain string `\` + newline is eaten, joining two lines.
    source = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
    if "\\\n" in source:
        assert source.lstrip().lower().startswith(("r", "rf", "fr")), f'{path}: make the docstring raw (r""")'


def kfold_commands():
    for doc in USER_DOCS:
        text = doc.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if "evaluate ner --kfold" in line and "--docs" in line and "--data data/corpus.jsonl" in line:
                yield doc.name, line.strip()


@pytest.mark.parametrize("doc,command", list(kfold_commands()))
def test_a_documented_ner_kfold_has_no_more_folds_than_documents(doc, command):
    splits = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    k = int(re.search(r"--kfold (\d+)", command).group(1))
    chosen = re.search(r"--docs (\S+)", command).group(1).split(",")
    documents = sum(len(splits[name]) for name in chosen)
    assert k <= documents, f"{doc}: {command!r} asks for {k} folds of {documents} documents"


def parser_calls_without_prog():
    for folder in (REPO / "src" / "viextract", REPO / "training"):
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "ArgumentParser":
                    if not any(keyword.arg == "prog" for keyword in node.keywords):
                        yield f"{path.relative_to(REPO)}:{node.lineno}"


def test_every_command_names_itself_as_the_user_runs_it():
    # Without prog, --help says `usage: storage.py ...`, a name nobody can type to run it.
    assert list(parser_calls_without_prog()) == []


def extra_packages(extra: str) -> set[str]:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {re.match(r"[A-Za-z0-9_.-]+", spec).group(0).lower() for spec in project["optional-dependencies"][extra]}


def test_the_readme_lists_what_the_train_extra_installs():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    row = next(line for line in lines if line.startswith("| training |"))
    listed = re.search(r"\(([^)]*)\)", row.split('".[train]"', 1)[1]).group(1)
    # Each item is a package name, maybe followed by what it is for ("jinja2 for model cards").
    named = {item.strip().split()[0].lower() for item in listed.split(",")}
    assert named == extra_packages("train"), f"README install table: {row}"


def batch_size_helps():
    from training.evaluation import challenge, evaluate, relations
    from viextract.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    parsers = {"viextract extract": commands["extract"], "viextract batch": commands["batch"]}
    parsers.update({"evaluate ner": evaluate.build_parser(), "evaluate re": relations.build_parser()})
    parsers["challenge"] = challenge.build_parser()
    for name, parser in parsers.items():
        (action,) = [a for a in parser._actions if "--batch-size" in a.option_strings]
        yield name, action.help


def test_every_batch_size_flag_counts_what_the_readme_says_batch_size_counts():
    # README, Errors and limits: "windows of at most 256 subwords, `batch_size` windows at a time".
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "`batch_size` windows at a time" in readme
    for name, help_text in batch_size_helps():
        assert help_text.startswith("sentence windows (up to 256 subwords each)"), f"{name} --batch-size: {help_text}"


def continued_mlm_text_rows() -> dict[str, int]:
    """{data file: sentences} of the text table in docs/pretraining.md's continued masked-LM section."""
    section = (REPO / "docs" / "pretraining.md").read_text(encoding="utf-8").split("### Continued masked-LM", 1)[1]
    rows = {}
    for line in section.split("\n\n|", 1)[1].split("\n\n", 1)[0].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        named = re.search(r"`(data/\w+\.jsonl)`", line)
        if named and cells[1].replace(",", "").isdigit():
            rows[named.group(1)] = int(cells[1].replace(",", ""))
    return rows


def test_the_continued_mlm_text_table_has_a_row_per_training_text_with_its_sentences():
    from training.pretraining.text import corpus_source, extra_written_sources

    # Sentence splitting does not depend on the segmenter: 'syllables' counts them without underthesea.
    sources = [corpus_source(REPO / "data", "syllables"), *extra_written_sources(REPO / "data", "syllables")]
    expected = {"data/corpus.jsonl" if s.name == "corpus_train" else s.origin: len(s.sentences) for s in sources}
    assert continued_mlm_text_rows() == expected
