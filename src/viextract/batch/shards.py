"""The output folder of `viextract batch`: a manifest, shards written whole or not at all, failures beside them.

A shard is complete exactly when `shard-NNNNN.<format>` exists: it is written to a temporary file
in the same folder and renamed into place only once every record is in it.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import islice
from pathlib import Path
from typing import Any

from .documents import Document, import_pyarrow_parquet

OUTPUT_FORMATS = ("jsonl", "parquet")
MANIFEST = "_batch.json"
# Shard numbers widen past 99999; the manifest has one too, while it is first written.
_TEMP = re.compile(r"^\.((shard|failures)-\d{5,}\.(jsonl|parquet)|_batch\.json)\.tmp-\d+$")
# Held by the run writing the folder; the operating system releases it when that run dies.
LOCK = ".batch.lock"
# What Finder and Explorer leave in any folder they show: a folder holding only these is empty, and they stay.
OS_METADATA = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class OutputInUseError(OSError):
    """Another run is writing the same output folder."""


class OutputReadOnlyError(OSError):
    """The output folder cannot be written, and the run has something to write there."""


# How a lock held by another process is refused: flock's EWOULDBLOCK; Windows' msvcrt.locking EACCES or EDEADLOCK.
_HELD = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK)
# Why a lock file cannot be made in a folder that exists: the folder is not ours to write, or not writable at all.
_CANNOT_WRITE = (errno.EACCES, errno.EPERM, errno.EROFS)


class OutputDir:
    def __init__(self, path: str | Path, output_format: str):
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {output_format!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
        self.path = Path(path)
        self.format = output_format
        self.read_only: OSError | None = None  # why the folder cannot be written, when `locked` found so
        self.started = False  # whether `open` wrote the manifest: this run started the folder's run

    def open(
        self,
        settings: dict[str, Any],
        settle: Callable[[dict], dict] | None = None,
        first: Callable[[], dict] | None = None,
    ) -> None:
        """Create the folder, or check that it holds a run with the same settings (the shards must line up).

        `settle` restates the earlier manifest in today's terms; the manifest is rewritten if that changed it.
        `first` gives what is recorded beside the settings when the folder is made (digests `settle` may use).
        """
        manifest = self.path / MANIFEST
        if manifest.exists():
            previous = _read_manifest(manifest)
            settled = settle(previous) if settle else previous
            _check_same_settings(manifest, settled, settings)
            if settled != previous and not self.read_only:  # so that the next rerun need not settle it again
                _write_manifest(manifest, settled)
        elif self.path.exists() and any(not _ours(entry.name) for entry in self.path.iterdir()):
            raise FileExistsError(
                f"{self.path}: not empty and not a viextract batch output (no {MANIFEST}); choose a new --out"
            )
        else:
            self.check_writable()
            recorded = {**settings, **(first() if first else {})}  # before the folder: it may read the whole input
            self.path.mkdir(parents=True, exist_ok=True)
            _write_manifest(manifest, recorded)
            self.started = True
        for stale in [] if self.read_only else self.path.iterdir():  # temporary files of a killed run: ours, by name
            if _TEMP.match(stale.name):
                stale.unlink()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Only one run at a time: a second would delete the first's temporary files in `open`.

        Made before `open`, so the folder may be made here; it goes again if the run left nothing in it.
        """
        made = not self.path.exists()
        _make_folder(self.path)
        try:
            handle = _acquire_lock(self.path / LOCK)
        except OSError as error:
            if made and not isinstance(error, OutputInUseError):  # no other run in it: the folder is ours alone
                _remove_made_folder(self.path)
            if made or error.errno not in _CANNOT_WRITE:
                raise
            # A read-only folder (a finished run archived): this run may still check it, writing nothing, so no
            # other run needs guarding from it; `check_writable` stops it before its first write.
            self.read_only = error
            yield
            return
        try:
            yield
        except BaseException:
            self._forget_if_nothing_done()
            raise
        finally:
            _release_lock(self.path / LOCK, handle)
            if made and not any(self.path.iterdir()):
                self.path.rmdir()

    def _forget_if_nothing_done(self) -> None:
        """A run that failed before its first output (a model that does not load) takes its manifest with it:
        else the corrected command (another --model) was refused as a change of settings."""
        if self.started and not any(self.path.glob("shard-*")) and not any(self.path.glob("failures-*")):
            (self.path / MANIFEST).unlink(missing_ok=True)

    def check_writable(self, shard: int | None = None) -> None:
        """Refuse, in one line naming the folder, to go on towards a write that `locked` found impossible."""
        if not self.read_only:
            return
        why = f"{self.path}: cannot write here ({self.read_only.strerror or self.read_only})"
        if shard is None:
            raise OutputReadOnlyError(f"{why}; choose a writable --out")
        raise OutputReadOnlyError(
            f"{why} and shard {shard:05d} and those after it are not complete; "
            f"make the folder writable, or copy it to a writable place and give that as --out"
        )

    def shard_path(self, shard: int) -> Path:
        return self.path / f"shard-{shard:05d}.{self.format}"

    def failures_path(self, shard: int) -> Path:
        return self.path / f"failures-{shard:05d}.jsonl"

    def is_complete(self, shard: int) -> bool:
        return self.shard_path(shard).exists()

    def holds(self, documents: Iterable[Document], shard_size: int) -> bool:
        """Whether every complete shard came from these documents: the same ids in order, each entity's text at its
        offsets. Evidence where no digest of the input was recorded; an edit of the same length outside every
        entity would not show."""
        documents, shard = iter(documents), 0
        while batch := list(islice(documents, shard_size)):
            if self.is_complete(shard) and not self._shard_holds(shard, batch):
                return False
            shard += 1
        return not any(int(path.name.split(".")[0][6:]) >= shard for path in self.path.glob(f"shard-*.{self.format}"))

    def _shard_holds(self, shard: int, documents: list[Document]) -> bool:
        records = read_shard(self.shard_path(shard))
        failures = self.failures_path(shard)
        failed = {row["id"] for row in read_shard(failures)} if failures.exists() else set()
        kept = [document for document in documents if document.id not in failed]
        if len(kept) + len(failed) != len(documents) or [r["id"] for r in records] != [d.id for d in kept]:
            return False
        return all(_entities_fit(record, document.text) for record, document in zip(records, kept))

    def write_shard(self, shard: int, records: Sequence[dict], failures: Sequence[dict]) -> None:
        """Failures first, then the shard: a shard that exists always has its failures file beside it."""
        if failures:
            _write_atomic(self.failures_path(shard), _jsonl_bytes(failures))
        else:  # one left by a run killed before this shard: its documents are in the shard now
            self.failures_path(shard).unlink(missing_ok=True)
        if self.format == "jsonl":
            _write_atomic(self.shard_path(shard), _jsonl_bytes(records))
        else:
            _write_parquet_atomic(self.shard_path(shard), records)


def _entities_fit(record: dict, text: str | None) -> bool:
    return text is not None and all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"{path}: not a folder; --out names the folder the shards go to") from None
    except OSError as error:
        raise OSError(f"{path}: cannot make the output folder ({error.strerror or error})") from None


def _remove_made_folder(path: Path) -> None:
    """The folder `locked` made, with the lock file it may hold; left as it is if anything else is in it."""
    with suppress(OSError):
        (path / LOCK).unlink(missing_ok=True)
        path.rmdir()


def _ours(name: str) -> bool:
    """Names that do not make a folder without a manifest someone else's: our lock and temporary files, OS
    metadata."""
    return name == LOCK or name in OS_METADATA or bool(_TEMP.match(name))


def _acquire_lock(path: Path) -> int:
    """The lock file's descriptor, locked; refused at once, naming the folder, while another run holds it."""
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock_file(handle)
        except OSError as error:
            os.close(handle)
            if error.errno not in _HELD:  # ENOLCK, EOPNOTSUPP: no run holds it; this file system has no locks
                raise OSError(
                    f"cannot lock {path} ({error.strerror or error}); its file system may not support file locks, "
                    f"which keep two runs from writing one folder: choose an --out on a local disk"
                ) from None
            holder = _lock_holder(path)
            raise OutputInUseError(
                f"{path.parent}: another viextract batch run{holder} is writing this folder; "
                f"wait for it to end or choose another --out"
            ) from None
        if _same_file(path, handle):
            with suppress(OSError):  # a full disk: the pid only names the holder to a refused run
                os.ftruncate(handle, 0)
                os.write(handle, f"{os.getpid()}\n".encode())
            return handle
        os.close(handle)  # the holder removed it as it ended: lock the file there now


def _same_file(path: Path, handle: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle).st_ino
    except FileNotFoundError:  # removed since it was opened: by its holder, as it ended
        return False


def _release_lock(path: Path, handle: int) -> None:
    try:
        path.unlink(missing_ok=True)  # while still locked, so a waiter sees another file and starts again
    except PermissionError:  # Windows: another run has it open; it is only an empty name
        pass
    os.close(handle)


def _lock_file(handle: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _lock_holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _read_manifest(manifest: Path) -> dict[str, Any]:
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{manifest}: unreadable manifest ({error})") from error


def _write_manifest(manifest: Path, settings: dict[str, Any]) -> None:
    _write_atomic(manifest, (json.dumps(settings, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


# Settings that this version of viextract fixes rather than an option: a rerun cannot match an earlier one's.
_SETTINGS_OF_THIS_VERSION = ("id_numbers",)


def _check_same_settings(manifest: Path, previous: dict[str, Any], settings: dict[str, Any]) -> None:
    # A key the manifest lacks was added after that run started: unknown then, so not held against it.
    changed = [key for key in settings if key in previous and previous[key] != settings[key]]
    if changed:
        details = ", ".join(f"{key}: was {previous.get(key)!r}, now {settings[key]!r}" for key in changed)
        fixed = [key for key in changed if key in _SETTINGS_OF_THIS_VERSION]
        remedy = (
            f"no option sets {fixed[0]} back, so choose a new --out"
            if fixed
            else "rerun with the same ones to resume, or choose a new --out"
        )
        raise ValueError(f"{manifest}: this output was started with other settings ({details}); {remedy}")


def _jsonl_bytes(rows: Sequence[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


# Not saving.atomic_file: a resumed run finds a killed one's staged files by this name (_TEMP), and a shard
# it counts as done must be on disk (fsync), not only in the page cache.
def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _write_atomic(path: Path, data: bytes) -> None:
    temp = _temp_path(path)
    with _named_write_errors(path, temp):
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)


@contextmanager
def _named_write_errors(path: Path, temp: Path):
    """A failed write (a full disk) names the file, and its partial temporary file no longer holds the space."""
    try:
        yield
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise OSError(error.errno, f"writing {path}: {error.strerror or error}") from error


def parquet_schema():
    import pyarrow as pa

    entity = pa.struct(
        [
            ("label", pa.string()),
            ("text", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("score", pa.float64()),
            ("value", pa.string()),
        ]
    )
    relation = pa.struct([("head", pa.int64()), ("tail", pa.int64()), ("label", pa.string()), ("score", pa.float64())])
    return pa.schema([("id", pa.string()), ("entities", pa.list_(entity)), ("relations", pa.list_(relation))])


def _write_parquet_atomic(path: Path, records: Sequence[dict]) -> None:
    parquet = import_pyarrow_parquet("writing Parquet")
    import pyarrow as pa

    table = pa.Table.from_pylist(list(records), schema=parquet_schema())
    temp = _temp_path(path)
    with _named_write_errors(path, temp):
        parquet.write_table(table, temp)
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)


def read_shard(path: str | Path) -> list[dict]:
    """The records of one shard, JSONL or Parquet, as plain dicts."""
    path = Path(path)
    if path.suffix == ".parquet":
        return import_pyarrow_parquet("reading Parquet").read_table(path).to_pylist()
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]
