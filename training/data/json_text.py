"""UTF-8 text and JSON files read with `file:line: field: problem` errors, and JSON written atomically.

Standard library only (with the data package's error types and viextract.saving), unlike files.py, which
checks documents with viextract and so imports torch: the job runner reads its jobs file and writes its
summary with these and stays light.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from viextract.saving import atomic_file

from .documents import DataError, field_error

_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")


def read_utf8(path: str | Path, what: str = "file") -> str:
    """The text of `path`; DataError naming the file (and line) when it is missing or not UTF-8."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the {what}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Lines end where the readers end them (files.split_lines): at a bare \r too, or an old Mac file's bad
        # byte on line 3 was said to be on line 1, at column 439.
        breaks = list(_LINE_BREAK_BYTES.finditer(data, 0, error.start))
        line = len(breaks) + 1
        column = error.start - (breaks[-1].end() if breaks else 0) + 1
        byte = data[error.start]
        raise field_error(
            f"{path}:{line}", "encoding", f"not UTF-8 text (byte 0x{byte:02x} at column {column})"
        ) from None


class DuplicateKey(ValueError):
    """A JSON object gives `key` twice; json.loads would keep the last value and silently drop the first."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads: DuplicateKey for a key given twice instead of keeping the last."""
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        raise DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return data


class LongNumber(ValueError):
    """An integer of more digits than Python converts (4,300): json.loads raised int()'s ValueError, a traceback."""

    def __init__(self, digits: str) -> None:
        super().__init__(f"invalid JSON: a number of {len(digits)} digits, more than can be read")
        self.digits = digits


def _read_int(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:
        raise LongNumber(digits) from None


def decode_json(text: str) -> Any:
    """json.loads, but DuplicateKey for a key given twice in one object and LongNumber for an integer too long."""
    return json.loads(text, object_pairs_hook=unique_keys, parse_int=_read_int)


def read_json(path: str | Path, what: str = "file") -> Any:
    """The JSON value of `path`; DataError (`file:line: field: problem`) when it is missing, not UTF-8, not
    JSON, or gives a key twice in one object (json.loads would silently keep the last)."""
    path = Path(path)
    text = read_utf8(path, what).removeprefix("\ufeff")  # a byte-order mark is not JSON
    try:
        return decode_json(text)
    except json.JSONDecodeError as error:
        raise field_error(
            f"{path}:{error.lineno}", "json", f"invalid JSON: {error.msg} at column {error.colno}"
        ) from None
    except LongNumber as error:
        line = text.count("\n", 0, text.find(error.digits)) + 1
        raise field_error(f"{path}:{line}", "json", str(error)) from None
    except RecursionError:  # `[[[[...` thousands deep: json gives up before finding an error
        raise field_error(str(path), "json", "invalid JSON: nested too deeply") from None
    except DuplicateKey as error:
        lines = key_lines(text, error.key)
        raise field_error(
            f"{path}:{lines[-1]}", error.key, f"given twice (first on line {lines[0]}); JSON keeps only the last"
        ) from None


def key_lines(text: str, key: str) -> list[int]:
    """The lines of a JSON text where `key` is written as an object key (at least one, for errors)."""
    written = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:")
    return [number for number, line in enumerate(text.split("\n"), 1) for _ in written.finditer(line)] or [1]


def write_json(path: str | Path, value: Any, what: str = "file") -> None:
    """`value` as JSON, written beside `path` and renamed into place: never half a file under `path`. An OSError
    names `path` and `what`."""
    with writing_file(path, what) as staging:
        staging.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@contextlib.contextmanager
def writing_file(path: str | Path, what: str) -> Iterator[Path]:
    """viextract.saving.atomic_file, with an OSError that names `path` and `what` (a full disk said only
    '[Errno 28] No space left on device', or named the hidden staged file)."""
    out = Path(path)
    try:
        with atomic_file(out) as staging:
            yield staging
    except OSError as error:
        named = OSError(f"{out}: cannot write the {what} ({error.strerror or error})")
        named.errno = error.errno
        raise named from error
