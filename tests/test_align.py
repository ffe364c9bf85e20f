import pytest
from transformers import PhobertTokenizer

from tests.conftest import SHARED
from viextract.align import MAX_SUBWORDS, SubwordAligner, best_window_per_word
from viextract.bio import decode_bio, encode_bio
from viextract.text import prepare_text

PHOBERT_DIR = SHARED / "data" / "phobert_tokenizer"


@pytest.fixture(scope="module")
def phobert():
    if not (PHOBERT_DIR / "vocab.txt").is_file():
        pytest.skip(f"PhoBERT's tokenizer files are not at {PHOBERT_DIR} (../shared is absent)")
    return PhobertTokenizer(vocab_file=str(PHOBERT_DIR / "vocab.txt"), merges_file=str(PHOBERT_DIR / "bpe.codes"))


def test_word_by_word_ids_equal_whole_sentence_ids_on_the_corpus(phobert, corpus):
    """Tokenizing word by word must give exactly what real PhoBERT sees for the whole sentence."""
    aligner = SubwordAligner(phobert)
    for text in corpus:
        for sentence in prepare_text(text).sentences:
            words = [w.text for w in sentence.words]
            joined = phobert.convert_tokens_to_ids(phobert.tokenize(" ".join(words)))
            assert [i for w in words for i in aligner.word_ids(w)] == joined


def test_normalised_words_are_single_phobert_tokens(phobert):
    aligner = SubwordAligner(phobert)
    words = [w.text for s in prepare_text("Cộng hòa Việt Nam-Lào").sentences for w in s.words]
    assert words == ["Cộng_hoà", "Việt_Nam", "-", "Lào"]
    assert all(len(aligner.word_ids(w)) == 1 for w in words)


def test_long_sentence_is_windowed_and_every_word_gets_one_prediction(phobert):
    words = ["hợp_tác", "Việt_Nam", "-", "Lào", "biên_giới"] * 150
    aligner = SubwordAligner(phobert)
    windows = aligner.windows(words)
    assert len(windows) > 1
    assert all(len(w.input_ids) <= MAX_SUBWORDS + 2 for w in windows)
    assert windows[0].first_word == 0 and windows[-1].last_word == len(words)
    for earlier, later in zip(windows, windows[1:]):
        assert later.first_word < earlier.last_word  # windows overlap
    chosen = best_window_per_word(windows, len(words))
    assert all(w >= 0 for w, _ in chosen)
    for word, (w_index, position) in enumerate(chosen):
        window = windows[w_index]
        assert window.first_word <= word < window.last_word
        assert window.input_ids[position] == aligner.word_ids(words[word])[0]


def test_a_word_longer_than_the_window_is_cut_and_counted(phobert):
    aligner = SubwordAligner(phobert)
    windows = aligner.windows(["x" * 5000, "Lào"])
    assert aligner.truncated_words == 1
    assert [(w.first_word, w.last_word) for w in windows] == [(0, 1), (1, 2)]
    assert all(len(w.input_ids) <= 256 for w in windows)


def test_bio_round_trip_and_repair():
    spans = [(0, 2, "PER"), (3, 4, "LOC")]
    tags = encode_bio(5, spans)
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert [(s.start, s.end, s.label) for s in decode_bio(tags)] == spans
    # I- after O starts an entity; I- of another type starts a new one.
    repaired = decode_bio(["O", "I-ORG", "I-ORG", "I-LOC", "B-PER", "I-PER"], [1, 0.5, 0.7, 0.9, 1, 0.8])
    assert [(s.start, s.end, s.label) for s in repaired] == [(1, 3, "ORG"), (3, 4, "LOC"), (4, 6, "PER")]
    assert repaired[0].score == pytest.approx(0.6)
