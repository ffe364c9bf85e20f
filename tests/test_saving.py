"""save_pretrained never loses a user's files: it replaces only what viextract writes (issue 17, item 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from viextract import Extractor
from viextract.relations import RelationExtractor


@pytest.fixture(scope="module")
def full_model_dir(tiny_tokenizer_dir, tmp_path_factory):
    from tests.relation_helpers import build_tiny_full_model

    return build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("full"))


def test_save_keeps_files_it_did_not_write(tiny_extractor, tmp_path, corpus):
    target = tmp_path / "model"
    (target / "ner").mkdir(parents=True)
    (target / "ner" / "old-weights.bin").write_text("stale")
    (target / "notes.txt").write_text("my notes")
    (target / "other-model").mkdir()
    (target / "other-model" / "config.json").write_text("{}")
    tiny_extractor.save_pretrained(target)
    assert (target / "notes.txt").read_text() == "my notes"
    assert (target / "other-model" / "config.json").read_text() == "{}"
    # ner/ is ours: replaced as a whole, so no file of an older save lingers in it.
    assert not (target / "ner" / "old-weights.bin").exists()
    assert (target / "ner" / "model.safetensors").is_file()
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "ner", "notes.txt", "other-model"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert Extractor.from_pretrained(target, device="cpu")(corpus[0]) == tiny_extractor(corpus[0])


def test_an_old_relation_model_does_not_survive_a_save_without_one(full_model_dir, tiny_extractor, tmp_path):
    target = tmp_path / "model"
    Extractor.from_pretrained(full_model_dir, device="cpu").save_pretrained(target)
    (target / "README.md").write_text("card")
    tiny_extractor.save_pretrained(target)  # NER only: a stale re/ would pair old relations with new entities
    assert not (target / "re").exists()
    assert (target / "README.md").read_text() == "card"
    assert Extractor.from_pretrained(target, device="cpu").relation_extractor is None


def test_saving_onto_a_file_is_an_error_and_the_file_is_kept(tiny_extractor, tmp_path):
    target = tmp_path / "model.txt"
    target.write_text("not a model")
    with pytest.raises(NotADirectoryError, match=r"model\.txt: exists and is not a directory"):
        tiny_extractor.save_pretrained(target)
    assert target.read_text() == "not a model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]
    # Under it: was a bare FileExistsError from mkdir ('[Errno 17] File exists').
    with pytest.raises(NotADirectoryError, match=r"model\.txt is a file, not a folder, so the model cannot be saved"):
        tiny_extractor.save_pretrained(target / "sub" / "model")
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]


def test_save_expands_the_home_directory(tiny_extractor, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    tiny_extractor.save_pretrained("~/saved")
    assert (tmp_path / "home" / "saved" / "ner" / "model.safetensors").is_file()
    assert not (tmp_path / "~").exists()
    assert Extractor.from_pretrained("~/saved", device="cpu").segmenter == tiny_extractor.segmenter


def test_relation_extractor_save_keeps_other_files_and_expands_home(full_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # a ~ left unexpanded would land here, not in the checkout
    relations = RelationExtractor.from_pretrained(full_model_dir / "re", device="cpu")
    (tmp_path / "re").mkdir()
    (tmp_path / "re" / "notes.txt").write_text("mine")
    relations.save_pretrained("~/re", atomic=True)
    assert (tmp_path / "re" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "re" / "model.safetensors").is_file()
    RelationExtractor.from_pretrained(tmp_path / "re", device="cpu")
    assert not (tmp_path / "~").exists()


def test_an_int8_extractor_refuses_to_save_and_writes_nothing(full_model_dir, tmp_path):
    quantized = Extractor.from_pretrained(full_model_dir, device="cpu", quantize="int8")
    with pytest.raises(ValueError, match=r"quantized to int8.*Save the model before quantizing"):
        quantized.save_pretrained(tmp_path / "model")
    with pytest.raises(ValueError, match="quantized to int8"):
        quantized.relation_extractor.save_pretrained(tmp_path / "re")
    assert list(tmp_path.iterdir()) == []


def test_a_save_killed_between_moves_is_refused_at_load_then_repaired(full_model_dir, tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    from viextract import ModelLoadError

    target = tmp_path / "model"
    Extractor.from_pretrained(full_model_dir, device="cpu").save_pretrained(target)
    (target / "notes.txt").write_text("mine")  # another file: the save moves ner/ and re/ in one by one
    # A child process saves over `target` and is SIGKILLed after ner/ is moved in, before re/ is.
    script = textwrap.dedent(f"""
        import os, signal
        import viextract.saving as saving
        from viextract import Extractor
        extractor = Extractor.from_pretrained({str(full_model_dir)!r}, device="cpu")
        replace = os.replace
        def killing_replace(source, destination):
            if os.path.basename(str(destination)) == "re":
                os.kill(os.getpid(), signal.SIGKILL)
            return replace(source, destination)
        saving.os.replace = killing_replace
        extractor.save_pretrained({str(target)!r})
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, env=env)
    assert completed.returncode == -9, completed.stderr[-2000:]
    with pytest.raises(ModelLoadError, match="a save into this directory was interrupted"):
        Extractor.from_pretrained(target, device="cpu")
    assert (target / "notes.txt").read_text() == "mine"
    Extractor.from_pretrained(full_model_dir, device="cpu").save_pretrained(target)
    assert Extractor.from_pretrained(target, device="cpu").relation_extractor is not None
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "ner", "notes.txt", "re"]  # no `.old-re-…`


def test_a_save_that_fails_before_replacing_anything_leaves_the_old_model_loadable(
    full_model_dir, tmp_path, monkeypatch
):
    import viextract.saving as saving

    target = tmp_path / "model"
    Extractor.from_pretrained(full_model_dir, device="cpu").save_pretrained(target)
    (target / "notes.txt").write_text("mine")  # entries are then moved in one by one
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}

    def refuse(source, destination):
        raise PermissionError(13, "Permission denied", str(destination))

    monkeypatch.setattr(saving.os, "replace", refuse)
    with pytest.raises(PermissionError):
        Extractor.from_pretrained(full_model_dir, device="cpu").save_pretrained(target)
    monkeypatch.undo()
    assert {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert Extractor.from_pretrained(target, device="cpu").relation_extractor is not None


def test_a_swap_that_fails_halfway_puts_the_old_model_back(tiny_extractor, tmp_path, monkeypatch):
    """The old folder is renamed aside, then the new one renamed in: a failure between the two left the
    model only under a hidden `.old-` name."""
    import viextract.saving as saving

    target = tmp_path / "model"
    tiny_extractor.save_pretrained(target)
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    real_replace = os.replace

    def fail_on_the_second(source, destination):
        if Path(source).name.endswith(".dir.tmp"):
            raise PermissionError(13, "Permission denied", str(destination))
        real_replace(source, destination)

    monkeypatch.setattr(saving.os, "replace", fail_on_the_second)
    with pytest.raises(PermissionError):
        tiny_extractor.save_pretrained(target)
    monkeypatch.undo()
    assert {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_saving_into_a_symlinked_folder_writes_through_the_link(tiny_extractor, tmp_path):
    store = tmp_path / "store" / "v1"
    store.mkdir(parents=True)
    (tmp_path / "work").mkdir()
    link = tmp_path / "work" / "model"
    link.symlink_to(store, target_is_directory=True)
    tiny_extractor.save_pretrained(link)
    assert link.is_symlink() and (store / "ner" / "model.safetensors").is_file()
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["model"]
    loaded = Extractor.from_pretrained(link, device="cpu")
    assert loaded.ner_model.config.id2label == tiny_extractor.ner_model.config.id2label


def test_saved_files_follow_the_umask_not_safetensors_private_mode(tiny_extractor, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        tiny_extractor.save_pretrained(tmp_path / "model")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "model").rglob("*")}
    assert modes["model.safetensors"] == 0o644 and modes["ner"] == 0o755 and modes["vocab.txt"] == 0o644


def _save_files(target, files, owned=()):
    from viextract.saving import atomic_directory

    with atomic_directory(target, owned=owned) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_a_leftover_of_a_killed_save_with_our_pid_does_not_make_the_next_save_fail(tmp_path):
    """In a container every run may have the same PID: a killed save's `.old-NAME-PID` folder made the rename
    aside fail with 'Directory not empty' once the work was done, and the new model was thrown away."""
    target = tmp_path / "model"
    _save_files(target, {"config.json": "old"})
    leftover = tmp_path / f".old-model-{os.getpid()}"
    leftover.mkdir()
    (leftover / "config.json").write_text("older, left by a killed save")
    _save_files(target, {"config.json": "new"})  # one swap
    assert _tree(target) == {"config.json": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # the leftover, replaced since, is gone

    (target / "notes.txt").write_text("mine")  # entries are now moved in one by one
    leftover = target / f".old-ner-{os.getpid()}"
    leftover.mkdir()
    (leftover / "config.json").write_text("older, left by a killed save")
    _save_files(target, {"ner/config.json": "newer"}, owned=("ner", "re"))
    assert _tree(target) == {"ner/config.json": "newer", "notes.txt": "mine", "config.json": "new"}


def test_a_swap_killed_between_its_renames_keeps_the_old_model_until_the_next_save_replaces_it(tmp_path):
    """A kill after the old folder is renamed aside leaves it whole under `.old-NAME-PID`; the next save into
    the same place removes it (it was left in the parent folder for good)."""
    import signal
    import subprocess
    import sys
    import textwrap

    target = tmp_path / "model"
    _save_files(target, {"config.json": "old"})
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        import viextract.saving as saving
        replace = os.replace
        def killing_replace(source, destination):
            if Path(source).name.endswith(".dir.tmp"):
                os.kill(os.getpid(), signal.SIGKILL)
            return replace(source, destination)
        saving.os.replace = killing_replace
        with saving.atomic_directory({str(target)!r}) as staging:
            (staging / "config.json").write_text("new")
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, env=env)
    assert completed.returncode == -signal.SIGKILL, completed.stderr[-2000:]
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith(".old-")]
    assert _tree(aside) == {"config.json": "old"} and not target.exists()
    # Its only copy is under a hidden name: loading says where, not just "no such model directory".
    from viextract import ModelLoadError
    from viextract.loading import split_model_dir

    hint = rf"no such model directory; a save into it was interrupted and left the previous model at .*/{aside.name}: "
    hint += "rename that folder back to model to load it"
    with pytest.raises(ModelLoadError, match=hint):
        Extractor.from_pretrained(target)
    with pytest.raises(ModelLoadError, match=hint):
        split_model_dir(target)
    _save_files(target, {"config.json": "newer"})
    assert _tree(target) == {"config.json": "newer"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".old-")]


def test_atomic_file_replaces_the_file_with_the_mode_a_plain_write_gives(tmp_path):
    """One staged-file writer for training's JSON, JSONL, card and config files (viextract.saving.atomic_file)."""
    from viextract.saving import atomic_file

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    out = tmp_path / "sub" / "out.txt"
    for text in ("first", "second"):
        with atomic_file(out) as staging:
            assert staging.parent == out.parent and staging.name.startswith(".")
            staging.write_text(text)
        assert out.read_text() == text
    # mkstemp's 0600 would have carried over to the file a user later shares
    assert out.stat().st_mode == plain.stat().st_mode
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.txt"]


def test_atomic_file_that_fails_keeps_the_earlier_file_and_leaves_nothing_staged(tmp_path):
    from viextract.saving import atomic_file

    out = tmp_path / "out.txt"
    out.write_text("earlier")
    for error in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        with pytest.raises(type(error)), atomic_file(out) as staging:
            staging.write_text("half")
            raise error
        assert out.read_text() == "earlier"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_file_writes_through_a_link_and_takes_a_name_near_the_limit(tmp_path):
    from viextract.saving import atomic_file

    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "data.jsonl"
    real.write_text("old")
    link = tmp_path / "data.jsonl"
    link.symlink_to(real)
    with atomic_file(link) as staging:
        staging.write_text("new")
    assert link.is_symlink() and real.read_text() == "new"
    long = tmp_path / ("x" * 249 + ".jsonl")
    with atomic_file(long) as staging:
        staging.write_text("fits")
    assert long.read_text() == "fits"


def test_a_save_removes_what_killed_saves_of_the_same_target_left_staged_and_nothing_else(tmp_path):
    """A killed save's staging folder (a whole model's size) stayed for good: its random name told no one
    whether its writer was still running."""
    from viextract.saving import atomic_directory

    dead, running = 99999999, os.getppid()  # beyond any pid; the process that started these tests
    names = {
        "dead": f".model.{dead}.dir.tmp",  # a killed save's
        "ours_earlier": f".model.{os.getpid()}-3.dir.tmp",  # an earlier process's with our pid (a container's)
        "running": f".model.{running}.dir.tmp",  # may still be moved in
        "other": f".other.{dead}.dir.tmp",  # another target's: removed by its own next save
        "file": f".model.{dead}.tmp",  # a staged file, not a folder
    }
    for name in names.values():
        if name.endswith(".dir.tmp"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "config.json").write_text("half a model")
        else:
            (tmp_path / name).write_text("x")
    target = tmp_path / "model"
    with atomic_directory(target) as in_flight:  # our own save still going on is never touched
        (in_flight / "config.json").write_text("first")
        _save_files(target, {"config.json": "second"})
        assert in_flight.is_dir() and in_flight.parent == tmp_path
    assert _tree(target) == {"config.json": "first"}
    kept = {names["running"], names["other"], names["file"]}
    assert {p.name for p in tmp_path.iterdir()} == {"model"} | kept


def test_a_staging_folder_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    import signal
    import subprocess
    import sys
    import textwrap

    target = tmp_path / "model"
    _save_files(target, {"config.json": "old"})
    script = textwrap.dedent(f"""
        import os, signal
        import viextract.saving as saving
        with saving.atomic_directory({str(target)!r}) as staging:
            (staging / "config.json").write_text("new")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, env=env)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, stderr[-2000:]
    [leftover] = [p for p in tmp_path.iterdir() if p != target]
    assert leftover.name == f".model.{child.pid}.dir.tmp" and _tree(leftover) == {"config.json": "new"}
    assert _tree(target) == {"config.json": "old"}
    _save_files(target, {"config.json": "newer"})
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert _tree(target) == {"config.json": "newer"}


def test_a_model_named_near_the_length_limit_is_staged_under_a_legal_name(tmp_path):
    target = tmp_path / ("m" * 250)
    _save_files(target, {"config.json": "new"})
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_model_named_near_the_length_limit_saves_again(tmp_path):
    """The old model was set aside as `.old-NAME-PID`, past the 255-byte limit: ENAMETOOLONG once all was done."""
    target = tmp_path / ("m" * 250)
    for content in ("old", "new", "newer"):
        _save_files(target, {"config.json": content})
    assert _tree(target) == {"config.json": "newer"}
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_save_of_a_long_name_removes_its_own_leftover_only(tmp_path):
    """Cut to fit, two names alike but for their last byte would name their leftovers alike: a save of one
    would delete the other's only copy of its previous model."""
    from viextract.saving import _aside_name, interrupted_save_hint, leftovers

    first, second = (tmp_path / ("á" * 100 + "m" * 49 + end) for end in "xy")  # 250 bytes each
    for target in (first, second):
        _save_files(target, {"config.json": target.name[-1]})
        aside = _aside_name(target)  # where a save killed between its renames leaves the previous model
        aside.mkdir()
        (aside / "config.json").write_text(f"older {target.name[-1]}")
        assert leftovers(tmp_path, {target.name}) == [aside]
    (second_aside,) = leftovers(tmp_path, {second.name})
    _save_files(first, {"config.json": "new x"})
    assert leftovers(tmp_path, {first.name}) == []
    assert leftovers(tmp_path, {second.name}) == [second_aside] and second_aside.name in interrupted_save_hint(second)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name, second_aside.name])
    # One left whole by an earlier version, whose pid kept it under the limit, is still found and removed.
    third = tmp_path / ("m" * 240)
    _save_files(third, {"config.json": "old"})
    (tmp_path / f".old-{third.name}-1234").mkdir()
    assert leftovers(tmp_path, {third.name}) == [tmp_path / f".old-{third.name}-1234"]
    _save_files(third, {"config.json": "new"})
    assert leftovers(tmp_path, {third.name}) == []


def test_a_relation_model_save_that_fails_midway_leaves_the_previous_one_whole(full_model_dir, tmp_path, monkeypatch):
    """RelationExtractor.save_pretrained wrote straight into the folder unless asked for atomic=True: new weights
    beside the old tokenizer, or half a weights file, once a save failed or was killed midway."""
    import shutil

    target = tmp_path / "re"
    shutil.copytree(full_model_dir / "re", target)
    before = _bytes(target)
    relations = RelationExtractor.from_pretrained(full_model_dir / "re", device="cpu")
    with torch.no_grad():
        next(relations.model.parameters()).add_(1.0)  # other weights than those saved before

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(relations.tokenizer, "save_pretrained", fail)
    with pytest.raises(OSError, match="No space left"):
        relations.save_pretrained(target)
    assert _bytes(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["re"]


def _bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_save_into_the_current_folder_keeps_its_files(tmp_path, monkeypatch):
    """`.` has no name to stage beside, and a training run with `output_dir: .` crashed with a traceback
    once its training was done, as did save_pretrained(".")."""
    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text("mine")
    monkeypatch.chdir(here)
    _save_files(".", {"config.json": "new"})
    assert _tree(here) == {"config.json": "new", "notes.txt": "mine"}
    assert [p.name for p in tmp_path.iterdir()] == ["here"]  # nothing staged is left beside it


def test_saving_into_the_working_directory_by_dot_or_dotdot(tiny_extractor, tmp_path, monkeypatch, corpus):
    # `.` has no name to stage a copy beside: it was "PosixPath('.') has an empty name".
    (tmp_path / "model" / "run").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "model")
    tiny_extractor.save_pretrained(".")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["README.md", "ner", "run"]
    monkeypatch.chdir(tmp_path / "model" / "run")
    tiny_extractor.save_pretrained("..")  # saved again over the same model, staged beside `model`, not in `run`
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["README.md", "ner", "run"]
    assert list((tmp_path / "model" / "run").iterdir()) == []
    assert Extractor.from_pretrained(tmp_path / "model", device="cpu")(corpus[0]) == tiny_extractor(corpus[0])


@pytest.mark.parametrize("target", ["", "   ", "/"])
def test_a_blank_name_or_the_root_folder_is_refused_and_nothing_is_written(
    tiny_extractor, tmp_path, monkeypatch, target
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="an empty folder name|the root folder"):
        tiny_extractor.save_pretrained(target)
    assert list(tmp_path.iterdir()) == []


def test_loading_a_model_whose_first_save_was_killed_says_to_run_it_again(tmp_path):
    """A first conversion killed midway left only `.model.PID.dir.tmp`; loading said just "no such model directory"."""
    from viextract import ModelLoadError
    from viextract.loading import split_model_dir

    target = tmp_path / "model"
    staged = tmp_path / ".model.99999999.dir.tmp"  # no process has that pid
    (staged / "ner").mkdir(parents=True)
    hint = r"model: no such model directory; a save or conversion into it was interrupted and left only its "
    hint += rf"unfinished copy .*/{staged.name}: run that save or conversion again$"
    with pytest.raises(ModelLoadError, match=hint):
        Extractor.from_pretrained(target)
    with pytest.raises(ModelLoadError, match=hint):
        split_model_dir(target)
    os.rename(staged, tmp_path / f".model.{os.getppid()}.dir.tmp")  # a save still going on: nothing to say yet
    with pytest.raises(ModelLoadError, match=r"model: no such model directory$"):
        split_model_dir(target)
