"""SCHEMA.md at the repository root is the contract: viextract.labels must say exactly what it says."""

from __future__ import annotations

import re
from pathlib import Path

from viextract.labels import (
    ENTITY_DEFINITIONS,
    ENTITY_LABELS,
    RELATION_ARGUMENT_TYPES,
    RELATION_LABELS,
    SCHEMA_VERSION,
    SYMMETRIC_RELATIONS,
)

SCHEMA = Path(__file__).resolve().parent.parent / "SCHEMA.md"


def table_rows(section: str) -> list[list[str]]:
    """Cells of each label row (first cell a `code` label) of the `## section` table."""
    text = SCHEMA.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"`\w+`", cells[0]):
            rows.append([cells[0].strip("`"), *cells[1:]])
    return rows


def test_version_in_the_title_is_the_package_version():
    title = SCHEMA.read_text(encoding="utf-8").splitlines()[0]
    assert title == f"# Extraction schema (v{SCHEMA_VERSION})"


def test_entity_labels_and_definitions_are_the_tables_in_order():
    rows = table_rows("Entity types")
    assert tuple(row[0] for row in rows) == ENTITY_LABELS
    assert {row[0]: row[1] for row in rows} == ENTITY_DEFINITIONS


def test_relation_labels_and_argument_types_are_the_table():
    rows = table_rows("Relation types")
    assert tuple(row[0] for row in rows) == RELATION_LABELS
    for label, arguments, *_ in rows:
        heads, tails = (frozenset(re.findall(r"[A-Z]{3,}", side)) for side in arguments.split("->"))
        assert (heads, tails) == RELATION_ARGUMENT_TYPES[label], label
    symmetric = {row[0] for row in rows if "symmetric" in row[-1]}
    assert symmetric == SYMMETRIC_RELATIONS
