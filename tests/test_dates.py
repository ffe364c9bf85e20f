"""Issue #21: every DATE form in SCHEMA.md and in the data resolves to ISO 8601, or is knowingly None."""

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.grapheme_helpers import TagEverything
from viextract import Entity, Extraction, Relation
from viextract.dates import blank_header, header_date, normalize_date, with_date_values

REPO = Path(__file__).resolve().parents[1]
DATA = ["corpus.jsonl", "extra_written.jsonl", "written_topics.jsonl"]

# Forms that name no single calendar span, so None is the honest value.
UNRESOLVABLE = {
    "ngày 5, 15 và 25",  # the same days of every month: a recurring schedule, not a date
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15/3", "2026-03-15"),
        ("25-27/12", "2026-12-25/2026-12-27"),
        ("ngày 19 và 20-12", "2026-12-19/2026-12-20"),  # separate days: first to last
        ("quý 4 năm 2026", "2026-Q4"),
        ("quý IV/2027", "2027-Q4"),
        ("giai đoạn 2026-2030", "2026/2030"),
        ("năm 2025", "2025"),
        ("nhiệm kỳ 2021 - 2026", "2021/2026"),
        ("ngày 3/4 đến 6/4/2026", "2026-04-03/2026-04-06"),
        ("tháng 9/2026", "2026-09"),
        ("tháng 9/2026 đến tháng 6/2028", "2026-09/2028-06"),
        ("6 tháng đầu năm 2026", "2026-01/2026-06"),
        ("ngày 16/3/2016", "2016-03-16"),
        ("Chiều tối 10/10", "2026-10-10"),
        ("ngày 30/9 và 1/10", "2026-09-30/2026-10-01"),
        ("ngày 2 đến 5-6", "2026-06-02/2026-06-05"),
        ("ngày 15 tháng 3 năm 2025", "2025-03-15"),
        ("30/12 đến 2/1/2027", "2026-12-30/2027-01-02"),
        # Months across a new year, like days: the first month, its year not written, is the year before.
        ("tháng 11 đến tháng 2/2027", "2026-11/2027-02"),
        ("từ tháng 10 đến tháng 3/2027", "2026-10/2027-03"),
        ("tháng 11/2026 đến tháng 2/2027", "2026-11/2027-02"),
    ],
)
def test_schema_forms(text, value):
    assert normalize_date(text, "2026-06-15") == value
    assert normalize_date(text, dt.date(2026, 6, 15)) == value


@pytest.mark.parametrize(
    "text", ["31/2", "ngày 30/2/2026", "quý 4", "15/13", "đầu năm", "những ngày qua", "27-25/12", "năm 0000"]
)
def test_impossible_or_vague_dates_are_none(text):
    assert normalize_date(text) is None
    assert normalize_date(text, "2026-06-15") is None or text == "quý 4"


@pytest.mark.parametrize(
    ("text", "document_date", "value"),
    [
        # A part without a year takes the nearest written one, not the document's.
        ("ngày 10/9/2024 đến 13/9", "2026-06-15", "2024-09-10/2024-09-13"),
        ("ngày 2/9/1945 và 2/9", "2026-06-15", "1945-09-02"),
        ("15 tháng 3 năm 2025 đến 20 tháng 3", "2026-06-15", "2025-03-15/2025-03-20"),
        ("tháng 9/2024 đến tháng 12", "2026-06-15", "2024-09/2024-12"),
        # ... one year on where the months turn back across New Year after it, one year before ahead of it.
        ("tháng 12/2025 - tháng 2", "2027-06-15", "2025-12/2026-02"),
        ("ngày 25/12/2025 đến 5/1", "2027-01-10", "2025-12-25/2026-01-05"),
        ("ngày 30/12, 31/12 và 1/1/2027", None, "2026-12-30/2027-01-01"),
        # With no year written, every part is in the document's year: a range that turns back is not guessed at.
        ("ngày 30/12 đến 2/1", "2026-12-20", None),
        ("ngày 20/5 đến 10/3", "2026-06-15", None),
        ("tháng 5 đến tháng 3", "2026-06-15", None),
        ("ngày 15/6 và 10/3", "2026-06-15", None),
        # Every part in order, not only the first and last: `5-4` beside a slash is days 5 and 4 of May.
        ("ngày 5-4 đến 10/5", "2026-06-15", None),
        ("ngày 3, 10 và 5/6", "2026-06-15", None),
        # A day that does not exist in the year it lands in is None, not an exception.
        ("29/2 đến 10/1", "2024-06-15", None),
        ("29/2 đến 1/1/2024", None, None),
        ("30/12 đến 2/1/0001", None, None),
        ("tháng 11 đến tháng 2/0001", None, None),
        ("năm 20262027", None, None),
    ],
)
def test_years_of_parts_written_without_one(text, document_date, value):
    assert normalize_date(text, document_date) == value


@pytest.mark.parametrize(
    ("text", "document_date", "value"),
    [
        # A range that ends where it starts, with a year placed rather than written on one end, probably means
        # the next year: None, not a guess. A list may repeat a day, and both ends written may be one day.
        ("tháng 2/2025 đến tháng 2", None, None),
        ("ngày 31/12/2025 đến 31/12", None, None),
        ("ngày 31/12 tới 31/12/2025", None, None),
        ("tháng 2/2025 - tháng 2", None, None),
        ("tháng 2 đến tháng 2", "2026-06-15", None),
        ("ngày 5/6 - 5/6/2026", None, None),
        ("ngày 5-5/6/2026", None, "2026-06-05"),
        ("ngày 2/9/1945 đến 2/9/1945", None, "1945-09-02"),
        ("ngày 2/9/1945 và 2/9", None, "1945-09-02"),
        ("tháng 2/2025 và tháng 2", None, "2025-02"),
    ],
)
def test_a_range_that_ends_where_it_starts(text, document_date, value):
    assert normalize_date(text, document_date) == value


def test_a_range_that_turns_back_is_none_inside_extract_too():
    text = " date 2024-06-15 Nghỉ từ 29/2 đến 10/1."
    span = Entity("29/2 đến 10/1", "DATE", 25, 38, 0.9)
    assert text[25:38] == span.text
    assert with_date_values(Extraction(text, (span,))).entities[0].value is None


def test_no_year_and_no_document_date_is_none():
    assert normalize_date("15/3") is None
    assert normalize_date("quý 4") is None
    assert normalize_date("quý 4", "2026-06-15") == "2026-Q4"


def test_bad_document_date_names_the_argument():
    with pytest.raises(ValueError, match="document_date"):
        normalize_date("15/3", "2026-02-30")
    # Full-width digits are no ISO date; were read as 2026 (a text's ` date` header may still have them)
    with pytest.raises(ValueError, match=r"^document_date must be an ISO date 'YYYY-MM-DD', got '２０２６-03-01'$"):
        normalize_date("15/3", "２０２６-03-01")
    assert normalize_date("15/3", "2026") == normalize_date("15/3", "2026-06") == "2026-03-15"  # as documented
    with pytest.raises(TypeError, match="document_date"):
        normalize_date("15/3", 2026)


def data_dates():
    """(DATE text, the document's date) for every DATE in the annotated data."""
    for name in DATA:
        for line in (REPO / "data" / name).read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            for e in doc["entities"]:
                if e["label"] == "DATE":
                    yield doc["text"][e["start"] : e["end"]], doc.get("date")


def test_every_date_in_the_data_resolves_or_is_listed():
    found = list(data_dates())
    assert len({t for t, _ in found}) > 150
    # A fixed document date where a document has none: this checks the reading of every form.
    missed = {text for text, _ in found if normalize_date(text, "2026-06-15") is None}
    assert missed == UNRESOLVABLE


def test_data_dates_against_their_own_document_dates():
    for text, date in data_dates():
        value = normalize_date(text, date)
        if date and text not in UNRESOLVABLE:
            assert value is not None, text
            assert value[:4].isdigit()


def test_header_and_with_date_values():
    text = " date 2025-10-11 Chiều tối 10/10 tại thủ đô Vientiane, ký Hiệp định."
    assert header_date(text) == "2025-10-11"
    assert header_date(" date 2025-04 Quan hệ") == "2025-04"
    assert header_date("Ngày 10/10") is None
    assert header_date(" date ２０２６-03-15 x") == "2026-03-15"  # ASCII, as ISO 8601 wants
    day = Entity("10/10", "DATE", 27, 32, 0.9)
    deal = Entity("Hiệp định", "AGREEMENT", 58, 67, 0.9)
    place = Entity("Vientiane", "LOC", 44, 53, 0.9, "not a date")
    result = with_date_values(Extraction(text, (day, place, deal), (Relation(deal, day, "date_of", 0.9),)))
    assert [e.value for e in result] == ["2025-10-10", None, None]
    assert result.relations[0].tail is result.entities[0]
    assert with_date_values(result, "2024-01-01").entities[0].value == "2024-10-10"  # the argument wins


def test_the_header_is_blanked_for_the_models_only_when_it_is_one():
    text = " date 2025-10-11 Chiều tối 10/10 tại thủ đô Vientiane."
    blanked = blank_header(text)
    assert len(blanked) == len(text) and blanked == " " * 16 + text[16:]
    for kept in (" date 2025-13-40 Hà Nội.", "Ngày 10/10 tại Hà Nội.", "Hà Nội date 2025-10-11 x."):
        assert blank_header(kept) == kept
    # A byte-order mark before the header (files saved by Notepad keep it) is blanked with it.
    assert header_date("\ufeff" + text) == "2025-10-11"
    assert blank_header("\ufeff" + text) == " " * 17 + text[16:]


def test_no_entity_comes_from_the_header(tiny_extractor, monkeypatch):
    """A model tags a ` date YYYY-MM-DD` header as a DATE unless it never sees it (every word is one here)."""
    monkeypatch.setattr(tiny_extractor, "tagger", TagEverything(tiny_extractor.tagger.aligner))
    text = " date 2025-10-11 Lào.\n\nNgày 10/10."
    result = tiny_extractor(text)
    assert [e.text for e in result.entities] == ["Lào.", "Ngày 10/10."]
    assert [e.start for e in result.entities] == [17, 23]


@pytest.mark.parametrize(
    "text",
    [
        "Ngày\x0015/3/2026",  # a control character the models read as a space
        "Ngày\u200b15/3/2026",  # zero-width space
        "Ngày 1\u00ad5/3/2026",  # a soft hyphen, which the models drop
        "Ngày 15\u20113\u20112026",  # non-breaking hyphens
        "ngày 15\u221215/3/2026",  # a minus sign for the range's hyphen
    ],
)
def test_a_date_found_in_text_with_invisible_or_typographic_characters_gets_its_value(text):
    """The models read these as `Ngày 15/3/2026` and tagged a DATE whose value was None: the dates were read from
    the raw text, where `\\x00`, U+200B and U+00AD are no space and U+2011 no hyphen."""
    assert normalize_date(text) == "2026-03-15"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15 / 3 / 2026", "2026-03-15"),  # spaces around the slashes, as news sites type them
        ("ngày 15 / 3", "2026-03-15"),
        ("tháng 9 / 2026", "2026-09"),
        ("15.3.2026", "2026-03-15"),  # dots, as common in Vietnamese news as slashes
        ("ngày 1.10.2025", "2025-10-01"),
        ("3.4 đến 6.4.2026", "2026-04-03/2026-04-06"),
    ],
)
def test_spaced_slashes_and_dotted_dates(text, value):
    """Both were None: `15 / 3 / 2026` and `15.3.2026` are common in Vietnamese news."""
    assert normalize_date(text, "2026-06-15") == value


@pytest.mark.parametrize("text", ["3.5", "15.3", "năm 2.5", "v1.5.2026", "1.2.3.2026", "15.13.2026", "1.5.26"])
def test_dots_that_are_no_date_stay_none(text):
    """A decimal (`3.5`) or a version number is no date: dots are read only as day.month.year, or as a day.month
    before such a date in one range."""
    assert normalize_date(text, "2026-06-15") is None


@pytest.mark.parametrize(
    ("text", "document_date", "value"),
    [
        ("thứ Hai, 17/3/2025", None, "2025-03-17"),
        ("sáng thứ 2 17/3/2025", None, "2025-03-17"),
        ("Chủ nhật, 16/3", "2025-06-15", "2025-03-16"),
        ("thứ Hai, 5/1", "2026-01-02", "2026-01-05"),
        ("thứ Bảy, 15-17/3/2025", None, "2025-03-15/2025-03-17"),  # the weekday is the first day's
        # A weekday the date contradicts: here 5/1/2025 is a Sunday, so the document's year is not the date's.
        ("thứ Hai, 5/1", "2025-12-31", None),
        ("thứ hai 15/3/2025", None, None),
        ("thứ Tư, 17-19/3/2025", None, None),
        ("thứ Hai, tháng 3/2025", None, None),  # a weekday names a day, not a month
    ],
)
def test_a_written_weekday_must_be_the_dates(text, document_date, value):
    """`thứ Hai, 5/1` in a paper of 31/12/2025 was 2025-01-05, a Sunday: the weekday showed the year wrong."""
    assert normalize_date(text, document_date) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Giỗ Tổ ngày 10/3 âm lịch.", None),
        ("Giỗ Tổ ngày 10/3 (Âm lịch).", None),
        ("Giỗ Tổ ngày 10/3 ÂL.", None),
        ("Giỗ Tổ ngày 10/3 năm Ất Tỵ.", None),  # a year of the sexagenary cycle is a lunar year
        ("Giỗ Tổ ngày 10/3 năm Quý Mão.", None),
        ("Giỗ Tổ ngày 10/3, a\u0302m lịch.", None),  # decomposed â, as some editors save it
        ("Giỗ Tổ ngày 10/3 (tức 18/4 dương lịch).", "2026-03-10"),
        ("Giỗ Tổ ngày 10/3 âlbum.", "2026-03-10"),  # only the mark as a word
    ],
)
def test_a_date_the_text_calls_lunar_gets_no_solar_value(text, value):
    """A DATE span that stops before `âm lịch` (`ngày 10/3`) was read as 10 March, a solar date it is not."""
    start = text.index("ngày")
    span = Entity("ngày 10/3", "DATE", start, start + 9, 0.9)
    assert with_date_values(Extraction(text, (span,)), "2026-06-15").entities[0].value == value


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("Họp vào thứ Hai, 5/1.", "5/1", None),  # 2025-01-05 is a Sunday
        ("Họp ngày 5/1 (thứ Hai).", "ngày 5/1", None),
        ("Họp Chủ nhật 4/1.", "4/1", None),
        ("Họp vào thứ Hai, 6/1.", "6/1", "2025-01-06"),
        # Ordinals, not weekdays: `the second time`, `the 7th session`, `secondly`.
        ("Lần thứ hai, ngày 5/1.", "ngày 5/1", "2025-01-05"),
        ("Kỳ họp thứ 7, ngày 5/1.", "ngày 5/1", "2025-01-05"),
        ("Họp ngày 5/1. Thứ hai, bàn về", "ngày 5/1", "2025-01-05"),
    ],
)
def test_a_weekday_beside_the_span_must_be_the_dates(text, span, value):
    """`thứ Hai, 5/1` with the span on `5/1` alone, in a paper of 31/12/2025, was 2025-01-05, a Sunday."""
    start = text.index(span)
    found = Entity(span, "DATE", start, start + len(span), 0.9)
    assert with_date_values(Extraction(text, (found,)), "2025-12-31").entities[0].value == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("9h30 ngày 15/3/2025", "2025-03-15"),
        ("20 giờ 30 phút ngày 15/3", "2026-03-15"),
        ("09:17 | 20/01/2026", "2026-01-20"),  # a news site's byline, as spans in the data read it
        ("| 20/01/2026", "2026-01-20"),
        ("20h 15/3 đến 17/3", "2026-03-15/2026-03-17"),
        # A time before no day is no date: not `2025`, and `10:15/3` is no time.
        ("10h 2025", None),
        ("9h30", None),
        ("10:15/3/2025", None),
    ],
)
def test_a_time_of_day_before_the_date_is_left_out(text, value):
    """SCHEMA leaves the time of day out of a DATE, but a span that kept it (`9h30 ngày 15/3/2025`) was None."""
    assert normalize_date(text, "2026-06-15") == value
