"""FastPhobertTokenizer must give exactly the ids of transformers' PhobertTokenizer, the reference."""

import json
import pickle
import random
import shutil

import pytest
from transformers import PhobertTokenizer

from tests.conftest import REPO, SHARED
from tests.test_robustness import ODD_INPUTS
from viextract.align import SubwordAligner
from viextract.fast_tokenizer import FastPhobertTokenizer, UnsupportedTokenizer
from viextract.loading import load_tokenizer
from viextract.sentences import split_sentences
from viextract.text import prepare_text

PHOBERT_DIR = SHARED / "data" / "phobert_tokenizer"
UD_DIR = SHARED / "data" / "ud_vietnamese_vtb"
BUNDLED = REPO / "src" / "viextract" / "models" / "default"
# Special and added tokens glued to words, whitespace of every kind, the relation markers.
HOSTILE = [
    "a<mask>b <s></s><pad><unk> <s<s>> </s",
    "tab\tx\r\ny\n\nz\u00a0w\u2009v\u3000u\x1cq",
    "@ * người * Lê_Đức_Thái @ # ^ chức_vụ ^ Trung_tướng # a*b#c^d",
    "Việt_Nam@@ @@ @@x </w> x</w>",
    "\u200b\u200d\ufeff\u00ad \x00\x07\x1b[31m",
    "a\ud800b \udfff Hà\ud83d\ude00Nội<mask>\udc80 \ue000\ud800",  # lone surrogates (JSON can escape them)
    "",
    "   ",
]


def documents(name: str) -> list[str]:
    return [json.loads(line)["text"] for line in (REPO / "data" / name).open(encoding="utf-8")]


def sentences_of(texts: list[str]) -> list[str]:
    return [text[a:b] for text in texts for a, b in split_sentences(text)]


def ud_sentences() -> list[str]:
    if not UD_DIR.is_dir():
        pytest.skip(f"UD Vietnamese VTB is not at {UD_DIR} (../shared is absent)")
    return [
        line.split("=", 1)[1].strip()
        for path in sorted(UD_DIR.glob("*.conllu"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("# text")
    ]


TEXT_SETS = {
    "corpus": lambda: sentences_of(documents("corpus.jsonl")),
    "written": lambda: sentences_of(documents("extra_written.jsonl")),
    "ud_vtb": ud_sentences,
    "hostile": lambda: HOSTILE + list(ODD_INPUTS.values()),
}


def tokenizer_dir(name: str):
    directory = {"phobert": PHOBERT_DIR, "bundled_ner": BUNDLED / "ner", "bundled_re": BUNDLED / "re"}[name]
    if not (directory / "vocab.txt").is_file():
        pytest.skip(f"no tokenizer files at {directory}")
    return directory


def reference_ids(slow, text: str) -> list[int]:
    return slow.convert_tokens_to_ids(slow.tokenize(text))


@pytest.mark.parametrize("texts", sorted(TEXT_SETS))
@pytest.mark.parametrize("vocab", ["phobert", "bundled_ner", "bundled_re"])
def test_ids_equal_phobert_tokenizer_on_every_sentence(vocab, texts):
    directory = tokenizer_dir(vocab)
    slow = PhobertTokenizer.from_pretrained(str(directory))
    fast = FastPhobertTokenizer.from_pretrained(directory)
    sentences = TEXT_SETS[texts]()
    assert sentences
    for sentence in sentences:
        assert [t.id for t in fast.encode(sentence)] == reference_ids(slow, sentence), sentence
    words = list(dict.fromkeys(w for sentence in sentences for w in sentence.split(" ")))
    assert fast.encode_words(words) == [tuple(reference_ids(slow, w)) for w in words]
    assert len(fast) == len(slow)
    ids = (fast.cls_token_id, fast.sep_token_id, fast.pad_token_id, fast.unk_token_id, fast.mask_token_id)
    assert ids == (slow.cls_token_id, slow.sep_token_id, slow.pad_token_id, slow.unk_token_id, slow.mask_token_id)


def test_a_restricted_vocabulary_gives_unk_where_phobert_tokenizer_does(tmp_path):
    """Drop a third of vocab.txt: merges still happen, the missing tokens become <unk> in both."""
    source = tokenizer_dir("bundled_ner")
    lines = (source / "vocab.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if random.Random(line).random() > 0.33]
    (tmp_path / "vocab.txt").write_text("".join(kept), encoding="utf-8")
    (tmp_path / "bpe.codes").write_bytes((source / "bpe.codes").read_bytes())
    slow = PhobertTokenizer(vocab_file=str(tmp_path / "vocab.txt"), merges_file=str(tmp_path / "bpe.codes"))
    fast = FastPhobertTokenizer.from_pretrained(tmp_path)
    sentences = sentences_of(documents("corpus.jsonl")) + HOSTILE
    unknown = 0
    for sentence in sentences:
        expected = reference_ids(slow, sentence)
        assert [t.id for t in fast.encode(sentence)] == expected, sentence
        unknown += expected.count(slow.unk_token_id)
    assert unknown > 100  # the restriction did bite
    assert fast.mask_token_id == slow.mask_token_id and len(fast) == len(slow)


def test_offsets_point_at_each_subword_in_the_text():
    fast = FastPhobertTokenizer.from_pretrained(tokenizer_dir("bundled_ner"))
    for text in documents("corpus.jsonl")[:2] + HOSTILE:
        tokens, strings = fast.encode(text), fast.tokenize(text)
        previous = 0
        for token, string in zip(tokens, strings):
            assert previous <= token.start < token.end <= len(text)
            previous = token.end
            if token.id != fast.unk_token_id:  # `Vi@@` covers `Vi`
                assert text[token.start : token.end] == string.removesuffix("@@")
        # Concatenated, the subwords give back the text less its whitespace.
        assert "".join(text[t.start : t.end] for t in tokens).replace("\n", "") == "".join(text.split())


def test_words_tokenized_by_the_aligner_match_the_slow_path():
    directory = tokenizer_dir("bundled_re")
    slow = SubwordAligner(PhobertTokenizer.from_pretrained(str(directory)))
    fast = SubwordAligner(FastPhobertTokenizer.from_pretrained(directory))
    for text in documents("corpus.jsonl")[:2] + list(ODD_INPUTS.values()):
        for sentence in prepare_text(text).sentences:
            words = [w.text for w in sentence.words] + ["@", "*", "#", "^"]
            assert fast.windows(words) == slow.windows(words)


def test_construction_is_cached_and_saving_gives_files_phobert_tokenizer_reads(tmp_path):
    directory = tokenizer_dir("bundled_re")
    fast = FastPhobertTokenizer.from_pretrained(directory)
    assert FastPhobertTokenizer.from_pretrained(directory) is fast
    fast.save_pretrained(tmp_path / "saved")
    again = PhobertTokenizer.from_pretrained(str(tmp_path / "saved"))
    text = "@ * người * Lê_Đức_Thái @ <mask> ^ Việt_Nam"
    assert reference_ids(again, text) == [t.id for t in fast.encode(text)]
    assert [t.id for t in pickle.loads(pickle.dumps(fast)).encode(text)] == [t.id for t in fast.encode(text)]


def test_saving_and_workers_use_the_files_as_loaded_not_as_they_are_now(tmp_path):
    """A model loaded from a folder that is then deleted or retrained still saves (and pickles) its own tokenizer."""
    source = tmp_path / "source"
    shutil.copytree(tokenizer_dir("bundled_re"), source)
    originals = {name: (source / name).read_bytes() for name in ("vocab.txt", "bpe.codes", "tokenizer_config.json")}
    fast = FastPhobertTokenizer.from_pretrained(source)
    text = "@ * người * Lê_Đức_Thái @ <mask> ^ Việt_Nam"
    expected = [t.id for t in fast.encode(text)]
    lines = originals["vocab.txt"].decode("utf-8").splitlines(keepends=True)
    (source / "vocab.txt").write_text("".join(reversed(lines)), encoding="utf-8")  # same size, other ids
    (source / "bpe.codes").unlink()
    fast.save_pretrained(tmp_path / "saved")
    for name, content in originals.items():
        assert (tmp_path / "saved" / name).read_bytes() == content, name
    assert [t.id for t in pickle.loads(pickle.dumps(fast)).encode(text)] == expected


def test_get_vocab_equals_phobert_tokenizers():
    directory = tokenizer_dir("bundled_ner")
    assert (
        FastPhobertTokenizer.from_pretrained(directory).get_vocab()
        == PhobertTokenizer.from_pretrained(str(directory)).get_vocab()
    )


def test_an_empty_added_token_has_its_id_but_splits_nothing_as_in_phobert_tokenizer(tmp_path):
    """An added token `""` (a hand-edited added_tokens.json) crashed construction with a bare IndexError."""
    source = tokenizer_dir("bundled_ner")
    for name in ("vocab.txt", "bpe.codes"):
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "added_tokens.json").write_text(json.dumps({"<mask>": 18079, "": 18080}), encoding="utf-8")
    slow = PhobertTokenizer.from_pretrained(str(tmp_path))
    fast = FastPhobertTokenizer.from_pretrained(tmp_path)
    for text in ["Hà Nội <mask> ab", "", "x"]:
        assert [t.id for t in fast.encode(text)] == reference_ids(slow, text)
    assert fast.encode_words(["Hà", "a<mask>"]) == [tuple(reference_ids(slow, w)) for w in ["Hà", "a<mask>"]]
    assert fast.get_vocab() == slow.get_vocab() and len(fast) == len(slow)


def test_a_config_that_splits_special_tokens_loads_phobert_tokenizer_and_its_ids(tmp_path):
    """`split_special_tokens: true` makes PhobertTokenizer read `<mask>` as BPE pieces; the fast one kept it whole."""
    shutil.copytree(tokenizer_dir("bundled_re"), tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "split_special_tokens": True}), "utf-8")
    with pytest.raises(UnsupportedTokenizer, match="tokenizer_config.json: split_special_tokens"):
        FastPhobertTokenizer(tmp_path / "vocab.txt", tmp_path / "bpe.codes", tmp_path)
    loaded = load_tokenizer(tmp_path, vocab_size=len(PhobertTokenizer.from_pretrained(str(tmp_path))))
    text = "a <mask> ^ b"
    assert loaded.convert_tokens_to_ids(loaded.tokenize(text)) == reference_ids(
        PhobertTokenizer.from_pretrained(str(tmp_path)), text
    )
    assert loaded.convert_tokens_to_ids(loaded.tokenize("<mask>")) != [loaded.mask_token_id]


@pytest.mark.parametrize("field", ["unk_token", "mask_token"])
def test_a_config_that_renames_a_special_token_loads_phobert_tokenizer_and_its_ids(tmp_path, field):
    """PhobertTokenizer numbers the special tokens under the names tokenizer_config.json gives; the fast one
    kept PhoBERT's names, so `<oov>` as the unknown token gave other ids than the reference."""
    shutil.copytree(tokenizer_dir("bundled_ner"), tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    config = {**config, field: "<oov>", "added_tokens_decoder": {}}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), "utf-8")
    with pytest.raises(UnsupportedTokenizer, match=f"tokenizer_config.json: field '{field}' is '<oov>'"):
        FastPhobertTokenizer(tmp_path / "vocab.txt", tmp_path / "bpe.codes", tmp_path)
    slow = PhobertTokenizer.from_pretrained(str(tmp_path))
    loaded = load_tokenizer(tmp_path, vocab_size=len(slow) + 1)
    text = "a <oov> <unk> <mask> b\ud800"
    assert loaded.convert_tokens_to_ids(loaded.tokenize(text)) == reference_ids(slow, text)
