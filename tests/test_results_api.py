"""Issue #21: Extraction iterates, has len, round-trips through JSON and speaks Hugging Face's NER shape."""

import json
import re

import pytest

from viextract import Entity, Extraction, Relation

TEXT = "Ngày 15/3, Bộ trưởng Bùi Thanh Sơn gặp Thủ tướng Sonexay Siphandone."


def built() -> Extraction:
    date = Entity("Ngày 15/3", "DATE", 0, 9, 0.9123, "2026-03-15")
    son = Entity("Bùi Thanh Sơn", "PER", 21, 34, 0.98765)
    title = Entity("Bộ trưởng", "TITLE", 11, 20, 0.5)
    sonexay = Entity("Sonexay Siphandone", "PER", 49, 67, 1 / 3)
    return Extraction(
        TEXT,
        (date, title, son, sonexay),
        (Relation(son, title, "has_title", 0.97), Relation(son, sonexay, "meets", 0.1 + 0.2)),
    )


def test_offsets_of_the_fixture_are_real():
    assert all(TEXT[e.start : e.end] == e.text for e in built())


def test_iterates_over_entities_and_len_counts_them():
    result = built()
    assert list(result) == list(result.entities)
    assert len(result) == 4
    empty = Extraction("x")
    assert len(empty) == 0 and list(empty) == [] and bool(empty)  # found nothing, still a result


def test_json_round_trip_is_exact_and_relations_are_indices():
    result = built()
    text = result.to_json()
    assert isinstance(text, str)
    data = json.loads(text)
    assert data["relations"][1] == {"head": 2, "tail": 3, "label": "meets", "score": 0.1 + 0.2}
    again = Extraction.from_json(text)
    assert again == result
    assert again.entities[0].value == "2026-03-15"
    assert again.relations[0].head is again.entities[2]  # the same objects, as the extractor gives


def test_json_refers_to_an_equal_entity_built_separately():
    result = built()
    copy = Entity("Bùi Thanh Sơn", "PER", 21, 34, 0.98765)
    rebuilt = Extraction(TEXT, result.entities, (Relation(copy, result.entities[1], "has_title", 0.9),))
    assert json.loads(rebuilt.to_json())["relations"][0]["head"] == 2


def test_json_refuses_a_relation_outside_its_entities():
    stray = Entity("Lào", "LOC", 0, 3, 0.9)
    with pytest.raises(ValueError, match="relations\\[0\\]: head: 'Lào' at 0:3 is not one of the entities"):
        Extraction(TEXT, built().entities, (Relation(stray, stray, "meets", 0.5),))
    with pytest.raises(ValueError, match="entity 7"):
        Extraction.from_json(
            json.dumps(
                {"text": "", "entities": [], "relations": [{"head": 7, "tail": 0, "label": "meets", "score": 1}]}
            )
        )
    with pytest.raises(TypeError, match="dict"):
        Extraction.from_json({})


def test_to_dict_keeps_its_shape_and_adds_value_to_dates_only():
    entities = built().to_dict()["entities"]
    assert entities[1] == {"text": "Bộ trưởng", "label": "TITLE", "start": 11, "end": 20, "score": 0.5}
    assert entities[0]["value"] == "2026-03-15"


def test_a_value_set_by_hand_on_another_label_survives_to_dict_and_back():
    """`to_dict` dropped it (`to_json` kept it), so `Entity.from_dict(e.to_dict())` lost it."""
    place = Entity("Lào", "LOC", 0, 3, 0.9, "hand-set")
    assert place.to_dict()["value"] == "hand-set"
    assert Entity.from_dict(place.to_dict()) == place
    result = Extraction("Lào", (place,))
    assert Extraction.from_dict(result.to_dict()) == result == Extraction.from_json(result.to_json())


def test_positional_entity_construction_still_works():
    assert Entity("Lào", "LOC", 0, 3, 0.9).value is None


def test_to_hf_has_the_pipeline_keys_and_python_floats():
    rows = built().to_hf()
    assert rows[2] == {"entity_group": "PER", "word": "Bùi Thanh Sơn", "start": 21, "end": 34, "score": 0.98765}
    assert all(type(r["score"]) is float for r in rows)
    assert [r["entity_group"] for r in rows] == ["DATE", "TITLE", "PER", "PER"]


def test_the_extractor_fills_date_values_and_takes_document_date(tiny_extractor):
    text = "Ngày 15/3, Bộ trưởng thăm Lào."
    result = tiny_extractor(text, document_date="2026-01-02")
    assert all(e.value is None for e in result if e.label != "DATE")
    assert all(e.label != "DATE" or e.value is None or e.value.startswith("2026") for e in result)
    assert Extraction.from_json(result.to_json()) == result
    with pytest.raises(ValueError, match="document_date"):
        tiny_extractor(text, document_date="15/3/2026")
    with pytest.raises(TypeError, match="document_date"):
        tiny_extractor.pipe([text], document_date=2026)


def test_the_readme_results_example_is_what_the_bundled_model_prints(capsys):
    """README's "Results: JSON, dates and triples" output comes from running its own script."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Results: JSON, dates and triples", 1)[1]
    script, printed = re.search(r"```python\n(.*?)```\s*```\n(.*?)```", section, re.S).groups()
    exec(compile(script, "README.md", "exec"), {})
    assert capsys.readouterr().out == printed


def _json_with_entity(**changes) -> str:
    data = json.loads(built().to_json())
    data["entities"][2].update(changes)
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "21"}, "start: expected int, got str"),
        ({"end": 34.0}, "end: expected int, got float"),
        ({"score": "high"}, "score: expected number, got str"),
        ({"score": True}, "score: expected number, got bool"),
        ({"label": 5}, "label: expected str, got int"),
        ({"text": None}, "text: expected str, got NoneType"),
        ({"value": 2026}, "value: expected str or null, got int"),
        ({"start": 22}, r"text 'Bùi Thanh Sơn' is not the text at 22:34, 'ùi Thanh Sơn'"),
        ({"end": 99}, r"start/end 21:99 outside the text \(length 68\)"),
        ({"start": -1}, r"start/end -1:34 outside the text"),
    ],
)
def test_from_json_refuses_wrong_types_and_offsets_that_miss_the_text(changes, message):
    """Each was accepted: an Entity with start '21', score 'high', or text that is not at its offsets."""
    with pytest.raises(ValueError, match=rf"^from_json\(\): entities\[2\]: {message}"):
        Extraction.from_json(_json_with_entity(**changes))


def test_from_json_refuses_a_text_that_is_not_a_str_and_a_relation_score_that_is_not_a_number():
    data = json.loads(built().to_json())
    with pytest.raises(ValueError, match=r"^from_json\(\): relations\[1\]: score: expected number, got str$"):
        Extraction.from_json(
            json.dumps({**data, "relations": [data["relations"][0], {**data["relations"][1], "score": "x"}]})
        )
    with pytest.raises(
        ValueError, match=r"^from_json\(\): not an Extraction's JSON: text: expected str, got NoneType$"
    ):
        Extraction.from_json(json.dumps({**data, "text": None, "entities": []}))
    assert Extraction.from_json(json.dumps({**data, "relations": [{**data["relations"][0], "score": 1}]}))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_from_json_refuses_a_score_that_is_not_finite(number):
    """Python's json reads NaN, Infinity and 1e400 (inf): each gave a result whose score no JSON can hold."""
    entity = _json_with_entity(score=0.25).replace('"score": 0.25', f'"score": {number}')
    with pytest.raises(
        ValueError, match=r"^from_json\(\): entities\[2\]: score: expected a finite number, got -?(nan|inf)$"
    ):
        Extraction.from_json(entity)
    relation = built().to_json().replace('"score": 0.97', f'"score": {number}')
    with pytest.raises(ValueError, match=r"^from_json\(\): relations\[0\]: score: expected a finite number"):
        Extraction.from_json(relation)
    assert Extraction.from_json(
        built().to_json().replace('"score": 0.97', f'"score": 1{"0" * 300}')
    )  # a float holds it


def test_a_score_too_large_for_a_float_is_refused_not_left_to_crash_the_views():
    """An int score of 401 digits loaded, and then to_hf, the table and the HTML page raised OverflowError
    (`float(10**400)`); built by hand, to_json wrote what from_json should refuse."""
    from_file = built().to_json().replace('"score": 0.97', f'"score": 1{"0" * 400}')
    with pytest.raises(
        ValueError,
        match=r"^from_json\(\): relations\[0\]: score: expected a finite number, got an int of about 401 digits$",
    ):
        Extraction.from_json(from_file)
    too_long = built().to_json().replace('"score": 0.97', f'"score": 1{"0" * 5000}')  # Python reads no such int
    with pytest.raises(ValueError, match=r"^from_json\(\): relations\[0\]: score: expected a finite number, got inf$"):
        Extraction.from_json(too_long)
    with pytest.raises(ValueError, match=r"^from_json\(\): entities\[0\]: end: expected int, got float$"):
        Extraction.from_json(built().to_json().replace('"end": 9', f'"end": 9{"0" * 5000}'))
    son, title = built().entities[2], built().entities[1]
    by_hand = Extraction(TEXT, built().entities, (Relation(son, title, "has_title", 10**400),))
    with pytest.raises(ValueError, match=r"^to_json\(\): relations\[0\]: score: expected a finite number"):
        by_hand.to_json()


def test_to_json_refuses_a_score_that_is_not_finite():
    """It wrote `"score": NaN`, which is not JSON: other readers refuse the whole document."""
    result = built()
    nan_entity = Extraction(TEXT, (*result.entities[:3], Entity("Sonexay Siphandone", "PER", 49, 67, float("nan"))))
    with pytest.raises(ValueError, match=r"^to_json\(\): entities\[3\]: score: expected a finite number, got nan$"):
        nan_entity.to_json()
    son, title = result.entities[2], result.entities[1]
    inf_relation = Extraction(TEXT, result.entities, (Relation(son, title, "has_title", float("inf")),))
    with pytest.raises(ValueError, match=r"^to_json\(\): relations\[0\]: score: expected a finite number, got inf$"):
        inf_relation.to_json()


def test_to_json_of_a_text_with_half_an_emoji_can_be_written_as_utf8():
    """A post cut mid-emoji, read from JSON, holds a lone surrogate: to_json kept it raw, and writing the
    result to a UTF-8 file raised UnicodeEncodeError."""
    text = json.loads('"\\ud83d Bộ trưởng thăm Lào \\ude00"')
    result = Extraction(text, (Entity("Lào", "LOC", 17, 20, 0.9),))
    written = result.to_json()
    assert "\\ud83d" in written and "\\ude00" in written
    written.encode("utf-8")
    assert Extraction.from_json(written) == result


def test_from_dict_reads_what_to_dict_and_the_cli_write(corpus, capsys, tmp_path):
    """There was no way back from the CLI's json/jsonl (`to_dict` shapes): from_json refused them with
    `relations[0]: head: expected int, got dict`."""
    from viextract import extract
    from viextract.cli import main

    result = built()
    again = Extraction.from_dict(result.to_dict())
    assert again == result and again.entities[0].value == "2026-03-15"
    assert again.relations[0].head is again.entities[2]  # the very entities of the result, as from_json gives
    path = tmp_path / "doc.txt"
    path.write_text(corpus[0], encoding="utf-8")
    assert main(["extract", str(path), "--format", "jsonl"]) == 0  # the bundled model: relations and a DATE
    (line,) = capsys.readouterr().out.splitlines()
    expected = extract(corpus[0])
    assert expected.relations and any(e.value for e in expected)
    assert Extraction.from_dict(json.loads(line)) == expected  # its `file` key is left aside


def test_from_dict_checks_as_from_json_does():
    data = built().to_dict()
    data["entities"][2]["start"] = "21"
    with pytest.raises(ValueError, match=r"^from_dict\(\): entities\[2\]: start: expected int, got str$"):
        Extraction.from_dict(data)
    data = built().to_dict()
    data["relations"][1]["tail"]["end"] = 66
    with pytest.raises(ValueError, match=r"^from_dict\(\): relations\[1\]: tail: 'Sonexay Siphandone' at 49:66 is not"):
        Extraction.from_dict(data)
    data["relations"][1]["tail"] = 3  # to_json's shape
    with pytest.raises(ValueError, match=r"^from_dict\(\): relations\[1\]: tail: expected dict, got int$"):
        Extraction.from_dict(data)
    with pytest.raises(
        ValueError, match=r"^from_dict\(\): not an Extraction's dict: field\(s\) \['relations'\] missing"
    ):
        Extraction.from_dict({"text": "", "entities": []})
    with pytest.raises(TypeError, match=r"^from_dict\(\) takes a dict, got str$"):
        Extraction.from_dict(built().to_json())


@pytest.mark.parametrize(
    ("path", "key", "where"),
    [
        (("entities", 0), "lable", r"entities\[0\]"),  # a typo for label: was silently dropped
        (("entities", 3), "strat", r"entities\[3\]"),
        (("relations", 1), "labels", r"relations\[1\]"),
    ],
)
def test_from_json_refuses_an_unknown_key_naming_the_item_and_the_keys(path, key, where):
    """`{"lable": ...}` beside a good `label` was dropped without a word, and a lone typo said only that a
    field was missing: the key at fault is named, with the keys an item has."""
    data = json.loads(built().to_json())
    data[path[0]][path[1]][key] = "PER"
    with pytest.raises(ValueError, match=rf"^from_json\(\): {where}: unknown key\(s\) \['{key}'\]; the keys are \["):
        Extraction.from_json(json.dumps(data))
    data = built().to_dict()
    item = data[path[0]][path[1]]
    item[key] = "PER"
    with pytest.raises(ValueError, match=rf"^from_dict\(\): {where}: unknown key\(s\) \['{key}'\]"):
        Extraction.from_dict(data)
    if path[0] == "entities":
        with pytest.raises(ValueError, match=rf"^Entity\.from_dict\(\): unknown key\(s\) \['{key}'\]"):
            Entity.from_dict(item)


def test_from_dict_refuses_an_unknown_key_in_a_relations_head():
    data = built().to_dict()
    data["relations"][0]["head"]["strat"] = 21
    with pytest.raises(ValueError, match=r"^from_dict\(\): relations\[0\]: head: unknown key\(s\) \['strat'\]"):
        Extraction.from_dict(data)


def test_a_documents_other_keys_are_left_aside_and_named_when_a_field_is_missing():
    """The CLI writes `file` and a batch record `id` beside a document's fields: those stay readable."""
    data = {**json.loads(built().to_json()), "id": "doc7", "source": "a.jsonl:3"}
    assert Extraction.from_json(json.dumps(data)) == built()
    data["entites"] = data.pop("entities")
    aside = r"field\(s\) \['entities'\] missing \(other keys: \['id', 'source', 'entites'\]\)$"
    with pytest.raises(ValueError, match=aside):
        Extraction.from_json(json.dumps(data))


def test_what_the_cli_json_format_and_a_batch_record_write_is_read_back(corpus, capsys, tmp_path):
    from viextract import extract
    from viextract.batch.records import to_record
    from viextract.cli import main

    path = tmp_path / "doc.txt"
    path.write_text(corpus[0], encoding="utf-8")
    assert main(["extract", str(path), "--format", "json"]) == 0
    (document,) = json.loads(capsys.readouterr().out)
    expected = extract(corpus[0])
    assert Extraction.from_dict(document) == expected
    record = to_record("doc7", expected)  # a batch record: no text, relations by index, as to_json writes
    assert Extraction.from_json(json.dumps({**record, "text": corpus[0]})) == expected
    assert Entity.from_dict(record["entities"][0]) == expected.entities[0]


@pytest.mark.parametrize(
    ("path", "label", "kind"),
    [
        (("entities", 0), "FOO", "an entity"),
        (("entities", 1), "per", "an entity"),
        (("relations", 0), "loves", "a relation"),
    ],
)
def test_a_label_outside_the_schema_is_refused_naming_the_item_and_the_labels(path, label, kind):
    """An edited results file or another tool's `"FOO"` or `"loves"` loaded silently, a label nothing here knows."""
    from viextract import ENTITY_LABELS, RELATION_LABELS

    labels = ", ".join(ENTITY_LABELS if path[0] == "entities" else RELATION_LABELS)
    named = (
        rf"{path[0]}\[{path[1]}\]: label: '{label}' is not {kind} label of SCHEMA\.md v1\.1; the labels are {labels}$"
    )
    data = json.loads(built().to_json())
    data[path[0]][path[1]]["label"] = label
    with pytest.raises(ValueError, match=rf"^from_json\(\): {named}"):
        Extraction.from_json(json.dumps(data))
    data = built().to_dict()
    data[path[0]][path[1]]["label"] = label
    with pytest.raises(ValueError, match=rf"^from_dict\(\): {named}"):
        Extraction.from_dict(data)
    if path[0] == "entities":
        with pytest.raises(ValueError, match=rf"^Entity\.from_dict\(\): label: '{label}' is not an entity label"):
            Entity.from_dict(data["entities"][path[1]])


@pytest.mark.parametrize(
    ("relation", "tail", "allowed"),
    [
        (0, 3, "PER -> TITLE"),  # has_title from PER to PER
        (1, 1, "PER -> PER"),  # meets from PER to TITLE
    ],
)
def test_a_relation_between_types_the_schema_does_not_allow_is_refused(relation, tail, allowed):
    """`has_title` from PER to PER loaded silently, though `extract` scores only the pairs SCHEMA.md allows."""
    data = json.loads(built().to_json())
    data["relations"][relation]["tail"] = tail
    label = data["relations"][relation]["label"]
    found = data["entities"][tail]["label"]
    named = rf"relations\[{relation}\]: label: '{label}' does not go from PER to {found} in SCHEMA\.md v1\.1; "
    named += rf"it goes {allowed}$"
    with pytest.raises(ValueError, match=rf"^from_json\(\): {named}"):
        Extraction.from_json(json.dumps(data))
    data = built().to_dict()
    data["relations"][relation]["tail"] = data["entities"][tail]
    with pytest.raises(ValueError, match=rf"^from_dict\(\): {named}"):
        Extraction.from_dict(data)


def test_the_refusal_names_every_pair_a_relation_allows():
    text = "Bộ Ngoại giao ký Hiệp định"
    ministry = Entity("Bộ Ngoại giao", "ORG", 0, 13, 0.9)
    deal = Entity("Hiệp định", "AGREEMENT", 17, 26, 0.9)
    data = Extraction(text, (ministry, deal), (Relation(ministry, deal, "signed", 0.9),)).to_dict()
    data["relations"][0].update(head=deal.to_dict(), tail=ministry.to_dict())  # as an edited file has it
    with pytest.raises(ValueError, match=r"from AGREEMENT to ORG .*; it goes PER -> AGREEMENT, ORG -> AGREEMENT$"):
        Extraction.from_dict(data)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda r: (r.entities, (Relation(r.entities[2], r.entities[3], "has_title", 0.9),)),
            "relations[0]: label: 'has_title' does not go from PER to PER",
        ),
        (
            lambda r: ((*r.entities, Entity("Sơn", "PER", 0, 3, 0.9)), ()),
            "entities[4]: text 'Sơn' is not the text at 0:3, 'Ngà'",
        ),
        (
            lambda r: ((*r.entities, Entity("Lào", "PER", 60, 90, 0.9)), ()),
            "entities[4]: start/end 60:90 outside the text",
        ),
        (lambda r: ((Entity("Ngày 15/3", "FOO", 0, 9, 0.9),), ()), "entities[0]: label: 'FOO' is not an entity label"),
        (
            lambda r: (r.entities, (Relation(r.entities[2], r.entities[3], "loves", 0.9),)),
            "relations[0]: label: 'loves' is not a relation label",
        ),
        (lambda r: ((Entity("Ngày 15/3", "DATE", "0", 9, 0.9),), ()), "entities[0]: start: expected int, got str"),
        (lambda r: ((r.entities[0].to_dict(),), ()), "entities[0]: expected an Entity, got dict"),
        (
            lambda r: (r.entities[:2], r.relations[:1]),
            "relations[0]: head: 'Bùi Thanh Sơn' at 21:34 is not one of the entities",
        ),
        (lambda r: (None, ()), "entities: expected a tuple, got NoneType"),
    ],
)
def test_the_constructor_refuses_what_from_json_refuses(build, message):
    """Extraction() took a has_title to a PER, an entity off its offsets or a label outside SCHEMA.md without a
    word; to_json then wrote a file from_json refused, and the results saved were lost."""
    entities, relations = build(built())
    with pytest.raises(ValueError, match=rf"^Extraction\(\): {re.escape(message)}"):
        Extraction(TEXT, entities, relations)


def test_a_result_built_from_lists_equals_its_own_round_trip():
    """Lists were kept as given: the result was unhashable and unequal to its own from_json."""
    result = built()
    listed = Extraction(TEXT, list(result.entities), list(result.relations))
    assert listed == result and hash(listed) == hash(result)
    assert Extraction.from_json(listed.to_json()) == listed == Extraction.from_dict(listed.to_dict())
    nan = Extraction(TEXT, (Entity("Ngày 15/3", "DATE", 0, 9, float("nan")),))  # a broken model's: to_json names it
    assert nan.entities[0].score != nan.entities[0].score
