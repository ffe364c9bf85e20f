"""`viextract extract [FILES... | -] --model PATH --format json|jsonl|table|triples|csv|html [--progress]`.

`viextract export-onnx MODEL [--out FOLDER] [--int8]` writes the NER model as ONNX (the `viextract[onnx]` extra).

`viextract train|evaluate|publish` come from the `viextract[train]` extra, found by entry point.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import stat
import sys
import textwrap
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .arguments import BATCH_SIZE_HELP, check_device
from .batch.command import add_batch_command
from .dates import reference_year, with_date_values
from .export_command import add_export_onnx_command
from .inputs import STDIN, InputError, check_inputs, display_name, read_input
from .messages import Unfailing, say
from .pieces import join_pieces, split_at_line_breaks
from .results import Extraction, require_finite_scores
from .signals import Terminated, deferred_signals, terminate_as_interrupt

# The trainer's commands (package viextract_training, the viextract[train] extra), entry points of this
# group: found by name, never imported here, so extraction needs none of the training dependencies.
COMMAND_GROUP = "viextract.commands"
TRAINING_COMMANDS = {
    "train": "train a NER or relation model from a YAML config",
    "evaluate": "score a model on annotated documents, or k-fold cross-validate a config",
    "publish": "render a model card, or push a model directory to the Hugging Face Hub",
}


def format_table(name: str, result: Extraction) -> str:
    """A readable aligned view: one row per entity, then one per relation."""
    lines = [f"== {_one_line(name)}"]  # a file's name may hold a line break or an ESC as well
    rows = [(f"{e.start}-{e.end}", e.label, _one_line(e.text), f"{e.score:.2f}") for e in result.entities]
    if rows:
        widths = [max(_columns(r[i]) for r in rows) for i in range(3)]
        lines += ["  ".join([*(_pad(cell, width) for cell, width in zip(r, widths)), r[3]]) for r in rows]
    else:
        lines.append("(no entities)")
    for r in result.relations:
        lines.append(f"  {_one_line(r.head.text)} --{r.label}--> {_one_line(r.tail.text)}  {r.score:.2f}")
    return "\n".join(lines)


def _columns(cell: str) -> int:
    """Terminal columns: a combining mark (NFD input: `Hoà` as `Hoa` + grave) takes none, a wide character two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in cell)


def _pad(cell: str, width: int) -> str:
    return cell + " " * (width - _columns(cell))


def _one_line(text: str) -> str:
    """`text` for one cell: a name wrapped across lines (`Phan Văn\nGiang`) split its row in two, and a control
    character (`\x1b`) reached the terminal. Each run of them and of whitespace is one space; invisible format
    characters (soft hyphen, direction marks) are left out."""
    shown = (char if char.isprintable() else "" if unicodedata.category(char) == "Cf" else " " for char in text)
    return " ".join("".join(shown).split())


class OptionError(ValueError):
    """A flag's value is wrong or contradicts another flag: a usage error, exit status 2 as argparse gives."""


class OutputError(ValueError):
    """A result the format cannot hold (a NaN score in JSON); the message names its input."""


def _check_options(args: argparse.Namespace) -> None:
    """OptionError for a flag value that cannot work, before any file is read or model loaded."""
    from .extractor import check_batch_size

    try:
        check_batch_size(args.batch_size)
    except ValueError as error:
        raise OptionError(f"--batch-size: {error}") from None
    if args.document_date is not None:
        try:
            reference_year(args.document_date)
        except ValueError as error:
            raise OptionError(f"--document-date: {error}") from None
    if args.model is not None and not args.model.strip():  # `--model "$UNSET"` must not mean the bundled model
        raise OptionError(f"--model: {args.model!r} is empty; give a model directory or Hub id, or leave the flag out")


def _extract_command(args: argparse.Namespace) -> int:
    from .extractor import Extractor, default_extractor

    _check_options(args)
    names = check_inputs(args.files)  # before the model loads: a bad path costs nothing
    if sys.stdout is None:  # started with `>&-`: the results would have nowhere to go
        raise InputError("standard output is closed; redirect it to a file or a pipe")
    _check_not_output(names)
    device = _check_device(args.device)
    if args.quantize:
        if device is not None and not device.startswith("cpu"):
            raise OptionError(f"--quantize {args.quantize} runs on the CPU only, not on --device {device}")
        device = "cpu"
    if args.model or device is not None or args.quantize:
        from .extractor import BUNDLED_MODEL_DIR

        extractor = Extractor.from_pretrained(args.model or BUNDLED_MODEL_DIR, device, quantize=args.quantize)
    else:
        extractor = default_extractor()
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    with terminate_as_interrupt(), _progress_bar(names, show) as progress, _writer(args.format) as write:
        for name, result in _extract_files(extractor, names, args.batch_size, progress, args.document_date):
            write(name, result)
    return 0


def _check_not_output(names: list[str]) -> None:
    """InputError for an input that is also standard output: `extract a.txt > a.txt` has already been emptied
    by the shell (the result would be an empty document), and `>> a.txt` would append results to the text."""
    output = _file_status(sys.stdout)
    if output is None or not stat.S_ISREG(output.st_mode):
        return
    for name in names:
        status = _file_status(sys.stdin) if name == STDIN else os.stat(name)
        if status is not None and (status.st_dev, status.st_ino) == (output.st_dev, output.st_ino):
            raise InputError(f"{display_name(name)}: input file is also standard output; write the results elsewhere")


def _file_status(stream) -> os.stat_result | None:
    """fstat of a stream's file descriptor; None for a stream without one (closed, or a test's StringIO)."""
    try:
        return os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both an OSError and a ValueError
        return None


def _check_device(device: str | None) -> str | None:
    """`device` if torch can use it here; OptionError (one line) naming it otherwise."""
    if device is None:
        return None
    try:
        return check_device(device)
    except ValueError as error:
        raise OptionError(f"--device: {error}") from None


def _extract_files(
    extractor, names: list[str], batch_size: int, progress, document_date: str | None = None
) -> Iterator[tuple[str, Extraction]]:
    """(display name, result) per input, in order; long inputs go through `pipe` in pieces (pieces.py)."""
    queue: deque[tuple[str, str, int, int, bool]] = deque()  # per piece sent: name, text, start, end, last

    def pieces() -> Iterator[str]:
        for index, name in enumerate(names):
            progress.set_description_str(f"[{index + 1}/{len(names)}] {display_name(name)}")
            text = read_input(name)  # read only when `pipe` needs it
            bounds = split_at_line_breaks(text)
            for start, end in bounds:
                queue.append((name, text, start, end, end == bounds[-1][1]))
                yield text[start:end]

    parts: list[tuple[int, Extraction]] = []
    for result in extractor.pipe(pieces(), batch_size=batch_size):
        name, text, start, end, last = queue.popleft()
        parts.append((start, result))
        progress.update(len(text[start:end].encode("utf-8")))
        if last:
            # Pieces after the first lack the ` date` header: DATE values are read again on the whole text.
            yield display_name(name), with_date_values(join_pieces(text, parts), document_date)
            parts = []


@contextmanager
def _progress_bar(names: list[str], show: bool):
    """A bar on stderr in bytes of input, named for the file being read; a no-op unless `show`."""
    from tqdm import tqdm

    sizes = [os.path.getsize(n) if n != STDIN and os.path.isfile(n) else None for n in names]
    total = sum(sizes) if None not in sizes else None
    with tqdm(total=total, unit="B", unit_scale=True, disable=not show, file=Unfailing(sys.stderr)) as bar:
        yield bar


class _Output:
    """Standard output whose write errors name it: a full disk said only '[Errno 28] No space left on device'."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self._do(self.stream.write, text)

    def flush(self) -> None:
        self._do(self.stream.flush)

    @staticmethod
    def _do(action, *args):
        try:
            return action(*args)
        except BrokenPipeError:
            raise  # the reader left: handled as such by main
        except OSError as error:
            named = OSError(f"standard output: {error.strerror or error}")
            named.errno = error.errno
            raise named from error


def _document_json(name: str, result: Extraction, indent: int | None = None) -> str:
    """`{"file": name, **result.to_dict()}` as JSON. A NaN or infinite score is refused, as `to_json` refuses
    it: json.dumps would write `NaN`, which no JSON reader takes."""
    try:
        require_finite_scores(result, name)
    except ValueError as error:
        raise OutputError(str(error)) from None
    return json.dumps({"file": name, **result.to_dict()}, ensure_ascii=False, indent=indent, allow_nan=False)


@contextmanager
def _writer(output_format: str):
    """`write(name, result)` for the format, each document written and flushed as soon as it is done.

    json is one array written element by element: on Ctrl-C or an error it is closed, so the
    documents finished so far stay a valid JSON document.
    """
    out = _Output(sys.stdout)
    if output_format == "html":
        yield from _html_writer(out)
        return
    if output_format in TRIPLE_FORMATS:
        yield _triple_writer(out, output_format)
        return
    if output_format != "json":
        render = format_table if output_format == "table" else _document_json

        def write(name: str, result: Extraction) -> None:
            with deferred_signals():
                out.write(render(name, result) + "\n")
                out.flush()

        yield write
        return
    count = 0

    def write_element(name: str, result: Extraction) -> None:
        nonlocal count
        element = _document_json(name, result, indent=2)
        with deferred_signals():
            out.write(("[\n" if count == 0 else ",\n") + textwrap.indent(element, "  "))
            out.flush()
            count += 1  # before a held Ctrl-C is raised, so the closing bracket matches what was written

    try:
        yield write_element
    finally:
        out.write("\n]\n" if count else "[]\n")  # the same bytes as json.dumps(all results, indent=2)
        out.flush()


TRIPLE_FORMATS = ("triples", "csv")
TRIPLE_COLUMNS = ("file", "head", "relation", "tail", "head_start", "head_end", "tail_start", "tail_end", "date")


def triple_rows(name: str, result: Extraction) -> list[list]:
    """One row of TRIPLE_COLUMNS per relation; `date` joins the triple's DATE values with `;`."""
    return [
        [name, t.head, t.relation, t.tail, t.head_start, t.head_end, t.tail_start, t.tail_end, ";".join(t.dates)]
        for t in result.to_triples()
    ]


def _triple_writer(out, output_format: str):
    """`write(name, result)` for `triples` (tab-separated) or `csv`; each field is `_one_line`, so that a row is
    one line of TRIPLE_COLUMNS whatever the text holds (a tab or line break in a name, an ESC)."""
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")  # RFC 4180 quoting; \n as the other formats end lines

        def render(rows: list[list]) -> str:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([_one_line(str(v)) for v in row] for row in rows)
            return buffer.getvalue()

        out.write(render([list(TRIPLE_COLUMNS)]))
    else:

        def render(rows: list[list]) -> str:
            return "".join("\t".join(_one_line(str(v)) for v in row) + "\n" for row in rows)

    def write(name: str, result: Extraction) -> None:
        with deferred_signals():
            out.write(render(triple_rows(name, result)))
            out.flush()

    return write


def _html_writer(out):
    """One page for all inputs, written when the last is done (a page cannot be streamed and stay valid).

    On Ctrl-C or a failing later input the page of the documents done so far is written, as json
    closes its array: hours of work on the files before it are not lost.
    """
    from .render import render

    names: list[str] = []
    results: list[Extraction] = []

    def write(name: str, result: Extraction) -> None:
        names.append(name)
        results.append(result)

    try:
        yield write
    finally:
        with deferred_signals():
            # Several inputs: each section is headed by its file, else only their order would tell them apart.
            out.write(render(results, title=", ".join(names), names=names if len(names) > 1 else None))
            out.flush()


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="viextract", description=__doc__)
    parser.add_argument("--version", action="version", version=f"viextract {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="extract entities and relations from UTF-8 text files")
    extract.add_argument("files", nargs="*", help="input files; '-' or none reads standard input")
    extract.add_argument("--model", help="model directory or Hub repo id (default: the bundled model)")
    extract.add_argument(
        "--format",
        choices=["json", "jsonl", "table", *TRIPLE_FORMATS, "html"],
        default="json",
        help="triples: tab-separated relation rows; csv: the same with a header row (in both, a field's line breaks,"
        " tabs and control characters are written as one space); html: one page for all inputs",
    )
    extract.add_argument("--batch-size", type=int, default=32, help=BATCH_SIZE_HELP)
    extract.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress on stderr per file and within long files (default: only when stderr is a terminal)",
    )
    extract.add_argument("--device", help="cpu, cuda, cuda:0 or mps (default: cuda when available, else cpu)")
    extract.add_argument("--quantize", choices=["int8"], help="dynamic int8 quantization (CPU only)")
    extract.add_argument(
        "--document-date",
        metavar="YYYY-MM-DD",
        help="year for dates written without one, in every input (default: each text's ` date` header line)",
    )
    extract.set_defaults(run=_extract_command)
    add_batch_command(commands)
    add_export_onnx_command(commands)
    for name, summary in TRAINING_COMMANDS.items():
        # Listed for --help only: main() hands the arguments to the entry point before parsing.
        commands.add_parser(name, help=f"{summary} (viextract[train])", add_help=False)
    return parser


def _run_training_command(name: str, argv: list[str]) -> int:
    """Run the `viextract.commands` entry point `name` as `main(argv, prog)`; without the trainer, one line."""
    from importlib.metadata import entry_points

    points = [point for point in entry_points(group=COMMAND_GROUP) if point.name == name]
    try:
        command, missing = (points[0].load(), None) if points else (None, "not installed")
    except ImportError as error:  # the extra's dependencies (yaml, datasets, ...) are missing
        command, missing = None, str(error)
    if command is None:
        print(
            f'viextract: {name} needs the training extra ({missing}): pip install "viextract[train]"', file=sys.stderr
        )
        return 2
    return command(argv, prog=f"viextract {name}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TRAINING_COMMANDS:
        return _run_training_command(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    _utf8_stdout()
    try:
        return args.run(args)
    except BrokenPipeError:
        return _reader_left()
    except OptionError as error:
        say(f"viextract: {error}")
        return 2
    except (OSError, InputError, OutputError) as error:  # ModelLoadError included: a message, not a traceback
        say(f"viextract: {error}")
        return 1
    except Terminated:
        say("viextract: terminated")
        return 143  # 128 + SIGTERM
    except KeyboardInterrupt:
        say("viextract: interrupted")
        return 130  # 128 + SIGINT, as shells report it


def _reader_left() -> int:
    """The reader of stdout stopped (`| head`): exit quietly, as Unix tools do, with the shell's SIGPIPE status.

    Python would report the broken pipe again when it flushes stdout at exit; stdout goes to
    /dev/null first so that it has nothing left to flush.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE


def _utf8_stdout() -> None:
    """Output is UTF-8 whatever the locale: a C locale must not turn `Lào` into an encoding error."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    if encoding != "utf8" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")


if __name__ == "__main__":
    # `python -m viextract.cli` runs this file as __main__, a second copy beside the `viextract.cli` that batch
    # imports: its Terminated would not be the one raised there. Run the imported module's main instead.
    from viextract.cli import main as imported_main

    raise SystemExit(imported_main())
