"""The splits file: which corpus documents are train, dev and test (plus extra training files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .documents import CORPUS_FILE, DEFAULT_SPLITS_FILE, SPLIT_NAMES, DataError, Document, field_error
from .files import load_documents, load_numbered_documents
from .json_text import read_json


def load_split(
    split_name: str,
    splits_path: str | Path = DEFAULT_SPLITS_FILE,
    data_dir: str | Path | None = None,
    without: str | Path | None = None,
) -> list[Document]:
    """Documents of `train`, `dev` or `test` from `data_dir/corpus.jsonl`, in the order splits.json lists them.

    `train` also holds every document of the `train_extra` files (`load_train_extra`) but `without`, one
    being written (it may not exist yet). `data_dir` defaults to the folder of splits.json. A split the
    file leaves out is empty.
    """
    if split_name not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split_name!r}; expected one of {SPLIT_NAMES}")
    splits_path = Path(splits_path)
    data_dir = Path(data_dir) if data_dir is not None else splits_path.parent
    splits = read_splits(splits_path)
    corpus_path = data_dir / CORPUS_FILE
    corpus = {doc.id: doc for doc in load_documents(corpus_path)}
    documents = []
    for doc_id in splits.get(split_name, []):
        if doc_id not in corpus:
            where = f"{splits_path}:{_line_of(splits_path, split_name, doc_id)}"
            raise DataError(f"{where}: {split_name}: document {doc_id!r} is not in {corpus_path}")
        documents.append(corpus[doc_id])
    if split_name == "train":
        known = {*corpus, *(doc.id for doc in documents)}
        extras = [
            extra for extra in splits.get("train_extra", []) if not _same_file(extra_path(extra, data_dir), without)
        ]
        documents += _extra_documents(extras, data_dir, known, splits_path)
    return documents


def _same_file(path: Path, other: str | Path | None) -> bool:
    """Whether `path` names `other`, which may not exist yet (so not os.path.samefile alone)."""
    if other is None:
        return False
    if path.exists() and Path(other).exists():
        return path.samefile(other)
    return path.resolve() == Path(other).resolve()


def select_split_documents(
    documents: list[Document], split_names: list[str], splits_path: str | Path, data_path: str | Path
) -> list[Document]:
    """The `documents` (read from `data_path`) whose ids `splits_path` lists under `split_names`, in their order.

    The ids come from the splits file and the documents from the data file, wherever each lies (not
    `corpus.jsonl` beside the splits file); an id the data file lacks is an error naming both files.
    `train` means the listed ids only: the `train_extra` files are other files.
    """
    splits_path = Path(splits_path)
    splits = read_splits(splits_path)
    known = {doc.id for doc in documents}
    wanted: set[str] = set()
    for name in split_names:
        for doc_id in splits.get(name, []):
            if doc_id not in known:
                where = f"{splits_path}:{_line_of(splits_path, name, doc_id)}"
                raise DataError(f"{where}: {name}: document {doc_id!r} is not in {data_path}")
            wanted.add(doc_id)
    return [doc for doc in documents if doc.id in wanted]


def load_train_extra(
    splits_path: str | Path = DEFAULT_SPLITS_FILE,
    data_dir: str | Path | None = None,
    known: set[str] | None = None,
) -> list[Document]:
    """The documents of the splits file's `train_extra` files, whose paths are relative to the parent of
    `data_dir` (the repository root for `data/`); an id seen before (in `known`, or another file) is refused."""
    splits_path = Path(splits_path)
    data_dir = Path(data_dir) if data_dir is not None else splits_path.parent
    return _extra_documents(read_splits(splits_path).get("train_extra", []), data_dir, set(known or ()), splits_path)


def extra_path(extra: str, data_dir: Path) -> Path:
    """Where a `train_extra` entry lies: relative paths are from the parent of `data_dir` (the repository root)."""
    return Path(extra) if Path(extra).is_absolute() else extra_root(data_dir) / extra


def extra_root(data_dir: str | Path) -> Path:
    """The folder above `data_dir`, from which relative `train_extra` paths are read. `Path(".").parent` is `.`
    itself, so `--splits splits.json` run inside data/ looked for `data/extra_written.jsonl` under data/ and
    refused the splits file; such a name is made absolute (without following links) first."""
    data_dir = Path(data_dir)
    if data_dir.name in ("", ".."):  # `.`, `..`, `data/..`: the name does not say which folder it is
        data_dir = Path(os.path.abspath(data_dir))
    return data_dir.parent


def _extra_documents(extra_files: list[str], data_dir: Path, known: set[str], splits_path: Path) -> list[Document]:
    documents = []
    for extra in extra_files:
        path = extra_path(extra, data_dir)
        listed = f"{splits_path}:{_line_of(splits_path, 'train_extra', extra)}: train_extra: {path}"
        if not path.exists():  # said only '<path>: no such data file', not which file listed it, nor from where
            raise DataError(f"{listed}: no such data file (a relative path is read from {extra_root(data_dir)})")
        numbered = load_numbered_documents(path)
        if not numbered:  # saved empty, it added nothing to training and nothing said so
            raise DataError(f"{listed}: no documents (empty file)")
        for number, doc in numbered:
            if doc.id in known:
                raise field_error(
                    f"{path}:{number}", "id", f"document id {doc.id!r} is also in the corpus or another file"
                )
            known.add(doc.id)
            documents.append(doc)
    return documents


SPLITS_KEYS = (*SPLIT_NAMES, "train_extra", "note")


def read_splits(path: str | Path) -> dict[str, list[str]]:
    """splits.json checked: lists of ids, no document in two splits or twice in one, no train_extra file twice;
    DataError names file, line, field.

    A split left out is empty; a key that is none of SPLITS_KEYS (`"dve"`) is refused, since it would
    otherwise leave its split silently empty.
    """
    path = Path(path)
    splits = read_json(path, "splits file")
    if not isinstance(splits, dict):
        raise DataError(f"{path}:1: splits: expected an object")
    for name in splits:
        if name not in SPLITS_KEYS:
            raise DataError(f"{path}:{_line_of(path, name)}: {name}: unknown key; expected {', '.join(SPLITS_KEYS)}")
    for name in (*SPLIT_NAMES, "train_extra"):
        value = splits.get(name, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise DataError(f"{path}:{_line_of(path, name)}: {name}: expected a list of strings")
    # A document in two splits would leak test data into training.
    owner: dict[str, str] = {}
    for name in SPLIT_NAMES:
        for doc_id in splits.get(name, []):
            if doc_id in owner and owner[doc_id] == name:
                raise _listed_twice(path, name, f"document {doc_id!r}", doc_id)
            if doc_id in owner:
                where = f"{path}:{_line_of(path, name, doc_id)}"
                raise DataError(f"{where}: {name}: document {doc_id!r} is also in {owner[doc_id]}")
            owner[doc_id] = name
    _check_extra_files_once(path, splits.get("train_extra", []))
    return splits


def _check_extra_files_once(path: Path, extra_files: list[str]) -> None:
    # Read twice, its documents were refused as ids "also in another file", blaming the data for the splits file.
    seen: set[str] = set()
    for extra in extra_files:
        if extra in seen:
            raise _listed_twice(path, "train_extra", f"file {extra!r}", extra)
        seen.add(extra)


def _listed_twice(path: Path, key: str, what: str, value: str) -> DataError:
    """The error for `value` given twice in the list `key`, at the line of its second copy."""
    first = _line_of(path, key, value)
    where = f"{path}:{_next_line_of(path, first, value)}"
    return DataError(f"{where}: {key}: {what} is listed twice in {key} (first on line {first})")


def _line_of(path: Path, *needles: str) -> int:
    """The line of a splits file where `needles` (JSON strings) occur in turn, each at or after the previous
    one's line, for errors (json keeps no line numbers); the last needle found, else 1."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return 1
    found = 0
    for needle in needles:
        quoted = json.dumps(needle, ensure_ascii=False)
        found = next((index for index in range(found, len(lines)) if quoted in lines[index]), found)
    return found + 1


def _next_line_of(path: Path, line: int, needle: str) -> int:
    """The next line after `line` holding `needle` (a JSON string) once more: `line` itself if it holds it twice."""
    quoted = json.dumps(needle, ensure_ascii=False)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[line - 1].count(quoted) > 1:
        return line
    return next((index + 1 for index in range(line, len(lines)) if quoted in lines[index]), line)
