import pytest

from viextract.sentences import split_sentences


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_at_full_stop_before_capital_and_at_newlines():
    text = "Hai bên hội đàm. Đoàn sang thăm Lào!\nKết thúc hội đàm."
    assert sentences(text) == ["Hai bên hội đàm.", "Đoàn sang thăm Lào!", "Kết thúc hội đàm."]


def test_does_not_split_after_abbreviation_or_initial():
    assert sentences("Đoàn đến TP. Hồ Chí Minh hôm qua.") == ["Đoàn đến TP. Hồ Chí Minh hôm qua."]
    assert sentences("Ông A. Smith phát biểu.") == ["Ông A. Smith phát biểu."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Văn A. Sau đó ông về nước.", ["Nguyễn Văn A.", "Sau đó ông về nước."]),
        ("Bị cáo Trần Thị B. Hai bên tranh luận.", ["Bị cáo Trần Thị B.", "Hai bên tranh luận."]),
        ("Ông Lê Văn C. Tại đây ông phát biểu.", ["Ông Lê Văn C.", "Tại đây ông phát biểu."]),
        ("Các ông Nguyễn Văn A, Trần Văn B. Hai người ký.", ["Các ông Nguyễn Văn A, Trần Văn B.", "Hai người ký."]),
    ],
)
def test_a_placeholder_name_ends_the_sentence_after_its_letter(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ngoại trưởng Mỹ H. Clinton phát biểu.",  # a capitalised word before, but no surname
        "Tổng thống George W. Bush đến Hà Nội.",
        "Chị Nguyễn T. Hà cho biết.",  # a surname right before the letter: an initial inside the name
        "Chị Nguyễn Thị H. (30 tuổi) cho biết.",  # a placeholder, but no sentence starts after it
        "Anh Lê Văn C. cho biết thêm.",
        "Đoàn đến TP. Hồ Chí Minh hôm qua.",
    ],
)
def test_initials_and_abbreviations_near_names_stay_in_the_sentence(text):
    assert sentences(text) == [text]


def test_does_not_split_inside_numbers_or_before_lowercase():
    assert sentences("Tăng 3.5 lần so với 10.10.2025 năm trước.") == ["Tăng 3.5 lần so với 10.10.2025 năm trước."]
    assert sentences("Chiều tối 10/10. tại thủ đô Vientiane") == ["Chiều tối 10/10. tại thủ đô Vientiane"]


def test_date_at_sentence_end_still_ends_the_sentence():
    expected = ["Hội nghị diễn ra ngày 10/10.", "Hai bên ký kết."]
    assert sentences("Hội nghị diễn ra ngày 10/10. Hai bên ký kết.") == expected


def test_news_end_marker_and_quotes():
    text = "Quan hệ “hữu nghị vĩ đại.” Hai bên nhất trí./."
    assert sentences(text) == ["Quan hệ “hữu nghị vĩ đại.”", "Hai bên nhất trí./."]


def test_empty_and_whitespace():
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []


def test_a_line_wrapped_mid_sentence_is_one_sentence():
    # Hard-wrapped text (mail, PDF copies): a break before a lower-case word continues the sentence.
    wrapped = "Đại tướng Phan Văn Giang đã hội đàm\nvới Thượng tướng Chansamone,\nhai bên ký kết."
    assert sentences(wrapped) == [wrapped]
    assert sentences(wrapped.replace("\n", "  \r\n ")) == [wrapped.replace("\n", "  \r\n ")]  # CRLF, spaces


def test_line_breaks_that_end_a_sentence_still_do():
    assert sentences("Hai bên hội đàm\nKết thúc hội đàm") == ["Hai bên hội đàm", "Kết thúc hội đàm"]  # capital
    assert sentences("Hội đàm kết thúc.\nsau đó hai bên") == ["Hội đàm kết thúc.", "sau đó hai bên"]  # full stop
    assert sentences("Nội dung:\nhợp tác") == ["Nội dung:", "hợp tác"]
    assert sentences("Hai bên hội đàm\n\nsau đó") == ["Hai bên hội đàm", "sau đó"]  # a blank line
    assert sentences("Hai bên hội đàm\r\n\r\nsau đó") == ["Hai bên hội đàm", "sau đó"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_bundled_model_reads_hard_wrapped_text_as_the_unwrapped_text(newline):
    from viextract import extract

    line = (
        "Sáng 15/3, tại Thủ đô Vientiane, Đại tướng Phan Văn Giang, Bộ trưởng Bộ Quốc phòng Việt Nam, "
        "đã hội đàm với Thượng tướng Chansamone Chanyalath, Bộ trưởng Quốc phòng Lào."
    )
    # Wrapped before lower-case words only: each such break was a sentence end, and the relations
    # across it were lost (7 -> 2).
    wrapped = line.replace(" tướng Phan", newline + "tướng Phan").replace(" phòng Việt", newline + "phòng Việt")
    wrapped = wrapped.replace(" đã hội đàm", newline + "đã hội đàm")
    flat = lambda text: " ".join(text.split())  # noqa: E731
    one, other = extract(line), extract(wrapped)
    assert [(e.label, e.text) for e in one.entities] == [(e.label, flat(e.text)) for e in other.entities]
    assert [(flat(r.head.text), r.label, flat(r.tail.text)) for r in other.relations] == [
        (r.head.text, r.label, r.tail.text) for r in one.relations
    ]
    assert len(one.relations) == 7
