import json

from training.evaluation.compare_kfold import pick, table


def results(tmp_path, name, f1, architecture):
    level = {"precision": {"mean": f1, "std": 0}, "recall": {"mean": f1, "std": 0}, "f1": {"mean": f1, "std": 0.01},
             "per_label_f1": {"meets": {"mean": f1, "std": 0}}}  # fmt: skip
    data = {"config": {"architecture": architecture}, "summary": {"relations_end_to_end": level}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_pick_keeps_the_candidate_unless_it_loses_more_than_the_margin(tmp_path):
    typed = results(tmp_path, "typed", 0.60, "typed_markers")
    assert pick(results(tmp_path, "close", 0.595, "one_pass"), typed, 1.0) == "one_pass"
    assert pick(results(tmp_path, "far", 0.58, "one_pass"), typed, 1.0) == "typed_markers"
    assert pick(tmp_path / "missing.json", typed, 1.0) == "typed_markers"
    assert pick(results(tmp_path, "alone", 0.1, "one_pass"), tmp_path / "missing.json", 1.0) == "one_pass"


def test_table_lists_each_level_with_per_label_f1(tmp_path):
    data = json.loads(results(tmp_path, "a", 0.5, "one_pass").read_text())
    assert "| a | relations end to end | 50.0 ± 1.0 | meets 50.0 |" in table([("a", data)])
