"""Validate annotated JSONL files, or count labels per split.

python -m training.data validate FILE...
python -m training.data stats [--splits data/splits.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from viextract.labels import (
    ENTITY_LABELS,
    RELATION_LABELS,
)

from ..pipes import quiet_pipe
from .checks import check_conventions
from .documents import DEFAULT_SPLITS_FILE, DataError
from .files import load_numbered_documents, require_documents
from .stats import count_labels, counts_line, format_stats, split_stats


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="validate gold JSONL files against SCHEMA.md, its v1.1 annotation conventions included"
    )
    validate.add_argument("files", nargs="+", type=Path)
    stats = commands.add_parser("stats", help="entity and relation counts per split")
    stats.add_argument("--splits", type=Path, default=Path(DEFAULT_SPLITS_FILE))
    stats.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.command == "validate":
        failed = False
        for path in args.files:
            try:
                numbered = load_numbered_documents(path)
                for number, doc in numbered:
                    check_conventions(doc, f"{path}:{number}")
                require_documents(numbered, path)
            except (DataError, OSError) as error:
                print(f"{error}", file=sys.stderr)
                failed = True
                continue
            docs = [doc for _, doc in numbered]
            counts = count_labels(docs)
            entities = sum(counts[x] for x in ENTITY_LABELS)
            relations = sum(counts[x] for x in RELATION_LABELS)
            print(f"{path}: OK ({counts_line(len(docs), entities, relations)})")
        return 1 if failed else 0

    try:
        columns = split_stats(args.splits, args.data_dir)
    except (DataError, OSError) as error:
        print(f"{error}", file=sys.stderr)
        return 1
    print(format_stats(columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
