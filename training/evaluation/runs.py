"""Which documents an evaluation reads (splits named by --docs) and where its results are written."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..data.documents import DataError, Document
from ..data.splits import load_split
from ..fit.config import ConfigError

logger = logging.getLogger(__name__)


SPLITS = ("train", "dev", "test")


def select_documents(documents: list[Document], docs: str | None, splits_file: str | Path) -> list[Document]:
    """The documents whose ids are in the named splits (comma-separated); all of them when `docs` is None."""
    if not docs:
        return documents
    names = [name.strip() for name in docs.split(",") if name.strip()]
    unknown = [name for name in names if name not in SPLITS]
    if unknown:
        raise ConfigError(f"--docs: unknown split {unknown}; choose from {list(SPLITS)} (comma-separated)")
    ids: set[str] = set()
    for name in names:
        # load_split validates the splits file (and that no document is in two splits).
        ids |= {doc.id for doc in load_split(name, splits_file)}
    selected = [doc for doc in documents if doc.id in ids]
    if not selected:
        raise DataError(f"{splits_file}: {docs}: none of these documents is in the data file")
    return selected


def write_results(path: str | Path, results: dict[str, Any]) -> None:
    """Results as JSON, written beside and renamed into place: never half a file under `path`."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
