"""Upload a saved model to the Hugging Face Hub (huggingface_hub comes with transformers)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import HubError


def login_hint(token_option: str = "token=") -> str:
    """How to give a token with write access; `token_option` is how the caller passes one (`--token`)."""
    return (
        "log in with `hf auth login` (`huggingface-cli login` with older huggingface_hub) using a token with "
        f"write access, set the HF_TOKEN environment variable, or pass {token_option}"
    )


LOGIN_HINT = login_hint()

# What a push replaces in the repo, as save_pretrained replaces ner/ and re/ locally: the Hub keeps every file a
# commit neither sends nor deletes, so an old re/ would go on pairing its relations with the new entities.
REPLACED_ON_PUSH = ("ner/*", "re/*")


def needs_branch(revision: str | None) -> bool:
    """True when committing to `revision` needs the branch created first: not main, not an open pull request
    (`refs/pr/N`, which the Hub refuses as a branch name)."""
    return bool(revision) and revision != "main" and not revision.startswith("refs/pr/")


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
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:  # before saving: an id the Hub refuses was reported as a network failure after the save
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"repo_id {repo_id!r}: not a Hub repository id ({str(error).splitlines()[0]})") from None

    token = token or get_token()
    if not token:
        raise HubError(f"cannot push to {repo_id}: no Hugging Face token found; {LOGIN_HINT}")
    with tempfile.TemporaryDirectory(prefix="viextract-push-") as tmp:
        folder = Path(tmp) / "model"
        save(folder)  # first: a model that cannot be saved (int8) creates no empty repo
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id=repo_id, private=private, exist_ok=True, repo_type="model")
        except Exception as error:
            raise hub_error(error, repo_id, "create the repository") from error
        # upload_folder commits only to a branch that exists: a new one was a "revision not found" error.
        if needs_branch(revision):
            try:
                api.create_branch(repo_id=repo_id, branch=revision, exist_ok=True, repo_type="model")
            except Exception as error:
                raise hub_error(error, repo_id, f"create the branch {revision!r} of") from error
        try:
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=str(folder),
                commit_message=commit_message,
                revision=revision,
                create_pr=create_pr,
                repo_type="model",
                delete_patterns=list(REPLACED_ON_PUSH),
            )
        except Exception as error:
            raise hub_error(error, repo_id, "upload to") from error
    return str(getattr(commit, "pr_url", None) or getattr(commit, "commit_url", None) or commit)


def hub_error(error: Exception, repo_id: str, action: str, login_hint: str = LOGIN_HINT) -> HubError:
    """A one-line HubError for what the Hub (or the network) answered: a refused token, an HTTP error, no answer."""
    from huggingface_hub.errors import HfHubHTTPError

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, HfHubHTTPError) and status in (401, 403):
        return HubError(
            f"the Hugging Face Hub refused to {action} {repo_id} (HTTP {status}): the token is invalid or has no "
            f"write access to that namespace; {login_hint}"
        )
    if isinstance(error, HfHubHTTPError):
        return HubError(f"the Hugging Face Hub could not {action} {repo_id} (HTTP {status}): {error}")
    return HubError(
        f"could not {action} {repo_id} on the Hugging Face Hub ({type(error).__name__}: {error}); "
        f"check the network connection (or HF_ENDPOINT) and run the command again"
    )
