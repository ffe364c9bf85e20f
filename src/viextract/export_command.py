"""The `viextract export-onnx` subcommand: flags to `viextract.onnx.export_ner`, the output folder checked first."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from contextlib import redirect_stderr
from pathlib import Path

from .messages import Unfailing, say
from .saving import file_in_the_way
from .signals import terminate_as_interrupt

# What export_ner writes into --out; a folder holding only these (an earlier export) may be written again.
EXPORT_FILES = ("model.onnx", "model_int8.onnx")
# The quantizer's shape-inferred copy of model.onnx, left by an int8 export killed (SIGKILL) while quantizing:
# it made the folder "not empty" for the export that would remove it.
INFERRED_COPY = "model-inferred.onnx"


class OutFolderError(ValueError):
    """The command cannot run as asked: --out is a file or holds other things, or the onnx extra is missing."""


def add_export_onnx_command(commands) -> None:
    export = commands.add_parser(
        "export-onnx",
        help="export a model's NER to ONNX for viextract.onnx.load_onnx_extractor (viextract[onnx])",
        description="Export the NER model of MODEL to ONNX (model.onnx; model_int8.onnx too with --int8). Without"
        " --out the graph goes beside the weights, where load_onnx_extractor(MODEL) looks for it.",
    )
    export.add_argument("model", help="model directory (ner/ and optional re/, or a bare NER folder) or Hub repo id")
    export.add_argument(
        "--out",
        metavar="FOLDER",
        help="folder to write model.onnx into: new, empty, or holding only an earlier export (replaced)",
    )
    export.add_argument("--int8", action="store_true", help="also write model_int8.onnx (dynamic int8 weights)")
    export.add_argument("--revision", help="branch, tag or commit of a Hub repo id")
    export.add_argument("--verbose", action="store_true", help="show transformers' progress and log lines")
    export.set_defaults(run=run_export_onnx)


def check_out_folder(out: str) -> Path:
    """The .onnx file to write in `out`; OutFolderError, before the model loads, when `out` cannot take it."""
    folder = Path(out).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OutFolderError(f"--out {out}: a file, not a folder; pass the folder to write model.onnx into")
    if (above := file_in_the_way(folder)) is not None:  # `--out /dev/full/x`: refused only once the model loaded
        raise OutFolderError(f"--out {out}: {above} is a file, not a folder, so model.onnx cannot be written under it")
    if folder.is_dir():
        ours = (*EXPORT_FILES, INFERRED_COPY)
        others = sorted(p.name for p in folder.iterdir() if p.name not in ours and not p.name.startswith("."))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise OutFolderError(
                f"--out {out}: not empty ({shown}); write into a new or empty folder, or one holding only an "
                f"earlier export ({' and '.join(EXPORT_FILES)}); without --out it goes beside the model's weights"
            )
    return folder / EXPORT_FILES[0]


def run_export_onnx(args: argparse.Namespace) -> int:
    """Nothing is printed unless --verbose; the model's own errors (no such folder, not a model) exit 1 in main."""
    missing = [name for name in ("onnxruntime", "onnx") if importlib.util.find_spec(name) is None]
    try:
        if missing:
            raise OutFolderError(f'export-onnx needs {" and ".join(missing)}: pip install "viextract[onnx]"')
        output = check_out_folder(args.out) if args.out is not None else None
    except OutFolderError as error:  # a usage error: exit status 2, as argparse gives
        say(f"viextract: {error}")
        return 2
    from .onnx import export_ner

    # SIGTERM as Ctrl-C, so that the staging file of a graph half written is removed on the way out; and
    # --verbose's progress bars (transformers') dropped when stderr is closed, not a failed load.
    with terminate_as_interrupt(), redirect_stderr(Unfailing(sys.stderr)):
        written = export_ner(args.model, output, revision=args.revision, int8=args.int8, verbose=args.verbose)
    if args.verbose:
        say(f"viextract export-onnx: wrote {written}")
    return 0
