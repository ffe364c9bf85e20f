"""The `datasets` engine: `extract_dataset(dataset) -> datasets.Dataset` through `Dataset.map`, and `--engine datasets`.

It lives outside the inference package, which must never import `datasets`; `viextract batch` finds
`map_chunks_datasets` through the `viextract.batch_engines` entry point (pyproject.toml).

    from viextract_training.engines.datasets_engine import extract_dataset
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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
):
    """`dataset` with three more columns: `entities`, `relations` (head/tail index into entities), `error`.

    A row that fails (text not a string, over `max_chars`, an exception) gets `error` set and empty
    lists; it never stops the map. Each process loads the model once (`num_proc` processes).
    """
    if text_field not in dataset.column_names:
        raise ValueError(f"the dataset has no column {text_field!r} (columns: {', '.join(dataset.column_names)})")
    mapper = ChunkMapper(ExtractorSpec(model, device, None, threads), text_field, id_field, batch_size, max_chars)
    features = _with_outputs(dataset)
    return dataset.map(
        mapper, batched=True, batch_size=chunk_size, with_indices=True, features=features, num_proc=num_proc, desc=None
    )


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

    def __init__(
        self, spec: ExtractorSpec, text_field: str, id_field: str | None, batch_size: int, max_chars: int | None
    ):
        self.spec, self.text_field, self.id_field = spec, text_field, id_field
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
        doc_id = str(batch[self.id_field][i]) if self.id_field else str(index)
        source = batch["source"][i] if "source" in batch else f"row {index}"
        error = batch["read_error"][i] if "read_error" in batch else None
        text = batch[self.text_field][i]
        if error is None and not isinstance(text, str):
            error = f"field {self.text_field!r} is {type(text).__name__}, not a string"
        return Document(doc_id, text if error is None else None, source, error)


def map_chunks_datasets(
    spec: ExtractorSpec,
    chunks: Iterable[list[Document]],
    *,
    workers: int,
    batch_size: int,
    max_chars: int | None,
) -> Iterator[list[dict]]:
    """The CLI's use of the recipe: a `Dataset` per window of chunks, mapped with batches equal to the chunks.

    With `workers` > 1, `Dataset.map(num_proc=...)` cuts a window into contiguous pieces, which need not
    start on chunk boundaries (then the model's batches differ from `local`'s; see docs/batch.md).
    """
    bars = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # the CLI draws its own; put the user's setting back afterwards
    try:
        yield from _map_windows(spec, chunks, workers, batch_size, max_chars)
    finally:
        if bars:
            datasets.enable_progress_bars()


def _map_windows(spec, chunks, workers: int, batch_size: int, max_chars: int | None):
    for window in _windows(chunks, WINDOW_CHUNKS):
        documents = [d for chunk in window for d in chunk]
        table = {
            "id": [d.id for d in documents],
            "text": [d.text for d in documents],
            "source": [d.source for d in documents],
            "read_error": [d.error for d in documents],
        }
        dataset = datasets.Dataset.from_dict(table)
        mapper = ChunkMapper(spec, "text", "id", batch_size, max_chars)
        mapped = dataset.map(
            mapper,
            batched=True,
            batch_size=len(window[0]),
            with_indices=True,
            features=_with_outputs(dataset),
            num_proc=workers if workers > 1 else None,
        )
        outcomes = [_outcome(row) for row in mapped]
        start = 0
        for chunk in window:
            yield outcomes[start : start + len(chunk)]
            start += len(chunk)


# Chunks per Dataset: each window starts the map's worker processes (and their model loads) again.
WINDOW_CHUNKS = 256


def _windows(chunks: Iterable[list[Document]], limit: int) -> Iterator[list[list[Document]]]:
    """Runs of chunks that all have the first one's length but the last, so map batches equal the chunks."""
    window: list[list[Document]] = []
    for chunk in chunks:
        window.append(chunk)
        if len(window) >= limit or len(chunk) < len(window[0]):
            yield window
            window = []
    if window:
        yield window


def _with_outputs(dataset):
    features = dataset.features.copy()
    features.update(_output_features())
    return features


def _outcome(row: dict) -> dict:
    if row["error"] is not None:
        return {"failure": {"id": row["id"], "source": row["source"], "error": row["error"]}}
    return {"record": {"id": row["id"], "entities": row["entities"], "relations": row["relations"]}}
