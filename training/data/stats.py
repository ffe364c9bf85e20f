"""Entity and relation counts per label and per split (the table in data/README.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from viextract.labels import (
    ENTITY_LABELS,
    RELATION_LABELS,
)
from viextract.wording import counted

from .documents import SPLIT_NAMES, Document
from .files import load_documents
from .splits import extra_path, load_split, read_splits


def counts_line(documents: int, entities: int, relations: int) -> str:
    """`1 document, 3 entities, 1 relation`: the size of an annotated file."""
    return (
        f"{counted(documents, 'document')}, {counted(entities, 'entity', 'entities')}, {counted(relations, 'relation')}"
    )


def count_labels(documents: Iterable[Document]) -> Counter:
    counts: Counter = Counter()
    for doc in documents:
        counts["documents"] += 1
        counts.update(e.label for e in doc.entities)
        counts.update(r.label for r in doc.relations)
    return counts


def format_stats(columns: dict[str, Counter]) -> str:
    """A Markdown table: one row per entity and relation label, one column per split."""
    names = list(columns)
    rows = [
        ["documents"],
        *([label] for label in ENTITY_LABELS),
        ["entities"],
        *([label] for label in RELATION_LABELS),
        ["relations"],
    ]
    for row in rows:
        label = row[0]
        for name in names:
            counts = columns[name]
            if label == "entities":
                value = sum(counts[x] for x in ENTITY_LABELS)
            elif label == "relations":
                value = sum(counts[x] for x in RELATION_LABELS)
            else:
                value = counts[label]
            row.append(str(value))
    table = [["label", *names], ["---", *("---:" for _ in names)], *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join("| " + " | ".join(cell.ljust(w) for cell, w in zip(r, widths)) + " |" for r in table)


def split_stats(splits_path: Path, data_dir: Path | None = None) -> dict[str, Counter]:
    columns: dict[str, Counter] = {}
    total: Counter = Counter()
    splits = read_splits(splits_path)
    for name in SPLIT_NAMES:
        counts = count_labels(load_split(name, splits_path, data_dir))
        columns[name] = counts
        total += counts
    if splits.get("train_extra"):
        # Say how much of train is synthetic rather than annotated news.
        folder = Path(data_dir) if data_dir is not None else splits_path.parent
        extra: Counter = Counter()
        for path in splits["train_extra"]:
            extra += count_labels(load_documents(extra_path(path, folder)))
        columns["(of train: extra)"] = extra
    columns["total"] = total
    return columns
