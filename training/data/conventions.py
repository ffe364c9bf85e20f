"""SCHEMA.md v1.1 boundary rules that code can check on a gold document's spans.

`training.data.checks.check_document` checks the format and the label contract, which every
document must meet (model output and weak drafts too). The rules here are annotation
conventions: a person writing gold data can break them while every offset is valid, so
`python -m training.data validate` and `training.data.inline` check them on gold files.
Each rule finds the pattern in the text next to a span, so it names what to change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..weak.gazetteers import COUNTRIES

# Bare state and party organs that SCHEMA v1.1 fuses into the title before them.
FUSED_ORGANS: tuple[str, ...] = (
    "Chính phủ", "Quốc hội", "Bộ Chính trị", "Trung ương Đảng", "Ban Bí thư", "Ban Chấp hành Trung ương",
    "Tỉnh ủy", "Thành ủy", "UBND tỉnh", "UBND thành phố", "Ủy ban nhân dân tỉnh", "Ủy ban nhân dân thành phố",
)  # fmt: skip
# Organs that SCHEMA v1.1 says are no entity on their own (nor part of a person's name).
BARE_ORGANS: tuple[str, ...] = ("Đảng", "Nhà nước", "Chính phủ", "Quân đội", "Quốc hội")
# Words that open a DATE's context but are never inside it (prepositions, times of day).
DATE_EXCLUDED_FIRST_WORDS = frozenset(
    {"từ", "trong", "vào", "đến", "tới", "sáng", "chiều", "tối", "trưa", "đêm", "lúc", "hôm", "khoảng"}
)
# Words that head a DATE and belong inside it (SCHEMA's DATE rule).
DATE_HEADS: tuple[str, ...] = ("ngày", "tháng", "năm", "quý", "giai đoạn", "nhiệm kỳ")
# A counted duration (`hai năm 2024-2025`) owns its head word: the DATE is the bare period.
COUNT_WORDS = frozenset({"hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười", "vài", "mấy", "các"})
# Heads of named buildings, which stay inside the LOC (`Phủ Chủ tịch`).
BUILDING_HEADS: tuple[str, ...] = ("Phủ", "Trụ sở")
# Heads of a building only before one name (`Nhà Quốc hội`): `Nhà` is no building before others.
BUILDING_HEADS_OF: dict[str, str] = {"Nhà": "Quốc hội"}

_COUNTRY = "|".join(re.escape(c) for c in sorted(COUNTRIES, key=len, reverse=True))
_ORGAN = "|".join(re.escape(o) for o in sorted(FUSED_ORGANS, key=len, reverse=True))
# The rule is about the words, not their case: `Thủ tướng Chính Phủ` is the title of `Thủ tướng Chính phủ`.
_ORGAN_AFTER = re.compile(rf" ({_ORGAN})(?!\w)", re.IGNORECASE)
_NUOC_AFTER = re.compile(r" nước(?!\w)", re.IGNORECASE)
_ORGAN_COUNTRY = re.compile(rf"(?i:{_ORGAN}) (?P<country>{_COUNTRY})")
_NUOC_COUNTRY_END = re.compile(rf"(?<![Nn]hà) nước (?:{_COUNTRY})$")  # `Ngân hàng nhà nước Lào`: a name
# What joins two dates into one span of days (`năm 1998 đến năm 2002`), which SCHEMA v1.1 makes one DATE.
DAY_JOIN = re.compile(r"\s*(?:và|đến|tới|-|–)\s*")
_PAIR_AFTER = re.compile(rf"\s*(?:và|-|–)\s*(?:{_COUNTRY})(?!\w)")

# Brackets and quotes a name may hold whole (`Chiến dịch "Mùa hè xanh"`): one at an edge is the name's own only
# when its partner is inside the span too.
_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "‘": "’", "«": "»", '"': '"', "'": "'"}


@dataclass(frozen=True)
class Span:
    """What a rule needs of an entity: its index in the document, offsets and label."""

    index: int
    start: int
    end: int
    label: str


def convention_problems(text: str, spans: Sequence[Span]) -> Iterator[tuple[int, str]]:
    """(entity index, problem) for each SCHEMA v1.1 convention a span breaks, in text order."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    starts = {s.start: s for s in ordered}
    for position, span in enumerate(ordered):
        following = ordered[position + 1] if position + 1 < len(ordered) else None
        rules = {"TITLE": _title_problems, "ORG": _org_problems, "DATE": _date_problems}
        if span.label in rules:
            for problem in rules[span.label](text, span, following, starts):
                yield span.index, problem
        for problem in (_building_problem(text, span, ordered), _edge_punctuation_problem(text, span)):
            if problem:
                yield span.index, problem


def _quote(text: str, start: int, end: int) -> str:
    return repr(text[start:end])


def _title_problems(text: str, span: Span, following: Span | None, starts: dict[int, Span]) -> Iterator[str]:
    title = _quote(text, span.start, span.end)
    organ = _ORGAN_AFTER.match(text, span.end)
    if not organ and text[span.start : span.end].endswith("Chủ tịch"):
        organ = _NUOC_AFTER.match(text, span.end)  # `Chủ tịch nước` is one title
    if organ and span.end + 1 not in starts:
        yield (
            f"TITLE {title} is followed by the bare organ {organ.group(0).strip()!r}, which no entity covers: "
            f"SCHEMA v1.1 makes them one TITLE {text[span.start : organ.end()]!r}"
        )
    if following and following.start == span.end + 1 and following.label == "ORG":
        mention = text[following.start : following.end]
        if fused := _ORGAN_COUNTRY.fullmatch(mention):
            country = fused.group("country")  # `Việt Nam`, not its last word
            yield (
                f"TITLE {title} + ORG {mention!r}: SCHEMA v1.1 makes a title fused with a bare organ one TITLE, "
                f"and the country after it a LOC (e.g. TITLE 'Chủ tịch Quốc hội' + LOC {country!r})"
            )


def _org_problems(text: str, span: Span, following: Span | None, starts: dict[int, Span]) -> Iterator[str]:
    org = _quote(text, span.start, span.end)
    if _NUOC_COUNTRY_END.search(text, span.start, span.end):
        yield f"ORG {org} ends in 'nước' + a country: with 'nước' between, the country is its own LOC (SCHEMA v1.1)"
    if not (following and following.label == "LOC" and following.start == span.end + 1):
        return
    country = text[following.start : following.end]
    # `hai Bộ Ngoại giao Việt Nam và Lào`: a country pair after a per-country organisation is split off.
    if country in COUNTRIES and not _PAIR_AFTER.match(text, following.end):
        yield (
            f"ORG {org} is followed by LOC {country!r}: one country right after an organisation's name is part of "
            f"the ORG (SCHEMA v1.1: {text[span.start : following.end]!r})"
        )


def _date_problems(text: str, span: Span, following: Span | None, starts: dict[int, Span]) -> Iterator[str]:
    date = _quote(text, span.start, span.end)
    first = text[span.start : span.end].split()[0]
    if first.lower() in DATE_EXCLUDED_FIRST_WORDS:
        yield f"DATE {date} starts with {first!r}: prepositions and time-of-day words stay outside a DATE"
    words_before = text[: span.start].split()
    for head in DATE_HEADS:
        size = len(head.split())
        if [w.lower() for w in words_before[-size:]] == head.split() and text[: span.start].endswith(" "):
            counted = len(words_before) > size and words_before[-size - 1].lower() in COUNT_WORDS
            if not counted:
                yield f"DATE {date} follows its head {head!r}, which belongs inside it (SCHEMA's DATE rule)"
            break
    if following and following.label == "DATE" and DAY_JOIN.fullmatch(text, span.end, following.start):
        yield (
            f"DATE {date} and DATE {_quote(text, following.start, following.end)} are one span of days: "
            f"SCHEMA v1.1 makes it one DATE {text[span.start : following.end]!r}"
        )


def _building_problem(text: str, span: Span, ordered: Sequence[Span]) -> str | None:
    for head in (*BUILDING_HEADS, *BUILDING_HEADS_OF):
        head_start = span.start - len(head) - 1
        if head_start < 0 or text[head_start : span.start] != head + " ":
            continue
        if head in BUILDING_HEADS_OF and not text.startswith(BUILDING_HEADS_OF[head], span.start):
            continue
        if head_start > 0 and text[head_start - 1].isalnum():
            continue  # `Điện Biên Phủ`: the word is part of a longer name
        if any(s.start <= head_start < s.end for s in ordered):
            continue
        return (
            f"{span.label} {_quote(text, span.start, span.end)} follows {head!r}: a named building keeps its "
            f"head, as one LOC {text[head_start : span.end]!r} (SCHEMA v1.1)"
        )
    return None


def _edge_punctuation_problem(text: str, span: Span) -> str | None:
    """A span that starts or ends in punctuation (`Hà Nội.`, `(ASEAN`, `Việt Nam-`): offsets one character off,
    which every other check lets pass, since punctuation is a token of its own. SCHEMA leaves it outside
    (`Việt Nam-Lào`: the hyphen is outside both LOC)."""
    mention = text[span.start : span.end]
    for char, partner_inside in ((mention[0], _closed(mention, 0)), (mention[-1], _closed(mention, -1))):
        if unicodedata.category(char).startswith("P") and not partner_inside:
            return (
                f"{span.label} {mention!r} starts or ends in {char!r}: punctuation next to a name is outside its "
                f"span (a span one character too long?)"
            )
    return None


def _closed(mention: str, edge: int) -> bool:
    """Whether the bracket or quote at `edge` (0 or -1) of `mention` has its partner inside it."""
    char = mention[edge]
    if char in _PAIRS and edge == 0:
        return _PAIRS[char] in mention[1:]
    opener = next((o for o, c in _PAIRS.items() if c == char), None)
    return edge == -1 and opener is not None and opener in mention[:-1]
