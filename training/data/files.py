"""Annotated documents on disk: JSONL read line by line with `file:line` errors, and written atomically."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from viextract.saving import file_in_the_way

from ..pipes import write_stdout
from .checks import check_document
from .documents import DataError, Document, field_error, parse_document
from .json_text import DuplicateKey, LongNumber, decode_json, read_utf8, writing_file

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` where an editor ends them: str.splitlines also splits at U+2028, U+0085 or a form feed."""
    return _LINE_BREAK.split(text)


def read_jsonl(path: str | Path) -> list[tuple[int, Any]]:
    """(line number, decoded object) for each non-blank line; DataError on bad JSON, a key given twice in one
    object or a non-UTF-8 file."""
    path = Path(path)
    rows = []
    text = read_utf8(path, "data file")
    # JSON strings hold no raw line break, so a bare \r ends a line too (old Mac files); U+2028 does not.
    for number, line in enumerate(split_lines(text), start=1):
        # A byte-order mark is not text (editors on Windows add one), also where `cat` joined such a file to
        # another: json refused it as invalid JSON, "decode using utf-8-sig".
        line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            rows.append((number, decode_json(line)))
        except json.JSONDecodeError as error:
            raise field_error(
                f"{path}:{number}", "json", f"invalid JSON: {error.msg} at column {error.colno}"
            ) from None
        except LongNumber as error:
            raise field_error(f"{path}:{number}", "json", str(error)) from None
        except RecursionError:  # `[[[[...` thousands deep: json gives up before finding an error
            raise field_error(f"{path}:{number}", "json", "invalid JSON: nested too deeply") from None
        except DuplicateKey as error:  # json keeps the last: a second "entities" would replace the first
            raise field_error(
                f"{path}:{number}", error.key, "given twice in one object; JSON keeps only the last"
            ) from None
    return rows


def load_documents(path: str | Path) -> list[Document]:
    """Read and validate a JSONL file; raise DataError (`file:line: field: problem`) at the first fault."""
    return [doc for _, doc in load_numbered_documents(path)]


def load_numbered_documents(path: str | Path) -> list[tuple[int, Document]]:
    """`load_documents` with the line number of each document, for messages about it."""
    documents: list[tuple[int, Document]] = []
    first_line: dict[str, int] = {}
    for number, obj in read_jsonl(path):
        where = f"{path}:{number}"
        doc = parse_document(obj, where)
        check_document(doc, where)
        if doc.id in first_line:
            raise field_error(where, "id", f"duplicate document id {doc.id!r} (also line {first_line[doc.id]})")
        first_line[doc.id] = number
        documents.append((number, doc))
    return documents


def require_documents(documents: Sequence[Any], path: str | Path) -> None:
    """DataError when `path` held no document: the wrong file, or one saved empty, has nothing to train or score on
    (one message for every command that reads documents)."""
    if not documents:
        raise DataError(f"{path}: no documents (empty file)")


def write_documents(documents: Iterable[Document], handle) -> None:
    for doc in documents:
        handle.write(_jsonl_line(doc))


def _jsonl_line(doc: Document) -> str:
    return json.dumps(doc.to_dict(), ensure_ascii=False) + "\n"


def print_documents(documents: Iterable[Document]) -> int:
    """Write `documents` to stdout as JSONL; 0, or 2 with one line on stderr when stdout cannot take them (a full
    disk: a traceback, or with PYTHONUNBUFFERED=1 a line cut short in silence). A reader that stops
    (`| head`) is the command's `quiet_pipe`."""
    try:
        for doc in documents:
            write_stdout(_jsonl_line(doc))
    except BrokenPipeError:
        raise
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def save_documents(documents: Iterable[Document], path: str | Path) -> None:
    """`documents` as a JSONL file at `path`, written beside it and renamed into place: never half a file. An
    OSError names `path`."""
    with writing_file(path, "documents") as staging, staging.open("w", encoding="utf-8") as handle:
        write_documents(documents, handle)


def check_output_file(path: str | Path | None, inputs: Iterable[str | Path | None] = (), flag: str = "--out") -> None:
    """DataError before any work when `path` cannot take the file a command writes: a directory, a device or
    pipe, a name the system refuses, or one of its `inputs` (writing there would replace the user's data)."""
    if path is None:
        return
    out = Path(path)
    try:
        problem = _output_problem(out, inputs)
    except OSError as error:  # a name over the system's length limit, a folder it may not look into
        problem = f"{out}: {error.strerror or error}"
    if problem is not None:
        raise DataError(f"{flag}: {problem}")


def _output_problem(out: Path, inputs: Iterable[str | Path | None]) -> str | None:
    if out.is_dir():
        return f"{out}: is a directory; give the path of a file to write"
    if out.exists() and not out.is_file():
        # /dev/stdout, /dev/null, a FIFO: the file written beside and renamed into place would replace the
        # device itself (as root), or fail to be created in /dev.
        return f"{out}: not a regular file (a device or pipe); give the path of a file to write"
    folder = file_in_the_way(out.parent)
    if folder is not None:
        return f"{out}: {folder} is a file, not a folder"
    for source in inputs:
        if source is not None and out.exists() and Path(source).exists() and os.path.samefile(out, source):
            return f"{out}: is an input of this command ({source}); writing it would replace it"
    return None
