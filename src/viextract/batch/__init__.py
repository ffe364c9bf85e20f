"""Corpus-scale extraction: `viextract batch` and its engines (local processes, Hugging Face datasets, Ray Data).

    from viextract.batch import BatchOptions, run_batch
    summary = run_batch(BatchOptions("articles.jsonl", "out/", workers=2))

Nothing here imports `datasets` or `ray` until their engine is used.
"""

from .documents import Document, read_documents
from .hf_datasets import extract_dataset
from .records import extract_chunk, to_record
from .runner import BatchOptions, BatchSummary, run_batch
from .shards import read_shard

__all__ = [
    "BatchOptions",
    "BatchSummary",
    "Document",
    "extract_chunk",
    "extract_dataset",
    "read_documents",
    "read_shard",
    "run_batch",
    "to_record",
]
