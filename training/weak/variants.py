"""Spelling variants of annotated documents, made mechanically where no label can change.

Real news writes the same names in ways our written text rarely shows (issue #24):
- a country pair with a hyphen, a spaced hyphen or a spaced en dash (`Việt Nam-Lào`, `Việt Nam – Lào`),
  and inside a name also the short `Việt – Lào`;
- Lao names transliterated with hyphenated syllables (`Khăm-tày Xi-phăn-đôn`) or spaced ones
  (`Khăm - tày Xi - phăn - đôn`);
- fixed names in lower case after their first word or with the old tone placement
  (`Đảng Nhân dân cách mạng Lào`, `Phủ chủ tịch`, `Uỷ ban`);
- and, only when asked (`--kinds ...,upper`), one sentence in capitals, as a headline is printed.
Each variant edits text only inside one entity or only between entities, never across a
boundary, so every entity keeps its label and the relations stay as they are; offsets are
recomputed and a copy that breaks a data rule (a token boundary moved) is dropped.

    python -m training.weak.augment data/written_topics.jsonl --variants [--kinds dash,names,case,upper] > out.jsonl
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from ..data.checks import check_document, sentence_bounds
from ..data.documents import DataError, Document

logger = logging.getLogger(__name__)

Edit = tuple[int, int, str]  # text[start:end] becomes the string

COUNTRY = r"(?:Việt Nam|Việt|Lào|Campuchia)(?!\w)(?!\s+Cai)"  # not the province Lào Cai
DASH_NEARBY = re.compile(r"[-–]\s*$|^\s*[-–]")
PAIR = re.compile(rf"(?P<a>{COUNTRY})(?P<sep>\s*[-–]\s*)(?P<b>{COUNTRY})")
SEPARATORS = ("-", " - ", " – ")
NAME_LABELS = ("PER", "LOC")
SYLLABLE_DASH = re.compile(r"(?<=\w)\s*-\s*(?=\w)")
# Words that real text also writes in lower case inside a fixed name (never the name's first word).
LOWER_CASE = (
    "Cách mạng",
    "Quốc phòng",
    "Công an",
    "An ninh",
    "Ngoại giao",
    "Chủ tịch",
    "Chính phủ",
    "Nhân dân",
    "Cộng sản",
    "Tổ quốc",
    "Biên phòng",
    "Công Thương",
    "Kế hoạch",
    "Đầu tư",
    "Nông nghiệp",
    "Lâm nghiệp",
    "Giáo dục",
    "Đào tạo",
    "Thể thao",
    "Quốc hội",
    "Ban Chấp hành",
    "Chấp hành",
)
OLD_TONES = {"Ủy": "Uỷ", "ủy": "uỷ", "Hòa": "Hoà", "hòa": "hoà", "Thỏa": "Thoả", "thỏa": "thoả"}
CASE_LABELS = ("ORG", "TITLE")
BUILDING = re.compile(r"^(?:Phủ|Trụ sở|Nhà|Lăng) ")


def apply_edits(doc: Document, edits: Iterable[Edit], new_id: str, source: str) -> Document:
    """`doc` with each edit applied and every offset moved; an edit must lie inside one entity or outside all."""
    edits = sorted(set(edits))
    for (s1, e1, _), (s2, _, _) in zip(edits, edits[1:]):
        if s2 < e1:
            raise ValueError(f"{doc.id}: edits [{s1}, {e1}) and [{s2}, ...) overlap")
    for start, end, _ in edits:
        for entity in doc.entities:
            inside = entity.start <= start and end <= entity.end
            outside = end <= entity.start or start >= entity.end
            if not (inside or outside):
                raise ValueError(f"{doc.id}: edit [{start}, {end}) crosses the boundary of {entity.id}")

    def moved(position: int) -> int:
        return position + sum(len(new) - (end - start) for start, end, new in edits if end <= position)

    pieces, cursor = [], 0
    for start, end, new in edits:
        pieces += [doc.text[cursor:start], new]
        cursor = end
    pieces.append(doc.text[cursor:])
    entities = tuple(replace(e, start=moved(e.start), end=moved(e.end)) for e in doc.entities)
    return Document(new_id, doc.date, "".join(pieces), entities, doc.relations, source)


def _containing(doc: Document, start: int, end: int):
    return next((e for e in doc.entities if e.start <= start and end <= e.end), None)


def dash_edits(doc: Document, rng: random.Random) -> list[Edit]:
    """Country pairs written with another separator; inside a name, `Việt Nam` and `Việt` swap too."""
    separator = rng.choice(SEPARATORS)
    edits = []
    for match in PAIR.finditer(doc.text):
        a, b = match.group("a"), match.group("b")
        chained = DASH_NEARBY.search(doc.text[max(0, match.start() - 3) : match.start()]) or DASH_NEARBY.search(
            doc.text[match.end() : match.end() + 3]
        )
        # Three countries (`Campuchia – Lào – Việt Nam`) keep one style: left alone.
        if a == b or {a, b} == {"Việt", "Việt Nam"} or chained:
            continue
        owner = _containing(doc, match.start(), match.end())
        if owner is not None and owner.label in ("EVENT", "AGREEMENT", "ORG"):
            short = {"Việt Nam": "Việt", "Việt": "Việt Nam"}
            # The short form only with a spaced dash: `Việt-Lào` is rare in news.
            flip = separator != "-" and rng.random() < 0.5
            a, b = (short.get(a, a), short.get(b, b)) if flip else (a, b)
            new = f"{a}{separator}{b}"
            if new != match.group():
                edits.append((match.start(), match.end(), new))
        elif owner is None and _is_loc(doc, match.start("a"), match.end("a")) and _is_loc(doc, *match.span("b")):
            if match.group("sep") != separator:
                edits.append((*match.span("sep"), separator))
    return edits


def _is_loc(doc: Document, start: int, end: int) -> bool:
    return any(e.start == start and e.end == end and e.label == "LOC" for e in doc.entities)


def name_edits(doc: Document, rng: random.Random) -> list[Edit]:
    """Transliterated names (PER, LOC) with hyphenated syllables spaced out, or spaced ones hyphenated."""
    edits = []
    for entity in doc.entities:
        mention = doc.mention(entity)
        if entity.label not in NAME_LABELS or not SYLLABLE_DASH.search(mention):
            continue
        joined = " - " if " -" not in mention else "-"
        new = SYLLABLE_DASH.sub(joined, mention)
        if new != mention:
            edits.append((entity.start, entity.end, new))
    return edits


def case_edits(doc: Document, rng: random.Random) -> list[Edit]:
    """Fixed names with a word after the first in lower case, or with the old tone placement (`Uỷ`)."""
    edits = []
    for entity in doc.entities:
        mention = doc.mention(entity)
        if entity.label not in CASE_LABELS and not (entity.label == "LOC" and BUILDING.match(mention)):
            continue
        new = mention
        for words in LOWER_CASE:
            # After a space only, so never the first word: a name starts with a capital in every spelling.
            new = re.sub(rf"(?<=\s){words}(?!\w)", words.lower(), new)
        if new == mention:
            new = re.sub(r"\w+", lambda m: OLD_TONES.get(m.group(), m.group()), mention)
        if new != mention:
            edits.append((entity.start, entity.end, new))
    return edits


def upper_edits(doc: Document, rng: random.Random) -> list[Edit]:
    """One sentence in capitals, as headlines are printed (`THỦ TƯỚNG PHẠM MINH CHÍNH HỘI ĐÀM ...`).

    The sentence is cut at every entity boundary inside it, so that each edit lies inside one
    entity or outside all.
    """
    bounds = sentence_bounds(doc.text)
    if not bounds:
        return []
    start, end = rng.choice(bounds)
    cuts = sorted({start, end, *(p for e in doc.entities for p in (e.start, e.end) if start < p < end)})
    pieces = [(a, b, doc.text[a:b]) for a, b in zip(cuts, cuts[1:])]
    return [(a, b, piece.upper()) for a, b, piece in pieces if piece.upper() != piece]


VARIANTS: dict[str, Callable[[Document, random.Random], list[Edit]]] = {
    "dash": dash_edits,
    "names": name_edits,
    "case": case_edits,
    "upper": upper_edits,
}
# What `--variants` writes unless told: the kinds the bundled model's k-fold measured (docs/training.md).
DEFAULT_KINDS = ("dash", "names", "case")


def variant_documents(
    docs: Sequence[Document], seed: int = 0, kinds: Sequence[str] = DEFAULT_KINDS
) -> list[Document]:
    """One copy per document and kind that changes something (`ID#dash`, `ID#names`, ...), each valid."""
    out, dropped = [], 0
    for doc in docs:
        for kind in kinds:
            rng = random.Random(f"{seed}/{doc.id}/{kind}")
            edits = VARIANTS[kind](doc, rng)
            if not edits:
                continue
            copy = apply_edits(doc, edits, f"{doc.id}#{kind}", f"{kind} variant of {doc.id}; training only")
            try:
                check_document(copy, copy.id)
            except DataError as error:
                logger.debug("variant rejected: %s", error)
                dropped += 1
                continue
            out.append(copy)
    if dropped:
        logger.warning("%d variants broke a data rule and were left out", dropped)
    return out
