"""A fake Hub repository for upload tests: a commit changes only what it sends or deletes, as on the Hub."""

from __future__ import annotations

import shutil
from pathlib import Path


def commit_into_repo(repo: Path, folder_path: str, delete_patterns: list[str] | None = None) -> None:
    """Apply an `upload_folder` commit to the folder `repo`: delete the files `delete_patterns` match,
    then add the folder's files; every other file stays (the Hub has no empty folders)."""
    from huggingface_hub.utils import filter_repo_objects

    repo.mkdir(parents=True, exist_ok=True)
    stored = [p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()]
    for name in filter_repo_objects(stored, allow_patterns=delete_patterns) if delete_patterns else ():
        (repo / name).unlink()
    for folder in sorted(repo.rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    shutil.copytree(folder_path, repo, dirs_exist_ok=True)
