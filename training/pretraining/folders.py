"""What the pretraining commands check before any work, in one wording: a tokenizer folder has its two files,
and a model can be saved as a folder where the output goes."""

from __future__ import annotations

import os
from pathlib import Path

from viextract.inputs import InputError


def check_tokenizer_folder(folder: str | os.PathLike, what: str) -> None:
    """InputError `WHAT: FOLDER: no vocab.txt there (...)` when `folder` lacks one of PhoBERT's tokenizer files."""
    for name in ("vocab.txt", "bpe.codes"):
        if not (Path(folder) / name).is_file():
            raise InputError(f"{what}: {folder}: no {name} there (a tokenizer folder has vocab.txt and bpe.codes)")


def check_output_folder(out: str | os.PathLike, what: str) -> None:
    """InputError `WHAT: OUT: ...` when a file is at `out` or above it: found now, not when the model is saved."""
    from viextract.saving import check_save_target

    try:
        check_save_target(out)
    except NotADirectoryError as error:
        raise InputError(f"{what}: {error}") from None
