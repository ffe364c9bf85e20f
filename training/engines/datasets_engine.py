"""The `datasets` engine: `extract_dataset(dataset) -> datasets.Dataset` through `Dataset.map`, and `--engine datasets`.

It lives outside the inference package, which must never import `datasets`; `viextract batch` finds
`map_chunks_datasets` through the `viextract.batch_engines` entry point (pyproject.toml).

    from viextract_training.engines.datasets_engine import extract_dataset
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from itertools import islice

from viextract.batch.documents import Document
from viextract.batch.loader import ExtractorSpec
from viextract.batch.records import extract_chunk

try:
    import datasets
except ImportError as error:  # raised when the entry point loads: the runner shows this message
    raise ImportError(
        'the datasets engine needs Hugging Face datasets: pip install "viextract[datasets]" (or "viextract[train]")'
    ) from error

OUTPUT_COLUMNS = ("entities", "relations", "error")


def extract_dataset(
    dataset,
    model: str | None = None,
    *,
    text_field: str = "text",
    id_field: str | None = None,
    batch_size: int = 32,
    chunk_size: int = 32,
    max_chars: int | None = None,
    num_proc: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    progress: bool = False,
):
    """`dataset` with three more columns: `entities`, `relations` (head/tail index into entities), `error`.

    A row that fails (text not a string, over `max_chars`, an exception) gets `error` set and empty
    lists; it never stops the map. Each process loads the model once (`num_proc` processes).
    The rows come back in order with all their columns, so a row's results are on that row: `id_field`, if given,
    must name a column, but no id is made from it, and a null, NaN or repeated id is left as it is.
    Quiet by default: `progress=True` shows the map's progress bar, unless the user turned datasets' bars off.
    """
    for field in (text_field, id_field):
        if field is not None and field not in dataset.column_names:
            raise ValueError(f"the dataset has no column {field!r} (columns: {', '.join(dataset.column_names)})")
    mapper = ChunkMapper(ExtractorSpec(model, device, None, threads), text_field, batch_size, max_chars)
    features = _with_outputs(dataset)
    with _progress_bars(progress):
        return dataset.map(
            mapper, batched=True, batch_size=chunk_size, with_indices=True, features=features, num_proc=num_proc
        )


@contextmanager
def _progress_bars(shown: bool):
    """datasets has no per-call switch for its bars, only a global one: off inside, the user's setting back after."""
    if shown or datasets.are_progress_bars_disabled():
        yield
        return
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.enable_progress_bars()


def _output_features() -> dict:
    value = datasets.Value
    entity = {
        "label": value("string"),
        "text": value("string"),
        "start": value("int64"),
        "end": value("int64"),
        "score": value("float64"),
        "value": value("string"),
    }
    relation = {"head": value("int64"), "tail": value("int64"), "label": value("string"), "score": value("float64")}
    return {"entities": [entity], "relations": [relation], "error": value("string")}


class ChunkMapper:
    """The picklable `Dataset.map` function: one batch is one chunk for `extract_chunk`."""

    def __init__(self, spec: ExtractorSpec, text_field: str, batch_size: int, max_chars: int | None):
        self.spec, self.text_field = spec, text_field
        self.batch_size, self.max_chars = batch_size, max_chars

    def __call__(self, batch: dict, indices: list[int]) -> dict:
        chunk = [self._document(batch, i, index) for i, index in enumerate(indices)]
        outcomes = extract_chunk(self.spec.load(), chunk, self.batch_size, self.max_chars)
        columns: dict[str, list] = {name: [] for name in OUTPUT_COLUMNS}
        for outcome in outcomes:
            record = outcome.get("record") or {"entities": [], "relations": []}
            columns["entities"].append(record["entities"])
            columns["relations"].append(record["relations"])
            columns["error"].append(outcome["failure"]["error"] if "failure" in outcome else None)
        return columns

    def _document(self, batch: dict, i: int, index: int) -> Document:
        # Only the text column is read: the user's own columns (a `read_error`, a `source`) are theirs, passed through.
        # The row number as id: the outcome goes back onto its row, never keyed by an id, so none is made here.
        text, row = batch[self.text_field][i], str(index)
        if not isinstance(text, str):
            return Document(
                row, None, f"row {index}", f"field {self.text_field!r} is {type(text).__name__}, not a string"
            )
        return Document(row, text, f"row {index}")


def map_chunks_datasets(
    spec: ExtractorSpec,
    chunks: Iterable[list[Document]],
    *,
    workers: int,
    batch_size: int,
    max_chars: int | None,
) -> Iterator[list[dict]]:
    """The CLI's use of the recipe: a `Dataset` per window of chunks, one row per chunk (as the `ray` engine).

    A row per chunk, not per document, lets a window run on across shards, whose last chunk is short:
    `Dataset.map(batch_size=chunk)` could not take it, so each shard was a window and started the worker
    processes (and their model loads) again. `num_proc` also cuts a window between chunks, never inside one.
    """
    with _progress_bars(False):  # the CLI draws its own
        yield from _map_windows(spec, chunks, workers, batch_size, max_chars)


def _map_windows(spec, chunks, workers: int, batch_size: int, max_chars: int | None):
    mapper = ChunkRowMapper(spec, batch_size, max_chars)
    chunks = iter(chunks)
    while window := list(islice(chunks, WINDOW_CHUNKS)):
        rows = [json.dumps([asdict(document) for document in chunk]) for chunk in window]
        dataset = datasets.Dataset.from_dict({"chunk": rows})
        mapped = dataset.map(mapper, remove_columns=["chunk"], num_proc=workers if workers > 1 else None)
        for row in mapped:
            yield json.loads(row["outcomes"])


# Chunks per Dataset: bounds what the driver holds; each window starts the map's worker processes again.
WINDOW_CHUNKS = 256


class ChunkRowMapper:
    """The picklable `Dataset.map` function of the CLI's engine: one row holds one chunk, as JSON."""

    def __init__(self, spec: ExtractorSpec, batch_size: int, max_chars: int | None):
        self.spec, self.batch_size, self.max_chars = spec, batch_size, max_chars

    def __call__(self, row: dict) -> dict:
        chunk = [Document(**fields) for fields in json.loads(row["chunk"])]
        return {"outcomes": json.dumps(extract_chunk(self.spec.load(), chunk, self.batch_size, self.max_chars))}


def _with_outputs(dataset):
    features = dataset.features.copy()
    features.update(_output_features())
    return features
