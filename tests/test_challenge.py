"""The challenge set and its per-phenomenon scorer: ids, counts, scores on a tiny case, never training data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from training.data.checks import sentence_bounds
from training.data.documents import DataError, printed_in_capitals
from training.data.files import load_documents
from training.data.inline import parse_inline
from training.evaluation.challenge import (
    PHENOMENA,
    build_set,
    format_table,
    group_documents,
    phenomenon_of,
    score_challenge,
    shared_names,
)

REPO = Path(__file__).resolve().parents[1]
CHALLENGE = REPO / "data" / "challenge.jsonl"

TINY = """\
=== challenge-dates-01
[Ngày 14-15/8]{DATE:d}, tại [Pác Xế]{LOC:l}, diễn ra [Hội nghị lần thứ 7]{EVENT:e}.
@ e date_of d
@ e held_in l

=== challenge-buildings-01
[Chủ tịch nước]{TITLE:t} [Đinh Văn Toàn]{PER:p} đón khách tại [Phủ Chủ tịch]{LOC:b}.
@ p has_title t
"""


class FakeExtractor:
    """Returns canned results per text: what `Extractor.pipe` would give, without a model."""

    def __init__(self, answers: dict[str, tuple[list, list]]):
        self.answers = answers

    def pipe(self, texts, batch_size=32):
        for text in texts:
            spans, relations = self.answers[text]
            entities = [SimpleNamespace(start=s, end=e, label=label) for s, e, label in spans]
            rels = [SimpleNamespace(head=entities[h], tail=entities[t], label=label) for h, t, label in relations]
            yield SimpleNamespace(entities=entities, relations=rels)


def spans_of(doc):
    return [(e.start, e.end, e.label) for e in doc.entities]


def test_phenomenon_is_read_from_the_id():
    assert phenomenon_of("challenge-lao-names-07") == "lao-names"
    assert phenomenon_of("challenge-buildings-01") == "buildings"
    with pytest.raises(DataError, match="challenge-<phenomenon>-NN"):
        phenomenon_of("written-001")
    with pytest.raises(DataError):
        phenomenon_of("challenge-weather-01")


def test_a_document_that_names_no_phenomenon_is_refused_naming_file_and_line_before_the_model_loads(
    tmp_path, capsys, monkeypatch
):
    """The corpus given as --data loaded the model, then said only '000_...: id: expected ...': no file, no line."""
    import viextract
    from training.evaluation.challenge import main

    monkeypatch.setattr(viextract.Extractor, "from_pretrained", lambda *a, **k: pytest.fail("the model was loaded"))
    lines = (REPO / "data" / "challenge.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    lines.append((REPO / "data" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[0])
    data = tmp_path / "mixed.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["--model", str(tmp_path / "unused"), "--data", str(data)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: {data}:3: id: '000_9365acc0a8d45d5b': expected 'challenge-<phenomenon>-NN' with a phenomenon of"
    )


def test_scores_per_phenomenon_with_counts():
    dates, buildings = parse_inline(TINY, "tiny.txt")
    # dates: every entity and relation right. buildings: the building missed, the title cut short.
    title, person, _ = buildings.entities
    answers = {
        dates.text: (spans_of(dates), [(2, 0, "date_of"), (2, 1, "held_in")]),
        buildings.text: (
            [(title.start, title.end - 4, "TITLE"), (person.start, person.end, "PER")],
            [(1, 0, "has_title")],
        ),
    }
    report = score_challenge(FakeExtractor(answers), [dates, buildings])
    rows = report["phenomena"]
    assert list(rows) == ["dates", "buildings", "all"]  # PHENOMENA's order, then all
    assert rows["dates"]["entities"]["micro"]["f1"] == 1.0
    assert rows["dates"]["relations_end_to_end"]["micro"]["correct"] == 2
    entities = rows["buildings"]["entities"]["micro"]
    assert (entities["correct"], entities["predicted"], entities["support"]) == (1, 2, 3)
    assert rows["buildings"]["entities"]["confusion"]["missed"] == 1
    # The relation's tail is the cut title, so it is wrong end to end.
    assert rows["buildings"]["relations_end_to_end"]["micro"]["correct"] == 0
    assert rows["all"]["entities"]["micro"]["support"] == 6 and rows["all"]["sentences"] == 2
    table = format_table(report, markdown=True)
    assert "| dates | 1 | 100.0 | 100.0 | 100.0 | 3 | 3 | 100.0 | 100.0 | 100.0 | 2 | 2 |" in table
    assert "| buildings | 1 | 50.0 | 33.3 | 40.0 | 3 | 2 | 0.0 | 0.0 | 0.0 | 1 | 1 |" in table
    assert table.splitlines()[-1].startswith("| **all** |")


def test_capitals_keep_every_offset_and_refuse_a_text_whose_capitals_are_longer():
    dates, buildings = parse_inline(TINY, "tiny.txt")
    upper = printed_in_capitals(buildings)
    assert upper.text.startswith("CHỦ TỊCH NƯỚC ĐINH VĂN TOÀN ĐÓN KHÁCH")
    assert [upper.mention(e) for e in upper.entities] == ["CHỦ TỊCH NƯỚC", "ĐINH VĂN TOÀN", "PHỦ CHỦ TỊCH"]
    assert upper.entities == buildings.entities and upper.relations == buildings.relations
    with pytest.raises(DataError, match="challenge-dates-01: text"):
        printed_in_capitals(replace(dates, text=dates.text.replace("diễn", "straße")))


def test_build_writes_measurement_only_documents(tmp_path):
    markup = tmp_path / "set.txt"
    markup.write_text(TINY, encoding="utf-8")
    documents = build_set(markup, tmp_path / "set.jsonl")
    assert [d.id for d in load_documents(tmp_path / "set.jsonl")] == [d.id for d in documents]
    assert all("never training" in d.source for d in documents)
    markup.write_text(TINY.replace("challenge-dates-01", "written-1"), encoding="utf-8")
    with pytest.raises(DataError, match="written-1"):
        build_set(markup, tmp_path / "other.jsonl")
    assert not (tmp_path / "other.jsonl").exists()


def test_the_shipped_set_has_twenty_sentences_per_phenomenon_and_matches_its_markup(tmp_path):
    documents = load_documents(CHALLENGE)  # validated like the corpus
    groups = group_documents(documents)
    assert list(groups) == list(PHENOMENA)
    for key, docs in groups.items():
        assert sum(len(sentence_bounds(d.text)) for d in docs) >= 20, key
        assert sum(len(d.relations) for d in docs) > 0, key
    rebuilt = build_set(REPO / "data" / "challenge.txt", tmp_path / "rebuilt.jsonl")
    assert (tmp_path / "rebuilt.jsonl").read_text(encoding="utf-8") == CHALLENGE.read_text(encoding="utf-8")
    assert len(rebuilt) == len(documents)


def test_no_training_path_reads_the_challenge_set():
    splits = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    assert not any("challenge" in path for path in splits.get("train_extra", []))
    for config in (REPO / "configs").rglob("*.yaml"):
        assert "challenge" not in config.read_text(encoding="utf-8"), config

    # The build scores the model on it and the card shows the table; nothing else there names it.
    def named(script: str) -> list[str]:
        lines = (REPO / "training" / script).read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if "challenge" in line and not line.startswith("#")]

    assert named("build_default.sh") == [
        "python -m training.evaluation.challenge --model $out/model --markdown --out $results/challenge.json",
    ]
    assert named("make_card.sh") == [
        '--challenge $results/challenge.json "${optional[@]}" --out model_cards/viextract-default.md'
    ]


def test_shared_names_match_across_spacing_and_hyphens():
    (dates, buildings) = parse_inline(TINY, "tiny.txt")
    training = parse_inline("=== w-1\n[Đinh Văn  Toàn]{PER:p} và [Hội nghị lần thứ 7]{EVENT:e} ở Huế.\n", "w.txt")
    assert shared_names([dates, buildings], training) == [("w-1", "Hội nghị lần thứ 7"), ("w-1", "Đinh Văn Toàn")]
    spaced = parse_inline("=== w-2\nÔng [Bun - nhăng Vo]{PER:p} đến.\n", "w.txt")
    hyphened = parse_inline("=== c-1\n[Bun-nhăng Vo]{PER:p}.\n", "c.txt")
    assert shared_names(hyphened, spaced) == [("w-2", "Bun-nhăng Vo")]
    assert shared_names(hyphened, training) == []


def test_training_text_names_no_person_event_or_agreement_of_the_challenge_set():
    splits = json.loads((REPO / "data" / "splits.json").read_text(encoding="utf-8"))
    assert "data/written_topics.jsonl" in splits["train_extra"]
    training = [doc for path in splits["train_extra"] for doc in load_documents(REPO / path)]
    training += load_documents(REPO / "data" / "corpus.jsonl")
    assert shared_names(load_documents(CHALLENGE), training) == []


def test_the_written_topics_markup_converts_to_exactly_its_jsonl():
    written = parse_inline((REPO / "data" / "written_topics.txt").read_text(encoding="utf-8"), "written_topics.txt")
    assert [d.to_dict() for d in written] == [
        d.to_dict() for d in load_documents(REPO / "data" / "written_topics.jsonl")
    ]
