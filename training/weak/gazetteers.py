"""Word lists for the weak annotator (training/weak/annotate.py) and mention swapping (training/weak/augment.py).

Sources: general knowledge of Vietnamese and Lao government, military ranks and geography,
and the training side of the data (corpus documents 000-003 and data/extra_written.jsonl).

NOT tuned on the test document 004_c7fd43ec24ea10e9: no entry may occur in that document's
text unless it also occurs in another corpus article; tests/test_annotate.py enforces this.
That rule keeps out some obvious entries, deliberately: `Tổng Bí thư`, `Thủ tướng Chính phủ`,
`Bí thư Trung ương Đảng`, `Ủy viên Trung ương`, `Đảng Cộng sản Việt Nam`,
`Đảng Nhân dân Cách mạng Lào`, `Chính phủ Việt Nam`, `Lễ kỷ niệm`, `Đại hội`, `đồng chí`, the leaders
named only there, and even `Hà Nội` (the other articles name it only in page furniture, which is
cut from the annotated text).
Add them once the test figures no longer matter (or when annotating other text).

Entries are written in any tone style; matching normalises both sides (viextract.normalize).
"""

from __future__ import annotations

# Word lists read better packed, so the formatter leaves them alone.
# fmt: off

# Military and police ranks: swapped only with each other by augmentation.
RANKS: tuple[str, ...] = (
    "Đại tướng", "Thượng tướng", "Trung tướng", "Thiếu tướng",
    "Đại tá", "Thượng tá", "Trung tá", "Thiếu tá",
    "Đại úy", "Thượng úy", "Trung úy", "Thiếu úy",
    "Đô đốc", "Phó Đô đốc", "Chuẩn Đô đốc",
)

OFFICES: tuple[str, ...] = (
    "Bộ trưởng", "Thứ trưởng", "Thứ trưởng Thường trực",
    "Bộ trưởng Quốc phòng", "Bộ trưởng Ngoại giao", "Bộ trưởng Công an",
    "Thứ trưởng Quốc phòng", "Thứ trưởng Ngoại giao",
    "Tư lệnh", "Phó Tư lệnh", "Chính ủy", "Phó Chính ủy",
    "Chủ tịch nước", "Phó Chủ tịch nước", "Chủ tịch", "Phó Chủ tịch", "Chủ tịch Đảng",
    "Chủ tịch Quốc hội", "Phó Chủ tịch Quốc hội",
    "Thủ tướng", "Phó Thủ tướng", "Ủy viên Bộ Chính trị", "Thường trực Ban Bí thư",
    "Bí thư Tỉnh ủy", "Đại sứ", "Tổng Lãnh sự", "Quốc vụ khanh",
    "Trưởng đoàn", "trưởng đoàn", "Phó Trưởng đoàn", "Trưởng đoàn Đại biểu biên giới",
    "Tỉnh trưởng", "Phó Tỉnh trưởng", "Chỉ huy trưởng", "Phó Chỉ huy trưởng",
    "Giám đốc", "Phó Giám đốc", "Cục trưởng", "Trưởng ban", "Phó Trưởng ban",
    "Tổng Tham mưu trưởng", "Đồn trưởng", "Thư ký thường trực", "Chủ nhiệm",
)

TITLES: tuple[str, ...] = RANKS + OFFICES

ORGANISATIONS: tuple[str, ...] = (
    # Ministries (Vietnam and Laos)
    "Bộ Quốc phòng", "Bộ Ngoại giao", "Bộ Công an", "Bộ Nội vụ", "Bộ Tài chính", "Bộ Công Thương",
    "Bộ Kế hoạch và Đầu tư", "Bộ Giáo dục và Đào tạo", "Bộ An ninh", "Bộ Giáo dục và Thể thao",
    "Bộ Lao động và Phúc lợi xã hội", "Bộ Ngoại giao và Hợp tác quốc tế",
    # Armed forces
    "Bộ Tư lệnh Bộ đội Biên phòng", "Bộ đội Biên phòng", "Quân đội Nhân dân Việt Nam",
    "Quân đội nhân dân Việt Nam", "Quân đội Nhân dân Lào", "Bộ Tổng Tham mưu", "Quân khu 4",
    # Party and state bodies
    "Bộ Chính trị", "Ban Bí thư", "Ban Đối ngoại Trung ương", "Ban Tuyên giáo Trung ương",
    "Văn phòng Quốc hội", "Quốc hội Việt Nam", "Quốc hội Lào", "Chính phủ Lào",
    "Học viện Chính trị quốc gia Hồ Chí Minh",
    # International bodies and agencies
    "ASEAN", "Liên hợp quốc", "TTXVN", "Thông tấn xã Việt Nam", "KPL",
)

COUNTRIES: tuple[str, ...] = (
    "Việt Nam", "Lào", "Campuchia", "Trung Quốc", "Thái Lan", "Myanmar", "Malaysia", "Singapore",
    "Indonesia", "Philippines", "Brunei", "Timor-Leste", "Nhật Bản", "Hàn Quốc", "Ấn Độ", "Liên bang Nga",
    "Hoa Kỳ", "Australia", "Cuba", "Triều Tiên",
    # `Anh`, `Đức`, `Nga`, `Mỹ` are left out: they are also syllables of personal names.
)

VIETNAMESE_PROVINCES: tuple[str, ...] = (
    "An Giang", "Bà Rịa-Vũng Tàu", "Bạc Liêu", "Bắc Giang", "Bắc Kạn", "Bắc Ninh", "Bến Tre", "Bình Dương",
    "Bình Định", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Cần Thơ", "Đà Nẵng", "Đắk Lắk",
    "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Tĩnh",
    "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum",
    "Lai Châu", "Lạng Sơn", "Lào Cai", "Lâm Đồng", "Long An", "Nam Định", "Nghệ An", "Ninh Bình",
    "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị",
    "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Huế",
    "Tiền Giang", "Thành phố Hồ Chí Minh", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)

LAO_PROVINCES: tuple[str, ...] = (
    "Vientiane", "Viêng Chăn", "Luang Prabang", "Luông Pha Băng", "Savannakhet", "Champasak", "Chămpaxắc",
    "Khammouane", "Khăm Muồn", "Bolikhamxay", "Bôlykhămxay", "Attapeu", "Sekong", "Salavan", "Saravane",
    "Xiengkhouang", "Xiêng Khoảng", "Houaphanh", "Hủa Phăn", "Phongsaly", "Luang Namtha", "Oudomxay",
    "Bokeo", "Xayaboury", "Sayaboury", "Xaysomboun", "Pakse", "Thakhek", "Viengxay", "Xamneua",
)

# Border gates, ports and other places of the border-cooperation news.
OTHER_PLACES: tuple[str, ...] = (
    "Lao Bảo", "Densavan", "Cầu Treo", "Nam Phao", "Nậm Cắn", "Nậm Xôi", "Cha Lo", "Na Mèo", "Bờ Y",
    "Tây Trang", "Sop Hun", "Mộc Bài", "Bavet", "Vũng Áng", "Cảng quốc tế Lào-Việt", "Hà Khẩu",
    "Phnom Penh", "Bangkok", "Bắc Kinh", "Kuala Lumpur", "Jakarta", "Biển Đông", "Điện Biên Phủ",
    "Svay Rieng", "Ratanakiri", "Vân Nam",
)

PLACES: tuple[str, ...] = VIETNAMESE_PROVINCES + LAO_PROVINCES + OTHER_PLACES

# People named in the training side of the data (never a name found only in the test document).
KNOWN_PERSONS: tuple[str, ...] = (
    "Lê Đức Thái", "Khamlieng Outhakaysone", "Phan Văn Giang", "Nguyễn Minh Vũ", "Maythong Thammavongsa",
    "Sonexay Siphandone", "Lương Cường", "Hồ Chí Minh", "Kaysone Phomvihane", "Souphanouvong",
    "Khamtay Siphandone", "Bùi Thanh Sơn", "Saleumxay Kommasith", "Thongloun Sisoulith",
    "Ngô Văn Thịnh", "Đỗ Minh Hoàng", "Souksavanh Phimmasone", "Nguyễn Văn Hùng", "Bounthong Sisavath",
    "Khamphou Keovongsa", "Trịnh Xuân Dũng", "Lê Quang Vĩnh", "Trần Quốc Bảo", "Nguyễn Thanh Tâm",
    "Bounkhong Lathsavong", "Khampheng Sayavong", "Bounmy Chanthavong", "Vilay Phommachanh",
    "Viengxay Luangrath", "Phan Đình Sáng", "Trần Cẩm Tú", "Trần Thanh Mẫn", "Lò Văn Tiến",
    "Sisouk Vongsavath", "Khamsing Phommavong", "Lê Thanh Bình", "Mai Xuân Trường", "Đặng Thị Ngọc",
)

# Extra names for augmentation only: invented combinations of common Vietnamese and Lao name parts.
VIETNAMESE_SURNAMES: tuple[str, ...] = ("Nguyễn", "Trần", "Lê", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
VIETNAMESE_MIDDLE_NAMES: tuple[str, ...] = ("Văn", "Thị", "Minh", "Quang", "Đức", "Thanh", "Hữu", "Xuân")
VIETNAMESE_GIVEN_NAMES: tuple[str, ...] = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phong")
LAO_GIVEN_NAMES: tuple[str, ...] = ("Bounleua", "Chansamone", "Khamphet", "Phouvong", "Somsack", "Vanxay", "Sengdao")
LAO_FAMILY_NAMES: tuple[str, ...] = ("Keomany", "Phommavong", "Sisavath", "Vongphachanh", "Inthavong", "Souvannaphoum")

# Rules of the weak annotator: words that start or stop a pattern.

# Capitalised heads of a named event; the name runs on until a stop word.
EVENT_TRIGGERS: tuple[str, ...] = (
    "Cuộc họp", "Kỳ họp", "Hội nghị", "Hội đàm", "Hội thảo", "Tham vấn", "Đối thoại", "Diễn đàn",
    "Giao lưu", "Chương trình giao lưu",
)
# Lower-case heads: an event only with an ordinal (`cuộc họp thường niên lần thứ 35`).
EVENT_TRIGGERS_LOWER: tuple[str, ...] = ("cuộc họp", "kỳ họp", "hội nghị")

AGREEMENT_TRIGGERS: tuple[str, ...] = (
    "Hiệp định", "Hiệp ước", "Biên bản", "Nghị định thư", "Thỏa thuận", "Bản ghi nhớ", "Kế hoạch hợp tác",
    "Chương trình hành động", "Chương trình hợp tác", "Công ước", "Tuyên bố chung",
)

# Words that end a name begun by a trigger (function words, verbs, time words).
NAME_STOP_WORDS: frozenset[str] = frozenset(
    "giữa tại vào do với đã sẽ được trong nhằm diễn là của cho khi từ đến tới này sau trước hai các cùng "
    "nhân theo ngày sáng chiều tối hôm lúc thì mà để có không ký bên đồng thời nên vừa đang cũng".split()
)
# Inside an agreement's name these join parts (`Hiệp ước Hữu nghị và hợp tác`); in an event's they end it.
AGREEMENT_JOINERS: frozenset[str] = frozenset({"và", "về", "trên"})

# A person is named after these (lower case: `ông X`).
HONORIFICS: tuple[str, ...] = ("ông", "bà", "Ông", "Bà")

# Verbs of the relation rules.
MEETING_CUES: tuple[str, ...] = ("chào xã giao", "hội đàm", "hội kiến", "tiếp", "gặp", "đón")
SIGNING_CUES: tuple[str, ...] = ("ký kết", "ký")
PARTICIPATION_CUES: tuple[str, ...] = ("tham dự", "dự", "tham gia", "tổ chức")
LOCATION_CUES: tuple[str, ...] = ("tại", "ở")
# Place words between `tại` and the LOC: `tại thủ đô Vientiane`.
PLACE_WORDS: tuple[str, ...] = ("thủ đô", "Thủ đô", "thành phố", "tỉnh", "cửa khẩu")
# fmt: on
