"""Upload a saved model to the Hugging Face Hub (huggingface_hub comes with transformers)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .card import CARD_FILENAME, fill_repo_id, is_ours
from .errors import HubError


def login_hint(token_option: str = "token=") -> str:
    """How to give a token with write access; `token_option` is how the caller passes one (`--token`)."""
    return (
        "log in with `hf auth login` (`huggingface-cli login` with older huggingface_hub) using a token with "
        f"write access, set the HF_TOKEN environment variable, or pass {token_option}"
    )


LOGIN_HINT = login_hint()

# Per model folder, the only files `publish push` uploads: weights, config, tokenizer, and the config it was trained
# with. Checkpoints, optimizer states, training logs and metrics files stay at home (and out of the card's sizes).
UPLOAD_FILES = (
    "config.json",
    "model.safetensors",
    "vocab.txt",
    "bpe.codes",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "training_config.yaml",
)
# The files of a bare NER model (`config.json` at the repo's root) that a push may find there: what `publish push`
# uploads for one, and the metrics file earlier versions uploaded too.
BARE_MODEL_FILES = (*UPLOAD_FILES, "training_metrics.json")
REPLACED_ON_PUSH = ("ner/*", "re/*", *BARE_MODEL_FILES)


# A Hugging Face access token: in a file pushed to a repo, anyone who can read the repo could use it.
_HF_TOKEN = re.compile(r"hf_[A-Za-z0-9]{30,}")
_TEXT_SUFFIXES = (".json", ".yaml", ".yml", ".md", ".txt", ".codes")


def check_no_token(files: dict[str, Path]) -> None:
    """HubError naming the file and line when a text file about to be uploaded (repo path -> local file) holds
    what looks like a Hugging Face token: a training_config.yaml or card edited by hand was pushed as it was."""
    for name, path in sorted(files.items()):
        if Path(name).suffix not in _TEXT_SUFFIXES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _HF_TOKEN.search(line):
                raise HubError(
                    f"{name}:{number}: holds what looks like a Hugging Face access token (hf_...), which anyone "
                    f"who can read the repo could use; nothing was uploaded. Remove it (and revoke it at "
                    f"https://huggingface.co/settings/tokens if it was ever shared)"
                )


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
    replace_card: bool | None = None,
) -> str:
    """`save` into a temporary directory, create the repo if needed, upload the directory; the commit URL.

    The saved card names `repo_id`; a card already in the repo that viextract did not write is kept or
    replaced as `replace_card` says (see `settle_card`)."""
    if not isinstance(repo_id, str) or not repo_id.strip():
        raise ValueError(f"repo_id must be a non-empty 'owner/name' str, got {repo_id!r}")
    if create_pr and revision not in (None, "main"):  # refused by upload_folder after the branch was created
        raise ValueError(
            f"create_pr=True opens a pull request against the main branch, so it cannot go with "
            f"revision={revision!r}: drop revision= for a pull request, or create_pr to commit to that branch"
        )
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
        fill_repo_id(folder / CARD_FILENAME, repo_id)
        check_no_token({p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()})
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id=repo_id, private=private, exist_ok=True, repo_type="model")
        except Exception as error:
            raise hub_error(error, repo_id, "create the repository") from error
        check_private(api, repo_id, private, "private=True")
        # upload_folder commits only to a branch that exists: a new one was a "revision not found" error.
        if needs_branch(revision):
            try:
                api.create_branch(repo_id=repo_id, branch=revision, exist_ok=True, repo_type="model")
            except Exception as error:
                raise hub_error(error, repo_id, f"create the branch {revision!r} of") from error
        settle_card(api, repo_id, revision, folder / CARD_FILENAME, replace_card)
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


def check_private(api, repo_id: str, private: bool | None, asked: str, login_hint: str = LOGIN_HINT) -> None:
    """HubError when `private` was asked for and the repo is public: create_repo ignores `private` for a repo
    that exists already, so weights meant to be private were uploaded for anyone to download, without a word."""
    if not private:
        return
    try:
        info = api.repo_info(repo_id, repo_type="model")
    except Exception as error:
        raise hub_error(error, repo_id, "read the visibility of", login_hint) from error
    if getattr(info, "private", None) is not True:
        raise HubError(
            f"{repo_id} already exists and is public, but {asked} was asked for (the Hub keeps an existing "
            f"repository's visibility); nothing was uploaded. Make it private first (its Settings page, or "
            f"HfApi().update_repo_settings({repo_id!r}, private=True)), or push to another repo id"
        )


def settle_card(api, repo_id: str, revision: str | None, card: Path, replace_card: bool | None) -> None:
    """Keep the repo's README.md when viextract did not write it and `replace_card` is False (remove `card`
    from the upload); HubError when `replace_card` is None: a richer card (`publish card`'s, with its
    evaluation) is never replaced by the minimal one without being asked, nor silently kept over new weights."""
    if replace_card:
        return
    remote = _remote_card(api, repo_id, revision, card.parent.with_name("remote-card"))
    if remote is None or is_ours(remote):
        return
    if replace_card is False:
        card.unlink(missing_ok=True)
        return
    raise HubError(
        f"{repo_id} already has a {CARD_FILENAME} model card that viextract did not write; nothing was uploaded. "
        f"Pass replace_card=True to replace it by viextract's minimal card, or replace_card=False to keep it "
        f"(it then describes whatever weights it was written for, which these may not be)"
    )


def _remote_card(api, repo_id: str, revision: str | None, into: Path) -> Path | None:
    """The repo's README.md at `revision`, downloaded into `into`; None when the repo has none."""
    from huggingface_hub.utils import EntryNotFoundError

    try:
        return Path(api.hf_hub_download(repo_id, CARD_FILENAME, revision=revision, repo_type="model", local_dir=into))
    except EntryNotFoundError:
        return None
    except Exception as error:
        raise hub_error(error, repo_id, f"read the {CARD_FILENAME} of") from error


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
    if isinstance(error, (ValueError, TypeError)):  # huggingface_hub refusing its arguments: no network involved
        return HubError(f"could not {action} {repo_id}: huggingface_hub refused the request ({error})")
    return HubError(
        f"could not {action} {repo_id} on the Hugging Face Hub ({type(error).__name__}: {error}); "
        f"check the network connection (or HF_ENDPOINT) and run the command again"
    )
