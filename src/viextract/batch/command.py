"""The `viextract batch` subcommand: flags to `BatchOptions`, a summary line at the end."""

from __future__ import annotations

import argparse
import sys
import warnings

from ..arguments import BATCH_SIZE_HELP
from ..messages import say
from ..signals import terminate_as_interrupt
from .documents import INPUT_FORMATS
from .runner import ENGINES, BatchOptions, BatchWarning
from .shards import OUTPUT_FORMATS


def add_batch_command(commands) -> None:
    batch = commands.add_parser(
        "batch",
        help="extract from a whole corpus into resumable shards (JSONL, .txt folder or Parquet in)",
        description="Extract from every document of INPUT into shards under --out; rerun to resume.",
    )
    batch.add_argument("input", help="a .jsonl file, a folder of .txt files, or a .parquet file")
    batch.add_argument("--out", required=True, help="output folder (created; a rerun resumes it)")
    batch.add_argument("--input-format", choices=INPUT_FORMATS, help="default: from the name")
    batch.add_argument("--format", dest="output_format", choices=OUTPUT_FORMATS, default="jsonl")
    batch.add_argument("--text-field", default="text", help="JSONL/Parquet field with the text (default: text)")
    batch.add_argument("--id-field", default="id", help="field with the id; without it, the line/row number")
    batch.add_argument("--model", help="model directory or Hub repo id (default: the bundled model)")
    batch.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: processes here; ray: Ray Data (viextract[ray]); datasets: Hugging Face (viextract[datasets])",
    )
    batch.add_argument("--workers", type=int, default=1, help="local: processes; datasets: num_proc; ray: actors")
    batch.add_argument("--threads-per-worker", type=int, help="torch threads per worker (default: cores/workers)")
    batch.add_argument("--shard-size", type=int, default=1000, help="documents per output shard")
    batch.add_argument("--chunk-size", type=int, default=32, help="documents per unit of work")
    batch.add_argument("--batch-size", type=int, default=32, help=BATCH_SIZE_HELP)
    batch.add_argument("--max-chars", type=int, help="documents longer than this are recorded as failures")
    batch.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    batch.add_argument("--quantize", choices=["int8"], help="dynamic int8 linear layers (CPU)")
    batch.add_argument("--ray-address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    batch.add_argument("--num-cpus-per-actor", type=float, default=1.0)
    batch.add_argument("--num-gpus-per-actor", type=float, default=0.0, help="> 0: GPU actors (device cuda)")
    batch.add_argument("--progress", action="store_true", help="progress on stderr even when not a terminal")
    batch.set_defaults(run=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    from .runner import run_batch

    fields = {name: getattr(args, name) for name in BatchOptions.__dataclass_fields__}
    fields["progress"] = args.progress or sys.stderr.isatty()
    try:
        # SIGTERM as Ctrl-C: its default ended this process alone, and the worker processes waited forever.
        with terminate_as_interrupt(), warnings.catch_warnings():
            warnings.simplefilter("ignore", BatchWarning)  # printed below as one line, not as a Python warning
            summary = run_batch(BatchOptions(**fields))
    except (ValueError, ImportError) as error:
        say(f"viextract: {error}")
        return 2
    for note in summary.notes:
        say(f"viextract batch: note: {note}")
    for warning in summary.warnings:
        say(f"viextract batch: warning: {warning}")
    say(f"viextract batch: {summary.describe()}")
    return 0  # failures are counted above and listed in the failures-*.jsonl files
