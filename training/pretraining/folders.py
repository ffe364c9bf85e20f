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
    check_tokenizer_files(Path(folder), what)


def check_tokenizer_files(folder: Path, what: str) -> None:
    """InputError `WHAT: FILE:LINE: ...` for a vocab.txt or bpe.codes line PhobertTokenizer would refuse in a
    traceback naming neither (or, for bpe.codes, read as a wrong merge without a word)."""
    from viextract.inputs import decode_utf8

    from .restrict import read_vocab_counts

    try:
        read_vocab_counts(folder / "vocab.txt")
        codes = folder / "bpe.codes"
        # PhobertTokenizer's reading: split at "\n", the last piece dropped (bpe_closure.read_merge_lines)
        for number, line in enumerate(decode_utf8(codes.read_bytes(), str(codes)).split("\n")[:-1], start=1):
            fields = line.rstrip("\r").split(" ")  # not split(): PhoBERT's has a merge of "\xa0" and "km</w>"
            if len(fields) != 3 or not all(fields) or not fields[2].isdigit():  # fastBPE's `left right count`
                raise InputError(f"{codes}:{number}: expected 'left right count', got {line!r}")
    except InputError as error:
        raise InputError(f"{what}: {error}") from None


def check_output_folder(out: str | os.PathLike, what: str) -> None:
    """InputError `WHAT: OUT: ...` when a file is at `out` or above it: found now, not when the model is saved."""
    from viextract.saving import check_save_target

    try:
        check_save_target(out)
    except NotADirectoryError as error:
        raise InputError(f"{what}: {error}") from None
