"""Render a model card from data, and publish a model directory to the Hugging Face Hub.

    python -m training.release.publish card --model DIR --results [KEY=]FILE [--results ...] [--out model_cards/NAME.md]
                                    [--write-into-model [--replace-card]] [--repo-id NAME] [--license ID]
                                    [--base-model HUB_ID]
    python -m training.release.publish push --model DIR --repo-id NAME [--private] [--token TOKEN] [--card CARD.md]
                                    [--revision BRANCH] [--dry-run]

`card` fills training.release.card's CardData from the model directory and the results JSON and
renders templates/model_card.md. `push` loads the directory with viextract's own loader first
(a model that does not load is never uploaded), then uploads an allow-listed file set laid out
as the directory is (`ner/`, `re/`) with the card as README.md at the root: what
`Extractor.from_pretrained(repo_id)` downloads with snapshot_download and loads. See docs/publishing.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from viextract.card import REPO_ID_PLACEHOLDER, is_ours
from viextract.errors import HubError
from viextract.hub import (
    REPLACED_ON_PUSH,
    UPLOAD_FILES,
    check_no_token,
    check_private,
    hub_error,
    login_hint,
    needs_branch,
)
from viextract.saving import atomic_file

from ..data.documents import DataError
from ..data.files import check_output_file
from ..pipes import quiet_pipe
from .card import build_card_data
from .card_data import CardError, read_utf8_text
from .card_render import render_card, split_front_matter
from .card_sources import stamped_digests, weights_digests

logger = logging.getLogger("training.release.publish")

CARD_FILE = "README.md"
LOGIN_HINT = login_hint("--token")


class PublishError(RuntimeError):
    """Nothing was uploaded, or the upload failed; the message says why and names the directory or repo."""


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    files: tuple[str, ...]  # paths in the repository, sorted
    left_out: tuple[str, ...]  # files of the model directory not uploaded
    commit_url: str | None = None


# ---- what is uploaded ---------------------------------------------------------------------------


def upload_plan(model_dir: str | Path) -> dict[str, Path]:
    """Path in the repository -> local file, for the allow-listed files of `ner/`, `re/` (or a bare NER dir)."""
    from viextract.errors import ModelLoadError
    from viextract.loading import split_model_dir

    model_dir = Path(model_dir)
    try:
        ner_dir, re_dir = split_model_dir(model_dir)
    except ModelLoadError as error:
        raise PublishError(f"{model_dir}: not uploaded: {error}") from error
    parts = [(ner_dir, "" if ner_dir == model_dir else "ner/")]
    if re_dir is not None:
        parts.append((re_dir, "re/"))
    plan: dict[str, Path] = {}
    for directory, prefix in parts:
        for name in UPLOAD_FILES:
            if (directory / name).is_file():
                plan[prefix + name] = directory / name
    return dict(sorted(plan.items()))


def left_out_files(model_dir: str | Path, plan: dict[str, Path]) -> list[str]:
    """Files under `model_dir` that the allow-list keeps out (a top-level README.md is replaced by the card)."""
    model_dir = Path(model_dir)
    sent = {path.resolve() for path in plan.values()}
    out = []
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and path.resolve() not in sent:
            relative = path.relative_to(model_dir).as_posix()
            if relative != CARD_FILE:
                out.append(relative)
    return out


def validate_model(model_dir: str | Path) -> None:
    """Load the directory as users will (`Extractor.from_pretrained`); PublishError if it does not load."""
    from viextract import Extractor
    from viextract.errors import ModelLoadError

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise PublishError(f"{model_dir}: no such model directory; nothing uploaded")
    try:
        Extractor.from_pretrained(model_dir, device="cpu")
    except ModelLoadError as error:
        raise PublishError(f"{model_dir}: does not load, so nothing was uploaded: {error}") from error


def read_card(card: str | Path | None, model_dir: Path, repo_id: str) -> str:
    """The card text to upload as README.md, checked to start with valid front matter; REPO_ID filled in."""
    path = Path(card) if card is not None else model_dir / CARD_FILE
    if not path.is_file():
        if card is not None:
            raise PublishError(f"--card {card}: no such file; nothing uploaded")
        raise PublishError(
            f"{model_dir}: no model card ({CARD_FILE}); render one first: python -m training.release.publish card "
            f"--model {model_dir} --results RESULTS.json --write-into-model (or pass --card CARD.md); nothing uploaded"
        )
    try:
        text = read_utf8_text(path)
    except CardError as error:
        raise PublishError(f"{error}; nothing uploaded") from None
    try:
        meta, _ = split_front_matter(text)
    except CardError as error:
        raise PublishError(f"{path}: {error}; nothing uploaded") from error
    for key in ("language", "license"):
        if key not in meta:
            raise PublishError(f"{path}: the front matter has no '{key}'; nothing uploaded")
    _check_card_repo(text, path, repo_id)
    return text.replace(REPO_ID_PLACEHOLDER, repo_id)


# The usage example of `publish card`'s card (templates/model_card.md) and of save_pretrained's
# (viextract.card.render_card): the repo id users copy to load the model.
_CARD_REPO = re.compile(
    r'Extractor\.from_pretrained\("(?P<repo>[^"]*)"\)(?=\s*# downloads this repository|\nprint\(extractor\()'
)


def _check_card_repo(text: str, path: Path, repo_id: str) -> None:
    """PublishError when the card was rendered with --repo-id of another repo (or pulled from one): its usage
    example, pushed as it was, told users to load that other repo's model, not the one this push uploads."""
    named = sorted({match["repo"] for match in _CARD_REPO.finditer(text)} - {REPO_ID_PLACEHOLDER, repo_id})
    if named:
        raise PublishError(
            f"{path}: the card's usage example loads {named[0]}, not {repo_id}; render it again with "
            f"--repo-id {repo_id} (or without --repo-id: push fills it in); nothing uploaded"
        )


def check_card_weights(card_text: str, card: Path, model_dir: Path) -> None:
    """PublishError when the card records other weights than `model_dir` holds (the model was retrained or
    saved over after the card was written); a card that records none (older, or hand-written) gets a warning."""
    stamped = stamped_digests(card_text)
    if stamped is None:
        logger.warning("%s: records no weights digest, so whether it describes these weights is not checked", card)
        return
    current = weights_digests(model_dir)
    changed = sorted(name for name in stamped.keys() | current.keys() if stamped.get(name) != current.get(name))
    if changed:
        raise PublishError(
            f"{card}: the card was written for other weights than {model_dir} holds now ({', '.join(changed)}: "
            f"not as the card records; retrained or saved over since); render it again: "
            f"python -m training.release.publish card --model {model_dir} --results RESULTS.json --write-into-model; "
            f"nothing uploaded"
        )


def stage_upload(plan: dict[str, Path], card_text: str, staging: Path) -> list[str]:
    """Lay the files out in `staging` as the repository will hold them (hard links where possible)."""
    for name, source in plan.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(source, target)
    (staging / CARD_FILE).write_text(card_text, encoding="utf-8")
    return sorted([*plan, CARD_FILE])


# ---- pushing ------------------------------------------------------------------------------------


def resolve_token(token: str | None) -> str:
    """The token to push with: --token, else HF_TOKEN or the one `hf auth login` stored."""
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise PublishError(f"no Hugging Face token found: {LOGIN_HINT}; nothing uploaded")
    return found


def _hub_error(error: Exception, repo_id: str, action: str) -> PublishError:
    return PublishError(str(hub_error(error, repo_id, action, LOGIN_HINT)))


def push_model(
    model_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    card: str | Path | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    dry_run: bool = False,
) -> PushResult:
    """Validate, then create the repo (if needed) and upload the allow-listed files and the card in one commit."""
    model_dir = Path(model_dir)
    validate_model(model_dir)  # before anything touches the Hub
    _check_repo_id(repo_id)
    plan = upload_plan(model_dir)
    card_text = read_card(card, model_dir, repo_id)
    check_card_weights(card_text, Path(card) if card is not None else model_dir / CARD_FILE, model_dir)
    left_out = tuple(left_out_files(model_dir, plan))
    files = tuple(sorted([*plan, CARD_FILE]))
    try:
        check_no_token({**plan, CARD_FILE: Path(card) if card is not None else model_dir / CARD_FILE})
    except HubError as error:
        raise PublishError(f"{model_dir}: {error}") from None
    if dry_run:
        return PushResult(repo_id, files, left_out)
    token = resolve_token(token)
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    parts = sorted({name.split("/")[0] for name in plan if "/" in name}) or ["ner"]
    message = commit_message or f"Upload viextract model ({', '.join(parts)}) and model card"
    with tempfile.TemporaryDirectory(prefix="viextract-upload-") as staging:
        stage_upload(plan, card_text, Path(staging))
        try:
            # None, not False, without --private: the namespace's default (an organisation may make repos private).
            api.create_repo(repo_id, private=private or None, exist_ok=True)
        except Exception as error:
            raise _hub_error(error, repo_id, "create the repository") from error
        try:
            check_private(api, repo_id, private, "--private", LOGIN_HINT)
        except HubError as error:
            raise PublishError(str(error)) from None
        if needs_branch(revision):
            try:
                api.create_branch(repo_id, branch=revision, exist_ok=True)
            except Exception as error:
                raise _hub_error(error, repo_id, f"create the branch {revision!r} of") from error
        try:
            info = api.upload_folder(
                folder_path=staging,
                repo_id=repo_id,
                commit_message=message,
                revision=revision,
                # An old re/ must not outlive a push without one, nor a bare model's root file one without it.
                delete_patterns=[*REPLACED_ON_PUSH, *UPLOAD_FILES],
            )
        except Exception as error:
            raise _hub_error(error, repo_id, "upload to") from error
    return PushResult(repo_id, files, left_out, getattr(info, "commit_url", None))


# ---- command line -------------------------------------------------------------------------------


def build_parser(prog: str = "python -m training.release.publish") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    card = commands.add_parser("card", help="render a model card (README.md) from the model and its results")
    card.add_argument("--model", required=True, type=Path, help="model directory: ner/ and optional re/")
    card.add_argument(
        "--results", action="append", default=[], metavar="[KEY=]FILE",
        help="results JSON of training.evaluation.evaluate (repeatable); KEY names the split when the file does not: "
        "dev, test, kfold, re.test, ... (see docs/publishing.md)",
    )  # fmt: skip
    card.add_argument(
        "--out", type=Path, help="write the card here (default: model_cards/<model name>.md, unless --write-into-model)"
    )
    card.add_argument("--write-into-model", action="store_true", help="also write it as <model>/README.md")
    card.add_argument(
        "--replace-card",
        action="store_true",
        help="with --write-into-model: replace a README.md viextract did not write",
    )
    card.add_argument("--repo-id", help="Hub repo id shown in the usage example (default: REPO_ID, filled in by push)")
    card.add_argument("--model-name", help="name in the card and model-index (default: the repo or directory name)")
    card.add_argument("--license", help="Hub licence id (default: cc-by-sa-4.0 if the base saw CC BY-SA, else mit)")
    card.add_argument("--base-model", help="Hub id of the base for base_model: (default: the training config's)")
    card.add_argument("--base-dir", type=Path, help="local base with pretrain_data.json (default: as configured)")
    card.add_argument("--dataset", action="append", dest="datasets", help="dataset id for datasets: (repeatable)")
    card.add_argument("--library-name", default="viextract", choices=("viextract", "transformers"))
    card.add_argument("--schema", type=Path, help="SCHEMA.md to read label definitions from (default: found nearby)")
    card.add_argument(
        "--ablation",
        action="append",
        default=[],
        metavar="TASK=FILE",
        help="dev results of the same fine-tuning from a random-init base (ner=FILE, re=FILE; repeatable)",
    )
    card.add_argument(
        "--challenge", type=Path, help="per-phenomenon results of `python -m training.evaluation.challenge --out FILE`"
    )
    card.add_argument("--speed", type=Path, help="`python benchmarks/speed.py --json FILE` run on this model")

    push = commands.add_parser("push", help="validate the model and upload it with its card to the Hub")
    push.add_argument("--model", required=True, type=Path, help="model directory: ner/ and optional re/")
    push.add_argument("--repo-id", required=True, help="e.g. your-name/viextract-vi-news")
    push.add_argument("--private", action="store_true", help="create the repository as private")
    push.add_argument("--token", help="Hub token (default: HF_TOKEN or the `hf auth login` token)")
    push.add_argument("--card", type=Path, help="card to upload as README.md (default: <model>/README.md)")
    push.add_argument("--revision", help="branch to commit to (created if missing; default: main)")
    push.add_argument("--commit-message")
    push.add_argument("--dry-run", action="store_true", help="validate and list the files; upload nothing")
    return parser


def _card_command(args: argparse.Namespace) -> int:
    card = build_card_data(
        args.model,
        args.results,
        repo_id=args.repo_id,
        model_name=args.model_name,
        license=args.license,
        base_model=args.base_model,
        base_dir=args.base_dir,
        datasets=args.datasets,
        library_name=args.library_name,
        schema_path=args.schema,
        ablation=args.ablation,
        challenge=args.challenge,
        speed=args.speed,
    )
    if not args.results:
        logger.warning("no --results: every evaluation in the card says 'not measured'")
    text = render_card(card)
    # --write-into-model alone writes the model's README.md only, not also a model_cards/ folder in the
    # directory the command happens to run in.
    out = args.out or (None if args.write_into_model else Path("model_cards") / f"{card.model_name}.md")
    if args.write_into_model and not args.replace_card:
        _check_model_readme(args.model / CARD_FILE)
    if out is not None:
        _check_card_out(out, args)
        _write_card(out, text)
        print(f"card written to {out}")
    if args.write_into_model:
        _write_card(args.model / CARD_FILE, text)
        print(f"card written to {args.model / CARD_FILE}")
    return 0


def _check_model_readme(readme: Path) -> None:
    """CardError before anything is written when the model's README.md is not a card viextract wrote
    (save_pretrained's marker, or `publish card`'s weights record): a user's own README is never lost."""
    if readme.exists() and not readme.is_file():
        raise CardError(f"{readme}: a folder or other non-file where the card goes; nothing was written. Move it aside")
    if is_ours(readme):
        return
    try:
        if stamped_digests(readme.read_text(encoding="utf-8", errors="replace")) is not None:
            return
        what = "a README.md that viextract did not write"
    except OSError as error:  # a link to a file not there, no permission: whose it is cannot be told
        what = f"a README.md that cannot be read ({error.strerror or error}), so may not be viextract's"
    raise CardError(
        f"{readme}: {what}; nothing was written. Pass --replace-card to replace "
        f"it by the card, or move it aside first (or give --out FILE without --write-into-model)"
    )


def _write_card(path: Path, text: str) -> None:
    """`text` written beside `path` and renamed into place: a full disk or Ctrl-C never leaves half a card
    over the one there; CardError naming the file when it cannot be written (it was an OSError traceback)."""
    try:
        with atomic_file(path) as staging:
            staging.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CardError(f"{path}: cannot write the card ({error.strerror or error})") from error


def _check_repo_id(repo_id: str) -> None:
    """PublishError for an id the Hub would refuse (`bad id`), before --dry-run says it would upload there."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise PublishError(f"--repo-id {repo_id!r}: not a Hub repository id ({str(error).splitlines()[0]})") from None


def _push_command(args: argparse.Namespace) -> int:
    result = push_model(
        args.model,
        args.repo_id,
        token=args.token,
        private=args.private,
        card=args.card,
        revision=args.revision,
        commit_message=args.commit_message,
        dry_run=args.dry_run,
    )
    verb = "would upload" if args.dry_run else "uploaded"
    print(f"{verb} to {result.repo_id}: " + ", ".join(result.files))
    if result.left_out:
        print("left out (not on the allow-list): " + ", ".join(result.left_out))
    if result.commit_url:
        print(f"commit: {result.commit_url}")
    if not args.dry_run:
        print(f'load it with: Extractor.from_pretrained("{result.repo_id}")')
    return 0


def _check_card_out(out: Path, args: argparse.Namespace) -> None:
    """CardError before writing when `out` is a folder, an input of the card, or inside the model
    (its README.md is written with --write-into-model, never by --out)."""
    inputs = [spec.partition("=")[2] or spec for spec in args.results]
    inputs += [spec.partition("=")[2] for spec in args.ablation or ()]
    inputs += [args.challenge, args.speed, args.schema]
    try:
        check_output_file(out, inputs)
    except DataError as error:
        raise CardError(str(error)) from None
    model = args.model.resolve()
    if model == out.resolve() or model in out.resolve().parents:
        raise CardError(f"--out: {out}: inside the model {args.model}; use --write-into-model for its README.md")


@quiet_pipe
def main(argv: Sequence[str] | None = None, prog: str = "python -m training.release.publish") -> int:
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _card_command(args) if args.command == "card" else _push_command(args)
    except (CardError, PublishError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
