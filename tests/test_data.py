"""The validator rejects each broken rule with `file:line: field:`; converters keep every gold span."""

from __future__ import annotations

import copy
import json
import unicodedata
from pathlib import Path

import pytest

from tests.fakes import fill_disk_after_first_write
from training.data.__main__ import main
from training.data.documents import DataError, Document
from training.data.features import bio_to_char_spans, ner_dataset, ner_rows, relation_dataset, relation_rows
from training.data.files import load_documents, print_documents, require_documents
from training.data.sizes import training_data_sizes
from training.data.splits import load_split
from training.fit.config import ConfigError
from viextract.labels import NO_RELATION, RELATION_ARGUMENT_TYPES, SYMMETRIC_RELATIONS, allowed_relations, bio_labels

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "data" / "corpus.jsonl"
PASS_A = REPO / "data" / "passes" / "pass_a.jsonl"

TEXT = (
    "Trung tướng Lê Đức Thái gặp Thượng tướng Khamlieng Outhakaysone tại Vientiane. "
    "Hiệp định 2016 được ký ngày 16/3/2016 tại Hà Nội."
)


def _span(text: str, mention: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(mention, start + 1)
    return start, start + len(mention)


def good_doc(doc_id: str = "doc1") -> dict:
    entities = []
    for i, (mention, label) in enumerate(
        [
            ("Trung tướng", "TITLE"),
            ("Lê Đức Thái", "PER"),
            ("Thượng tướng", "TITLE"),
            ("Khamlieng Outhakaysone", "PER"),
            ("Vientiane", "LOC"),
            ("Hiệp định 2016", "AGREEMENT"),
            ("ngày 16/3/2016", "DATE"),
            ("Hà Nội", "LOC"),
        ],
        start=1,
    ):
        start, end = _span(TEXT, mention)
        entities.append({"id": f"T{i}", "start": start, "end": end, "label": label})
    relations = [
        {"head": "T2", "tail": "T1", "label": "has_title"},
        {"head": "T4", "tail": "T3", "label": "has_title"},
        {"head": "T2", "tail": "T4", "label": "meets"},
        {"head": "T6", "tail": "T7", "label": "date_of"},
    ]
    return {"id": doc_id, "date": "2025-10-11", "text": TEXT, "entities": entities, "relations": relations}


def write_jsonl(path: Path, *docs) -> Path:
    lines = [doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False) for doc in docs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rejects(tmp_path: Path, bad, field: str, problem: str) -> None:
    """The bad document sits on line 2 after a good one: the message must name that line and field."""
    path = write_jsonl(tmp_path / "bad.jsonl", good_doc("ok"), bad)
    with pytest.raises(DataError) as caught:
        load_documents(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: {field}: "), message
    assert problem in message, message


def mutate(change) -> dict:
    doc = copy.deepcopy(good_doc())
    change(doc)
    return doc


def test_good_document_loads(tmp_path):
    (doc,) = load_documents(write_jsonl(tmp_path / "good.jsonl", good_doc()))
    assert isinstance(doc, Document)
    assert [doc.mention(e) for e in doc.entities][:2] == ["Trung tướng", "Lê Đức Thái"]
    assert doc.to_dict() == good_doc()


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_rejects_invalid_json(tmp_path):
    rejects(tmp_path, '{"id": "doc1", "text": ', "json", "invalid JSON")


def test_rejects_json_nested_too_deeply_for_the_parser(tmp_path):
    rejects(tmp_path, '{"id": ' + "[" * 100_000 + "]" * 100_000 + "}", "json", "nested too deeply")


def test_rejects_a_key_given_twice(tmp_path):
    # json keeps the last: a second, empty "relations" would silently drop every relation of the line.
    line = json.dumps(good_doc(), ensure_ascii=False)[:-1] + ', "relations": []}'
    rejects(tmp_path, line, "relations", "given twice in one object")
    line = json.dumps(good_doc(), ensure_ascii=False).replace('"label": "PER"', '"label": "PER", "label": "LOC"', 1)
    rejects(tmp_path, line, "label", "given twice in one object")


def test_a_byte_order_mark_before_the_first_line_is_not_json(tmp_path):
    # Notepad saves UTF-8 with a BOM; the data is right, as training.data.clean and .inline already accept.
    path = tmp_path / "bom.jsonl"
    path.write_text("\ufeff" + json.dumps(good_doc(), ensure_ascii=False) + "\n", encoding="utf-8")
    assert [doc.to_dict() for doc in load_documents(path)] == [good_doc()]
    splits = make_split_dir(tmp_path)
    splits.write_text("\ufeff" + splits.read_text(encoding="utf-8"), encoding="utf-8")
    assert [d.id for d in load_split("dev", splits)] == ["b"]
    # The sizes recorded with a model read them the same way: a BOM there lost every row, with only a warning.
    extra = splits.parent / "extra.jsonl"
    extra.write_text("\ufeff" + extra.read_text(encoding="utf-8"), encoding="utf-8")
    rows = training_data_sizes({"splits_file": str(splits)})
    counted = [(row["name"], row["documents"]) for row in rows]
    assert counted == [("train", 1), ("dev", 1), ("test", 1), ("train (extra)", 1)]


def test_lines_ended_by_a_carriage_return_alone_are_lines(tmp_path):
    # Saved with old Mac line ends (or a tool that writes bare \r), the whole file was one line: the
    # second document was "invalid JSON: Extra data" on line 1, and an error further on named line 1 too.
    docs = [json.dumps(good_doc(name), ensure_ascii=False) for name in ("a", "b")]
    path = tmp_path / "cr.jsonl"
    path.write_bytes(("\r".join(docs) + "\r").encode("utf-8"))
    assert [doc.id for doc in load_documents(path)] == ["a", "b"]
    path.write_bytes(("\r\n".join([*docs, "{"]) + "\r\n").encode("utf-8"))
    with pytest.raises(DataError, match=r"cr\.jsonl:3: json: invalid JSON"):
        load_documents(path)
    path.write_bytes(("\r".join([*docs, "{"])).encode("utf-8"))
    with pytest.raises(DataError, match=r"cr\.jsonl:3: json: invalid JSON"):
        load_documents(path)


def test_rejects_a_line_that_is_not_an_object(tmp_path):
    rejects(tmp_path, "[1, 2]", "document", "expected object")


def test_rejects_missing_field(tmp_path):
    rejects(tmp_path, mutate(lambda d: d.pop("text")), "text", "missing")
    rejects(tmp_path, mutate(lambda d: d["entities"][3].pop("label")), "entities[3].label", "missing")
    rejects(tmp_path, mutate(lambda d: d["relations"][1].pop("tail")), "relations[1].tail", "missing")


def test_rejects_a_key_the_format_does_not_have(tmp_path):
    # Ignored, it was lost the first time a tool rewrote the file, and a misspelt one was never checked.
    rejects(tmp_path, mutate(lambda d: d.update(extra=1)), "extra", "unknown key; expected id, date, text,")
    rejects(tmp_path, mutate(lambda d: d["entities"][2].update(mention="x")), "entities[2].mention", "unknown key")
    rejects(tmp_path, mutate(lambda d: d["relations"][1].update(score=1)), "relations[1].score", "unknown key")
    source = mutate(lambda d: d["entities"][0].update(text="Trung tướng"))
    assert load_documents(write_jsonl(tmp_path / "ok.jsonl", {**source, "source": "written"}))


@pytest.mark.parametrize(("char", "name"), [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\x93", "U+0093")])
def test_rejects_a_control_character_in_the_text(tmp_path, char, name):
    # Read as a space by the models: a NUL (UTF-16 read as UTF-8) or a C1 quote (cp1252 read as Latin-1) cut words.
    bad = mutate(lambda d: d.update(text=d["text"] + char))
    rejects(tmp_path, bad, "text", f"control character {name} at offset {len(TEXT)}: not text")


def test_tabs_and_line_breaks_are_text(tmp_path):
    for char in "\t\r\x0b\x0c\x1c\x85\u2028":
        assert load_documents(write_jsonl(tmp_path / "ok.jsonl", {**good_doc(), "text": TEXT + char}))


def test_validate_names_the_file_line_and_key_of_an_unknown_key(tmp_path, capsys):
    path = write_jsonl(tmp_path / "bad.jsonl", good_doc("ok"), {**good_doc(), "extra": 1})
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"{path}:2: extra: unknown key")


@pytest.mark.parametrize("text", ["", "  \n "])
def test_rejects_a_document_without_text(tmp_path, text):
    # It validated as a document, counted in the stats and trained and scored as nothing.
    rejects(tmp_path, json.dumps({**good_doc(), "text": text, "entities": [], "relations": []}), "text", "empty")


def test_rejects_mistyped_field(tmp_path):
    rejects(tmp_path, mutate(lambda d: d.update(date=20251011)), "date", "expected str or null, got int")
    rejects(tmp_path, mutate(lambda d: d.update(entities={})), "entities", "expected list")
    rejects(
        tmp_path, mutate(lambda d: d["entities"][0].update(start="0")), "entities[0].start", "expected int, got str"
    )
    # True is an int to Python, but never a valid offset.
    rejects(tmp_path, mutate(lambda d: d["entities"][0].update(start=True)), "entities[0].start", "got bool")
    rejects(tmp_path, mutate(lambda d: d["relations"].__setitem__(0, "T1")), "relations[0]", "expected object")
    # JSON can escape half a surrogate pair; such text cannot be written as UTF-8 or tokenized.
    lone = json.dumps(mutate(lambda d: d.update(text=d["text"] + "\ud83d")))  # ASCII JSON: written as \\ud83d
    rejects(tmp_path, lone, "text", f"lone surrogate U+D83D at offset {len(TEXT)}")
    lone = json.dumps(mutate(lambda d: d["entities"][0].update(id="\udc00")))
    rejects(tmp_path, lone, "entities[0].id", "lone surrogate U+DC00")


def test_rejects_a_date_not_written_as_data_readme_says(tmp_path):
    for date in ("11/10/2025", "2025-13-01", "2025-02-30", "2025"):
        rejects(
            tmp_path, mutate(lambda d, date=date: d.update(date=date)), "date", "expected YYYY-MM-DD, YYYY-MM or null"
        )
    for date in ("2025-10-11", "2025-10", None):
        path = tmp_path / "ok.jsonl"
        path.write_text(
            json.dumps(mutate(lambda d, date=date: d.update(date=date)), ensure_ascii=False) + "\n", "utf-8"
        )
        assert load_documents(path)[0].date == date


def test_rejects_offsets_outside_the_text(tmp_path):
    rejects(tmp_path, mutate(lambda d: d["entities"][7].update(end=len(TEXT) + 5)), "entities[7]", "outside the text")
    rejects(tmp_path, mutate(lambda d: d["entities"][0].update(start=-1)), "entities[0]", "outside the text")
    reversed_span = mutate(lambda d: d["entities"][0].update(start=5, end=3))
    rejects(tmp_path, reversed_span, "entities[0]", "start 5 is after end 3")
    rejects(tmp_path, mutate(lambda d: d["entities"][0].update(end=0)), "entities[0]", "empty span [0, 0)")


def test_an_entity_text_must_be_the_mention_its_offsets_cut(tmp_path):
    # Offsets valid and on token bounds, but not the mention the annotator wrote down: refused, not dropped.
    bad = mutate(lambda d: d["entities"][0].update(text="Thượng tướng"))
    rejects(tmp_path, bad, "entities[0].text", "'Thượng tướng' is not the text at [0, 11), 'Trung tướng'")

    # Offsets counted in UTF-16 units (JavaScript's length) after an emoji: the hint says how to count.
    def utf16(doc):
        doc["text"] = "📌 " + doc["text"]
        for entity in doc["entities"]:
            entity["text"] = doc["text"][entity["start"] + 2 : entity["end"] + 2]
            entity["start"], entity["end"] = entity["start"] + 3, entity["end"] + 3

    rejects(tmp_path, mutate(utf16), "entities[0].text", "count code points (Python str indices), not UTF-16")
    good = mutate(lambda d: [e.update(text=TEXT[e["start"] : e["end"]]) for e in d["entities"]])
    (doc,) = load_documents(write_jsonl(tmp_path / "good.jsonl", good))
    assert doc.to_dict() == good_doc()  # the checked `text` is not kept


def test_an_entity_text_in_another_normal_form_is_the_same_mention(tmp_path):
    # Typed on a Mac (decomposed accents, NFD) over composed text: the offsets were right, yet the document
    # was refused with a hint about UTF-16 units, the two strings printing alike.
    nfd = mutate(
        lambda d: [e.update(text=unicodedata.normalize("NFD", TEXT[e["start"] : e["end"]])) for e in d["entities"]]
    )
    (doc,) = load_documents(write_jsonl(tmp_path / "nfd.jsonl", nfd))
    assert doc.to_dict() == good_doc()

    # Decomposed text with offsets counted on its composed form: the hint names the cause.
    def decomposed(doc):
        for entity in doc["entities"]:
            entity["text"] = doc["text"][entity["start"] : entity["end"]]
        doc["text"] = unicodedata.normalize("NFD", doc["text"])

    rejects(tmp_path, mutate(decomposed), "entities[0].text", "the offsets fit the text composed (NFC), but it is")


def test_decomposed_text_with_offsets_counted_composed_says_so_without_an_entity_text(tmp_path):
    # With no entity `text` to compare, the error was only "span ' Lê Đức Th' starts or ends in whitespace" or
    # "does not start and end at token bounds", though the offsets looked right on screen.
    nfd = mutate(lambda d: d.update(text=unicodedata.normalize("NFD", d["text"])))
    hint = "the text is decomposed (NFD, an accent a character of its own): count offsets on the text as written"
    rejects(tmp_path, nfd, "entities[0]", hint)
    with pytest.raises(DataError) as caught:
        load_documents(write_jsonl(tmp_path / "nfc.jsonl", mutate(lambda d: d["entities"][1].update(end=15))))
    assert "NFD" not in str(caught.value)


def test_rejects_span_with_whitespace_at_either_end(tmp_path):
    rejects(
        tmp_path,
        mutate(lambda d: d["entities"][1].update(end=d["entities"][1]["end"] + 1)),
        "entities[1]",
        "whitespace",
    )
    rejects(
        tmp_path,
        mutate(lambda d: d["entities"][1].update(start=d["entities"][1]["start"] - 1)),
        "entities[1]",
        "whitespace",
    )


def test_rejects_overlapping_entities(tmp_path):
    def add_overlap(doc):
        start, end = _span(TEXT, "Trung tướng Lê")  # overlaps both T1 and T2
        doc["entities"].append({"id": "T9", "start": start, "end": end, "label": "PER"})

    rejects(tmp_path, mutate(add_overlap), "entities[8]", "T9 'Trung tướng Lê' [0, 14) overlaps entities[0] T1")


def test_rejects_unknown_entity_label(tmp_path):
    rejects(
        tmp_path,
        mutate(lambda d: d["entities"][4].update(label="GPE")),
        "entities[4].label",
        "unknown entity label 'GPE'",
    )


def test_rejects_unknown_relation_label(tmp_path):
    rejects(
        tmp_path, mutate(lambda d: d["relations"][0].update(label="title_of")), "relations[0].label", "unknown relation"
    )


def test_rejects_duplicate_entity_ids(tmp_path):
    rejects(tmp_path, mutate(lambda d: d["entities"][5].update(id="T1")), "entities[5].id", "duplicate entity id 'T1'")


def test_rejects_relation_to_missing_entity(tmp_path):
    rejects(
        tmp_path, mutate(lambda d: d["relations"][0].update(tail="T42")), "relations[0].tail", "no entity with id 'T42'"
    )
    rejects(
        tmp_path, mutate(lambda d: d["relations"][2].update(head="X")), "relations[2].head", "no entity with id 'X'"
    )


def test_rejects_argument_types_the_schema_does_not_allow(tmp_path):
    # has_title is PER -> TITLE; TITLE -> PER is the wrong way round.
    rejects(
        tmp_path,
        mutate(lambda d: d["relations"][0].update(head="T1", tail="T2")),
        "relations[0]",
        "has_title does not allow TITLE -> PER",
    )
    rejects(
        tmp_path,
        mutate(lambda d: d["relations"].append({"head": "T5", "tail": "T2", "label": "held_in"})),
        "relations[4]",
        "held_in does not allow LOC -> PER",
    )


def test_rejects_arguments_in_different_sentences(tmp_path):
    add = {"head": "T2", "tail": "T8", "label": "affiliated_with"}  # Lê Đức Thái (sentence 1) -> Hà Nội (sentence 2)
    rejects(tmp_path, mutate(lambda d: d["relations"].append(add)), "relations[4]", "different sentences")


def test_rejects_two_labels_for_one_ordered_pair(tmp_path):
    add = {"head": "T2", "tail": "T5", "label": "affiliated_with"}
    dup = {"head": "T2", "tail": "T5", "label": "affiliated_with"}
    rejects(
        tmp_path,
        mutate(lambda d: d["relations"].extend([add, dup])),
        "relations[5]",
        "second label for the pair T2 -> T5",
    )
    # No two relation labels share argument types, so a second label for a pair is a repeat.
    again = {"head": "T6", "tail": "T7", "label": "date_of"}
    rejects(tmp_path, mutate(lambda d: d["relations"].append(again)), "relations[4]", "(see relations[3])")


def test_rejects_meets_with_the_later_mention_as_head(tmp_path):
    rejects(tmp_path, mutate(lambda d: d["relations"][2].update(head="T4", tail="T2")), "relations[2]", "symmetric")


def test_rejects_boundary_inside_a_token(tmp_path):
    # `16/3/2016` is one token, so `2016` alone can never be tagged on words.
    start, end = _span(TEXT, "2016", nth=1)

    def shrink(doc):
        doc["entities"][6].update(start=start, end=end)

    rejects(tmp_path, mutate(shrink), "entities[6]", "token bounds")


def test_rejects_entity_across_sentences(tmp_path):
    start, _ = _span(TEXT, "Vientiane")
    _, end = _span(TEXT, "Hiệp định")

    def widen(doc):
        doc["entities"][4].update(end=end)
        del doc["entities"][5]
        doc["relations"].pop()

    rejects(tmp_path, mutate(widen), "entities[4]", "crosses a sentence boundary")


def test_rejects_duplicate_document_ids(tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl", good_doc("a"), good_doc("a"))
    with pytest.raises(DataError, match=r"dup\.jsonl:2: id: duplicate document id 'a'"):
        load_documents(path)


# ---------------------------------------------------------------------------------------


def gold_documents(path: Path) -> list[Document]:
    if not path.exists():
        pytest.skip(f"{path.relative_to(REPO)} does not exist yet (being written); pass_a is tested meanwhile")
    return load_documents(path)


def assert_round_trip(documents: list[Document]) -> None:
    for doc in documents:
        rebuilt = set()
        for row in ner_rows(doc):
            rebuilt |= set(bio_to_char_spans(row["word_starts"], row["word_ends"], row["ner_tags"]))
        assert rebuilt == {(e.start, e.end, e.label) for e in doc.entities}, doc.id


def test_round_trip_spans_words_bio_spans_on_gold_corpus():
    assert_round_trip(gold_documents(GOLD))


def test_round_trip_spans_words_bio_spans_on_pass_a():
    assert_round_trip(gold_documents(PASS_A))


def test_tokenisation_splits_at_every_gold_boundary():
    # `Việt Nam-Lào` holds two LOC spans: the words must break at the hyphen on both sides.
    text = "Hai nước Việt Nam-Lào hợp tác."
    start, end = _span(text, "Việt Nam")
    lao = _span(text, "Lào")
    doc = Document("x", None, text, (entity("T1", start, end, "LOC"), entity("T2", *lao, "LOC")))
    (row,) = ner_rows(doc)
    assert "Việt_Nam" in row["tokens"] and "Lào" in row["tokens"]
    assert bio_to_char_spans(row["word_starts"], row["word_ends"], row["ner_tags"]) == [
        (start, end, "LOC"),
        (*lao, "LOC"),
    ]


def entity(entity_id, start, end, label):
    from training.data.documents import EntitySpan

    return EntitySpan(entity_id, start, end, label)


@pytest.fixture(scope="module")
def sample_docs(tmp_path_factory) -> list[Document]:
    path = write_jsonl(tmp_path_factory.mktemp("docs") / "docs.jsonl", good_doc())
    return load_documents(path) + load_documents(PASS_A)


def test_ner_dataset_columns_and_class_labels(sample_docs):
    dataset = ner_dataset(sample_docs[:1])
    assert set(dataset.column_names) == {"doc_id", "sentence_start", "tokens", "ner_tags", "word_starts", "word_ends"}
    assert dataset.features["ner_tags"].feature.names == bio_labels()
    assert len(dataset) == 2  # one row per sentence
    first = dataset[0]
    names = dataset.features["ner_tags"].feature.names
    tags = [names[i] for i in first["ner_tags"]]
    assert first["tokens"][:3] == ["Trung_tướng", "Lê_Đức_Thái", "gặp"]
    assert tags[:3] == ["B-TITLE", "B-PER", "O"]
    assert len(first["tokens"]) == len(first["word_starts"]) == len(first["word_ends"]) == len(tags)
    assert dataset[1]["sentence_start"] == TEXT.index("Hiệp định")
    # Offsets point into the original text.
    assert TEXT[first["word_starts"][1] : first["word_ends"][1]] == "Lê Đức Thái"


def test_relation_dataset_columns_and_labels(sample_docs):
    dataset = relation_dataset(sample_docs[:1])
    assert {"doc_id", "tokens", "head", "tail", "label"} <= set(dataset.column_names)
    positives = {(r["head"]["id"], r["tail"]["id"], r["label"]) for r in dataset if r["label"] != NO_RELATION}
    assert positives == {
        ("T2", "T1", "has_title"),
        ("T4", "T3", "has_title"),
        ("T2", "T4", "meets"),
        ("T6", "T7", "date_of"),
    }
    row = next(r for r in dataset if r["head"]["id"] == "T2" and r["tail"]["id"] == "T1")
    assert (row["head"]["start"], row["head"]["end"], row["head"]["label"]) == (1, 2, "PER")
    assert (row["tail"]["start"], row["tail"]["end"], row["tail"]["label"]) == (0, 1, "TITLE")


def test_relation_candidates_obey_type_constraints_and_meets_order(sample_docs):
    for doc in sample_docs:
        rows = relation_rows(doc)
        pairs = [(r["head"]["id"], r["tail"]["id"]) for r in rows]
        assert len(pairs) == len(set(pairs)), doc.id
        for row in rows:
            head, tail = row["head"], row["tail"]
            allowed = allowed_relations(head["label"], tail["label"])
            assert allowed, (head, tail)
            assert row["label"] == NO_RELATION or row["label"] in allowed
            if set(allowed) <= SYMMETRIC_RELATIONS:
                assert doc.entity(head["id"]).start < doc.entity(tail["id"]).start
        # Every gold relation is a candidate exactly once, with its label.
        gold = {(r.head, r.tail, r.label) for r in doc.relations}
        assert {(r["head"]["id"], r["tail"]["id"], r["label"]) for r in rows if r["label"] != NO_RELATION} == gold
        # Pairs in different sentences or of types no relation links are not candidates.
        for r in rows:
            assert r["label"] == NO_RELATION or r["label"] in RELATION_ARGUMENT_TYPES


def test_meets_pair_is_a_candidate_in_one_order_only(sample_docs):
    rows = relation_rows(sample_docs[0])
    per_pairs = [(r["head"]["id"], r["tail"]["id"]) for r in rows if r["head"]["label"] == r["tail"]["label"] == "PER"]
    assert per_pairs == [("T2", "T4")]


# ---------------------------------------------------------------------------------------


def make_split_dir(tmp_path: Path, extra_docs: tuple[dict, ...] | None = None) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "corpus.jsonl", good_doc("a"), good_doc("b"), good_doc("c"))
    write_jsonl(data / "extra.jsonl", *(extra_docs or (good_doc("extra1"),)))
    splits = {"train": ["a"], "dev": ["b"], "test": ["c"], "train_extra": ["data/extra.jsonl"]}
    (data / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
    return data / "splits.json"


def test_load_split_train_includes_extra_files(tmp_path):
    splits = make_split_dir(tmp_path)
    assert [d.id for d in load_split("train", splits)] == ["a", "extra1"]
    assert [d.id for d in load_split("dev", splits)] == ["b"]
    assert [d.id for d in load_split("test", splits)] == ["c"]
    with pytest.raises(ValueError, match="unknown split"):
        load_split("validation", splits)


def test_an_empty_train_extra_file_is_refused(tmp_path):
    # A train_extra file saved empty (or cut to nothing) added no document, and training said nothing of it.
    splits = make_split_dir(tmp_path)
    extra = splits.parent / "extra.jsonl"
    extra.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_split("train", splits)
    assert str(error.value) == f"{splits}:1: train_extra: {extra}: no documents (empty file)"


def test_a_missing_train_extra_file_names_the_splits_file_its_line_and_where_it_was_looked_for(tmp_path, capsys):
    # It said only '<path>: no such data file': not that the splits file listed it, nor from where a relative
    # path is read (the folder above data_dir, not the splits file's folder).
    splits = make_split_dir(tmp_path)
    data = json.loads(splits.read_text(encoding="utf-8"))
    data["train_extra"] = ["data/extra.jsonl", "extra.jsonl"]
    splits.write_text(json.dumps(data, indent=1), encoding="utf-8")
    assert main(["stats", "--splits", str(splits)]) == 1
    line = splits.read_text(encoding="utf-8").split("\n").index('  "extra.jsonl"') + 1
    assert capsys.readouterr().err == (
        f"{splits}:{line}: train_extra: {tmp_path / 'extra.jsonl'}: no such data file "
        f"(a relative path is read from {tmp_path})\n"
    )


def test_a_splits_file_named_from_inside_its_folder_finds_the_train_extra_files(tmp_path, monkeypatch, capsys):
    # `cd data && ... stats --splits splits.json`: Path(".").parent is "." itself, so data/extra.jsonl was looked
    # for under data/ (data/data/extra.jsonl) and the splits file refused as listing a missing file.
    splits = make_split_dir(tmp_path)
    monkeypatch.chdir(splits.parent)
    assert [d.id for d in load_split("train", "splits.json")] == ["a", "extra1"]
    assert [d.id for d in load_split("train", "splits.json", data_dir=".")] == ["a", "extra1"]
    assert main(["stats", "--splits", "./splits.json"]) == 0
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in capsys.readouterr().out.splitlines()}
    assert [cell.strip() for cell in rows["documents"]] == ["2", "1", "1", "1", "4"]


def test_load_split_rejects_leaks_and_unknown_ids(tmp_path):
    splits = make_split_dir(tmp_path)
    data = json.loads(splits.read_text())
    data["dev"] = ["b", "a"]
    splits.write_text(json.dumps(data))
    with pytest.raises(DataError, match="'a' is also in train"):
        load_split("dev", splits)
    data["dev"] = ["zzz"]
    splits.write_text(json.dumps(data))
    with pytest.raises(DataError, match="'zzz' is not in"):
        load_split("dev", splits)


def test_a_split_left_out_is_empty_and_a_misspelt_one_is_refused_with_its_line(tmp_path):
    splits = make_split_dir(tmp_path)
    splits.write_text('{\n  "train": ["a"],\n  "test": ["c"]\n}\n', encoding="utf-8")
    assert load_split("dev", splits) == []
    splits.write_text('{\n  "train": ["a"],\n  "dve": ["b"]\n}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"splits\.json:3: dve: unknown key; expected train, dev, test"):
        load_split("dev", splits)


def test_a_split_given_twice_is_refused_with_both_lines(tmp_path):
    # json keeps the last "train": document `a` silently left training, and train_extra likewise.
    splits = make_split_dir(tmp_path)
    splits.write_text('{\n  "train": ["a"],\n  "dev": ["b"],\n  "train": ["c"]\n}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"splits\.json:4: train: given twice \(first on line 2\)"):
        load_split("train", splits)
    splits.write_text('{"train": ["a"], "train_extra": ["x.jsonl"], "train_extra" : []}', encoding="utf-8")
    with pytest.raises(DataError, match=r"splits\.json:1: train_extra: given twice"):
        load_split("dev", splits)


def test_an_id_listed_twice_in_one_split_says_so_with_both_lines(tmp_path):
    # It was "document 'a' is also in train" for a train split listing 'a' twice, as if it leaked into another.
    splits = make_split_dir(tmp_path)
    splits.write_text('{\n  "train": [\n    "a",\n    "b",\n    "a"\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(
        DataError, match=r"splits\.json:5: train: document 'a' is listed twice in train \(first on line 3\)$"
    ):
        load_split("train", splits)
    splits.write_text('{"train": ["b"], "dev": ["a", "a"]}', encoding="utf-8")
    with pytest.raises(
        DataError, match=r"splits\.json:1: dev: document 'a' is listed twice in dev \(first on line 1\)$"
    ):
        load_split("dev", splits)


def test_a_train_extra_file_listed_twice_says_so_with_both_lines(tmp_path):
    # Training said "extra.jsonl:1: id: document id 'extra1' is also in the corpus or another file", blaming the
    # file's first document for the splits file's slip; reading only dev said nothing at all.
    splits = make_split_dir(tmp_path)
    text = '{\n  "train": ["a"],\n  "train_extra": [\n    "data/extra.jsonl",\n    "data/extra.jsonl"\n  ]\n}\n'
    splits.write_text(text, encoding="utf-8")
    message = (
        r"splits\.json:5: train_extra: file 'data/extra\.jsonl' is listed twice in train_extra \(first on line 4\)$"
    )
    for split in ("train", "dev"):
        with pytest.raises(DataError, match=message):
            load_split(split, splits)


def test_split_errors_name_the_line_of_the_id(tmp_path):
    splits = make_split_dir(tmp_path)
    splits.write_text('{\n  "train": ["a"],\n  "dev": [\n    "b",\n    "a"\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"splits\.json:5: dev: document 'a' is also in train"):
        load_split("dev", splits)


def test_a_document_twice_in_the_train_files_is_refused_and_one_in_train_and_dev_is_named(tmp_path, caplog):
    # Trained twice on one document, or dev scoring (and selecting the model on) a training document.
    from training.fit.config import TrainConfig
    from training.fit.trainer import load_training_documents

    train = write_jsonl(tmp_path / "train.jsonl", good_doc("a"), good_doc("b"))
    dev = write_jsonl(tmp_path / "dev.jsonl", good_doc("c"), good_doc("b"))
    with pytest.raises(DataError, match=rf"^{train}:1: id: document id 'a' is also at {train}:1$"):
        load_training_documents(TrainConfig(train_files=[str(train), str(train)], dev_files=[str(dev)]))
    with pytest.raises(DataError, match=rf"^{dev}:1: id: document id 'c' is also at {dev}:1$"):
        load_training_documents(TrainConfig(train_files=[str(train)], dev_files=[str(dev), str(dev)]))
    load_training_documents(TrainConfig(train_files=[str(train)], dev_files=[str(dev)]))
    assert f"1 dev documents are also training documents, so the dev F1 scores what the model was trained on: " \
        f"b ({dev}:2, {train}:2)" in caplog.text  # fmt: skip
    dev = write_jsonl(tmp_path / "dev.jsonl", good_doc("c"))
    loaded = load_training_documents(TrainConfig(train_files=[str(train)], dev_files=[str(dev)]))
    assert [[doc.id for doc in docs] for docs in loaded] == [["a", "b"], ["c"]]


def test_a_dev_document_with_a_training_documents_text_under_another_id_is_named(tmp_path, caplog):
    # The same article under two ids (pasted twice, a batch converted again) passed every id check in silence.
    from training.fit.config import TrainConfig
    from training.fit.trainer import load_training_documents

    splits = make_split_dir(tmp_path)  # a (train) and b (dev) have one text
    load_training_documents(TrainConfig(splits_file=str(splits)))
    assert "1 dev documents have the text of a training document under another id, so the dev F1 scores what " \
        "the model was trained on: b (= a)" in caplog.text  # fmt: skip
    caplog.clear()
    other = good_doc("b")
    other["text"] += " Hai bên nhất trí."
    write_jsonl(splits.parent / "corpus.jsonl", good_doc("a"), other, good_doc("c"))
    load_training_documents(TrainConfig(splits_file=str(splits)))
    assert "text of a training document" not in caplog.text


def test_kfold_extra_documents_are_the_train_extra_files_only(tmp_path):
    """A user's --data is k-folded with the train_extra sentences, never with the corpus's own articles."""
    from argparse import Namespace

    from training.evaluation.kfold import extra_train_documents

    splits = make_split_dir(tmp_path)
    user = tmp_path / "mine.jsonl"
    write_jsonl(user, good_doc("u1"), good_doc("u2"))
    args = Namespace(no_extra=False, data=str(user), splits=str(splits))
    assert [d.id for d in extra_train_documents(args)] == ["extra1"]
    with pytest.raises(ConfigError, match="--splits: .*nope.json: no such splits file.*--no-extra"):
        extra_train_documents(Namespace(no_extra=False, data=str(user), splits=str(tmp_path / "nope.json")))


def test_cli_validate_counts_one_document_in_the_singular(tmp_path, capsys):
    doc = good_doc()
    doc["relations"] = doc["relations"][:1]
    assert main(["validate", str(write_jsonl(tmp_path / "one.jsonl", doc))]) == 0
    assert "OK (1 document, 8 entities, 1 relation)" in capsys.readouterr().out


def test_load_split_rejects_extra_ids_that_clash_with_the_corpus(tmp_path):
    splits = make_split_dir(tmp_path, extra_docs=(good_doc("c"),))
    with pytest.raises(DataError, match=r"extra\.jsonl:1: id: document id 'c' is also in the corpus"):
        load_split("train", splits)


def test_cli_validate_and_stats(tmp_path, capsys):
    splits = make_split_dir(tmp_path)
    assert main(["validate", str(splits.parent / "corpus.jsonl")]) == 0
    assert "OK (3 documents, 24 entities, 12 relations)" in capsys.readouterr().out
    bad = write_jsonl(tmp_path / "bad.jsonl", mutate(lambda d: d["entities"][0].update(label="X")))
    assert main(["validate", str(bad)]) == 1
    assert f"{bad}:1: entities[0].label: unknown entity label" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert main(["validate", str(empty)]) == 1
    assert capsys.readouterr().err == f"{empty}: no documents (empty file)\n"
    with pytest.raises(DataError, match=r"^x\.jsonl: no documents \(empty file\)$"):
        require_documents([], "x.jsonl")  # augment's check too: one message for the same fault

    assert main(["stats", "--splits", str(splits)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [c.strip() for c in table[0].split("|")[1:-1]] == [
        "label",
        "train",
        "dev",
        "test",
        "(of train: extra)",
        "total",
    ]
    rows = {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in (line.split("|")[1:-1] for line in table[2:])}
    assert rows["PER"] == ["4", "2", "2", "2", "8"]
    assert rows["has_title"] == ["4", "2", "2", "2", "8"]
    assert rows["documents"] == ["2", "1", "1", "1", "4"]


def test_a_byte_order_mark_where_cat_joined_two_files_is_no_error(tmp_path):
    # Line 2's mark was 'json: invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)'; line 1's was read.
    first = json.dumps(good_doc("a"), ensure_ascii=False)
    path = tmp_path / "joined.jsonl"
    path.write_text(f"\ufeff{first}\r\n\ufeff{json.dumps(good_doc('b'), ensure_ascii=False)}\r\n", encoding="utf-8")
    assert [doc.to_dict() for doc in load_documents(path)] == [good_doc("a"), good_doc("b")]


def test_an_integer_too_long_to_read_or_a_splits_file_nested_too_deeply_is_one_line(tmp_path, capsys):
    # A number of over 4,300 digits was int()'s ValueError traceback from validate and stats, and a splits file
    # `[[[[...` thousands deep a RecursionError traceback from stats (a data file's was already one line).
    rejects(tmp_path, '{"id": "doc1", "start": 1' + "0" * 5000 + "}", "json", "a number of 5001 digits")
    splits = tmp_path / "splits.json"
    splits.write_text('{"train": [],\n "dev": [1' + "0" * 5000 + "]}", encoding="utf-8")
    assert main(["stats", "--splits", str(splits)]) == 1
    assert (
        capsys.readouterr().err == f"{splits}:2: json: invalid JSON: a number of 5001 digits, more than can be read\n"
    )
    splits.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert main(["stats", "--splits", str(splits)]) == 1
    assert capsys.readouterr().err == f"{splits}: json: invalid JSON: nested too deeply\n"


def test_unreadable_files_are_one_line_errors(tmp_path, capsys):
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "a", "date": null,\n"text": "\xd4ng"}\n')
    assert main(["validate", str(latin), str(tmp_path / "absent.jsonl")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{latin}:2: encoding: not UTF-8 text (byte 0xd4 at column 10)",
        f"{tmp_path / 'absent.jsonl'}: no such data file",
    ]
    assert main(["stats", "--splits", str(tmp_path / "splits.json")]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'splits.json'}: no such splits file\n"


def test_documents_printed_to_a_disk_that_fills_up_are_one_error_line_not_a_cut_file(capfd, monkeypatch):
    """`training.weak.annotate raw.txt > draft.jsonl`: a line the disk took in part lost the rest in silence with
    PYTHONUNBUFFERED=1 (status 0), and a write's error was a traceback."""
    long_doc = Document("long", None, "Ông Hùng đến Hà Nội. " * 1000)
    calls = fill_disk_after_first_write(monkeypatch)
    status = print_documents([long_doc, Document("b", None, "Ông Hùng.")])
    monkeypatch.undo()
    assert status == 2
    assert capfd.readouterr().err == "error: stdout: cannot write (No space left on device)\n"
    assert len(calls) == 2


def test_a_byte_that_is_not_utf8_is_placed_on_the_line_an_old_mac_file_shows(tmp_path):
    """The JSONL reader ends a line at a bare \\r as well; the encoding error counted only \\n: 'line 1, column 439'."""
    line = json.dumps(good_doc(), ensure_ascii=False).encode("utf-8")
    for newline in (b"\r", b"\r\n", b"\n"):
        path = tmp_path / "mac.jsonl"
        path.write_bytes(line + newline + line + newline + b'{"id": "\xe9"}' + newline)
        with pytest.raises(DataError) as caught:
            load_documents(path)
        assert str(caught.value) == f"{path}:3: encoding: not UTF-8 text (byte 0xe9 at column 9)"
