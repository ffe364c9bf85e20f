"""Batch engines found by entry point: those that need what the inference package must not import (`datasets`).

An engine is `map_chunks(spec, chunks, *, workers, batch_size, max_chars) -> Iterator[list[dict]]`, as
`local.map_chunks_local`: the outcomes of each chunk (from `records.extract_chunk`), in the order of `chunks`.
"""

from __future__ import annotations

from collections.abc import Callable

ENGINE_GROUP = "viextract.batch_engines"
# Engines that `viextract batch --engine` lists though they are installed apart, and the extra that brings each.
PLUGIN_ENGINES = {"datasets": "datasets"}


def load_plugin_engine(name: str) -> Callable:
    """The `ENGINE_GROUP` entry point `name`, loaded; an ImportError that says what to install when it is missing."""
    import importlib.metadata  # here, not at the top: the other engines never pay for it

    points = [point for point in importlib.metadata.entry_points(group=ENGINE_GROUP) if point.name == name]
    install = f'pip install "viextract[{PLUGIN_ENGINES.get(name, name)}]"'
    if not points:
        raise ImportError(
            f"--engine {name} is not installed (no entry point {name!r} in group {ENGINE_GROUP!r}): {install}"
        )
    try:
        return points[0].load()
    except ImportError as error:  # the engine's own dependencies are missing: its message says what to install
        raise ImportError(f"--engine {name} could not be loaded: {error}") from error
