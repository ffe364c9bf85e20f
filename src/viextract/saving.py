"""Write a directory so that an interrupted write never leaves a half-written model behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `target`; on success it replaces `target`.

    On any error (or a kill) the previous `target`, if any, is left as it was; the temporary
    directory is removed, or left with a `.tmp-` name that never shadows a model.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    # mkdtemp makes the directory private (0700); a saved model should be as readable as any other.
    os.chmod(staging, 0o755)
    try:
        yield staging
        backup = None
        if target.exists():
            backup = target.with_name(f".old-{target.name}-{os.getpid()}")
            os.replace(target, backup)
        os.replace(staging, target)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
