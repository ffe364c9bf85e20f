"""Write a directory (or one file) so that an interrupted write never leaves a half-written model behind,
and never removes a file that viextract did not write."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

# Present in a model directory only while a save moves its entries in (see _move_entries).
INCOMPLETE_SAVE = ".viextract-incomplete-save"


def file_in_the_way(path: str | os.PathLike) -> Path | None:
    """The file that `path` or its nearest existing ancestor is, when that is not a folder: where a
    command that makes folders down to `path` would fail."""
    existing = next((folder for folder in (Path(path), *Path(path).parents) if folder.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None


# A file being written under a hidden name beside its target, renamed over it when whole (`.model.onnx.1234.tmp`):
# the process id keeps two writers apart and tells a leftover of a killed writer from a write still going on.
# Short, so that a name near the 255-byte limit can still be staged: its first STAGED_NAME_CHARS characters.
STAGED_NAME_CHARS = 40
STAGING_FILE = re.compile(rf"\.(?P<name>.{{1,{STAGED_NAME_CHARS}}})\.(?P<pid>[0-9]+)\.tmp")


def staging_file(path: Path) -> Path:
    """The hidden name beside `path` that this process writes before renaming it over `path`."""
    return path.with_name(f".{path.name[:STAGED_NAME_CHARS]}.{os.getpid()}.tmp")


def remove_dead_staging_files(path: Path) -> None:
    """Delete the staging files of `path` that processes no longer running left behind (killed by kill -9 or a
    power cut between writing and renaming): each is a whole or partial copy, never read, as large as the file.
    A running process's is left alone, as it may still rename it."""
    for leftover, pid in _staged_beside(path, STAGING_FILE, Path.is_file):
        if pid != os.getpid() and not _process_running(pid):
            leftover.unlink(missing_ok=True)


def _staged_beside(
    target: Path, pattern: re.Pattern[str], is_kind: Callable[[Path], bool]
) -> Iterator[tuple[Path, int]]:
    """Each entry beside `target` that `pattern` names as staged for it and `is_kind` accepts (a file, a folder;
    never a link), with the pid of the process that staged it."""
    for entry in target.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        ours = match is not None and match["name"] == target.name[:STAGED_NAME_CHARS]
        if ours and is_kind(entry) and not entry.is_symlink():
            yield entry, int(match["pid"])


def _process_running(pid: int) -> bool:
    """True unless `pid` is certainly no running process; where that cannot be asked, True (nothing deleted)."""
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows, not probe it
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; a number beyond any pid
        return False
    except PermissionError:  # another user's, running
        return True
    return True


def check_save_target(target: str | os.PathLike) -> Path:
    """`target` with `~` expanded; an existing file there, or where a folder above it should be, is an error
    (a model is a directory). `.` and `a/..` are the folders they name: staged names are made beside a folder's
    own name, which they lack (`.` was "PosixPath('.') has an empty name"). A blank str is refused, as
    from_pretrained refuses it: `save_pretrained("$UNSET")` must not write into the working directory."""
    if isinstance(target, str) and not target.strip():
        raise ValueError(f"{target!r}: an empty folder name; pass the folder to save into")
    path = Path(target).expanduser()
    if path.name in ("", ".."):
        path = path.resolve()
    if not path.name:
        raise ValueError(f"{target}: the root folder; pass a folder under it to save into")
    existing = file_in_the_way(path)
    if existing == path:
        raise NotADirectoryError(f"{path}: exists and is not a directory; a model is saved as a directory")
    if existing is not None:
        raise NotADirectoryError(f"{path}: {existing} is a file, not a folder, so the model cannot be saved under it")
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden name beside `path` to write; when the block ends it is renamed over `path`, so a failed
    or killed write leaves the previous file (or none), never half a file under the real name. The staged
    file is removed when the block fails; the folder above `path` is made; a link at `path` is written through.
    A file replaced keeps its permissions. What a killed write of `path` left beside it (`.model.onnx.1234.tmp`,
    of a process gone) is removed once this one is in place.
    """
    path = Path(path)
    if path.is_symlink():  # renaming over the link would cut it and leave its file as it was
        path = path.resolve()
    # The caller creates it (not mkstemp), so that `path` gets the umask's mode, as an open() would give.
    staging = staging_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield staging
        if path.is_file() and staging.is_file():
            # The staged file has the umask's mode: a file kept private (0600) came back readable by all, one a
            # group shares (0664) no longer writable by the group.
            shutil.copymode(path, staging)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    remove_dead_staging_files(path)


# A model being written under a hidden folder beside its target (`.model.1234.dir.tmp`, then `.model.1234-1.dir.tmp`
# while that is taken), moved into it when whole: as for a staging file, the pid tells a killed save's leftover,
# a whole model's size, from a save still going on. The `.dir` keeps the two kinds of staged name apart.
STAGING_DIRECTORY = re.compile(rf"\.(?P<name>.{{1,{STAGED_NAME_CHARS}}})\.(?P<pid>[0-9]+)(?:-[0-9]+)?\.dir\.tmp")

# This process's staging folders still in use: one of our pid not listed here is a leftover of an earlier process
# that had the same pid (in a container, every run may have it), so it can be removed.
_OUR_STAGING: set[Path] = set()
_STAGING_LOCK = threading.Lock()


def _make_staging_directory(target: Path) -> Path:
    """A new, empty staging folder beside `target`, named for it and for this process."""
    base = f".{target.name[:STAGED_NAME_CHARS]}.{os.getpid()}"
    with _STAGING_LOCK:
        for number in range(10_000):
            staging = target.with_name(f"{base}{f'-{number}' if number else ''}.dir.tmp")
            try:
                staging.mkdir()
            except FileExistsError:
                continue
            _OUR_STAGING.add(staging)
            return staging
    raise FileExistsError(f"{target.parent}: no free staging folder name {base}-N.dir.tmp")


def _release_staging_directory(staging: Path) -> None:
    with _STAGING_LOCK:
        _OUR_STAGING.discard(staging)


def remove_dead_staging_directories(target: Path) -> None:
    """Delete the staging folders of `target` that saves no longer running left beside it (killed by kill -9 or a
    power cut before their moves): each is a whole or partial model, never read. A running process's, or one
    this process is still writing, is left alone."""
    for leftover, pid in _staged_beside(target, STAGING_DIRECTORY, Path.is_dir):
        with _STAGING_LOCK:  # a name is only reused once the folder is gone, so the check stays true
            dead = _left_by_a_dead_save(leftover, pid)
        if dead:
            shutil.rmtree(leftover, ignore_errors=True)


def _left_by_a_dead_save(staging: Path, pid: int) -> bool:
    """True for a staging folder no running save is writing (call with _STAGING_LOCK held)."""
    return staging not in _OUR_STAGING if pid == os.getpid() else not _process_running(pid)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, owned: Collection[str] = ()) -> Iterator[Path]:
    """Yield a fresh staging directory beside `target`; on success its entries are moved into `target`.

    Each entry the save wrote replaces the entry of that name in `target`, and each name in `owned`
    that it did not write is removed (a model's old `re/` when the new one has none); everything
    else in `target` (a user's notes, another tool's files) is left alone. When `target` holds
    nothing else, the whole directory is swapped in one rename. On any error before the moves the
    previous `target` is left as it was and the staging directory is removed; a kill leaves it with a
    hidden `.NAME.PID.dir.tmp` name that never shadows a model, removed by the next save of NAME there.
    A kill during the renames leaves the old entry whole under a hidden `.old-NAME-PID` name, which the
    next save of NAME there removes too.
    """
    target = check_save_target(target)
    if target.is_symlink():  # save through the link: renaming the link itself would strand its folder
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _make_staging_directory(target)
    try:
        yield staging
        _make_readable(staging)
        ours = {p.name for p in staging.iterdir()} | set(owned)
        if target.is_dir() and any(p.name not in ours for p in target.iterdir()):
            _move_entries(staging, target, set(owned))
            staging.rmdir()
        else:
            _swap_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        _release_staging_directory(staging)
    remove_dead_staging_directories(target)


def _make_readable(staging: Path) -> None:
    """Modes as for any file the user creates (umask applied): safetensors writes weights as 0600, and a
    tool may make its folders private, so a saved model was unreadable to the user's group."""
    probe = staging / ".viextract-mode-probe"
    probe.touch()
    file_mode = probe.stat().st_mode & 0o777
    probe.unlink()
    folder_mode = file_mode | (file_mode & 0o444) >> 2  # read implies enter
    for path in [staging, *staging.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, folder_mode if path.is_dir() else file_mode)


def _swap_directory(staging: Path, target: Path) -> None:
    """Replace `target` (absent, or holding only what this save owns) by `staging` in one rename."""
    backup = None
    if target.exists():
        backup = _aside_name(target)
        os.replace(target, backup)
    try:
        os.replace(staging, target)
    except BaseException:  # else the old model is left only under its hidden `.old-` name
        if backup is not None:
            os.replace(backup, target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    _remove_leftovers(target.parent, {target.name})


def _move_entries(staging: Path, target: Path, owned: set[str]) -> None:
    """Move each entry of `staging` over its namesake in `target`; remove owned names not written.

    A file is replaced in one rename; an old directory is renamed aside, the new one renamed in,
    then the old one deleted. INCOMPLETE_SAVE marks `target` meanwhile, so that a kill between
    two moves (a new `ner/` beside an old `re/`) makes loading fail instead of mixing models.
    """
    written = sorted(p.name for p in staging.iterdir())
    marker = target / INCOMPLETE_SAVE
    marker.write_text("viextract was killed while saving a model into this directory; save it again\n")
    moved = False
    try:
        for name in written:
            source, destination = staging / name, target / name
            aside = _rename_aside(destination) if source.is_dir() or destination.is_dir() else None
            try:
                os.replace(source, destination)
            except BaseException:
                if aside is not None:
                    os.replace(aside, destination)
                raise
            moved = True
            _delete(aside)
    except BaseException:
        if not moved:  # nothing replaced yet: the old model is whole, so it must stay loadable
            marker.unlink(missing_ok=True)
        raise
    for name in sorted(owned - set(written)):
        _delete(_rename_aside(target / name))
    _remove_leftovers(target, set(written) | owned)
    marker.unlink()


def _rename_aside(path: Path) -> Path | None:
    """Rename `path` (if it exists) to a hidden `.old-` name beside it; return the new name."""
    if not path.exists() and not path.is_symlink():
        return None
    aside = _aside_name(path)
    os.replace(path, aside)
    return aside


def _aside_name(path: Path) -> Path:
    """A free hidden name beside `path`, `.old-NAME-PID` (then `.N`): a folder of that name left by a killed
    save of an earlier process with the same PID (in a container, every run may have it) made the rename fail
    once the work was done, and the new model was thrown away."""
    base = aside = path.with_name(f".old-{_aside_label(path.name)}-{os.getpid()}")
    number = 0
    while aside.exists() or aside.is_symlink():
        number += 1
        aside = base.with_name(f"{base.name}.{number}")
    return aside


# The longest NAME kept whole in `.old-NAME-PID.N`: 255 bytes less `.old-`, a pid and a number of 10 digits each.
_ASIDE_NAME_BYTES = 255 - len(".old--.") - 20
_DIGEST_CHARS = 16


def _aside_label(name: str) -> str:
    """`name`, or where `.old-NAME-PID` would pass the 255-byte limit of a file name (a second save of a model
    named near it failed once all was done), its start and a digest of it all: never that of another name, as
    a cut alone would be for two long names alike at the start, one's save then deleting the other's only copy.
    """
    if len(os.fsencode(name)) <= _ASIDE_NAME_BYTES:
        return name
    start = name
    while len(os.fsencode(start)) > _ASIDE_NAME_BYTES - _DIGEST_CHARS - 1:
        start = start[:-1]
    import hashlib  # here: loading imports this module, and hashlib's OpenSSL would cost each text-only worker

    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:_DIGEST_CHARS]
    return f"{start}~{digest}"


_LEFTOVER = re.compile(r"\.old-(?P<name>.+)-\d+(?:\.\d+)?")


def is_save_leftover(name: str) -> bool:
    """True for the hidden names a save or write in progress, or killed, uses beside its target: a staged file
    or folder (`.model.onnx.1234.tmp`, `.re.1234.dir.tmp`) or an old entry set aside (`.old-ner-1234`)."""
    return any(pattern.fullmatch(name) for pattern in (STAGING_FILE, STAGING_DIRECTORY, _LEFTOVER))


def leftovers(folder: Path, names: Collection[str]) -> list[Path]:
    """What killed saves of `names` left aside in `folder` (`.old-ner-1234`), sorted."""
    # A name kept whole where a save of an earlier version left it (then only a pid's digits kept it legal).
    labels = set(names) | {_aside_label(name) for name in names}
    matches = ((path, _LEFTOVER.fullmatch(path.name)) for path in folder.glob(".old-*"))
    return sorted(path for path, match in matches if match and match["name"] in labels)


def interrupted_save_hint(path: Path) -> str:
    """For an error about a missing `path`: where a save killed between its two renames left the previous
    model (its only copy, under a hidden name), or ''."""
    found = leftovers(path.parent, {path.name}) if path.name else []
    if not found:
        return _interrupted_first_save_hint(path)
    return (
        f"; a save into it was interrupted and left the previous model at {found[-1]}: rename that folder back "
        f"to {path.name} to load it"
    )


def _interrupted_first_save_hint(path: Path) -> str:
    """For an error about a missing `path`: that a save or conversion into it (a first one: nothing was there
    before) was killed, leaving only its hidden staging folder, or ''. That folder may hold half a model."""
    if not path.name or not path.parent.is_dir():
        return ""
    try:
        with _STAGING_LOCK:
            found = _staged_beside(path, STAGING_DIRECTORY, Path.is_dir)
            staged = [s for s, pid in found if _left_by_a_dead_save(s, pid)]
    except OSError:  # an unreadable folder: the error this hint adds to stays the one the user sees
        return ""
    if not staged:
        return ""
    return (
        f"; a save or conversion into it was interrupted and left only its unfinished copy {staged[0]}: run that "
        f"save or conversion again"
    )


def _remove_leftovers(folder: Path, names: Collection[str]) -> None:
    """Delete what earlier killed saves of `names` left aside in `folder`: the entries of those names
    were just replaced, so these older copies are no one's model any more."""
    for leftover in leftovers(folder, names):
        _delete(leftover)


def _delete(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def is_quantized(model) -> bool:
    """True for a model whose layers torch's dynamic quantization replaced (its float weights are gone)."""
    return any(type(module).__module__.startswith("torch.ao.nn.quantized") for module in model.modules())


def refuse_quantized(model, what: str) -> None:
    """Saving a dynamically quantized model writes no usable weights: say so before anything is written."""
    if is_quantized(model):
        raise ValueError(
            f"cannot save {what}: it was quantized to int8 when loaded (quantize='int8'), and its float "
            f"weights are no longer in memory. Save the model before quantizing: load it without quantize, "
            f"call save_pretrained, then load the saved directory with quantize='int8'."
        )
