from viextract.sentences import split_sentences


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_at_full_stop_before_capital_and_at_newlines():
    text = "Hai bên hội đàm. Đoàn sang thăm Lào!\nKết thúc hội đàm."
    assert sentences(text) == ["Hai bên hội đàm.", "Đoàn sang thăm Lào!", "Kết thúc hội đàm."]


def test_does_not_split_after_abbreviation_or_initial():
    assert sentences("Đoàn đến TP. Hồ Chí Minh hôm qua.") == ["Đoàn đến TP. Hồ Chí Minh hôm qua."]
    assert sentences("Ông A. Smith phát biểu.") == ["Ông A. Smith phát biểu."]


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
