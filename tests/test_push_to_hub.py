"""Extractor.push_to_hub, with every HfApi call intercepted (no network)."""

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from viextract import Extractor


class FakeHfApi:
    calls: list = []
    uploaded = None
    repo_card = None  # the README.md text the repo holds before the push, None for none
    repo_private = None  # the repo's visibility, None while it does not exist

    def hf_hub_download(self, repo_id, filename, **kwargs):
        from huggingface_hub.utils import EntryNotFoundError

        FakeHfApi.calls.append(("hf_hub_download", {"repo_id": repo_id, "filename": filename, **kwargs}))
        if FakeHfApi.repo_card is None:
            raise EntryNotFoundError(f"404: {filename} not in {repo_id}")
        path = Path(kwargs["local_dir"]) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FakeHfApi.repo_card, encoding="utf-8")
        return str(path)

    def __init__(self, token=None):
        FakeHfApi.calls.append(("HfApi", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        FakeHfApi.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if FakeHfApi.repo_private is None:  # as on the Hub, `private` applies to a new repo only
            FakeHfApi.repo_private = bool(kwargs.get("private"))

    def repo_info(self, repo_id, **kwargs):
        FakeHfApi.calls.append(("repo_info", {"repo_id": repo_id, **kwargs}))
        return SimpleNamespace(private=FakeHfApi.repo_private)

    def create_branch(self, **kwargs):
        FakeHfApi.calls.append(("create_branch", kwargs))

    def upload_folder(self, **kwargs):
        from huggingface_hub.utils import are_progress_bars_disabled

        FakeHfApi.calls.append(("upload_folder", kwargs))
        if kwargs.get("create_pr") and kwargs.get("revision") not in (None, "main"):  # as huggingface_hub 1.x+
            raise ValueError(f"Cannot use `create_pr=True` with `revision='{kwargs['revision']}'`")
        FakeHfApi.bars_shown = not are_progress_bars_disabled()
        shutil.copytree(kwargs["folder_path"], FakeHfApi.uploaded)
        return SimpleNamespace(commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/0123abc", pr_url=None)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    import huggingface_hub

    FakeHfApi.calls = []
    FakeHfApi.uploaded = tmp_path / "uploaded"
    FakeHfApi.repo_card = None
    FakeHfApi.repo_private = None
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHfApi)
    return FakeHfApi


def test_push_creates_the_repo_and_uploads_a_loadable_model_with_its_card(tiny_extractor, hub):
    url = tiny_extractor.push_to_hub("me/tiny", token="hf_x", private=True, revision="dev")
    assert url == "https://huggingface.co/me/tiny/commit/0123abc"
    names = [name for name, _ in hub.calls]
    assert names == ["HfApi", "create_repo", "repo_info", "create_branch", "hf_hub_download", "upload_folder"]
    del hub.calls[2]  # the visibility asked for is checked (see test_private_to_an_existing_public_repo_...)
    assert hub.calls[3][1]["revision"] == "dev"  # the card of the branch the commit goes to
    assert hub.calls[0][1] == {"token": "hf_x"}
    assert hub.calls[1][1]["private"] is True and hub.calls[1][1]["exist_ok"] is True
    # upload_folder cannot commit to a branch that does not exist yet.
    assert hub.calls[2][1] == {"repo_id": "me/tiny", "branch": "dev", "exist_ok": True, "repo_type": "model"}
    upload = hub.calls[4][1]
    assert upload["repo_id"] == "me/tiny"
    assert (upload["revision"], upload["create_pr"]) == ("dev", False)
    assert upload["commit_message"] == "Upload viextract model"
    card = (hub.uploaded / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlibrary_name: viextract")
    assert 'Extractor.from_pretrained("me/tiny")' in card and "REPO_ID" not in card and "path/or" not in card
    Extractor.from_pretrained(hub.uploaded, device="cpu")


RICH_CARD = "---\nlanguage: vi\nlicense: mit\n---\n# viextract-vi-news\n\nEntity F1 (test): 0.91 ...\n"


def test_a_card_viextract_did_not_write_is_never_replaced_silently(tiny_extractor, hub):
    """A `publish card` card (evaluation tables, data, licences) was replaced by the minimal one."""
    from viextract import HubError

    hub.repo_card = RICH_CARD
    with pytest.raises(HubError, match=r"me/tiny already has a README.md model card that viextract did not write; "
                                       r"nothing was uploaded. Pass replace_card=True"):  # fmt: skip
        tiny_extractor.push_to_hub("me/tiny", token="hf_x")
    assert "upload_folder" not in [name for name, _ in hub.calls]

    tiny_extractor.push_to_hub("me/tiny", token="hf_x", replace_card=False)
    assert not (hub.uploaded / "README.md").exists()  # not sent: the repo's card stays
    assert (hub.uploaded / "ner" / "model.safetensors").is_file()
    assert "README.md" not in hub.calls[-1][1]["delete_patterns"]  # nor deleted

    shutil.rmtree(hub.uploaded)
    tiny_extractor.push_to_hub("me/tiny", token="hf_x", replace_card=True)
    assert "viextract model" in (hub.uploaded / "README.md").read_text(encoding="utf-8")


def test_a_card_viextract_wrote_is_refreshed(tiny_extractor, hub):
    from viextract.card import CARD_MARKER

    hub.repo_card = f"---\nlicense: mit\n---\n{CARD_MARKER}\n# viextract model\n"
    tiny_extractor.push_to_hub("me/tiny", token="hf_x")
    assert 'Extractor.from_pretrained("me/tiny")' in (hub.uploaded / "README.md").read_text(encoding="utf-8")


def test_an_unreadable_repo_card_is_a_one_line_error(tiny_extractor, hub, monkeypatch):
    from viextract import HubError

    def unreachable(self, repo_id, filename, **kwargs):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(hub, "hf_hub_download", unreachable)
    with pytest.raises(HubError, match=r"could not read the README.md of me/tiny on the Hugging Face Hub"):
        tiny_extractor.push_to_hub("me/tiny", token="hf_x")


def test_the_upload_shows_progress_bars_only_when_verbose(tiny_extractor, hub):
    """huggingface_hub draws a bar per uploaded file: a library is quiet unless asked."""
    tiny_extractor.push_to_hub("me/tiny", token="hf_x")
    assert hub.bars_shown is False
    shutil.rmtree(hub.uploaded)
    tiny_extractor.push_to_hub("me/tiny", token="hf_x", verbose=True)
    from huggingface_hub.utils import are_progress_bars_disabled

    assert hub.bars_shown is not are_progress_bars_disabled()  # the user's setting (HF_HUB_DISABLE_PROGRESS_BARS)


def test_the_temporary_directory_is_removed(tiny_extractor, hub):
    tiny_extractor.push_to_hub("me/tiny", token="hf_x", commit_message="v2")
    folder = hub.calls[-1][1]["folder_path"]
    assert hub.calls[-1][1]["commit_message"] == "v2"
    assert not __import__("os").path.exists(folder)


@pytest.mark.parametrize("bad", ["", "  ", None, "bad id", "me/tiny/extra", "https://huggingface.co/me/tiny"])
def test_a_bad_repo_id_fails_before_any_call(tiny_extractor, hub, bad):
    with pytest.raises(ValueError, match="repo_id"):
        tiny_extractor.push_to_hub(bad)
    assert hub.calls == []


def test_a_quantized_extractor_is_refused_before_the_repo_is_created(tiny_ner_dir, hub):
    quantized = Extractor.from_pretrained(tiny_ner_dir, device="cpu", quantize="int8")
    with pytest.raises(ValueError, match="quantized"):
        quantized.push_to_hub("me/tiny", token="hf_x")
    assert hub.calls == []


def test_without_a_token_nothing_is_saved_or_called(tiny_extractor, hub, monkeypatch):
    import huggingface_hub

    from viextract import HubError

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(HubError, match="cannot push to me/tiny: no Hugging Face token found; log in"):
        tiny_extractor.push_to_hub("me/tiny")
    assert hub.calls == []


def test_no_network_and_a_refused_token_are_one_line_errors_naming_the_repo(tiny_extractor, hub, monkeypatch):
    """Not a raw httpx ConnectError: the repo, what failed and what to do."""
    from types import SimpleNamespace

    from huggingface_hub.errors import HfHubHTTPError

    from viextract import HubError

    def unreachable(self, repo_id, **kwargs):
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.setattr(hub, "create_repo", unreachable)
    with pytest.raises(HubError, match=r"could not create the repository me/tiny on the Hugging Face Hub "
                                       r"\(ConnectionError: .*\); check the network connection"):  # fmt: skip
        tiny_extractor.push_to_hub("me/tiny", token="hf_x")

    def refused(self, **kwargs):
        raise HfHubHTTPError("403 Forbidden", response=SimpleNamespace(status_code=403, headers={}, request=None))

    monkeypatch.setattr(hub, "create_repo", lambda self, repo_id, **kwargs: None)
    monkeypatch.setattr(hub, "upload_folder", refused)
    with pytest.raises(HubError, match=r"refused to upload to me/tiny \(HTTP 403\): the token is invalid"):
        tiny_extractor.push_to_hub("me/tiny", token="hf_x")


def test_a_second_push_without_relations_leaves_no_old_relation_model_on_the_hub(
    tiny_tokenizer_dir, hub, monkeypatch, tmp_path
):
    """The Hub keeps every file a commit does not send or delete: an old re/ would pair old relations
    with the new entities, as save_pretrained's own replacing of ner/ and re/ prevents locally."""
    from tests.hub_helpers import commit_into_repo
    from tests.relation_helpers import build_tiny_full_model

    def upload_into_repo(self, **kwargs):
        hub.calls.append(("upload_folder", kwargs))
        commit_into_repo(hub.uploaded, kwargs["folder_path"], kwargs.get("delete_patterns"))
        return SimpleNamespace(commit_url="https://huggingface.co/me/tiny/commit/0123abc", pr_url=None)

    monkeypatch.setattr(hub, "upload_folder", upload_into_repo)
    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path / "full")
    Extractor.from_pretrained(root, device="cpu").push_to_hub("me/tiny", token="hf_x")
    assert (hub.uploaded / "re" / "model.safetensors").is_file()
    Extractor.from_pretrained(root / "ner", device="cpu").push_to_hub("me/tiny", token="hf_x")
    assert not (hub.uploaded / "re").exists()
    assert Extractor.from_pretrained(hub.uploaded, device="cpu").relation_extractor is None


def test_private_to_an_existing_public_repo_uploads_nothing(tiny_extractor, hub):
    """create_repo ignores `private` for a repo that exists: private=True to a public repo published the weights."""
    from viextract import HubError

    hub.repo_private = False
    with pytest.raises(HubError, match=r"me/tiny already exists and is public, but private=True was asked for .*"
                                       r"nothing was uploaded. Make it private first"):  # fmt: skip
        tiny_extractor.push_to_hub("me/tiny", token="hf_x", private=True)
    assert "upload_folder" not in [name for name, _ in hub.calls]
    hub.calls[:] = []
    tiny_extractor.push_to_hub("me/tiny", token="hf_x")  # not asked for: the repo's visibility is the user's
    assert "repo_info" not in [name for name, _ in hub.calls]


def test_a_push_over_a_bare_model_leaves_none_of_its_root_files(tiny_ner_dir, tiny_extractor, hub, monkeypatch):
    """A repo holding a bare NER model (`publish push` of a training output: config.json, model.safetensors at
    the root) kept those files beside the new ner/: never loaded, yet downloaded with every snapshot and shown
    on the Hub as the model's."""
    from tests.hub_helpers import commit_into_repo

    def upload_into_repo(self, **kwargs):
        hub.calls.append(("upload_folder", kwargs))
        commit_into_repo(hub.uploaded, kwargs["folder_path"], kwargs.get("delete_patterns"))
        return SimpleNamespace(commit_url="https://huggingface.co/me/tiny/commit/0123abc", pr_url=None)

    monkeypatch.setattr(hub, "upload_folder", upload_into_repo)
    shutil.copytree(tiny_ner_dir / "ner", hub.uploaded)
    (hub.uploaded / "notes.txt").write_text("the owner's\n")
    tiny_extractor.push_to_hub("me/tiny", token="hf_x")
    stored = {p.relative_to(hub.uploaded).as_posix() for p in hub.uploaded.rglob("*") if p.is_file()}
    assert {name for name in stored if "/" not in name} == {"README.md", "notes.txt"}
    assert "ner/model.safetensors" in stored


def test_a_pull_request_to_another_branch_is_refused_before_any_call(tiny_extractor, hub):
    """huggingface_hub opens pull requests against main only: create_pr with revision='dev' created the branch,
    then failed in upload_folder with "check the network connection" advice."""
    with pytest.raises(ValueError, match=r"create_pr=True opens a pull request against the main branch, so it "
                                         r"cannot go with revision='dev'"):  # fmt: skip
        tiny_extractor.push_to_hub("me/tiny", token="hf_x", revision="dev", create_pr=True)
    assert hub.calls == []
    tiny_extractor.push_to_hub("me/tiny", token="hf_x", create_pr=True)
    assert (hub.calls[-1][1]["create_pr"], hub.calls[-1][1]["revision"]) == (True, None)


def test_a_token_in_the_saved_records_stops_the_push(tiny_ner_dir, hub, tmp_path):
    """The training_config.yaml a loaded model carries is saved and pushed with it: a token pasted into it
    was uploaded for anyone who can read the repo to use."""
    from viextract import HubError

    model = tmp_path / "model"
    shutil.copytree(tiny_ner_dir, model)
    (model / "ner" / "training_config.yaml").write_text("task: ner\n# token: hf_" + "aBcD1234" * 5 + "\n")
    with pytest.raises(HubError, match=r"^ner/training_config.yaml:2: holds what looks like a Hugging Face access "
                                       r"token \(hf_...\).*nothing was uploaded"):  # fmt: skip
        Extractor.from_pretrained(model, device="cpu").push_to_hub("me/tiny", token="hf_x")
    assert [name for name, _ in hub.calls] == []
