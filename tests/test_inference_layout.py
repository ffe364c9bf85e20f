"""src/viextract is inference only: no module imports the trainer or its dependencies, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "viextract"
# What `pip install viextract` must run without; plugins (entry points) bring the engines that need them.
FORBIDDEN = {"training", "viextract_training", "datasets", "seqeval", "accelerate"}
IMPORT_CALLS = {"import_module", "__import__"}  # importlib.import_module("datasets") is an import too


def imported_roots(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level name) of every absolute import in the tree, statements and import calls alike."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and _called_name(node.func) in IMPORT_CALLS and node.args:
            if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def _called_name(func: ast.expr) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def test_no_inference_module_imports_training_or_its_dependencies():
    modules = sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(modules) > 20  # the walk found the package
    offending = [
        f"{path.relative_to(SRC.parent)}:{line}: imports {root}"
        for path in modules
        for line, root in imported_roots(ast.parse(path.read_text(encoding="utf-8")))
        if root in FORBIDDEN
    ]
    assert not offending, offending


def test_the_check_sees_imports_inside_functions_and_import_calls():
    code = (
        "def f():\n    import datasets.arrow_dataset\n"
        "def g():\n    from seqeval.metrics import f1_score\n"
        "h = importlib.import_module('accelerate')\n"
        "from . import training\n"  # relative: viextract's own module of that name would be fine
    )
    assert sorted(imported_roots(ast.parse(code))) == [(2, "datasets"), (4, "seqeval"), (5, "accelerate")]


RE_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}


def _regex_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, pattern) of each literal pattern given to a `re` function."""
    return [
        (node.lineno, node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RE_FUNCTIONS
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    ]  # fmt: skip


def _uses_311_syntax(parsed) -> bool:
    """Whether a parsed pattern holds a possessive quantifier or an atomic group (new in Python 3.11)."""
    from re import _constants as constants

    for op, value in parsed:
        if op in (constants.POSSESSIVE_REPEAT, constants.ATOMIC_GROUP):
            return True
        for part in value if isinstance(value, (tuple, list)) else ():
            if hasattr(part, "data") and _uses_311_syntax(part):  # a SubPattern: a group's or a repeat's body
                return True
            if isinstance(part, list) and any(_uses_311_syntax(branch) for branch in part):  # a BRANCH's choices
                return True
    return False


def test_no_pattern_needs_python_3_11():
    # The package supports Python 3.10, whose `re` has no `++` or `(?>...)`: such a pattern fails at import there.
    parser = pytest.importorskip("re._parser", reason="the 3.11 parser reads the syntax that 3.10 lacks")
    found = [
        f"{path.relative_to(SRC.parent)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        for line, pattern in _regex_literals(ast.parse(path.read_text(encoding="utf-8")))
        if _uses_311_syntax(parser.parse(pattern))
    ]
    assert not found, f"patterns Python 3.10 cannot compile: {found}"
