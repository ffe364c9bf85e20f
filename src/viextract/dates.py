"""DATE normalisation: a DATE mention's text to an ISO 8601 date or interval, or None.

Forms read (SCHEMA.md's and the corpus's): `15/3`, `ngày 16/3/2016`, `15 tháng 3 năm 2026`,
`25-27/12`, `ngày 3/4 đến 6/4/2026`, `30/9 và 1/10`, `ngày 19 và 20-12`, `tháng 9/2026`,
`tháng 9/2026 đến tháng 6/2028`, `quý 4 năm 2026`, `quý IV/2027`, `6 tháng đầu năm 2026`,
`năm 2025`, `2024-2025`, `giai đoạn 2026-2030`, `nhiệm kỳ 2021 - 2026`; slashes may have spaces around
them (`15 / 3 / 2026`), and dots stand for them in a mention holding a day.month.year (`15.3.2026`). A time
of day before a day (`9h30 ngày 15/3`, `09:17 | 20/01/2026`) is left out, as SCHEMA leaves it out of the span.

Choices: a written-out list of separate days (`ngày 19 và 20-12`) becomes the interval from the
first to the last; a day or month written without a year takes the nearest year written in the
same mention (`ngày 10/9/2024 đến 13/9`, across New Year where the months turn back: `30/12 đến
2/1/2027`), else the year of the document's date (no "nearest date" guessing), and is None without
one; the parts of a range or list must be in order; an impossible date (`31/2`) is None, never an
exception; a weekday written before the date (`thứ Hai, 5/1`) must be the date's, else None; a vague
expression (`đầu năm`, `những ngày qua`) is None.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from .normalize import normalize_text
from .results import Entity, Extraction

# A byte-order mark (files saved by Notepad keep it as a character) is not text before the header.
# Matched with .match(text, start): anchored at `start` (the start of a text, or of a line for pieces.py).
_HEADER = re.compile(r"[\ufeff\s]*date\s+(\d{4}(?:-\d{2}){0,2})(?=\s)")
# `thứ Hai` (`thứ 2`) is Monday, datetime's weekday 0, through `chủ nhật`, 6 (casefolded).
_WEEKDAY_WORDS = r"thứ (?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ nhật"
# A time of day before the date (`9h30 ngày 15/3`, a byline's `09:17 | 20/01/2026`) says nothing of the day.
_PREFIX = re.compile(
    rf"^(?:(?:rạng sáng|sáng sớm|chiều tối|sáng|trưa|chiều|tối|đêm|hôm|vào|từ|trong|{_WEEKDAY_WORDS}|"
    r"\d{1,2} ?(?:h|giờ|:) ?(?:\d{2}(?: ?phút)?)?(?=[\s,|]+(?:ngày|thứ|chủ nhật|\d{1,2}[/.]\d)))[\s,|]+)+"
)
# Not inside a longer run of dotted numbers (a version, an IP address).
_DOTTED_DATE = re.compile(r"(?<![\d.])\d{1,2}\.\d{1,2}\.\d{4}(?![\d.])")
_DOTTED_DAY = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?(?![\d.])")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_WEEKDAY = re.compile(rf"\b({_WEEKDAY_WORDS})\b")
_WEEKDAYS = {f"thứ {word}": i for i, word in enumerate(["hai", "ba", "tư", "năm", "sáu", "bảy"])} | {
    f"thứ {digit}": digit - 2 for digit in range(2, 8)
}
_WEEKDAYS["chủ nhật"] = 6
# A weekday just outside a DATE span (`thứ Hai, 5/1`, `5/1 (thứ Hai)`) that the span left out. Capitalised only:
# `thứ hai`, `thứ 7` are as often ordinals (`lần thứ hai`, `kỳ họp thứ 7, ngày 20/5`) that say nothing of the day.
_NAMED_WEEKDAY = r"\b((?:[Tt]hứ (?:Hai|Ba|Tư|Năm|Sáu|Bảy))|[Cc]hủ [Nn]hật)\b"
_WEEKDAY_BEFORE = re.compile(rf"{_NAMED_WEEKDAY}[\s,(]*$")
_WEEKDAY_AFTER = re.compile(rf"[\s,(]*{_NAMED_WEEKDAY}")
# A lunar calendar mark just after a DATE span (`ngày 10/3 âm lịch`, `10/3 (ÂL)`, `10/3 năm Ất Tỵ`, a year named
# in the sexagenary cycle, which counts lunar years): the span's digits are no solar date.
_LUNAR_AFTER = re.compile(
    r"[\s,(\[-]*(?:âm lịch|lịch âm|âl|năm (?:giáp|ất|bính|đinh|mậu|kỷ|canh|tân|nhâm|quý) "
    r"(?:tý|sửu|dần|mão|mẹo|thìn|tỵ|tị|ngọ|mùi|thân|dậu|tuất|hợi))(?!\w)"
)
# Hyphens and dashes a word processor or a font puts for `-` (non-breaking, figure dash, minus sign).
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))


def reference_year(document_date: dt.date | str | None) -> int | None:
    """The year of a `document_date` argument: a `datetime.date` or 'YYYY-MM-DD' (also 'YYYY-MM', 'YYYY')."""
    if document_date is None:
        return None
    if isinstance(document_date, dt.date):
        return document_date.year
    if not isinstance(document_date, str):
        kind = type(document_date).__name__
        raise TypeError(f"document_date must be a datetime.date or an ISO 'YYYY-MM-DD' str, got {kind}")
    # ASCII digits only: \d alone let '２０２４-01-01' through, which is no ISO date
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", document_date.strip(), re.ASCII)
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(g) if g else 1 for g in match.groups())
        return dt.date(year, month, day).year
    except ValueError:
        raise ValueError(f"document_date must be an ISO date 'YYYY-MM-DD', got {document_date!r}") from None


def header_date(text: str, start: int = 0) -> str | None:
    """The corpus's ` date YYYY-MM-DD` (or `YYYY-MM`) header at the start of `text` (or at `start`), if valid."""
    match = _HEADER.match(text, start)
    if match is None:
        return None
    found = "".join(str(int(c)) if c.isdecimal() else c for c in match.group(1))  # ASCII digits, as ISO wants
    try:
        reference_year(found)
    except ValueError:
        return None
    return found


def blank_header(text: str) -> str:
    """`text` with a valid ` date YYYY-MM-DD` header turned into spaces: metadata for `header_date`,
    not prose for the models, which would tag it as a DATE. Same length, so offsets still index `text`."""
    match = _HEADER.match(text)
    if match is None or header_date(text) is None:
        return text
    return " " * match.end() + text[match.end() :]


def normalize_date(text: str, document_date: dt.date | str | None = None) -> str | None:
    """ISO 8601 for a DATE mention (`2026-03-15`, `2026-12-25/2026-12-27`, `2025/2030`, `2026-Q4`), or None."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    year = reference_year(document_date)
    # Read as the models read it: a no-break space, tab or control is a space, a soft hyphen nothing (normalize.py)
    s = normalize_text(text).text.casefold().translate(_DASHES)
    s = " ".join(s.split()).strip(" .,;:()|")
    prefix = _PREFIX.match(s)
    weekday = _WEEKDAY.search(prefix.group()) if prefix else None
    s = _as_slashes(s[prefix.end() :] if prefix else s)
    for read in (_iso, _years, _quarter, _first_months, _months, _days):
        value = read(s, year)
        if value is not None:
            return value if weekday is None or _on_weekday(value, _WEEKDAYS[weekday.group(1)]) else None
    return None


def _on_weekday(value: str, weekday: int) -> bool:
    """Whether `value` starts on `weekday`: a written weekday that the date contradicts (`thứ Hai, 5/1` read in
    a year where 5/1 is a Sunday) means the year or the date is wrong, and a wrong value is worse than None."""
    first = value.split("/")[0]
    return len(first) == 10 and dt.date.fromisoformat(first).weekday() == weekday


def _as_slashes(s: str) -> str:
    """`15 / 3 / 2026` and `15.3.2026` as `15/3/2026`, both common in news. Dots only where the mention holds a
    day.month.year (`3.4 đến 6.4.2026`): a lone `3.5` is as likely a decimal, and `1.2.3.2026` a version."""
    s = re.sub(r"\s*/\s*", "/", s)
    if not _DOTTED_DATE.search(s):
        return s
    return _DOTTED_DAY.sub(lambda match: "/".join(g for g in match.groups() if g), s)


def with_date_values(extraction: Extraction, document_date: dt.date | str | None = None) -> Extraction:
    """`extraction` with each DATE entity's `value` set; without `document_date`, the text's header is used.
    The words just around a span count too: `âm lịch` after it, or a named weekday beside it that the date
    does not fall on, make the value None."""
    if document_date is None:
        document_date = header_date(extraction.text)
    reference_year(document_date)  # a bad argument fails even where there is no DATE
    moved = {id(e): replace(e, value=_value(extraction.text, e, document_date)) for e in extraction.entities}
    relations = tuple(
        replace(r, head=moved.get(id(r.head), r.head), tail=moved.get(id(r.tail), r.tail)) for r in extraction.relations
    )
    return Extraction(extraction.text, tuple(moved[id(e)] for e in extraction.entities), relations)


def _value(text: str, entity: Entity, document_date: dt.date | str | None) -> str | None:
    """A DATE entity's value, read from its span; None where the text around it says the date is lunar, or
    names a weekday the value does not fall on."""
    value = normalize_date(entity.text, document_date) if entity.label == "DATE" else None
    if value is None:
        return None
    before = normalize_text(text[max(0, entity.start - 40) : entity.start]).text
    after = normalize_text(text[entity.end : entity.end + 40]).text
    if _LUNAR_AFTER.match(after.casefold()):
        return None
    for weekday in (_WEEKDAY_BEFORE.search(before), _WEEKDAY_AFTER.match(after)):
        if weekday and not _on_weekday(value, _WEEKDAYS[weekday.group(1).casefold()]):
            return None
    return value


def _iso(s: str, year: int | None) -> str | None:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s)
    return _day(*(int(g) for g in reversed(match.groups()))) if match else None


def _day(day: int, month: int, year: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _interval(first: str, last: str) -> str:
    return first if first == last else f"{first}/{last}"


def _years(s: str, year: int | None) -> str | None:
    rest = re.sub(r"\b(?:năm học|niên khóa|niên khoá|năm|giai đoạn|nhiệm kỳ|từ|đến|tới|và)\b|[-,]", " ", s)
    if not re.fullmatch(r"\s*\d{4}(?:\s+\d{4})*\s*", rest):
        return None
    years = [int(y) for y in rest.split()]
    if years != sorted(years) or years[0] < 1:  # datetime has no year 0
        return None
    return _interval(f"{years[0]:04d}", f"{years[-1]:04d}")


def _quarter(s: str, year: int | None) -> str | None:
    match = re.fullmatch(r"quý\s+(iv|i{1,3}|[1-4])(?:\s*(?:năm\s+|/\s*)(\d{4}))?", s)
    if match is None:
        return None
    quarter = _ROMAN.get(match.group(1)) or int(match.group(1))
    written = int(match.group(2)) if match.group(2) else year
    return f"{written:04d}-Q{quarter}" if written else None


def _first_months(s: str, year: int | None) -> str | None:
    match = re.fullmatch(r"(\d{1,2}) tháng (đầu|cuối) năm(?: (\d{4}))?", s)
    if match is None or not 1 <= int(match.group(1)) <= 12:
        return None
    count, written = int(match.group(1)), int(match.group(3)) if match.group(3) else year
    if not written:
        return None
    first, last = (1, count) if match.group(2) == "đầu" else (13 - count, 12)
    return _interval(f"{written:04d}-{first:02d}", f"{written:04d}-{last:02d}")


def _months(s: str, year: int | None) -> str | None:
    parts, separators = _split(s, r"\s+(?:đến|tới|và)\s+|\s*,\s*|\s+-\s+")
    read = []
    for i, part in enumerate(parts):
        match = re.fullmatch(r"tháng\s+(\d{1,2})(?:\s*[/-]\s*(\d{4})|\s+năm\s+(\d{4}))?", part)
        if match is None and i > 0:  # `tháng 9 đến 12/2026`: only a 4-digit year makes `12/2026` a month
            match = re.fullmatch(r"(\d{1,2})/(\d{4})()", part)
        if match is None:
            return None
        written = match.group(2) or match.group(3)
        read.append((int(match.group(1)), int(written) if written else None))
    years = _place_years([month for month, _ in read], [written for _, written in read], year)
    if years is None or not all(1 <= month <= 12 and y >= 1 for (month, _), y in zip(read, years)):
        return None
    points = [f"{y:04d}-{month:02d}" for (month, _), y in zip(read, years)]
    return _ends(points, [written is None for _, written in read], separators)


def _split(s: str, separators: str) -> tuple[list[str], list[str]]:
    """The parts of `s` between matches of `separators`, and those separators, stripped."""
    pieces = re.split(f"({separators})", s)
    return pieces[::2], [separator.strip() for separator in pieces[1::2]]


def _ends(points: list[str], yearless: list[bool], separators: list[str]) -> str | None:
    """The interval from the first point to the last, None where the points are out of order. None too where a
    range (`đến`, `tới`, a dash) ends where it starts and an end has its own month but no year (`yearless`):
    `tháng 2/2025 đến tháng 2` or `31/12/2025 đến 31/12` probably mean the next year, and a wrong value is worse
    than None. A day that takes its month from the next part (`15-15/3/2026`) stays in that month, and a list
    may repeat a point (`ngày 2/9/1945 và 2/9`)."""
    if points != sorted(points):
        return None
    for i, separator in enumerate(separators):
        same = points[i] == points[i + 1]
        if same and separator in ("đến", "tới", "-") and (yearless[i] or yearless[i + 1]):
            return None
    return _interval(points[0], points[-1])


def _place_years(months: list[int], written: list[int | None], document_year: int | None) -> list[int] | None:
    """Each part's year. Written, else the nearest written one: the next part's (`3/4 đến 6/4/2026`),
    one less where the months turn back across New Year (`30/12 đến 2/1/2027`); else the previous
    part's (`10/9/2024 đến 13/9`), one more where they turn back (`25/12/2025 đến 5/1`). With no year
    written at all every part takes the document's, so a range that turns back is not guessed at."""
    if all(y is None for y in written):
        return None if document_year is None else [document_year] * len(months)
    years = list(written)
    for i in reversed(range(len(years) - 1)):
        if years[i] is None and years[i + 1] is not None:
            years[i] = years[i + 1] - (months[i] > months[i + 1])
    for i in range(1, len(years)):
        if years[i] is None:
            years[i] = years[i - 1] + (months[i] < months[i - 1])
    return years


def _days(s: str, year: int | None) -> str | None:
    s = re.sub(r"\bngày\b", " ", s)
    s = re.sub(r"(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s+năm\s+(\d{4}))?", lambda m: "/".join(g for g in m.groups() if g), s)
    s = re.sub(r"(\d{1,2}/\d{1,2})\s+năm\s+(\d{4})", r"\1/\2", s).strip()
    # With a slash the hyphen joins days (`25-27/12`); without one it separates day and month (`20-12`).
    slash = "/" in s
    parts, separators = _split(s, r"\s*(?:đến|tới|và|,|-)\s*" if slash else r"\s*(?:đến|tới|và|,)\s*")
    sep = "/" if slash else "-"
    read = []
    for part in parts:
        match = re.fullmatch(rf"(\d{{1,2}})(?:{sep}(\d{{1,2}})(?:{sep}(\d{{4}}))?)?", part)
        if match is None:
            return None
        day, month, written = match.groups()
        read.append([int(day), int(month) if month else None, int(written) if written else None])
    yearless = [month is not None and written is None for _, month, written in read]
    following = None
    for part in reversed(read):  # a missing month is the next part's: `16 đến 19/3`
        part[1] = part[1] if part[1] is not None else following
        following = part[1]
    if any(month is None for _, month, _ in read):
        return None
    years = _place_years([month for _, month, _ in read], [written for _, _, written in read], year)
    points = None if years is None else [_day(day, month, y) for (day, month, _), y in zip(read, years)]
    if points is None or None in points:
        return None
    # In order, so that `ngày 5-4 đến 10/5` (days 5 and 4 of May) or a reversed range is None, not a guess.
    return _ends(points, yearless, separators)
