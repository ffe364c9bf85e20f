"""Relations of the weak annotator, sentence by sentence: apposition ("Trung tướng X, Tư lệnh Y"), "tại LOC",
"ký ... AGREEMENT", meeting and participation cues, and dates near events and agreements."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from . import gazetteers as gz
from .mentions import Mention, norm_term


def _cue_pattern(cues: Iterable[str]) -> re.Pattern:
    # `tiếp` as in "receive", not `tiếp tục` (continue) or `tiếp nhận`/`tiếp cận`.
    return re.compile(
        r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(map(norm_term, cues), key=len, reverse=True))) + r")"
        r"(?! (?:tục|nhận|cận|thu|theo|xúc))(?!\w)"
    )


_MEETING = _cue_pattern(gz.MEETING_CUES)


_SIGNING = _cue_pattern(gz.SIGNING_CUES)


_PARTICIPATION = _cue_pattern(gz.PARTICIPATION_CUES)


_LOCATION = re.compile(
    r"(?<!\w)(?:" + "|".join(map(re.escape, map(norm_term, gz.LOCATION_CUES))) + r") "
    r"(?:(?:" + "|".join(map(re.escape, map(norm_term, gz.PLACE_WORDS))) + r") )?$"
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
