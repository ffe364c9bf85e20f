"""The `ray` engine: Ray Data `map_batches` over chunks, on a pool of actors that each load the model once.

Each dataset row is one chunk (the documents serialised as JSON), so every actor runs exactly the
chunks the `local` engine would, and the outputs are identical. Rows come back in input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import islice

from .documents import Document
from .loader import ExtractorSpec
from .records import extract_chunk

# Chunks per Ray dataset: bounds what the driver holds; each window starts the actor pool again.
WINDOW_CHUNKS = 2000


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise ImportError("--engine ray needs Ray Data: pip install 'viextract[ray]'") from error
    return ray


class ChunkActor:
    """One loaded extractor per actor; `__call__` takes a batch of chunks and returns their outcomes."""

    def __init__(self, spec: ExtractorSpec, batch_size: int, max_chars: int | None):
        self.extractor = spec.load()
        self.batch_size = batch_size
        self.max_chars = max_chars

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        outcomes = []
        for chunk_json in batch["chunk"]:
            chunk = [Document(**fields) for fields in json.loads(chunk_json)]
            outcomes.append(json.dumps(extract_chunk(self.extractor, chunk, self.batch_size, self.max_chars)))
        return {"outcomes": np.array(outcomes, dtype=object)}


def map_chunks_ray(
    spec: ExtractorSpec,
    chunks: Iterable[list[Document]],
    *,
    actors: int,
    batch_size: int,
    max_chars: int | None,
    num_cpus_per_actor: float = 1.0,
    num_gpus_per_actor: float = 0.0,
    address: str | None = None,
) -> Iterator[list[dict]]:
    """Outcomes of each chunk in order. Uses a running Ray, else connects to `address` (None: a local Ray)."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, log_to_driver=False, include_dashboard=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    previous = (context.execution_options.preserve_order, context.enable_progress_bars)
    context.execution_options.preserve_order = True  # outcomes must come back in chunk order
    context.enable_progress_bars = False  # the CLI draws its own
    chunks = iter(chunks)
    try:
        while window := list(islice(chunks, WINDOW_CHUNKS)):
            rows = [{"chunk": json.dumps([asdict(d) for d in chunk])} for chunk in window]
            dataset = ray.data.from_items(rows).map_batches(
                ChunkActor,
                fn_constructor_kwargs={"spec": spec, "batch_size": batch_size, "max_chars": max_chars},
                batch_size=1,
                concurrency=actors,
                num_cpus=num_cpus_per_actor,
                num_gpus=num_gpus_per_actor,
            )
            for row in dataset.iter_rows():
                yield json.loads(row["outcomes"])
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = previous
        if started_here:
            ray.shutdown()
