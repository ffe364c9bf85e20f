"""Upload a saved model to the Hugging Face Hub (huggingface_hub comes with transformers)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path


def push_directory(
    save: Callable[[Path], None],
    repo_id: str,
    *,
    token: str | None,
    private: bool | None,
    commit_message: str,
    revision: str | None,
    create_pr: bool,
) -> str:
    """`save` into a temporary directory, create the repo if needed, upload the directory; the commit URL."""
    if not isinstance(repo_id, str) or not repo_id.strip():
        raise ValueError(f"repo_id must be a non-empty 'owner/name' str, got {repo_id!r}")
    from huggingface_hub import HfApi

    with tempfile.TemporaryDirectory(prefix="viextract-push-") as tmp:
        folder = Path(tmp) / "model"
        save(folder)  # first: a model that cannot be saved (int8) creates no empty repo
        api = HfApi(token=token)
        api.create_repo(repo_id=repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            commit_message=commit_message,
            revision=revision,
            create_pr=create_pr,
            repo_type="model",
        )
    return str(getattr(commit, "pr_url", None) or getattr(commit, "commit_url", None) or commit)
