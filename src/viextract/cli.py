"""`viextract extract [FILES... | -] --model PATH --format json|jsonl|table`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .batch.command import add_batch_command
from .results import Extraction


def _read_inputs(paths: Sequence[str]) -> Iterator[tuple[str, str]]:
    for name in paths or ["-"]:
        if name == "-":
            yield "<stdin>", sys.stdin.read()
            continue
        try:
            yield name, Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise SystemExit(f"viextract: {name}: not UTF-8 text ({error})") from error
        except OSError as error:
            raise SystemExit(f"viextract: {name}: {error.strerror or error}") from error


def format_table(name: str, result: Extraction) -> str:
    """A readable aligned view: one row per entity, then one per relation."""
    lines = [f"== {name}"]
    rows = [(f"{e.start}-{e.end}", e.label, e.text, f"{e.score:.2f}") for e in result.entities]
    if rows:
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines += [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows]
    else:
        lines.append("(no entities)")
    for r in result.relations:
        lines.append(f"  {r.head.text} --{r.label}--> {r.tail.text}  {r.score:.2f}")
    return "\n".join(lines)


def _extract_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .extractor import Extractor, default_extractor

    extractor = Extractor.from_pretrained(args.model) if args.model else default_extractor()
    inputs = list(_read_inputs(args.files))
    texts = (text for _, text in inputs)
    results = extractor.pipe(texts, batch_size=args.batch_size)
    progress = tqdm(results, total=len(inputs), unit="doc", disable=len(inputs) < 2, file=sys.stderr)
    collected = []
    for (name, _), result in zip(inputs, progress):
        if args.format == "jsonl":
            print(json.dumps({"file": name, **result.to_dict()}, ensure_ascii=False))
        elif args.format == "table":
            print(format_table(name, result))
        else:
            collected.append({"file": name, **result.to_dict()})
    if args.format == "json":
        print(json.dumps(collected, ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viextract", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="extract entities and relations from UTF-8 text files")
    extract.add_argument("files", nargs="*", help="input files; '-' or none reads standard input")
    extract.add_argument("--model", help="model directory or Hub repo id (default: the bundled model)")
    extract.add_argument("--format", choices=["json", "jsonl", "table"], default="json")
    extract.add_argument("--batch-size", type=int, default=32)
    extract.set_defaults(run=_extract_command)
    add_batch_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except OSError as error:  # ModelLoadError included: a message, not a traceback
        print(f"viextract: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
