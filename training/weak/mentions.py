"""Entity candidates of the weak annotator: gazetteer terms, SCHEMA.md dates, trigger-named events and
agreements, titled persons; where candidates overlap the longest wins. All on viextract's normalised text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from viextract.normalize import normalize_text
from viextract.segment import split_tokens

from ..data.conventions import (
    BARE_ORGANS,
    BUILDING_HEADS,
    BUILDING_HEADS_OF,
    COUNT_WORDS,
    DATE_HEADS,
    DAY_JOIN,
    FUSED_ORGANS,
)
from . import gazetteers as gz

# Longest run of words a trigger may pull into an event or agreement name.
MAX_NAME_TOKENS = 24


# Longest personal name, in words; a hyphenated Lao name part (`Vo-lạ-chít`) is one word.
MAX_NAME_WORDS = 4


@dataclass(frozen=True, order=True)
class Mention:
    """A span of the normalised text."""

    start: int
    end: int
    label: str


def norm_term(term: str) -> str:
    return normalize_text(term).text


def term_pattern(terms: Iterable[str], flags: int = 0) -> re.Pattern:
    # Longest alternative first, so `Bộ trưởng Quốc phòng` is tried before `Bộ trưởng`.
    alternatives = sorted({norm_term(t) for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)", flags)


GAZETTEERS: dict[str, re.Pattern] = {
    "TITLE": term_pattern(gz.TITLES),
    "ORG": term_pattern(gz.ORGANISATIONS),
    "LOC": term_pattern(gz.COUNTRIES + gz.PLACES),
    "PER": term_pattern(gz.KNOWN_PERSONS),
}


_COUNTRIES = frozenset(norm_term(c) for c in gz.COUNTRIES)


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


# A DATE head word right before a date (`năm` of `năm 2000 - 2001`), and the word before it.
_HEAD_BEFORE = re.compile(
    r"(?:(?<!\w)(?P<before>\w+) +)?(?<!\w)(?P<head>" + "|".join(h.replace(" ", " +") for h in DATE_HEADS) + r") +$",
    re.IGNORECASE,
)


def _with_heads(text: str, date: Mention, others: Sequence[Mention]) -> Mention:
    """`date` with the head words before it that SCHEMA's DATE rule puts inside, unless a count owns them
    (`hai năm 2024-2025`) or another entity does."""
    start = date.start
    while (match := _HEAD_BEFORE.search(text, max(0, start - 40), start)) is not None:
        counted = (match.group("before") or "").lower() in COUNT_WORDS
        if counted or any(o.start < start and match.start("head") < o.end for o in others):
            break
        start = match.start("head")
    return Mention(start, date.end, "DATE")


def follow_date_conventions(text: str, entities: Sequence[Mention]) -> list[Mention]:
    """DATEs as SCHEMA v1.1 bounds them (training.data.conventions): heads inside, and dates joined by
    `đến`, `và` or a dash one DATE, so weak labels pass the checks gold data must pass."""
    others = [e for e in entities if e.label != "DATE"]
    dates = sorted(_with_heads(text, e, others) if e.label == "DATE" else e for e in entities)
    merged: list[Mention] = []
    for entity in dates:
        previous = merged[-1] if merged else None
        if (
            previous
            and previous.label == entity.label == "DATE"
            and DAY_JOIN.fullmatch(text, previous.end, entity.start)
        ):
            merged[-1] = Mention(previous.start, entity.end, "DATE")
        else:
            merged.append(entity)
    return merged


def find_terms(text: str) -> list[Mention]:
    return [Mention(m.start(), m.end(), label) for label, pattern in GAZETTEERS.items() for m in pattern.finditer(text)]


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


_EVENT_TRIGGERS = term_pattern(gz.EVENT_TRIGGERS)


_EVENT_TRIGGERS_LOWER = term_pattern(gz.EVENT_TRIGGERS_LOWER)


_AGREEMENT_TRIGGERS = term_pattern(gz.AGREEMENT_TRIGGERS)


_STOP_WORDS = frozenset(norm_term(w) for w in gz.NAME_STOP_WORDS)


_JOINERS = frozenset(norm_term(w) for w in gz.AGREEMENT_JOINERS)


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


# SCHEMA v1.1's organs as the normalised text spells them (`Tỉnh uỷ`): fused into a title before them, and
# never the start of a name (`Thủ tướng Chính phủ Phạm Minh Chính` is no PER `Chính`). The rule is about the
# words, so any case: `Chính Phủ` and `Quốc Hội` are the same organs (conventions.py matches them so too).
_FUSED_ORGANS = term_pattern(FUSED_ORGANS, re.IGNORECASE)
_BARE_ORGANS = term_pattern(BARE_ORGANS + FUSED_ORGANS, re.IGNORECASE)
_NUOC = re.compile(r"nước(?!\w)", re.IGNORECASE)


def _organ_after(text: str, title: Mention) -> re.Match | None:
    """The bare organ right after a title (`Chính phủ`, and `nước` after `Chủ tịch`), as conventions.py finds it."""
    if text[title.end : title.end + 1] != " ":
        return None
    organ = _FUSED_ORGANS.match(text, title.end + 1)
    if organ is None and text[title.start : title.end].endswith("Chủ tịch"):
        organ = _NUOC.match(text, title.end + 1)
    return organ


def _organ_ending(text: str, title: Mention) -> re.Match | None:
    """The organ a (gazetteer) title ends in: `Tỉnh uỷ` of `Bí thư Tỉnh uỷ`."""
    ends = [o for o in _FUSED_ORGANS.finditer(text, title.start + 1, title.end) if o.end() == title.end]
    return ends[0] if ends and text[ends[0].start() - 1] == " " else None


def _name_organ(text: str, title: Mention, others: list[Mention]) -> tuple[Mention, list[Mention]]:
    """An organ that a province names is an ORG with it, outside the title: `Chủ tịch` + ORG `UBND tỉnh Quảng Ninh`,
    `Bí thư` + ORG `Tỉnh uỷ Hà Tĩnh` (SCHEMA v1.1 fuses only the organ with no province name)."""
    organ = _organ_after(text, title) or _organ_ending(text, title)
    if organ is None or text[organ.end() : organ.end() + 1] != " ":
        return title, others
    place = next((o for o in others if o.start == organ.end() + 1 and o.label == "LOC"), None)
    if place is None or text[place.start : place.end] in _COUNTRIES:
        return title, others  # `Chủ tịch Quốc hội` + LOC `Lào`
    if any(o.start < organ.end() and organ.start() < o.end for o in others):
        return title, others
    named = Mention(organ.start(), place.end, "ORG")
    return Mention(title.start, min(title.end, organ.start() - 1), "TITLE"), [o for o in others if o != place] + [named]


def _fuse_organ(text: str, title: Mention, others: list[Mention]) -> tuple[Mention, list[Mention]] | None:
    """`title` grown over the bare organ after it, without the entity that covered it; None if it cannot grow."""
    organ = _organ_after(text, title)
    if organ is None:
        return None
    fused = Mention(title.start, organ.end(), "TITLE")
    inside = [o for o in others if o.start < organ.end() and organ.start() < o.end]
    if not inside:
        return fused, others
    if len(inside) > 1 or inside[0].start != organ.start():
        return None
    rest = [o for o in others if o != inside[0]]
    if inside[0].end == organ.end():
        return fused, rest  # `Ủy viên` + ORG `Bộ Chính trị` is one title
    if text[organ.end()] == " " and text[organ.end() + 1 : inside[0].end] in _COUNTRIES:
        # ORG `Chính phủ Lào` after `Phó Thủ tướng`: SCHEMA v1.1 fuses the organ, and the country is a LOC.
        return fused, sorted([*rest, Mention(organ.end() + 1, inside[0].end, "LOC")])
    return None  # an organisation named after the organ stays an ORG


def fuse_title_organs(text: str, entities: list[Mention]) -> list[Mention]:
    """SCHEMA v1.1: a title and the bare organ after it are one TITLE (`Thủ tướng Chính phủ`), and a country
    after the organ its own LOC (`Phó Thủ tướng Chính phủ` + `Lào`, not + ORG `Chính phủ Lào`)."""
    for title in [e for e in entities if e.label == "TITLE"]:
        title, others = _name_organ(text, title, [e for e in entities if e != title])
        while (grown := _fuse_organ(text, title, others)) is not None:
            title, others = grown
        entities = sorted(others + [title])
    return entities


# A building head before a name (conventions.BUILDING_HEADS, and BUILDING_HEADS_OF: `Nhà Quốc hội`), in any
# case: `trụ sở Chính phủ` is a building (data/README.md, rule 20). But `Phủ` only capitalised (`phủ` is a verb:
# `bao phủ`), never of `Chính Phủ`.
_BUILDING_HEAD = re.compile(
    r"(?<!\w)(?<!chính )(?:"
    + "|".join(h if h != "Phủ" else "(?-i:Phủ)" for h in map(re.escape, BUILDING_HEADS))
    + "".join(rf"|{re.escape(head)}(?= {re.escape(name)}(?!\w))" for head, name in BUILDING_HEADS_OF.items())
    + ") ",
    re.IGNORECASE,
)


def find_buildings(text: str, entities: list[Mention]) -> list[Mention]:
    """SCHEMA v1.1: a named building keeps its head, as one LOC: the head and the entity or bare organ after it
    (`Phủ Chủ tịch`, `Trụ sở Bộ Công an`, `Trụ sở Trung ương Đảng`, `Nhà Quốc hội`). A lower-case head takes only
    a bare organ (`trụ sở Chính phủ`): before a named organisation it is a place word outside the ORG (`trụ sở` +
    ORG `Bộ Chỉ huy Quân sự tỉnh Houaphanh`), as data/README.md's rule 20 has it."""
    for head in _BUILDING_HEAD.finditer(text):
        if any(e.start <= head.start() < e.end for e in entities):
            continue  # `Điện Biên Phủ`
        place_word = text[head.start()].islower()
        named = None if place_word else next((e for e in entities if e.start == head.end()), None)
        organ = _BARE_ORGANS.match(text, head.end())
        end = named.end if named is not None else organ.end() if organ is not None else None
        if end is None or any(e.start < end and head.end() < e.end for e in entities if e != named):
            continue
        building = Mention(head.start(), end, "LOC")
        entities = sorted([e for e in entities if e != named] + [building])
    return entities


_HONORIFICS = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, gz.HONORIFICS)) + r") ")


def _capitalised_run(text: str, tokens: Tokens, start: int, covered: Sequence[Mention]) -> Mention | None:
    """Up to MAX_NAME_WORDS capitalised words from `start`, not into another entity; a word may run on over
    hyphens into lower-case syllables, as Lao names are transliterated (`Bun-nhăng Vo-lạ-chít`)."""
    i = tokens.index_at.get(start)
    if i is None or _BARE_ORGANS.match(text, start):
        return None
    end, spaced = start, True  # the first word may take spaced hyphens; later ones only if it did
    for n in range(MAX_NAME_WORDS):
        if i >= len(tokens.spans) or (n > 0 and text[end : tokens.spans[i][0]] != " "):
            break
        word_start, (word_end, i) = tokens.spans[i][0], _name_word(text, tokens, i, spaced)
        if word_end is None or any(c.start < word_end and word_start < c.end for c in covered):
            break
        spaced = spaced and (n > 0 or " - " in text[word_start:word_end])
        end = word_end
    if " - " in text[start:end] and " " not in text[start:end].replace(" - ", ""):
        end = text.index(" - ", start)  # one word: the dash more likely starts an apposition (`Hùng - nguyên ...`)
    return Mention(start, end, "PER") if end > start else None


def _name_word(text: str, tokens: Tokens, i: int, spaced: bool) -> tuple[int | None, int]:
    """(end offset, next token index) of the name word at token `i` (end None: no word there): a capitalised
    syllable, then any `-` and lower-case syllable. Where `spaced`, ` - ` joins too (`Khăm - xỉ Vông - xa - vạt`),
    so a dash after a name whose first word had none (`Văn Hùng - nguyên ...`) stays out of it."""
    if not (tokens.word(i)[0].isupper() and tokens.word(i).isalpha()):
        return None, i
    joins = {"", "  "} if spaced else {""}  # the gaps on both sides of the hyphen, run together
    while i + 2 < len(tokens.spans) and tokens.word(i + 1) == "-":
        (_, a), (b, c), (d, _) = tokens.spans[i : i + 3]
        syllable = tokens.word(i + 2)
        if not (syllable.isalpha() and syllable[0].islower()) or text[a:b] + text[c:d] not in joins:
            break
        i += 2
    return tokens.spans[i][1], i + 1


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
    entities = follow_date_conventions(text, entities)
    entities = drop_generic_titles(text, entities)
    entities = extend_organisations(text, entities)
    entities = find_delegations(text, entities)
    entities = find_buildings(text, entities)
    entities = fuse_title_organs(text, entities)
    entities = resolve_overlaps(entities + find_titled_persons(text, tokens, entities))
    return propagate_persons(text, entities)
