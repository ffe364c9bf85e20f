"""A weak, rule-based annotator: pre-labels raw text for a person to review, and scores itself on gold.

    python -m training.weak.annotate raw.txt [...] > draft.jsonl
    python -m training.weak.annotate evaluate --gold data/corpus.jsonl [--docs test|all]

Entities come from gazetteers (training/weak/gazetteers.py), date regexes following SCHEMA.md's
DATE rules, trigger-word patterns for events and agreements, and "title + capitalised
words" for names; where candidates overlap the longest wins. Relations come from
apposition ("Trung tướng X, Tư lệnh Y"), "tại LOC", "ký ... AGREEMENT", and proximity of
dates to events and agreements. Every draft passes training.data.checks.

All matching runs on viextract's normalised text (NFC, one tone style), so a gazetteer entry
matches whatever tone placement the article uses; spans are mapped back to the original.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from viextract.labels import ENTITY_LABELS, RELATION_LABELS
from viextract.normalize import normalize_text
from viextract.segment import split_tokens

from ..data.checks import check_document, sentence_bounds
from ..data.documents import DataError, Document, EntitySpan, RelationSpan
from ..data.files import load_documents, read_utf8
from ..data.splits import read_splits
from ..evaluation.metrics import Scores, score_items, score_spans
from . import gazetteers as gz

# Longest run of words a trigger may pull into an event or agreement name.
MAX_NAME_TOKENS = 24
# Longest personal name, in syllables.
MAX_NAME_SYLLABLES = 4


@dataclass(frozen=True, order=True)
class Mention:
    """A span of the normalised text."""

    start: int
    end: int
    label: str


# ---------------------------------------------------------------------------------------
# Entity candidates.


def _norm(term: str) -> str:
    return normalize_text(term).text


def _term_pattern(terms: Iterable[str]) -> re.Pattern:
    # Longest alternative first, so `Bộ trưởng Quốc phòng` is tried before `Bộ trưởng`.
    alternatives = sorted({_norm(t) for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)")


_GAZETTEERS: dict[str, re.Pattern] = {
    "TITLE": _term_pattern(gz.TITLES),
    "ORG": _term_pattern(gz.ORGANISATIONS),
    "LOC": _term_pattern(gz.COUNTRIES + gz.PLACES),
    "PER": _term_pattern(gz.KNOWN_PERSONS),
}
_COUNTRIES = frozenset(_norm(c) for c in gz.COUNTRIES)

# DATE per SCHEMA.md: `ngày`, `tháng`, `năm`, `quý`, `giai đoạn` stay when they head the
# expression; prepositions and time-of-day words stay out. `năm` followed by a range is left
# to the range pattern: in `hai năm 2024-2025` the `năm` belongs to the duration.
_DATE_PATTERNS = [
    re.compile(p)
    for p in (
        r"(?<![\w/])(?:[Nn]gày )?\d{1,2}(?:-\d{1,2})?/\d{1,2}(?:/\d{4})?(?![\w/])",
        r"(?<!\w)[Nn]gày \d{1,2} tháng \d{1,2}(?: năm \d{4})?(?!\w)",
        r"(?<!\w)[Tt]háng \d{1,2}(?:/\d{4}| năm \d{4})(?![\w/])",
        r"(?<!\w)[Qq]uý (?:\d|I{1,3}|IV)(?:/| năm )\d{4}(?!\w)",
        r"(?<![\w-])(?:(?:[Gg]iai đoạn|[Nn]hiệm kỳ) )?\d{4} ?[-–] ?\d{4}(?![\w-])",
        r"(?<!\w)[Nn]ăm \d{4}(?! ?[-–]\d)(?!\w)",
    )
]


def find_terms(text: str) -> list[Mention]:
    return [
        Mention(m.start(), m.end(), label) for label, pattern in _GAZETTEERS.items() for m in pattern.finditer(text)
    ]


def find_dates(text: str) -> list[Mention]:
    return [Mention(m.start(), m.end(), "DATE") for pattern in _DATE_PATTERNS for m in pattern.finditer(text)]


class Tokens:
    """Syllables and punctuation of the normalised text (viextract's tokeniser), with lookups."""

    def __init__(self, text: str):
        self.text = text
        self.spans = split_tokens(text)
        self.index_at = {start: i for i, (start, _) in enumerate(self.spans)}

    def word(self, i: int) -> str:
        start, end = self.spans[i]
        return self.text[start:end]

    def is_word(self, i: int) -> bool:
        return 0 <= i < len(self.spans) and self.word(i)[0].isalnum()


_EVENT_TRIGGERS = _term_pattern(gz.EVENT_TRIGGERS)
_EVENT_TRIGGERS_LOWER = _term_pattern(gz.EVENT_TRIGGERS_LOWER)
_AGREEMENT_TRIGGERS = _term_pattern(gz.AGREEMENT_TRIGGERS)
_STOP_WORDS = frozenset(_norm(w) for w in gz.NAME_STOP_WORDS)
_JOINERS = frozenset(_norm(w) for w in gz.AGREEMENT_JOINERS)


def _name_after_trigger(tokens: Tokens, trigger_end: int, joiners: frozenset[str]) -> int:
    """End offset of the name that a trigger ending at `trigger_end` heads (== trigger_end: no name)."""
    text = tokens.text
    i = next((k for k, (s, _) in enumerate(tokens.spans) if s >= trigger_end), len(tokens.spans))
    end, taken = trigger_end, 0
    while i < len(tokens.spans) and taken < MAX_NAME_TOKENS:
        word = tokens.word(i)
        if word in {"-", "–"} and tokens.is_word(i - 1) and tokens.is_word(i + 1) and tokens.word(i + 1)[0].isupper():
            i += 1  # `Việt Nam-Lào`, `Việt Nam - Lào`: the hyphen joins two names
            continue
        if not word[0].isalnum():
            break
        if word in joiners:
            # A joiner only inside the name: a word must follow that could continue it.
            if not tokens.is_word(i + 1) or tokens.word(i + 1) in _STOP_WORDS:
                break
        elif word in _STOP_WORDS:
            break
        end = tokens.spans[i][1]
        i += 1
        taken += 1
        if re.fullmatch(r"\d{4}", word):
            break  # a year closes a name: `Hiệp định 2016`, `... năm 2025`
    # Never end on a joiner (`Hiệp ước ... và`).
    while True:
        head, _, last = text[trigger_end:end].rpartition(" ")
        if last in joiners and end > trigger_end:
            end = trigger_end + len(head)
        else:
            return end


def find_named(text: str, tokens: Tokens) -> list[Mention]:
    """Events and agreements: a trigger word followed by the rest of the name."""
    found = []
    for pattern, label, joiners, needs_ordinal in (
        (_EVENT_TRIGGERS, "EVENT", frozenset(), False),
        (_EVENT_TRIGGERS_LOWER, "EVENT", frozenset(), True),
        (_AGREEMENT_TRIGGERS, "AGREEMENT", _JOINERS, False),
    ):
        for match in pattern.finditer(text):
            end = _name_after_trigger(tokens, match.end(), joiners)
            if end == match.end():
                continue  # a bare `Biên bản` or `Cuộc họp` is generic
            if needs_ordinal and "lần thứ" not in text[match.start() : end]:
                continue
            found.append(Mention(match.start(), end, label))
    return found


def resolve_overlaps(candidates: Iterable[Mention]) -> list[Mention]:
    """Keep the longest of overlapping candidates (then the earliest); SCHEMA.md's longest-name rule."""
    kept: list[Mention] = []
    for mention in sorted(set(candidates), key=lambda m: (-(m.end - m.start), m.start, m.label)):
        if all(mention.end <= k.start or k.end <= mention.start for k in kept):
            kept.append(mention)
    return sorted(kept)


def _next_entity(entities: Sequence[Mention], index: int, text: str, gap: str = " ") -> Mention | None:
    if index + 1 < len(entities) and text[entities[index].end : entities[index + 1].start] == gap:
        return entities[index + 1]
    return None


def _followed_by_country_pair(text: str, entities: Sequence[Mention], index: int) -> bool:
    """`... Việt Nam-Lào`, `Việt Nam và Lào`: a pair of countries, which stays outside an ORG."""
    if index + 1 >= len(entities) or entities[index + 1].label != "LOC":
        return False
    return text[entities[index].end : entities[index + 1].start] in {"-", " - ", " và ", "–"}


def extend_organisations(text: str, entities: list[Mention]) -> list[Mention]:
    """`Bộ Quốc phòng` + ` Lào` -> one ORG; `Bộ Tư lệnh ...` + ` Quân đội Nhân dân Lào` -> one ORG."""
    changed = True
    while changed:
        changed = False
        for i, entity in enumerate(entities):
            if entity.label != "ORG" or text[max(0, entity.start - 4) : entity.start] == "hai ":
                continue
            nxt = _next_entity(entities, i, text)
            via_province = _next_entity(entities, i, text, " tỉnh ")
            if nxt is not None and (
                nxt.label == "ORG"
                or (
                    nxt.label == "LOC"
                    and text[nxt.start : nxt.end] in _COUNTRIES
                    and not _followed_by_country_pair(text, entities, i + 1)
                )
            ):
                merged = Mention(entity.start, nxt.end, "ORG")
            elif via_province is not None and via_province.label == "LOC":
                merged = Mention(entity.start, via_province.end, "ORG")
            else:
                continue
            entities = sorted([e for e in entities if e not in (entity, nxt, via_province)] + [merged])
            changed = True
            break
    return entities


_DELEGATION = re.compile(
    r"(?<!\w)Đoàn (?:đại biểu|chuyên viên)(?: (?!(?:do|của|và|đã|sẽ|tại|sang|đến)\b)[a-zà-ỹđ]+){0,4}"
)


def find_delegations(text: str, entities: list[Mention]) -> list[Mention]:
    """A named delegation (`Đoàn đại biểu biên giới Việt Nam`) is one ORG, swallowing the names in it."""
    starts = {e.start: e for e in entities}
    for match in _DELEGATION.finditer(text):
        end = match.end()
        # `hai Đoàn đại biểu biên giới Việt Nam-Lào`: the countries say whose two delegations; outside.
        counted = _QUANTIFIED.search(text[max(0, match.start() - 6) : match.start()]) is not None
        # `Đoàn đại biểu` + ORG + country, or + country-country (one joint delegation).
        for label in ("ORG", "LOC"):
            nxt = starts.get(end + 1)
            if (
                nxt is not None
                and nxt.label == label
                and not (counted and label == "LOC")
                and (label == "ORG" or text[nxt.start : nxt.end] in _COUNTRIES)
            ):
                end = nxt.end
        pair = starts.get(end + 1)
        if text[end : end + 1] == "-" and not counted and pair is not None and pair.label == "LOC":
            end = pair.end
        if end == match.end() and match.group().count(" ") < 2:
            continue  # bare `Đoàn đại biểu`
        delegation = Mention(match.start(), end, "ORG")
        entities = [e for e in entities if e.end <= delegation.start or delegation.end <= e.start]
        entities = sorted(entities + [delegation])
        starts = {e.start: e for e in entities}
    return entities


_HONORIFICS = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, gz.HONORIFICS)) + r") ")


def _capitalised_run(text: str, tokens: Tokens, start: int, covered: Sequence[Mention]) -> Mention | None:
    """Up to MAX_NAME_SYLLABLES capitalised syllables from `start`, not into another entity."""
    i = tokens.index_at.get(start)
    if i is None:
        return None
    end = start
    for k in range(i, min(i + MAX_NAME_SYLLABLES, len(tokens.spans))):
        word = tokens.word(k)
        s, e = tokens.spans[k]
        if not (word[0].isupper() and word.isalpha()) or any(c.start < e and s < c.end for c in covered):
            break
        if k > i and text[tokens.spans[k - 1][1] : s] != " ":
            break
        end = e
    return Mention(start, end, "PER") if end > start else None


def find_titled_persons(text: str, tokens: Tokens, entities: list[Mention]) -> list[Mention]:
    """Capitalised words right after a title (and its ORG or country), or after `ông`/`bà`, are a name."""
    found = []
    for i, entity in enumerate(entities):
        if entity.label != "TITLE":
            continue
        position, j = entity.end, i
        nxt = _next_entity(entities, j, text)
        while nxt is not None and nxt.label in {"ORG", "LOC"}:
            position, j = nxt.end, j + 1
            nxt = _next_entity(entities, j, text)
        if nxt is not None or text[position : position + 1] != " ":
            continue
        person = _capitalised_run(text, tokens, position + 1, entities)
        if person is not None:
            found.append(person)
    for match in _HONORIFICS.finditer(text):
        person = _capitalised_run(text, tokens, match.end(), entities)
        if person is not None:
            found.append(person)
    return found


def propagate_persons(text: str, entities: list[Mention]) -> list[Mention]:
    """A name found once (after a title) is a name everywhere else in the document too."""
    names = {text[e.start : e.end] for e in entities if e.label == "PER" and " " in text[e.start : e.end]}
    extra = []
    for name in names:
        for match in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text):
            extra.append(Mention(match.start(), match.end(), "PER"))
    return resolve_overlaps(
        entities + [m for m in extra if all(m.end <= e.start or e.end <= m.start for e in entities)]
    )


_QUANTIFIED = re.compile(r"(?<!\w)(?:hai|Hai|các|Các|những|Những|ba|Ba) $")


def drop_generic_titles(text: str, entities: list[Mention]) -> list[Mention]:
    """`hai Bộ trưởng`, `các Thứ trưởng`: a counted title names nobody (SCHEMA.md: generic mention)."""
    return [e for e in entities if not (e.label == "TITLE" and _QUANTIFIED.search(text[max(0, e.start - 6) : e.start]))]


def find_entities(text: str) -> list[Mention]:
    """All entities of a normalised text, non-overlapping, in text order."""
    tokens = Tokens(text)
    entities = resolve_overlaps(find_terms(text) + find_dates(text) + find_named(text, tokens))
    entities = drop_generic_titles(text, entities)
    entities = extend_organisations(text, entities)
    entities = find_delegations(text, entities)
    entities = resolve_overlaps(entities + find_titled_persons(text, tokens, entities))
    return propagate_persons(text, entities)


# ---------------------------------------------------------------------------------------
# Relations, sentence by sentence.


def _cue_pattern(cues: Iterable[str]) -> re.Pattern:
    # `tiếp` as in "receive", not `tiếp tục` (continue) or `tiếp nhận`/`tiếp cận`.
    return re.compile(
        r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(map(_norm, cues), key=len, reverse=True))) + r")"
        r"(?! (?:tục|nhận|cận|thu|theo|xúc))(?!\w)"
    )


_MEETING = _cue_pattern(gz.MEETING_CUES)
_SIGNING = _cue_pattern(gz.SIGNING_CUES)
_PARTICIPATION = _cue_pattern(gz.PARTICIPATION_CUES)
_LOCATION = re.compile(
    r"(?<!\w)(?:" + "|".join(map(re.escape, map(_norm, gz.LOCATION_CUES))) + r") "
    r"(?:(?:" + "|".join(map(re.escape, map(_norm, gz.PLACE_WORDS))) + r") )?$"
)


def _title_chain_before(text: str, entities: Sequence[Mention], index: int) -> list[tuple[Mention, str]]:
    """`Chủ tịch Đảng, Chủ tịch nước X`, `Bộ trưởng Quốc phòng Lào X`: titles and their ORG/LOC before a name."""
    attached: list[tuple[Mention, str]] = []
    # `Trưởng đoàn Lào là Thứ trưởng ... X`: a copula links an earlier title to the name too.
    j, position, gaps = index - 1, entities[index].start, {" "}
    while j >= 0:
        entity = entities[j]
        if text[entity.end : position] not in gaps:
            break
        if entity.label in {"ORG", "LOC"} and j > 0 and entities[j - 1].label == "TITLE":
            if text[entities[j - 1].end : entity.start] != " ":
                break
            attached += [(entities[j - 1], "has_title"), (entity, "affiliated_with")]
            position, j = entities[j - 1].start, j - 2
        elif entity.label == "TITLE":
            attached.append((entity, "has_title"))
            position, j = entity.start, j - 1
        else:
            break
        gaps = {" ", ", ", " là "}
    return attached


def _title_chain_after(text: str, entities: Sequence[Mention], index: int) -> list[tuple[Mention, str]]:
    """`X, Tư lệnh Bộ đội Biên phòng`: an apposition after a name, unless it introduces the next name."""
    attached: list[tuple[Mention, str]] = []
    j, position = index + 1, entities[index].end
    while j < len(entities) and entities[j].label == "TITLE" and text[position : entities[j].start] == ", ":
        attached.append((entities[j], "has_title"))
        position = entities[j].end
        j += 1
        if j < len(entities) and entities[j].label in {"ORG", "LOC"} and text[position : entities[j].start] == " ":
            attached.append((entities[j], "affiliated_with"))
            position = entities[j].end
            j += 1
    if j < len(entities) and entities[j].label == "PER" and text[position : entities[j].start] == " ":
        return []  # the titles belong to the following name
    return attached


def _nearest(candidates: Iterable[Mention], anchor: int) -> Mention | None:
    return min(candidates, key=lambda m: min(abs(m.start - anchor), abs(m.end - anchor)), default=None)


def find_relations(
    text: str, entities: Sequence[Mention], sentence: tuple[int, int]
) -> set[tuple[Mention, Mention, str]]:
    """Relations between the entities of one sentence (normalised offsets)."""
    s_start, s_end = sentence
    inside = [e for e in entities if s_start <= e.start and e.end <= s_end]
    found: set[tuple[Mention, Mention, str]] = set()
    for i, entity in enumerate(inside):
        if entity.label == "PER":
            for other, label in _title_chain_before(text, inside, i) + _title_chain_after(text, inside, i):
                found.add((entity, other, label))

    events = [e for e in inside if e.label == "EVENT"]
    places = [e for e in inside if e.label == "LOC" and _LOCATION.search(text[max(s_start, e.start - 30) : e.start])]
    for event in events:
        place = _nearest(places, event.start)
        if place is not None:
            found.add((event, place, "held_in"))

    for date in (e for e in inside if e.label == "DATE"):
        # `trong hai năm 2024-2025`, `trong năm 2022`: a period something runs through, not its own date.
        before = text[max(s_start, date.start - 14) : date.start]
        if re.search(r"(?<!\w)trong hai năm $", before) or (
            before.endswith("trong ") and text.startswith("năm", date.start)
        ):
            continue
        item = _nearest([e for e in inside if e.label in {"EVENT", "AGREEMENT"}], date.start)
        if item is not None:
            found.add((item, date, "date_of"))

    # `Cuộc họp ... giữa hai Đoàn ...`, `Thỏa thuận ... giữa Bộ A và Bộ B`: the parties take part / sign.
    for item in (e for e in inside if e.label in {"EVENT", "AGREEMENT"}):
        between = re.match(r" giữa (?:hai )?", text[item.end : s_end])
        if between is None:
            continue
        clause_end = re.search(r"[,.;:()]|$", text[item.end : s_end]).start() + item.end
        for party in (e for e in inside if item.end < e.start and e.end <= clause_end and e.label in {"PER", "ORG"}):
            found.add((party, item, "participates_in" if item.label == "EVENT" else "signed"))

    # `Đoàn ... do X làm trưởng đoàn`: the leader belongs to the delegation and holds the role.
    for i, entity in enumerate(inside):
        if entity.label == "ORG" and text[entity.end : entity.end + 4] == " do ":
            leader = next((e for e in inside[i + 1 :] if e.label == "PER"), None)
            if leader is not None:
                found.add((leader, entity, "affiliated_with"))
                role = next(
                    (
                        e
                        for e in inside
                        if e.label == "TITLE" and e.start > leader.end and text[e.start - 4 : e.start] == "làm "
                    ),
                    None,
                )
                if role is not None:
                    found.add((leader, role, "has_title"))

    sentence_text = text[s_start:s_end]
    for cue_pattern, tail_label, label in (
        (_SIGNING, "AGREEMENT", "signed"),
        (_PARTICIPATION, "EVENT", "participates_in"),
    ):
        for cue in cue_pattern.finditer(sentence_text):
            cue_at = s_start + cue.start()
            tails = [e for e in inside if e.label == tail_label and e.start >= cue_at + len(cue.group())]
            heads = [e for e in inside if e.label in {"PER", "ORG"} and e.end <= cue_at]
            if tails and heads:
                found.add((max(heads, key=lambda e: e.end), min(tails, key=lambda e: e.start), label))

    if _MEETING.search(sentence_text):
        first_mentions: dict[str, Mention] = {}
        for e in inside:
            if e.label == "PER":
                first_mentions.setdefault(text[e.start : e.end], e)
        if len(first_mentions) == 2:
            head, tail = sorted(first_mentions.values())
            found.add((head, tail, "meets"))
    return found


# ---------------------------------------------------------------------------------------
# Documents.


def annotate_text(text: str, doc_id: str, date: str | None = None) -> Document:
    """Pre-label one text; the result passes training.data.checks."""
    norm = normalize_text(text)
    mentions = find_entities(norm.text) if norm.text.strip() else []
    # Words in the original: a span must start and end on them (validator rule).
    words = [w for s in _syllable_sentences(text) for w in s.words]
    word_starts, word_ends = {w.start for w in words}, {w.end for w in words}
    bounds = sentence_bounds(text) if text.strip() else []

    original: dict[Mention, tuple[int, int]] = {}
    for mention in mentions:
        start, end = norm.span_to_original(mention.start, mention.end)
        if start in word_starts and end in word_ends and any(a <= start and end <= b for a, b in bounds):
            original[mention] = (start, end)
    kept = sorted(original, key=lambda m: original[m])
    ids = {m: f"T{i}" for i, m in enumerate(kept, start=1)}
    entities = tuple(EntitySpan(ids[m], *original[m], m.label) for m in kept)

    relations: set[tuple[str, str, str]] = set()
    seen_pairs: set[tuple[str, str]] = set()
    for a, b in bounds:
        # Sentence bounds are original offsets; relations are found on the normalised text.
        norm_start = next((i for i, s in enumerate(norm.starts) if s >= a), len(norm.text))
        norm_end = next((i for i in range(len(norm.ends) - 1, -1, -1) if norm.ends[i] <= b), -1) + 1
        for head, tail, label in sorted(find_relations(norm.text, kept, (norm_start, norm_end))):
            if head in ids and tail in ids and (ids[head], ids[tail]) not in seen_pairs:
                seen_pairs.add((ids[head], ids[tail]))
                relations.add((ids[head], ids[tail], label))
    order = {entity.id: n for n, entity in enumerate(entities)}
    doc = Document(
        id=doc_id,
        date=date,
        text=text,
        entities=entities,
        relations=tuple(
            RelationSpan(h, t, label) for h, t, label in sorted(relations, key=lambda r: (order[r[0]], order[r[1]]))
        ),
    )
    check_document(doc, f"<weak annotation of {doc_id}>")
    return doc


def _syllable_sentences(text: str):
    from viextract.text import prepare_text

    return prepare_text(text, segmenter="syllables").sentences if text.strip() else ()


# ---------------------------------------------------------------------------------------
# Evaluation against gold.


@dataclass(frozen=True)
class Evaluation:
    entities: Scores
    relations: Scores
    documents: int


def evaluate(gold: Sequence[Document]) -> Evaluation:
    """Exact span+label scores of the weak annotator on gold documents (relations: both spans and label)."""
    gold_entities, pred_entities, gold_relations, pred_relations = [], [], [], []
    for doc in gold:
        predicted = annotate_text(doc.text, doc.id, doc.date)
        gold_entities.append([(e.start, e.end, e.label) for e in doc.entities])
        pred_entities.append([(e.start, e.end, e.label) for e in predicted.entities])
        gold_relations.append(_relation_items(doc))
        pred_relations.append(_relation_items(predicted))
    return Evaluation(
        score_spans(gold_entities, pred_entities, ENTITY_LABELS),
        score_items(gold_relations, pred_relations, RELATION_LABELS),
        len(gold),
    )


def _relation_items(doc: Document) -> list[tuple[int, int, int, int, str]]:
    spans = {e.id: (e.start, e.end) for e in doc.entities}
    return [(*spans[r.head], *spans[r.tail], r.label) for r in doc.relations]


def format_scores(title: str, scores: Scores) -> str:
    """A Markdown table of per-label and micro P/R/F1 (percent)."""
    lines = [f"{title}", "", "| label | P | R | F1 | gold | predicted |", "|---|---:|---:|---:|---:|---:|"]
    for name, prf in [*scores.per_label.items(), ("**micro**", scores.micro)]:
        lines.append(
            f"| {name} | {prf.precision * 100:.1f} | {prf.recall * 100:.1f} | {prf.f1 * 100:.1f} "
            f"| {prf.gold} | {prf.predicted} |"
        )
    return "\n".join(lines)


def select_documents(gold: Sequence[Document], which: str, splits_path: Path) -> list[Document]:
    if which == "all":
        return list(gold)
    test_ids = read_splits(splits_path)["test"]
    chosen = [doc for doc in gold if doc.id in set(test_ids)]
    if not chosen:
        raise DataError(f"{splits_path}: test: none of the test documents {test_ids} is in the gold file")
    return chosen


def _evaluate_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.weak.annotate evaluate")
    parser.add_argument("--gold", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--docs", choices=("test", "all"), default="test")
    parser.add_argument("--splits", type=Path, default=Path("data/splits.json"))
    args = parser.parse_args(argv)
    try:
        documents = select_documents(load_documents(args.gold), args.docs, args.splits)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = evaluate(documents)
    ids = ", ".join(doc.id for doc in documents)
    print(f"Weak annotator vs {args.gold} ({args.docs}: {result.documents} documents: {ids})\n")
    print(format_scores("Entities (exact span and label)", result.entities))
    confusion = result.entities.confusion
    if confusion is not None:
        print("\nentity errors: " + ", ".join(f"{k} {v}" for k, v in confusion.to_dict().items()))
    print()
    print(format_scores("Relations (exact head span, tail span and label)", result.relations))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["evaluate"]:
        return _evaluate_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m training.weak.annotate",
        description="Pre-label raw text files as JSONL (one document per file) for review; "
        "or `evaluate --gold FILE [--docs test|all]`.",
    )
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        # Read every input first, so a bad file is reported before any draft is printed.
        texts = [(path, read_utf8(path, "input file")) for path in args.files]
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, text in texts:
        doc = annotate_text(text, doc_id=path.stem)
        print(json.dumps(doc.to_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
