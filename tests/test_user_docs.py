"""What the user documentation and `--help` texts show can be copied and run as written."""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
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


# A command as the docs write it: `python -m training...`/`viextract...` modules, a benchmark script,
# the viextract command, or torchrun's `-m training...`.
COMMAND_START = re.compile(
    r"(?:^|\s)(python -m (?:training|viextract)[\w.]*|python benchmarks/\w+\.py|viextract (?=[a-z])|torchrun .*?-m tr)"
)
# `viextract train|evaluate|publish` run these modules (pyproject's viextract.commands entry points).
ENTRY_POINT_MODULES = {
    "train": "training.fit.train",
    "evaluate": "training.evaluation.evaluate",
    "publish": "training.release.publish",
}


def code_texts(text: str) -> list[str]:
    """Code lines (fenced blocks, and indented blocks after a blank line), then inline code spans of the prose."""
    code, prose, fenced, indented, previous = [], [], False, False, ""
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append(line)
        else:
            indented = line.startswith("    ") and (indented or not previous.strip())
            (code if indented else prose).append(line)
        previous = line
    return "\n".join(code).replace("\\\n", " ").split("\n") + re.findall(r"`([^`]+)`", " ".join(prose))


def documented_commands():
    """(doc, command) for every command the user docs show, once each; shell operators and comments cut off."""
    seen = set()
    for doc in USER_DOCS:
        for piece in code_texts(doc.read_text(encoding="utf-8")):
            for part in re.split(r"&&|;|\||\$\(|>|\s#\s", piece):
                match = COMMAND_START.search(part)
                command = part[match.start(1) :].strip() if match else ""
                if command and "<module>" not in command and command not in seen:
                    seen.add(command)
                    yield doc.name, command


def program_and_arguments(command: str) -> tuple[str, list[str]]:
    """('-m module' or a script path, its arguments) of a documented command line."""
    words = re.sub(r"[\[\]]", " ", command).split()  # `[--resume]`: an optional flag is still a flag
    if words[0] == "torchrun":
        words = ["python", *words[words.index("-m") :]]
    if words[0] == "viextract":
        if words[1] in ENTRY_POINT_MODULES:
            return f"-m {ENTRY_POINT_MODULES[words[1]]}", words[2:]
        return "-m viextract", words[1:]
    if words[1] == "-m":
        return f"-m {words[2]}", words[3:]
    return words[1], words[2:]


class ParserReached(Exception):
    def __init__(self, parser):
        self.parser = parser


def parser_of(program: str, arguments: list[str], monkeypatch) -> argparse.ArgumentParser:
    """The parser that the program's main parses `arguments` with, reached by running it up to parsing."""
    import runpy

    def reached(parser, args=None, namespace=None):
        raise ParserReached(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", reached)
    monkeypatch.setattr(sys, "argv", [program, *arguments])
    with pytest.raises(ParserReached) as caught:
        if program.startswith("-m "):
            runpy.run_module(program[3:], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(str(REPO / program), run_name="__main__")
    return caught.value.parser


def accepted_options(parser: argparse.ArgumentParser, arguments: list[str]) -> set[str]:
    """Every option string of `parser` and of the subcommands `arguments` name."""
    options = set()
    while parser is not None:
        subcommands = {}
        for action in parser._actions:
            options.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                subcommands = action.choices
        parser = next((subcommands[word] for word in arguments if word in subcommands), None)
    return options


@pytest.mark.filterwarnings("ignore:'training.*found in sys.modules:RuntimeWarning")  # runpy of a loaded module
@pytest.mark.parametrize("doc,command", list(documented_commands()))
def test_every_flag_of_a_documented_command_exists(doc, command, monkeypatch):
    program, arguments = program_and_arguments(command)
    flags = {word.split("=")[0] for word in arguments if re.fullmatch(r"--?[a-zA-Z][\w-]*(=.*)?", word)}
    if flags:
        unknown = flags - accepted_options(parser_of(program, arguments, monkeypatch), arguments)
        assert not unknown, f"{doc}: {command!r} uses {sorted(unknown)}, which the command does not take"


def test_the_readme_quotes_the_bundled_models_speed_file_with_its_batch_sizes():
    speed = json.loads((REPO / "model_cards/results/viextract-default/speed.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row["docs_per_s"] for row in speed["models"]["model"]["pipe"]}
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    fp32 = next(name for name in rows if name.startswith("Extractor.pipe") and name.endswith("fp32"))
    int8 = next(name for name in rows if "int8" in name)
    baseline = next(name for name in rows if name.startswith("baseline"))
    fp32_batch, int8_batch = (re.search(r"batch (\d+)", name).group(1) for name in (fp32, int8))
    quoted = (
        f"{rows[fp32]:.2f} documents/s in fp32 at batch {fp32_batch} against the plain NER loop's "
        f'{rows[baseline]:.2f}, and {rows[int8]:.2f} with `quantize="int8"` at batch {int8_batch}'
    )
    assert quoted in readme


@pytest.mark.parametrize("task", ["ner", "re"])
def test_the_readmes_quick_training_check_writes_into_a_scratch_folder(task, tmp_path):
    """It set max_steps=2 only: its checkpoints, in the real output_dir's, then refused the full run."""
    from training.fit.ner import NerConfig
    from training.fit.relations import ReConfig

    text = (REPO / "README.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"quick check[^`]*`([^`]*max_steps=2[^`]*)`", text)
    overrides = re.findall(r"--set\s+(\S+)", snippet.replace("$(mktemp -d)", str(tmp_path)))
    config_class = {"ner": NerConfig, "re": ReConfig}[task]
    config = config_class.load(REPO / "configs" / f"{task}.yaml", overrides)
    assert config.max_steps == 2
    assert config.checkpoint_path.is_relative_to(tmp_path) and Path(config.output_dir).is_relative_to(tmp_path)
