"""A library inside other people's pipelines must never take them down: odd input, big input,
threads, interrupted saves."""

import re
import subprocess
import sys
import textwrap
import threading
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.grapheme_helpers import CLUSTER_PIECES, check_clusters_and_edges
from viextract import Extraction, Extractor


@pytest.fixture(scope="module")
def full_extractor(tiny_tokenizer_dir, tmp_path_factory):
    """NER + relations, with every candidate pair a relation (see build_tiny_full_model)."""
    from tests.relation_helpers import build_tiny_full_model

    root = build_tiny_full_model(tiny_tokenizer_dir, tmp_path_factory.mktemp("full"))
    return Extractor.from_pretrained(root, device="cpu")


ODD_INPUTS = {
    "nfd": unicodedata.normalize("NFD", "Trung tướng Lê Đức Thái thăm Lào, Cộng hòa Dân chủ Nhân dân Lào."),
    "mixed_normalisation": "Hòa bình " + unicodedata.normalize("NFD", "Hoà bình") + " thủy thuỷ Việt Nam-Lào.",
    "emoji_and_astral": "Việt Nam 🇻🇳🤝🇱🇦 Lào 𝕏𝕐 😀\u0301 họp.",
    "zero_width_and_controls": "Bộ\u200bQuốc\u200dphòng\x00\x07\x1b[31m Lào\ufeff\u00ad.",
    "html": "<p>Chiều <b>12/12</b>, tại <a href='x'>Hà Nội</a>&nbsp;&amp;</p><br/>",
    "tabs_and_crlf": "Đoàn đại biểu\tViệt Nam\r\nđến thăm Lào.\r\n\r\nHai bên hội đàm.\r",
    "long_token": "x" * 5000 + " Lào " + "đ" * 3000,
    "no_vietnamese": "The quick brown fox jumps over the lazy dog. 12345 !!!",
    "only_punctuation": "./. … “” -- // ,,, ???",
    "lone_marks": "\u0301\u0323 \u0303",
    "surrogate_free_private_use": "\ue000\U000f0000 Lào",
}


def check_valid(text: str, result: Extraction) -> None:
    assert result.text == text
    previous_end = 0
    for entity in result.entities:
        assert entity.text == text[entity.start : entity.end]
        assert previous_end <= entity.start < entity.end  # ordered, no overlaps
        previous_end = entity.end
    check_clusters_and_edges(text, result.entities)  # no split flag or emoji, no symbol at a name's edge
    ids = {id(e) for e in result.entities}
    for relation in result.relations:
        assert id(relation.head) in ids and id(relation.tail) in ids


@pytest.mark.parametrize("name", sorted(ODD_INPUTS))
def test_odd_strings_give_valid_results(full_extractor, name):
    text = ODD_INPUTS[name]
    check_valid(text, full_extractor(text))


def test_a_one_megabyte_document(tiny_extractor, corpus):
    chunk = "\n\n".join(corpus) + "\n\n"
    text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    result = tiny_extractor(text)
    check_valid(text, result)
    assert result.entities[-1].end > 900_000  # the end of the document was read, not cut off


def test_ten_thousand_one_word_documents(tiny_extractor):
    texts = ["Lào", "Hà Nội", "", "."] * 2500
    results = list(tiny_extractor.pipe(texts, batch_size=64))
    assert len(results) == len(texts)
    for text, result in zip(texts, results):
        check_valid(text, result)


_SYLLABLES = (
    "Việt Nam Lào Bộ trưởng Quốc phòng Trung tướng hội đàm ký kết Biên bản ghi nhớ tại Hà Nội Vientiane ngày 10/10 năm"
    " 2025 hòa thuỷ"
).split()
_NAMES = ["Lê Đức Thái", "Khamlieng Outhakaysone", "Thongsavanh Phomvihane", "Bộ Ngoại giao", "Việt Nam-Lào"]
_ODD = [" ", "  ", "\n", "\r\n", "\t", ".", ",", "-", "–", "/", "(", ")", "“", "”", "…", "./.", "😀", "𝕏", "\u200b",
        "\x00", "\u0301", "<b>", "&amp;", "TP.", "3.5", *CLUSTER_PIECES]  # fmt: skip
generated_text = st.lists(st.sampled_from(_SYLLABLES + _NAMES + _ODD), max_size=60).map(" ".join) | st.lists(
    st.sampled_from(_SYLLABLES + _NAMES + _ODD), max_size=60
).map("".join)


@given(generated_text)
def test_any_generated_text_gives_valid_and_repeatable_results(full_extractor, text):
    first = full_extractor(text)
    check_valid(text, first)
    assert full_extractor(text) == first


@given(st.lists(generated_text, min_size=1, max_size=6))
def test_batch_size_does_not_change_results(full_extractor, texts):
    one, many = list(full_extractor.pipe(texts, batch_size=1)), list(full_extractor.pipe(texts, batch_size=16))
    assert [without_scores(r) for r in one] == [without_scores(r) for r in many]
    # Padding changes float sums in the last bits, which can move a score rounded to 4 places by 1e-4.
    assert all(abs(a - b) <= 2e-4 for r, s in zip(one, many) for a, b in zip(scores(r), scores(s)))


def without_scores(result: Extraction) -> tuple:
    entities = [(e.start, e.end, e.label) for e in result.entities]
    return result.text, entities, [(r.head.start, r.tail.start, r.label) for r in result.relations]


def scores(result: Extraction) -> list[float]:
    return [e.score for e in result.entities] + [r.score for r in result.relations]


def test_one_extractor_shared_by_four_threads(full_extractor, corpus):
    corpus = [text[:1500] for text in corpus]  # threshold 0 scores every pair: keep the work small
    expected = [full_extractor(text) for text in corpus]
    assert sum(len(result.relations) for result in expected) > 0
    # Each thread starts at another text, so different texts go through the extractor at the same time.
    rotated = [corpus[worker:] + corpus[:worker] for worker in range(4)]
    results: dict[int, list[Extraction]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)  # all four at once: one pass each overlaps, no need to repeat the corpus

    def work(worker: int) -> None:
        start.wait()
        try:
            results[worker] = [full_extractor(text) for text in rotated[worker]]
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for worker in range(4):
        assert results[worker] == expected[worker:] + expected[:worker]


def test_a_save_killed_midway_leaves_the_previous_model_intact(tiny_ner_dir, tmp_path, corpus):
    target = tmp_path / "model"
    Extractor.from_pretrained(tiny_ner_dir, device="cpu").save_pretrained(target)
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    # A child process starts saving over `target` and is SIGKILLed once the weights are written.
    script = textwrap.dedent(f"""
        import os, signal
        from viextract import Extractor
        extractor = Extractor.from_pretrained({str(tiny_ner_dir)!r}, device="cpu")
        def killed(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        extractor.tokenizer.save_pretrained = killed
        extractor.save_pretrained({str(target)!r})
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert completed.returncode == -9
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before
    assert Extractor.from_pretrained(target, device="cpu")(corpus[0]).text == corpus[0]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model"]
    assert all(re.fullmatch(r"\.model\.[0-9]+\.dir\.tmp", name) for name in leftovers)  # never taken for a model


def test_save_replaces_an_existing_model_and_keeps_other_files(tiny_extractor, tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    tiny_extractor.save_pretrained(target)
    assert (target / "stale.txt").read_text() == "old"  # not ours: never deleted (tests/test_saving.py)
    assert (target / "ner" / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_saved_model_directory_is_readable_by_others(tiny_extractor, tmp_path):
    tiny_extractor.save_pretrained(tmp_path / "model")
    assert (tmp_path / "model").stat().st_mode & 0o055 == 0o055  # group and others may read and enter
