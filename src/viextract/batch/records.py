"""Output records of `viextract batch`, and the one function every engine runs on a chunk of documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..results import Extraction
from .documents import Document

# What the Parquet writer and the datasets engine declare; JSONL records have the same keys.
ENTITY_KEYS = ("label", "text", "start", "end", "score", "value")  # value: a DATE's ISO 8601 form, else None
RELATION_KEYS = ("head", "tail", "label", "score")


def to_record(doc_id: str, extraction: Extraction) -> dict[str, Any]:
    """`{"id", "entities", "relations"}`; a relation names its head and tail by index into `entities`."""
    index = {id(entity): i for i, entity in enumerate(extraction.entities)}
    return {
        "id": doc_id,
        "entities": [{key: getattr(e, key) for key in ENTITY_KEYS} for e in extraction.entities],
        "relations": [
            {"head": index[id(r.head)], "tail": index[id(r.tail)], "label": r.label, "score": r.score}
            for r in extraction.relations
        ],
    }


def to_failure(document: Document, error: str) -> dict[str, Any]:
    return {"id": document.id, "source": document.source, "error": error}


def extract_chunk(extractor, documents: Sequence[Document], batch_size: int, max_chars: int | None) -> list[dict]:
    """One outcome per document, in order: `{"record": ...}` or `{"failure": ...}`; never raises for a document.

    Every engine calls this on the same chunks, so their outputs are identical.
    """
    outcomes: list[dict | None] = [None] * len(documents)
    runnable = []
    for i, document in enumerate(documents):
        error = document.error or _too_long(document, max_chars)
        if error:
            outcomes[i] = {"failure": to_failure(document, error)}
        else:
            runnable.append(i)
    texts = [documents[i].text for i in runnable]
    try:
        results = list(extractor.pipe(texts, batch_size=batch_size))
    except Exception:  # one bad document must not fail its neighbours: retry one at a time
        results = [_extract_alone(extractor, text, batch_size) for text in texts]
    for i, result in zip(runnable, results):
        if isinstance(result, Exception):
            outcomes[i] = {"failure": to_failure(documents[i], f"{type(result).__name__}: {result}")}
        else:
            outcomes[i] = {"record": to_record(documents[i].id, result)}
    return outcomes  # type: ignore[return-value]


def _too_long(document: Document, max_chars: int | None) -> str | None:
    if max_chars is not None and len(document.text or "") > max_chars:
        # Set by the CLI's --max-chars or by a caller's max_chars=: the message must read right from both.
        return f"text has {len(document.text)} characters, over the max_chars (--max-chars) limit of {max_chars}"
    return None


def _extract_alone(extractor, text: str, batch_size: int) -> Extraction | Exception:
    try:
        return next(extractor.pipe([text], batch_size=batch_size))
    except Exception as error:
        return error
