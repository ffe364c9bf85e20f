import json

import pytest

from training.evaluation.kfold import make_folds
from training.evaluation.merge_folds import main, merge
from training.fit.config import ConfigError

IDS = ["doc-a", "doc-b", "doc-c", "doc-d"]
FOLDS = make_folds(IDS, 4, 42)


def level(correct, predicted, gold):
    p, r = correct / predicted, correct / gold
    micro = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r), "correct": correct}
    return {"micro": micro, "per_label": {"meets": micro}}


def fold_file(tmp_path, index, correct, **changes):
    """What `evaluate re --kfold 4 --fold INDEX --out` writes, reduced to what merging reads."""
    fold = {"test_ids": FOLDS[index], "relations_gold_entities": level(correct, 10, 10)}
    results = {"task": "re", "data": "d.jsonl", "docs": "train,dev", "document_ids": IDS, "k": 4,
               "config": {"seed": 42, "architecture": "one_pass"}, "ner_kfold": f"ner{index}.json",
               "folds": [fold], "summary": {"relations_gold_entities": {}}}  # fmt: skip
    results.update(changes)
    path = tmp_path / f"fold{index}.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    return path


def test_folds_come_out_in_order_with_their_mean(tmp_path):
    paths = [fold_file(tmp_path, index, correct) for index, correct in [(2, 6), (0, 8), (3, 10), (1, 4)]]
    merged = merge(paths)
    assert [fold["test_ids"] for fold in merged["folds"]] == FOLDS
    f1 = merged["summary"]["relations_gold_entities"]["f1"]
    assert f1["mean"] == pytest.approx((0.8 + 0.4 + 0.6 + 1.0) / 4)
    assert merged["ner_kfold"] == ["ner2.json", "ner0.json", "ner3.json", "ner1.json"]
    assert merged["config"]["architecture"] == "one_pass" and merged["k"] == 4


def test_a_missing_repeated_or_foreign_fold_is_refused(tmp_path):
    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    with pytest.raises(ConfigError, match=r"fold\(s\) \[3\]"):
        merge(paths[:3])
    again = tmp_path / "again.json"
    again.write_bytes(paths[1].read_bytes())
    with pytest.raises(ConfigError, match="again.json: fold 1 is also in .*fold1.json"):
        merge(paths + [again])
    other = fold_file(tmp_path, 3, 5, config={"seed": 42, "architecture": "typed_markers"})
    with pytest.raises(ConfigError, match="fold3.json: config differs"):
        merge(paths[:3] + [other])


@pytest.mark.parametrize(
    ("key", "values"),
    [("decoding", ("viterbi", "argmax")), ("capitals", (False, True)), ("extra_train_documents", (102, 0))],
)
def test_folds_scored_or_trained_another_way_are_refused(tmp_path, key, values):
    """A fold rescored with --decoding argmax (or --capitals, or trained with --no-extra) merged with the others
    into one mean: the k-fold figure mixed two settings without a word."""
    paths = [fold_file(tmp_path, index, 5, **{key: values[0]}) for index in range(3)]
    other = fold_file(tmp_path, 3, 5, **{key: values[1]})
    with pytest.raises(ConfigError, match=f"fold3.json: {key} differs from .*fold0.json's"):
        merge([*paths, other])
    assert merge([*paths, fold_file(tmp_path, 3, 5, **{key: values[0]})])[key] == values[0]


def test_the_command_writes_the_kfold_file_and_names_a_bad_input(tmp_path, capsys):
    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    out = tmp_path / "kfold.json"
    assert main([*map(str, paths), "--out", str(out)]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["folds"]) == 4
    assert "4-fold cross-validation" in capsys.readouterr().out
    broken = tmp_path / "broken.json"
    broken.write_text("{}", encoding="utf-8")
    assert main([str(broken), "--out", str(tmp_path / "x.json")]) == 2
    assert "broken.json: not an `evaluate --kfold` results file" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_out_may_not_overwrite_a_fold_file(tmp_path, capsys):
    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    before = paths[0].read_text(encoding="utf-8")
    assert main([*map(str, paths), "--out", str(paths[0])]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert paths[0].read_text(encoding="utf-8") == before


def test_a_label_is_averaged_over_the_folds_that_have_it():
    """A held-out document without `signed` (no gold, none predicted) says nothing of it: not an F1 of 0."""
    from training.evaluation.kfold import fold_summary, format_fold_summary

    def fold(signed):
        meets = {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2, "predicted": 1, "correct": 1}
        row = {"f1": 1.0, "support": 1, "predicted": 1} if signed else {"f1": 0.0, "support": 0, "predicted": 0}
        return {"r": {"micro": meets, "per_label": {"meets": meets, "signed": row}}}

    spurious = {"r": {"micro": {"precision": 0.0, "recall": 0.0, "f1": 0.0}, "per_label": {
        "signed": {"f1": 0.0, "support": 0, "predicted": 2}}}}  # fmt: skip
    summary = fold_summary([fold(True), fold(False), fold(True), fold(False)], ["r"])["r"]["per_label_f1"]
    assert summary["signed"] == {"mean": 1.0, "std": 0.0, "folds": 2}
    assert summary["meets"]["folds"] == 4
    # A fold that predicts a label it does not hold scores 0 for it, and counts.
    assert fold_summary([fold(True), spurious], ["r"])["r"]["per_label_f1"]["signed"]["folds"] == 2
    text = format_fold_summary({"k": 4, "summary": {"r": fold_summary([fold(True)] + [fold(False)] * 3, ["r"])["r"]}},
                               [("r", "relations")])  # fmt: skip
    assert "signed       F1 100.00 ± 0.00  (1 of 4 folds)" in text


def test_a_fold_with_nothing_to_find_leaves_the_micro_mean_alone():
    """A held-out document without relations (no gold, none predicted) has 0/0 micro scores, not an F1 of 0."""
    from training.evaluation.kfold import fold_summary, format_fold_summary

    found = {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2, "predicted": 1, "correct": 1}
    nothing = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0, "correct": 0}
    spurious = {**nothing, "predicted": 3}
    folds = [{"r": {"micro": row, "per_label": {}}} for row in (found, nothing, found)]
    summary = fold_summary(folds, ["r"])["r"]
    assert summary["f1"] == {"mean": pytest.approx(2 / 3), "std": 0.0, "folds": 2}
    assert summary["precision"]["mean"] == 1.0
    text = format_fold_summary({"k": 3, "summary": {"r": summary}}, [("r", "relations")])
    assert "F1 66.67 ± 0.00  (2 of 3 folds)" in text
    # Items predicted where there are none is a real 0, and a fold that counts; so is every fold empty.
    assert fold_summary([folds[0], {"r": {"micro": spurious, "per_label": {}}}], ["r"])["r"]["f1"] == {
        "mean": pytest.approx(1 / 3), "std": pytest.approx(2 ** 0.5 / 3)}  # fmt: skip
    assert fold_summary([folds[1], folds[1]], ["r"])["r"]["f1"] == {"mean": 0.0, "std": 0.0}


def test_folds_scored_at_other_levels_are_refused(tmp_path):
    """One fold run without --ner-kfold has no end-to-end scores: merged, they were dropped or a KeyError."""
    e2e = {"relations_end_to_end": level(2, 10, 10)}
    with_e2e = [
        fold_file(tmp_path, index, 8, summary={"relations_gold_entities": {}, "relations_end_to_end": {}},
                  folds=[{"test_ids": FOLDS[index], "relations_gold_entities": level(8, 10, 10), **e2e}])
        for index in (0, 1, 2)
    ]  # fmt: skip
    without = fold_file(tmp_path, 3, 8, ner_kfold=None)
    for paths in ([*with_e2e, without], [without, *with_e2e]):
        with pytest.raises(ConfigError, match=r"fold3\.json.* scores \['relations_gold_entities'\].*--ner-kfold"):
            merge(paths)


def test_unreadable_inputs_are_one_line_naming_the_file_and_line(tmp_path, capsys):
    """A results file saved as latin-1, cut short or not an object was a traceback (or 'position 9' of the bytes)."""
    good = [fold_file(tmp_path, index, 5) for index in range(3)]
    cases = {
        "latin.json": ('{"task": "r\xe9"}'.encode("latin-1"), "latin.json:1: encoding: not UTF-8 text (byte 0xe9"),
        "cut.json": (b'{"task": "re",\n "k": ', "cut.json:2: json: invalid JSON: Expecting value at column 7"),
        "twice.json": (b'{"k": 4,\n "k": 5}', "twice.json:2: k: given twice (first on line 1)"),
        "number.json": (b"42", "number.json: not an `evaluate --kfold` results file (a JSON int)"),
    }
    out = tmp_path / "kfold.json"
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert main([*map(str, good), str(tmp_path / name), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_an_out_that_cannot_be_written_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    """A full disk or read-only folder under --out was an OSError traceback after the summary."""
    import errno
    from pathlib import Path

    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    out = tmp_path / "results" / "kfold.json"
    out.parent.mkdir()
    out.write_text("the previous merge\n", encoding="utf-8")

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    assert main([*map(str, paths), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "4-fold cross-validation" in captured.out
    assert captured.err == f"error: {out}: cannot write the results (No space left on device)\n"
    assert [p.name for p in out.parent.iterdir()] == ["kfold.json"]
    assert out.read_bytes() == b"the previous merge\n"


def test_the_file_is_written_even_when_printing_the_summary_fails(tmp_path, monkeypatch):
    """`merge_folds ... | head` closes stdout early: the summary's BrokenPipeError must not cost the file."""
    import os
    import sys

    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    out = tmp_path / "kfold.json"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone
    with open(write_end, "w", encoding="utf-8") as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        assert main([*map(str, paths), "--out", str(out)]) == 141
        monkeypatch.undo()
    assert len(json.loads(out.read_text(encoding="utf-8"))["folds"]) == 4


def test_an_out_name_the_system_refuses_is_one_line_before_any_work(tmp_path, capsys):
    """A name over the file system's 255-byte limit was an OSError traceback from the --out check."""
    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    out = tmp_path / ("x" * 300 + ".json")
    assert main([*map(str, paths), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: --out: {out}: File name too long\n" and captured.out == ""


def test_an_out_name_near_the_length_limit_is_written(tmp_path):
    """The results were staged as '.NAME.tmp', 5 bytes over a 251-byte name's limit: an error for a legal name."""
    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    out = tmp_path / ("x" * 246 + ".json")
    assert main([*map(str, paths), "--out", str(out)]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["folds"]) == 4
    assert sorted(tmp_path.iterdir()) == sorted([*paths, out])


def test_a_fold_file_missing_a_field_names_the_file_and_field(tmp_path, capsys):
    """A hand-edited or mixed-up fold file was a KeyError, TypeError or AttributeError traceback."""
    paths = [fold_file(tmp_path, index, 5) for index in range(3)]
    scores = level(5, 10, 10)
    del scores["micro"]["f1"]
    cases = [
        ({"k": "4"}, 'k: expected a number of folds, got "4"'),
        ({"config": {"architecture": "one_pass"}}, "config.seed: missing (expected the folds' seed)"),
        ({"document_ids": None}, "document_ids: missing (expected a list of document ids)"),
        ({"folds": [{"test_ids": FOLDS[3]}]}, "folds[0].relations_gold_entities: missing"),
        ({"folds": [{"test_ids": FOLDS[3], "relations_gold_entities": scores}]},
         "folds[0].relations_gold_entities.micro.f1: missing (expected a number)"),
        ({"folds": [{"test_ids": [1, 2]}]}, "folds[0].test_ids: expected document ids (strings), got 1"),
        ({"folds": ["fold 3"]}, "folds[0]: expected a fold's results, got \"fold 3\""),
    ]  # fmt: skip
    for changes, message in cases:
        bad = fold_file(tmp_path, 3, 5, **changes)
        assert main([*map(str, paths), str(bad), "--out", str(tmp_path / "kfold.json")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad}: {message}") and err.count("\n") == 1, err
    assert not (tmp_path / "kfold.json").exists()


def test_more_folds_than_documents_names_the_file(tmp_path, capsys):
    """Said '--kfold: 9 folds but only 4 documents', a flag merge_folds does not have, and no file."""
    paths = [fold_file(tmp_path, index, 5, k=9) for index in range(4)]
    assert main([*map(str, paths), "--out", str(tmp_path / "kfold.json")]) == 2
    assert capsys.readouterr().err == f"error: {paths[0]}: k: 9 folds of 4 document_ids cannot be a k-fold\n"


def test_a_file_given_twice_is_named_as_such(tmp_path, capsys):
    paths = [fold_file(tmp_path, index, 5) for index in range(4)]
    assert main([*map(str, paths), str(tmp_path / "." / "fold1.json"), "--out", str(tmp_path / "kfold.json")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / '.' / 'fold1.json'}: given twice\n"


def test_the_summary_of_one_fold_says_it_is_not_the_kfold_figure():
    """`evaluate --kfold 4 --fold 2` printed '4-fold cross-validation ... F1 60.00 ± 0.00': one fold's score, with a
    std of nothing, under the k-fold's title."""
    from training.evaluation.kfold import fold_summary, format_fold_summary

    folds = [{"r": level(6, 10, 10)}]
    text = format_fold_summary({"k": 4, "folds": folds, "summary": fold_summary(folds, ["r"])}, [("r", "relations")])
    assert text.startswith("1 fold of a 4-fold cross-validation only (micro, mean ± std over it; not the k-fold figure")
    every = folds * 4
    text = format_fold_summary({"k": 4, "folds": every, "summary": fold_summary(every, ["r"])}, [("r", "relations")])
    assert text.startswith("4-fold cross-validation (micro, mean ± std over folds)")
