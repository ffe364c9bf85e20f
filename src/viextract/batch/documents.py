"""Input documents for `viextract batch`: JSONL, a folder of .txt files or Parquet, read lazily in order."""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import os
import struct
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

INPUT_FORMATS = ("jsonl", "txt", "parquet")


@dataclass(frozen=True)
class Document:
    """One input item. `error` is set (and `text` None) when it could not be read as a document."""

    id: str
    text: str | None
    source: str  # file:line (or file:row) so a failure can be found in the input
    error: str | None = None


def detect_input_format(path: Path) -> str:
    if path.is_dir():
        return "txt"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"{path}: cannot tell the input format from the name; pass --input-format jsonl|txt|parquet")


def read_documents(
    path: str | Path, input_format: str | None = None, text_field: str = "text", id_field: str = "id"
) -> Iterator[Document]:
    """Every input item in order; an unreadable one is a `Document` with `error`, never an exception.

    A JSONL file in UTF-16 or UTF-32 is refused whole (ValueError): none of its lines could be read.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such input file or folder")
    input_format = input_format or detect_input_format(path)
    if input_format == "jsonl":
        _refuse_wide_encoding(path)  # here, not in the generator: before the caller makes anything
        return _read_jsonl(path, text_field, id_field)
    if input_format == "txt":
        return _read_txt_folder(path)
    if input_format == "parquet":
        return _read_parquet(path, text_field, id_field)
    raise ValueError(f"unknown input format {input_format!r}; expected one of {', '.join(INPUT_FORMATS)}")


def input_files_stamp(path: str | Path, input_format: str | None = None) -> str:
    """`files_stamp` of the files `read_documents` reads.

    A rerun must read the same documents: a line appended or edited, or a file added, moves them between shards.
    """
    return files_stamp(*_input_files(Path(path), input_format))


def input_content_digest(path: str | Path, input_format: str | None = None) -> str:
    """`files_digest` of the files `read_documents` reads."""
    return files_digest(*_input_files(Path(path), input_format))


def _input_files(path: Path, input_format: str | None) -> tuple[Path, list[Path]]:
    if (input_format or detect_input_format(path)) == "txt":
        return path, _txt_files(path)
    return path.parent, [path]


def _txt_files(folder: Path) -> list[Path]:
    """The .txt files of `folder`, sorted by name. Not its folders: an --out named `extracted.txt` inside it would
    be read as a failed document, and its files' writes would make every rerun a changed input. Not its hidden
    files, as a shell's `*.txt`: macOS's `._a.txt` metadata and editors' `.#a.txt` locks are not documents. Nor
    pipes or devices (or links to them): reading one waited forever, or until memory ran out."""
    return sorted(path for path in folder.glob("*.txt") if not path.name.startswith(".") and _regular_or_dangling(path))


def other_case_txt_files(folder: Path) -> list[Path]:
    """Files of `folder` that `_txt_files` leaves out only for the case of their extension (`A.TXT`, `b.Txt`).

    Still not read (that would change which files an existing output folder was made from), but counted, so
    that a run does not skip them without a word."""
    read = set(_txt_files(folder))
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() == ".txt" and path.suffix != ".txt" and not path.name.startswith(".")
        if path not in read and _regular_or_dangling(path)
    )


def _regular_or_dangling(path: Path) -> bool:
    """A file, or a link to nothing (read as a failure, so that the run lists it)."""
    return path.is_file() or (path.is_symlink() and not path.exists())


def files_stamp(root: Path, files: list[Path]) -> str:
    """Count, bytes and a digest of the names (under `root`), sizes and modification times of `files`: cheap.

    And their change times (ctime), which no tool sets back: an edit of the same size whose modification time
    was put back (`touch -r`, `cp -p` of another version) kept the stamp, and the rerun mixed old and new."""
    digest, size = hashlib.sha256(), 0
    for file in files:
        try:
            stat = file.stat()
        except OSError:  # a dangling link: read as a failure, still part of the input
            stat = None
        size += stat.st_size if stat else 0
        name = file.relative_to(root).as_posix()
        entry = f"{name}\0{stat.st_size},{stat.st_mtime_ns},{stat.st_ctime_ns}\n" if stat else f"{name}\0-\n"
        digest.update(entry.encode("utf-8", "surrogateescape"))
    return f"{len(files)} file{'s' * (len(files) != 1)}, {size} bytes, digest {digest.hexdigest()[:16]}"


def same_sizes(stamp: str, other: str) -> bool:
    """Whether two `files_stamp`s count the same files and bytes (they may differ in times or names)."""
    return stamp.partition(", digest ")[0] == other.partition(", digest ")[0]


def files_digest(root: Path, files: list[Path]) -> str:
    """SHA-256 of the names (under `root`), sizes and bytes of `files`.

    It reads every byte: `viextract batch` records it once, and computes it again only when a rerun
    finds the same sizes under other modification times (a `touch`, a `git checkout`, a reinstall).
    """
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(root).as_posix()
        try:
            with file.open("rb") as handle:
                digest.update(f"{name}\0{os.fstat(handle.fileno()).st_size}\n".encode("utf-8", "surrogateescape"))
                while block := handle.read(1 << 20):
                    digest.update(block)
        except OSError:  # a dangling link, as in the stamp
            digest.update(f"{name}\0-\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def check_unique_ids(path: str | Path, input_format: str, text_field: str = "text", id_field: str = "id") -> None:
    """Refuse an input where two documents share an id: the outputs are keyed by id, so one would hide the other.

    Run before anything is written. It reads the input once more and holds each id with its position in memory.
    """
    if input_format == "txt":
        _check_unique_names(Path(path))
        return
    first_at: dict[str, int] = {}
    for position, document in enumerate(read_documents(path, input_format, text_field, id_field)):
        first = first_at.setdefault(document.id, position)
        if first != position:
            earlier = next(islice(read_documents(path, input_format, text_field, id_field), first, None))
            raise ValueError(_duplicate_message(document, earlier, id_field))


def _check_unique_names(folder: Path) -> None:
    """Names of one folder are distinct, but not always their ids: an undecodable byte is written as its escape
    (`caf\\udce9.txt`), which is also the name of a file holding that backslash text."""
    first: dict[str, Path] = {}
    for path in _txt_files(folder) if folder.is_dir() else []:
        earlier = first.setdefault(_writable(path.name), path)
        if earlier != path:
            names = " and ".join(repr(os.fsencode(file.name)) for file in (earlier, path))  # as bytes: they differ
            raise ValueError(
                f"{_writable(str(folder))}: the files named {names} would both have the id "
                f"{_writable(path.name)!r} (a byte of a name that is not UTF-8 is written as a \\udcXX escape); "
                f"the outputs are keyed by id, so rename one of them"
            )


def _duplicate_message(document: Document, earlier: Document, id_field: str) -> str:
    # Only a hint: an id given as 2 on line 2 looks the same as a line number standing in for a missing id.
    numbered = any(d.source.rsplit(":", 1)[1].removeprefix("row ") == d.id for d in (earlier, document))
    unit = "row" if document.source.rsplit(":", 1)[1].startswith("row ") else "line"
    why = f" (a {unit} without an {id_field!r}, or with null there, has its {unit} number as id)" if numbered else ""
    return (
        f"{document.source}: id {document.id!r} is also the id of {earlier.source}{why}; "
        f"the outputs are keyed by id, so each document needs its own (--id-field picks the field)"
    )


_WIDE_MARKS = (  # UTF-32's before UTF-16's: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# Which of the first four bytes are NUL when the text starts with ASCII ('{', a blank line) in each encoding.
_WIDE_NULS = {
    (True, True, True, False): "UTF-32BE",
    (False, True, True, True): "UTF-32LE",
    (True, False, True, False): "UTF-16BE",
    (False, True, False, True): "UTF-16LE",
}


def _wide_encoding(start: bytes) -> str | None:
    """UTF-16 or UTF-32, told by a file's first four bytes (a byte-order mark, or NULs around ASCII), as iconv
    names it ("UTF-16" when marked, "UTF-16LE" when not); None for anything else."""
    for mark, name in _WIDE_MARKS:
        if start.startswith(mark):
            return name
    return _WIDE_NULS.get(tuple(byte == 0 for byte in start[:4])) if len(start) >= 4 else None


def _refuse_wide_encoding(path: Path) -> None:
    """One error for the file, not one failure per line: split at byte 0A, none of its lines is UTF-8 JSON."""
    if not path.is_file():  # a pipe is read once: these bytes would be lost (and a FIFO would wait for a writer)
        return
    try:
        with path.open("rb") as handle:
            encoding = _wide_encoding(handle.read(4))
    except OSError:
        return  # read as usual, which says why
    if encoding:
        raise ValueError(
            f"{path}: encoded as {encoding}, not UTF-8; viextract batch reads UTF-8 JSONL, "
            f"so convert it first (iconv -f {encoding} -t UTF-8)"
        )


def _read_jsonl(path: Path, text_field: str, id_field: str) -> Iterator[Document]:
    name = _writable(str(path))
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            # Files saved by Notepad start with one, so files joined by `cat` have one at each start: not JSON.
            raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue  # blank lines are not documents
            yield _parse_jsonl_line(raw, f"{name}:{number}", str(number), text_field, id_field)


def _parse_jsonl_line(raw: bytes, source: str, line_id: str, text_field: str, id_field: str) -> Document:
    """A document without an id field gets its line number as id."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Document(line_id, None, source, f"not UTF-8 ({error})")
    try:
        record, duplicated = _load_json(line)
    except json.JSONDecodeError as error:
        return Document(line_id, None, source, f"not JSON ({error}){_lone_return_hint(line)}")
    except (ValueError, RecursionError) as error:  # over 4300 digits, or nested past the stack: else the run stopped
        return Document(line_id, None, source, f"JSON that Python cannot read ({error})")
    if not isinstance(record, dict):
        return Document(line_id, None, source, f"not a JSON object but {_json_kind(record)}")
    for field in (id_field, text_field):  # other fields are not read: their duplicates lose nothing
        if field in duplicated:
            return Document(line_id, None, source, f"field {field!r} given twice; JSON would keep only the last")
    if _is_nan(record.get(id_field)):
        return Document(line_id, None, source, _nan_id(id_field))
    doc_id = _writable(_id_text(record[id_field])) if record.get(id_field) is not None else line_id
    return _checked(doc_id, record.get(text_field, _MISSING), source, text_field)


def respelled_number_id(path: str | Path, input_format: str, id_field: str) -> str | None:
    """The `file:line` of the first JSONL id that viextract before `id_numbers` wrote otherwise: as Python's float
    (`1e3` as `1000.0`, `1.50` as `1.5`) or int (`-0` as `0`); for Parquet, `respelled_parquet_id`. None when
    there is none, or the input is a folder."""
    if input_format == "parquet":
        return respelled_parquet_id(Path(path), id_field)
    if input_format != "jsonl":
        return None
    with Path(path).open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            try:
                record, _ = _load_json(raw.removeprefix(codecs.BOM_UTF8).decode("utf-8"))
            except (ValueError, RecursionError):  # not UTF-8 or not JSON: a failure under its line number, as before
                continue
            value = record.get(id_field) if isinstance(record, dict) else None
            if not isinstance(value, (str, type(None))) and _json_text(value) != json.dumps(value, ensure_ascii=False):
                return f"{_writable(str(path))}:{number}"
    return None


def _lone_return_hint(line: str) -> str:
    """Why two objects are one line: a string cannot hold a raw carriage return, so one alone parted them."""
    if "\r" not in line.rstrip("\r\n"):
        return ""
    return "; the line holds a carriage return without a line feed (old Mac line endings): JSON Lines end at \\n only"


def _load_json(line: str) -> tuple[object, set[str]]:
    """json.loads, and the keys given twice in the outermost object (json.loads silently keeps the last)."""
    duplicated: set[str] = set()

    def to_dict(pairs: list[tuple[str, object]]) -> dict:
        nonlocal duplicated  # the outermost object is built last, so its keys are the ones left here
        record = dict(pairs)
        counts = Counter(key for key, _ in pairs) if len(record) < len(pairs) else {}  # not keys.count: quadratic
        duplicated = {key for key, count in counts.items() if count > 1}
        return record

    return json.loads(line, object_pairs_hook=to_dict, parse_float=_SpelledFloat, parse_int=_SpelledInt), duplicated


class _SpelledFloat(float):
    """A JSON number that keeps its spelling: as a float `1e3` and `1000.0` (or `0.1` and `0.10`) are one id."""

    def __new__(cls, spelling: str):
        number = super().__new__(cls, spelling)
        number.spelling = spelling
        return number


class _SpelledInt(int):
    """As `_SpelledFloat`: `-0` is not the id `0`."""

    def __new__(cls, spelling: str):
        number = super().__new__(cls, spelling)
        number.spelling = spelling
        return number


def _id_text(value: object) -> str:
    """A string id as it is, any other as its JSON text: `true`, not Python's `True`; `{"a": 1}`, not `{'a': 1}`
    (a value JSON has no kind for, inside a Parquet struct, as its str). A JSONL number as the line spells it."""
    return value if isinstance(value, str) else _json_text(value)


def _json_text(value: object) -> str:
    """json.dumps's text, but each number read from JSONL as it was spelled there."""
    spelling = getattr(value, "spelling", None)
    if spelling is not None:
        return spelling
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_json_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False, default=str)


_MISSING = object()
_JSON_KINDS = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    _SpelledInt: "a number",
    _SpelledFloat: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _json_kind(value: object) -> str:
    """What the input holds, in JSON's words: `null`, not Python's `NoneType`."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _nan_id(id_field: str) -> str:
    # NaN equals nothing, not even another NaN: as the id 'NaN' it would key two documents' outputs as one.
    return f"field {id_field!r} is NaN, which names no document; give it an id, or null for its line or row number"


def _checked(doc_id: str, text: object, source: str, text_field: str) -> Document:
    if text is _MISSING:
        return Document(doc_id, None, source, f"no {text_field!r} field")
    if not isinstance(text, str):
        return Document(doc_id, None, source, f"field {text_field!r} is {_json_kind(text)}, not a string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate ("\\udc80" in JSON): no output could hold its entities
        reason = f"{error.reason} at character {error.start}"
        return Document(doc_id, None, source, f"field {text_field!r} is not valid Unicode ({reason})")
    return Document(doc_id, text, source)


def _writable(name: str) -> str:
    """`name` with lone surrogates (undecodable bytes of a file name, `\\udc80` in JSON) as backslash escapes.

    UTF-8 cannot encode them: one id or source holding one stopped the whole run when its shard was written.
    """
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _read_txt_folder(folder: Path) -> Iterator[Document]:
    """The folder's .txt files sorted by name; a file's id is its name."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: --input-format txt reads a folder of .txt files")
    for path in _txt_files(folder):
        doc_id, source = _writable(path.name), _writable(str(path))
        try:
            yield Document(doc_id, path.read_bytes().decode("utf-8"), source)
        except UnicodeDecodeError as error:
            yield Document(doc_id, None, source, _not_utf8(error))
        except OSError as error:
            yield Document(doc_id, None, source, f"unreadable ({error.strerror or error})")


def _not_utf8(error: UnicodeDecodeError) -> str:
    encoding = _wide_encoding(error.object[:4])
    return (
        f"not UTF-8 but {encoding} (iconv -f {encoding} -t UTF-8 converts it)" if encoding else f"not UTF-8 ({error})"
    )


def _read_parquet(path: Path, text_field: str, id_field: str) -> Iterator[Document]:
    """Rows in order, read one record batch at a time; a row without an id gets its row number."""
    parquet = import_pyarrow_parquet("reading Parquet")
    try:
        source = parquet.ParquetFile(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError; its messages omit the file
        raise ValueError(f"{path}: not a readable Parquet file ({error})") from None
    names = source.schema_arrow.names
    if text_field not in names:
        raise ValueError(f"{path}: no column {text_field!r} (columns: {', '.join(names)}); use --text-field")
    columns = [text_field] + ([id_field] if id_field in names else [])
    narrow = _narrow_float(source.schema_arrow, id_field)
    row = 0
    for batch in source.iter_batches(columns=columns, batch_size=1024):
        values = batch.to_pydict()
        ids = values.get(id_field, [None] * batch.num_rows)
        for text, doc_id in zip(values[text_field], ids):
            row += 1
            where = f"{_writable(str(path))}:row {row}"
            if _is_nan(doc_id):
                yield Document(str(row), None, where, _nan_id(id_field))
                continue
            doc_id = _parquet_id(_shortest(doc_id, narrow)) if doc_id is not None else str(row)
            yield _checked(doc_id, text, where, text_field)


def _narrow_float(schema, id_field: str) -> str | None:
    """The `struct` format of an id column of 32- or 16-bit floats, else None."""
    if id_field not in schema.names:
        return None
    return {"float": "f", "halffloat": "e"}.get(str(schema.field(id_field).type))


def _shortest(value: object, narrow: str | None) -> object:
    """A 32-bit float as the shortest decimal that is the same float32 (`0.1`): Arrow hands it over as the double
    `0.10000000149011612`, an id no other tool shows. Others as they are."""
    if narrow is None or not isinstance(value, float) or not math.isfinite(value):
        return value
    for digits in range(1, 18):
        shorter = float(f"{value:.{digits}g}")
        with suppress(OverflowError):  # rounded up past the largest float32
            if struct.unpack(narrow, struct.pack(narrow, shorter))[0] == value:
                return shorter
    return value


def respelled_parquet_id(path: Path, id_field: str) -> str | None:
    """As `respelled_number_id`, for a Parquet id column of 32- or 16-bit floats, once written as doubles."""
    source = import_pyarrow_parquet("reading Parquet").ParquetFile(path)
    narrow = _narrow_float(source.schema_arrow, id_field)
    if narrow is None:
        return None
    row = 0
    for batch in source.iter_batches(columns=[id_field], batch_size=1024):
        for value in batch.column(0).to_pylist():
            row += 1
            if value is not None and _shortest(value, narrow) != value:
                return f"{_writable(str(path))}:row {row}"
    return None


def _parquet_id(value: object) -> str:
    """As in JSONL: JSON's kinds as their JSON text (`true`, `{"a": 1}`); bytes as UTF-8; others (a date) as str."""
    if isinstance(value, bytes):
        return _writable(value.decode("utf-8", "surrogateescape"))
    return _id_text(value) if isinstance(value, (bool, int, float, list, dict)) else str(value)


def import_pyarrow_parquet(purpose: str):
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise ImportError(f"{purpose} needs pyarrow: pip install 'viextract[parquet]'") from error
    return parquet
