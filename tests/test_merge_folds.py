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
    with pytest.raises(ConfigError, match="fold 1 is also in"):
        merge(paths + [paths[1]])
    other = fold_file(tmp_path, 3, 5, config={"seed": 42, "architecture": "typed_markers"})
    with pytest.raises(ConfigError, match="fold3.json: config differs"):
        merge(paths[:3] + [other])


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
