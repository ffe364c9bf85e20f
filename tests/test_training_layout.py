"""training/ reads in layers: every module imports, no import cycle, no borrowing of another module's private names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

TRAINING = Path(__file__).resolve().parents[1] / "training"


def module_name(path: Path) -> str:
    parts = path.relative_to(TRAINING.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `from ... import` in the file (lazy ones in functions too), made absolute."""
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {  # `if TYPE_CHECKING:` imports name types for annotations; they never run
        id(child) for node in ast.walk(tree) if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for child in ast.walk(node)
    }  # fmt: skip
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [alias.name for alias in node.names]
            if node.module is None:  # `from . import x`: x is a module
                found += [(f"{module}.{name}", []) for name in names]
            else:
                found.append((module, names))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def training_files() -> list[Path]:
    return sorted(p for p in TRAINING.rglob("*.py") if "__pycache__" not in p.parts)


def graph() -> dict[str, set[str]]:
    modules = {module_name(p) for p in training_files()}
    edges: dict[str, set[str]] = {}
    for path in training_files():
        targets = {m for m, _ in imports(path) if m in modules and m != module_name(path)}
        edges[module_name(path)] = {t for t in targets if not module_name(path).startswith(t + ".")}
    return edges


def test_every_training_module_imports():
    for path in training_files():
        importlib.import_module(module_name(path))


def test_no_import_cycle():
    edges, state, cycles = graph(), {}, []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_no_module_imports_another_modules_private_names():
    borrowed = [
        f"{module_name(path)}: {name} from {module}"
        for path in training_files()
        for module, names in imports(path)
        if module.startswith("training") and module != module_name(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not borrowed, borrowed


def test_training_imports_itself_only_relatively():
    # The wheel ships training/ as viextract_training: an absolute `training.x` import works in a clone and
    # fails in an installed wheel.
    absolute = []
    for path in training_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            absolute += [
                f"{path.relative_to(TRAINING.parent)}:{node.lineno}" for n in names if n.split(".")[0] == "training"
            ]
    assert not absolute, absolute


def test_the_default_splits_file_is_written_out_once():
    """Four modules each spelt "data/splits.json"; one changed alone, commands would disagree on the default."""
    holders = [
        str(path.relative_to(TRAINING.parent))
        for path in training_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == "data/splits.json"
    ]
    assert holders == ["training/data/documents.py"]


def test_every_module_a_comment_names_exists():
    # A comment naming `training.model_card` after the module had moved sent readers to nothing.
    import re
    import tokenize

    missing = []
    for path in sorted(TRAINING.rglob("*.py")):
        with path.open(encoding="utf-8") as handle:
            comments = [t for t in tokenize.generate_tokens(handle.readline) if t.type == tokenize.COMMENT]
        for token in comments:
            for name in re.findall(r"(?<![\w./])training(?:\.[a-z_][a-z0-9_]*)+", token.string):
                parts = name.split(".")
                prefixes = (TRAINING.parent.joinpath(*parts[:i]) for i in range(len(parts), 1, -1))
                if not any(p.with_suffix(".py").is_file() or (p / "__init__.py").is_file() for p in prefixes):
                    missing.append(f"{path.relative_to(TRAINING.parent)}:{token.start[0]}: {name}")
    assert missing == []


def _module_exists(name: str) -> bool:
    path = TRAINING.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_module_a_string_names_exists():
    """Provenance recorded silver data's origin as `training.silver` after the module had moved to training.weak."""
    import re

    named = [
        (path, node)
        for path in training_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    modules = [(path, node) for path, node in named if re.fullmatch(r"training(?:\.[a-z_][a-z0-9_]*)+", node.value)]
    missing = [
        f"{p.relative_to(TRAINING.parent)}:{n.lineno}: {n.value}" for p, n in modules if not _module_exists(n.value)
    ]
    assert modules and missing == []
