"""How much annotated text a training config reads: documents, entities and relations per file and split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .files import read_jsonl
from .splits import read_splits

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]

SILVER_SOURCE = "machine-labelled text (training.weak: silver sentences or spelling variants)"


def count_jsonl(path: Path, ids: set[str] | None = None) -> tuple[int, int, int]:
    """(documents, entities, relations) of a corpus-format JSONL file, only documents in `ids` when given.

    Read as training reads it (read_jsonl): a byte-order mark it accepts was a JSON error here, and every row lost.
    """
    documents = entities = relations = 0
    for _, doc in read_jsonl(path):
        if ids is not None and doc.get("id") not in ids:
            continue
        documents += 1
        entities += len(doc.get("entities") or [])
        relations += len(doc.get("relations") or [])
    return documents, entities, relations


def training_data_sizes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per split and file the config reads: name, source, documents, entities, relations.

    Training records these beside the model, so what it saw is known after the files change;
    a file that cannot be read is left out (and the rows are empty when the splits file is).
    """
    try:
        return [
            {"name": name, "source": source, "documents": d, "entities": e, "relations": r}
            for name, source, (d, e, r) in _count(config)
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("training data sizes not counted: %s", error)
        return []


def _count(config: dict[str, Any]):
    if config.get("train_files"):
        for name, files in (("train", config["train_files"]), ("dev", config.get("dev_files") or [])):
            for file in files:
                if (path := find_file(file)) is not None:
                    yield name, file, count_jsonl(path)
        return
    splits_path = find_file(str(config.get("splits_file") or ""))
    if splits_path is None:
        return
    splits = read_splits(splits_path)
    data_dir = _find_dir(config["data_dir"]) if config.get("data_dir") else splits_path.parent
    corpus = (data_dir / "corpus.jsonl") if data_dir else None
    if corpus is not None and corpus.is_file():
        for name in ("train", "dev", "test"):
            ids = {str(i) for i in splits.get(name, [])}
            yield name, f"{_shown(corpus)} ({', '.join(sorted(ids))})", count_jsonl(corpus, ids)
    for extra in splits.get("train_extra", []) or []:
        if (path := find_file(extra, (data_dir.parent,) if data_dir else ())) is not None:
            yield "train (extra)", str(extra), count_jsonl(path)
    for silver in config.get("silver_files") or []:
        if (path := find_file(silver)) is not None:
            yield "train (silver)", f"{silver}: {SILVER_SOURCE}", count_jsonl(path)


def find_file(name: str, anchors: tuple[Path, ...] = ()) -> Path | None:
    """`name` as an existing file: absolute, or relative to the working directory, an anchor or the repository."""
    if not name:
        return None
    path = Path(name)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, *(a / path for a in anchors), REPO / path]
    return next((p for p in candidates if p.is_file()), None)


def _find_dir(name: str) -> Path | None:
    path = Path(name).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, REPO / path]
    return next((p.resolve() for p in candidates if p.is_dir()), None)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)
