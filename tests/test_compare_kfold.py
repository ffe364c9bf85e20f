import json

from training.evaluation.compare_kfold import pick, pooled_table, table


def results(tmp_path, name, f1, architecture):
    level = {"precision": {"mean": f1, "std": 0}, "recall": {"mean": f1, "std": 0}, "f1": {"mean": f1, "std": 0.01},
             "per_label_f1": {"meets": {"mean": f1, "std": 0}}}  # fmt: skip
    data = {"config": {"architecture": architecture}, "summary": {"relations_end_to_end": level}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_pick_keeps_the_candidate_unless_it_loses_more_than_the_margin(tmp_path, capsys):
    typed = results(tmp_path, "typed", 0.60, "typed_markers")
    assert pick(results(tmp_path, "close", 0.595, "one_pass"), typed, 1.0) == "one_pass"
    assert pick(results(tmp_path, "far", 0.58, "one_pass"), typed, 1.0) == "typed_markers"
    assert pick(tmp_path / "missing.json", typed, 1.0) == "typed_markers"
    assert pick(results(tmp_path, "alone", 0.1, "one_pass"), tmp_path / "missing.json", 1.0) == "one_pass"
    # Counted as no evidence (a k-fold cut by the deadline), but said: a mistyped name would pick silently.
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [f"warning: {flag} {tmp_path / 'missing.json'}: no such file; counted as no evidence"
                        for flag in ("--pick", "--against")]  # fmt: skip


def test_table_lists_each_level_with_per_label_f1(tmp_path):
    data = json.loads(results(tmp_path, "a", 0.5, "one_pass").read_text())
    assert "| a | relations end to end | 50.0 ± 1.0 | meets 50.0 |" in table([("a", data)])


def test_a_label_held_by_some_folds_only_says_over_how_many(tmp_path):
    data = json.loads(results(tmp_path, "a", 0.5, "one_pass").read_text())
    data["k"] = 4
    data["summary"]["relations_end_to_end"]["per_label_f1"] = {
        "meets": {"mean": 0.5, "std": 0, "folds": 4}, "signed": {"mean": 1.0, "std": 0, "folds": 2}}  # fmt: skip
    assert "| 50.0 ± 1.0 | meets 50.0, signed 100.0 (2 of 4 folds) |" in table([("a", data)])


def test_a_micro_mean_over_some_folds_only_says_over_how_many(tmp_path):
    """A relation k-fold with a held-out document without relations averages the other folds' micro F1 (as the
    evaluate command's own summary says, '3 of 4 folds'); the comparison table gave it as over all four."""
    data = json.loads(results(tmp_path, "a", 0.5, "one_pass").read_text())
    data["k"] = 4
    data["summary"]["relations_end_to_end"]["f1"]["folds"] = 3
    assert "| a | relations end to end | 50.0 ± 1.0 (3 of 4 folds) | meets 50.0 |" in table([("a", data)])


def test_pooled_table_adds_up_the_folds_counts():
    def fold(correct, predicted, gold):
        counts = {"correct": correct, "predicted": predicted, "support": gold}
        return {"relations_end_to_end": {"micro": counts, "per_label": {"meets": counts}}}

    data = {"folds": [fold(1, 2, 1), fold(3, 3, 9)]}
    # Mean of the folds' F1 would be (66.7 + 50.0) / 2; the sums are 4 correct of 5 predicted, 10 gold.
    assert "| a | relations end to end | 80.0 / 40.0 / 53.3 | meets 4/5/10 |" in pooled_table([("a", data)])
    assert pooled_table([("b", {"folds": []})]).count("\n") == 1  # header only


def test_unreadable_results_are_one_line_naming_the_file(tmp_path, capsys):
    """A results file saved as latin-1, cut short, missing or not an object was a traceback."""
    from training.evaluation.compare_kfold import main

    good = results(tmp_path, "good", 0.6, "one_pass")
    cases = {
        "latin.json": ('{"config": "caf\xe9"}'.encode("latin-1"), "latin.json:1: encoding: not UTF-8 text"),
        "cut.json": (b'{"summary":\n {', "cut.json:2: json: invalid JSON: Expecting property name"),
        "list.json": (b"[]", "list.json: not an `evaluate --kfold` results file (a JSON list)"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        for argv in ([f"a={good}", f"b={tmp_path / name}"], ["--pick", str(tmp_path / name), "--against", str(good)]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and message in err, err
    assert main([f"a={tmp_path / 'gone.json'}"]) == 2
    assert "gone.json: no such k-fold results file" in capsys.readouterr().err


def test_files_without_the_scores_compared_are_named_not_skipped(tmp_path, capsys):
    """An `evaluate --model` results file gave a table of its header alone, exit 0; a summary missing a field
    was a KeyError traceback, in the table and in --pick."""
    import pytest

    from training.evaluation.compare_kfold import main

    def write(name, data):
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
        return tmp_path / name

    good = results(tmp_path, "good", 0.6, "one_pass")
    single = write("single.json", {"chars": {"micro": {"f1": 0.9}, "per_label": {}}})
    edited = write("edited.json", {"summary": {"chars": {"f1": {"mean": 0.9, "std": 0}}}})
    worded = write("worded.json", {"summary": {"relations_end_to_end": {"f1": {"mean": "high"}}}})
    not_kfold = "not k-fold results as `evaluate --kfold` writes them"
    cases = [
        ([f"a={good}", f"b={single}"], f"{single}: no k-fold summary at any level compared"),
        (["--pooled", f"a={good}"], f"{good}: no per-fold counts at any level compared"),
        ([f"a={good}", f"b={edited}"], f"{edited}: {not_kfold} (KeyError: 'per_label_f1')"),
        (["--pick", str(worded), "--against", str(good)], f"{worded}: {not_kfold} (ValueError"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: {message}"), err
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2 and "give NAME=RESULTS.json files" in capsys.readouterr().err


def test_one_folds_results_are_refused_not_compared_as_the_kfold(tmp_path, capsys):
    """`evaluate --kfold 4 --fold 2 --out` holds one fold: the table showed its score as the k-fold mean, and --pick
    chose an architecture on it."""
    from training.evaluation.compare_kfold import main

    one = results(tmp_path, "one", 0.9, "one_pass")
    data = json.loads(one.read_text())
    one.write_text(json.dumps({**data, "k": 4, "folds": [{}]}), encoding="utf-8")
    typed = results(tmp_path, "typed", 0.6, "typed_markers")
    for argv in ([f"a={one}"], ["--pooled", f"a={one}"], ["--pick", str(one), "--against", str(typed)]):
        assert main(argv) == 2
        out = capsys.readouterr()
        assert out.err.startswith(f"error: {one}: holds 1 of its 4 folds (a --fold run): gather every fold into one")
        assert out.err.endswith("(python -m training.evaluation.merge_folds --out KFOLD.json FOLD0.json ...)\n")
        assert out.out == ""
