import json

from training.evaluation.agreement import main

TEXT = "Lê Văn An gặp Bùi Thanh Sơn."
DOC = {"id": "d1", "text": TEXT, "relations": [{"head": "T1", "tail": "T2", "label": "meets"}],
       "entities": [{"id": "T1", "start": 0, "end": 9, "label": "PER"},
                    {"id": "T2", "start": 14, "end": 27, "label": "PER"}]}  # fmt: skip


def write(path, *docs):
    path.write_text("".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs), encoding="utf-8")
    return str(path)


def test_passes_of_other_texts_or_documents_are_refused_not_scored(tmp_path, capsys):
    """Offsets only compare on one text: the same names in a text with one more space scored F1 0,
    and a document annotated in one pass only counted as disagreement."""
    a = write(tmp_path / "a.jsonl", DOC)
    assert main([a, write(tmp_path / "same.jsonl", DOC)]) == 0
    assert "A vs B F1: entities 1.000, relations 1.000" in capsys.readouterr().out
    moved = {**DOC, "text": " " + TEXT,
             "entities": [{**e, "start": e["start"] + 1, "end": e["end"] + 1} for e in DOC["entities"]]}  # fmt: skip
    assert main([a, write(tmp_path / "moved.jsonl", moved)]) == 2
    out = capsys.readouterr()
    assert "['d1'] have another text in each pass" in out.err and "F1" not in out.out
    assert main([write(tmp_path / "two.jsonl", DOC, {**DOC, "id": "d2"}), a]) == 2
    assert "documents ['d2'] are in one pass only" in capsys.readouterr().err


def test_a_bad_line_or_a_key_given_twice_is_one_line_naming_file_and_line(tmp_path, capsys):
    """A bad line was a traceback, and a second "entities" silently replaced the first (F1 of other annotations)."""
    a = write(tmp_path / "a.jsonl", DOC)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(DOC, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    assert main([a, str(broken)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {broken}:2: json: invalid JSON")
    twice = tmp_path / "twice.jsonl"
    line = json.dumps(DOC, ensure_ascii=False)
    twice.write_text(line[:-1] + ', "entities": []}\n', encoding="utf-8")
    assert main([a, str(twice)]) == 2
    err = capsys.readouterr().err
    assert f"{twice}:1: entities: given twice" in err and err.count("\n") == 1


def test_a_line_missing_a_field_or_not_an_object_is_one_line_not_a_traceback(tmp_path, capsys):
    a = write(tmp_path / "a.jsonl", DOC)
    for name, line, expected in [
        ("no_id.jsonl", {"text": "x"}, ":1: missing field 'id'"),
        ("list.jsonl", [1], ":1: not a pass document"),
        (
            "bad_entity.jsonl",
            {**DOC, "entities": [{"id": "T1", "start": "a", "end": 3, "label": "PER"}]},
            ':1: entities[0].start: expected an integer character offset, got "a"',
        ),
    ]:
        path = tmp_path / name
        path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
        assert main([a, str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}{expected}" in err and err.count("\n") == 1


def test_an_offset_that_is_not_an_integer_is_refused_not_rounded(tmp_path, capsys):
    """int() read an end of 9.5 as 9: a pass with that offset agreed with one that has 9 (F1 1.000); true was 1."""
    a = write(tmp_path / "a.jsonl", DOC)
    for key, value, shown in [("end", 9.5, "9.5"), ("start", True, "true")]:
        entities = [{**DOC["entities"][0], key: value}, DOC["entities"][1]]
        bad = write(tmp_path / "bad.jsonl", {**DOC, "entities": entities})
        assert main([a, bad]) == 2
        out = capsys.readouterr()
        assert out.err == f"error: {bad}:1: entities[0].{key}: expected an integer character offset, got {shown}\n"
        assert "F1" not in out.out


def test_a_document_or_entity_id_given_twice_in_a_pass_is_refused(tmp_path, capsys):
    """A second copy of d1 pooled its annotations with the first (F1 0.667 against one copy, no word), and a second
    entity T1 took over T1's span, so relations naming T1 moved to it."""
    a = write(tmp_path / "a.jsonl", DOC)
    other = {**DOC, "entities": [{**DOC["entities"][0], "label": "ORG"}, DOC["entities"][1]]}
    twice = write(tmp_path / "twice.jsonl", DOC, other)
    assert main([a, twice]) == 2
    out = capsys.readouterr()
    assert out.err == f"error: {twice}:2: id: duplicate document id 'd1' (also line 1)\n" and "F1" not in out.out
    same_id = {**DOC, "entities": [*DOC["entities"], {"id": "T1", "start": 0, "end": 2, "label": "PER"}]}
    bad = write(tmp_path / "same_id.jsonl", same_id)
    assert main([a, bad]) == 2
    assert capsys.readouterr().err == f"error: {bad}:1: entities[2].id: duplicate entity id 'T1'\n"


def test_passes_without_relations_have_no_relation_f1_rather_than_a_perfect_one(tmp_path, capsys):
    """0/0 was printed as F1 1.000: two passes that annotated no relation read as in perfect relation agreement."""
    bare = {**DOC, "relations": []}
    assert main([write(tmp_path / "a.jsonl", bare), write(tmp_path / "b.jsonl", bare)]) == 0
    out = capsys.readouterr().out
    assert "| relation | **total** | 0 | 0 | 0 | – |" in out
    assert out.endswith("A vs B F1: entities 1.000, relations – (none in either pass)\n")
