"""src/viextract is inference only: no module imports the trainer or its dependencies, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

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
