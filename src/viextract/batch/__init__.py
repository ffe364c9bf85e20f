"""Corpus-scale extraction: `viextract batch` and its engines (local processes, Ray Data, Hugging Face datasets).

    from viextract.batch import BatchOptions, run_batch
    summary = run_batch(BatchOptions("articles.jsonl", "out/", workers=2))

Nothing here imports `ray` until its engine is used, and nothing imports `datasets` ever: that engine and
`extract_dataset` live in `viextract_training.engines.datasets_engine`, found by entry point (`plugins`).
"""

from .documents import Document, read_documents
from .records import extract_chunk, to_record
from .runner import BatchOptions, BatchSummary, BatchWarning, run_batch
from .shards import read_shard

__all__ = [
    "BatchOptions",
    "BatchSummary",
    "BatchWarning",
    "Document",
    "extract_chunk",
    "read_documents",
    "read_shard",
    "run_batch",
    "to_record",
]
