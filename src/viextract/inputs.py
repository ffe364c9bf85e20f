"""The command line's input files: checked before the model loads, decoded exactly.

Offsets in the output index each file's decoded text, so files (and standard input) are read as
bytes and decoded as strict UTF-8, with no newline translation: `\\r\\n` stays two characters.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

STDIN = "-"
STDIN_NAME = "<stdin>"


class InputError(ValueError):
    """An input the command line cannot read; the message names the source and the problem."""


def check_inputs(names: Sequence[str]) -> list[str]:
    """The inputs to read (`-` when none is given), each an existing readable file or standard input.

    Called before the model loads, so a typo or a wrong encoding in the last file costs nothing:
    regular files are decoded once here. Named pipes and devices (`<(zcat a.gz)`) are accepted
    and checked when read; directories and missing or unreadable paths are refused, each error naming the
    file as results do (`display_name`: `bad\\xff.txt`, not Python's `bad\\udcff.txt`).
    """
    names = list(names) or [STDIN]
    if names.count(STDIN) > 1:
        raise InputError(f"{STDIN}: standard input is given more than once")
    if STDIN in names and sys.stdin is None:  # started with `<&-`: nothing to read, not an empty text
        raise InputError(f"{STDIN}: standard input is closed; give a file, or pipe text in")
    for name in names:
        if name == STDIN:
            continue
        if not name.strip():  # `extract "$UNSET"`: Path('') is the current folder
            raise InputError(f"{name!r}: an empty file name")
        path = Path(name)
        if not path.exists():
            raise InputError(f"{display_name(name)}: no such file")
        if path.is_dir():
            raise InputError(f"{display_name(name)}: is a directory, not a text file")
        if not os.access(path, os.R_OK):
            raise InputError(f"{display_name(name)}: not readable (permission denied)")
        if path.is_file():
            read_input(name)  # not UTF-8 fails now, not after hours of work on the files before it
    _refuse_one_stream_twice(names)
    return names


def _refuse_one_stream_twice(names: Sequence[str]) -> None:
    """InputError for a pipe or device named twice (`/dev/stdin -`): the first read takes all it holds, and
    the second came back as an empty document without a word. A regular file reads the same each time."""
    seen: dict[tuple[int, int], str] = {}
    for name in names:
        try:
            status = os.fstat(sys.stdin.fileno()) if name == STDIN else os.stat(name)
        except (AttributeError, OSError, ValueError):  # a test's StringIO has no descriptor
            continue
        if stat.S_ISREG(status.st_mode):
            continue
        key = (status.st_dev, status.st_ino)
        if key in seen:
            raise InputError(
                f"{display_name(name)}: the same stream as {display_name(seen[key])}, which a first read empties"
            )
        seen[key] = name


def display_name(name: str) -> str:
    """The name written in results: a file name that is not UTF-8 (`\\xff.txt`) shows its bytes escaped, as
    Python hands it over as lone surrogates that a UTF-8 output cannot hold (an error, or invalid JSON)."""
    if name == STDIN:
        return STDIN_NAME
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_input(name: str) -> str:
    """The decoded text of a file or of standard input (`-`); InputError if it is not UTF-8, naming the file
    as results do (`display_name`)."""
    if name == STDIN:
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)
        # A text stream without bytes beneath it (a StringIO in tests) is already decoded.
        return decode_utf8(buffer.read(), STDIN_NAME) if buffer is not None else stream.read()
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise InputError(f"{display_name(name)}: {error.strerror or error}") from error
    return decode_utf8(data, display_name(name))


def decode_utf8(data: bytes, source: str) -> str:
    """`data` as UTF-8 (a leading byte-order mark is kept as a character), or InputError naming where it fails."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(
            f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}, byte offset {error.start}); "
            f"convert it first, e.g. iconv -f cp1258 -t utf-8"
        ) from None
