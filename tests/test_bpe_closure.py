"""The pruned vocabulary never needs <unk> for known characters and cuts kept words exactly as before."""

from pathlib import Path

import pytest
from transformers import PhobertTokenizer

from training.pretraining.bpe_closure import prune, read_merge_lines

PHOBERT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "phobert_tokenizer"
WORDS = ["Việt_Nam", "Chansamone", "Chanyalath", "Xi-phăn-đôn", "Bun-nhăng", "Vorachith", "hợp_tác", "biên_giới",
         "Khamlieng", "Outhakaysone", "Thongloun", "Sisoulith", "Hủa_Phăn", "Xiêng_Khoảng", "ĐBQH", "2025-2030"]


def write_pruned(tmp_path, vocab_lines, merge_lines, kept):
    tokens, merges = prune(kept, merge_lines)
    (tmp_path / "vocab.txt").write_text("".join(f"{t} 1\n" for t in tokens), encoding="utf-8")
    (tmp_path / "bpe.codes").write_text("".join(m + "\n" for m in merges), encoding="utf-8")
    return PhobertTokenizer(str(tmp_path / "vocab.txt"), str(tmp_path / "bpe.codes")), tokens


def test_tiny_vocabulary_rare_word_falls_back_to_kept_pieces(tmp_path):
    merges = ["a b 9", "ab c</w> 8", "c d 7", "ab cd</w> 6"]
    (tmp_path / "full").mkdir()
    # Keep `abc` (word end) only: `abcd` must fall back to pieces, never <unk>.
    small, tokens = write_pruned(tmp_path, None, merges, ["abc", "c@@", "d", "a@@", "b@@", "c", "a", "b"])
    assert "ab@@" in tokens  # the piece that builds `abc`
    assert small.tokenize("abc") == ["abc"]
    pieces = small.tokenize("abcd")
    assert "".join(p.replace("@@", "") for p in pieces) == "abcd"
    assert all(small.convert_tokens_to_ids(p) != small.unk_token_id for p in pieces)


@pytest.mark.skipif(not PHOBERT.is_dir(), reason="PhoBERT's tokenizer files live in ../shared/data (absent)")
def test_phobert_pruned_to_3000_tokens_cuts_kept_words_as_before_and_others_without_unk(tmp_path):
    full = PhobertTokenizer(str(PHOBERT / "vocab.txt"), str(PHOBERT / "bpe.codes"))
    lines = (PHOBERT / "vocab.txt").read_text(encoding="utf-8").splitlines()
    kept = [line.rpartition(" ")[0] for line in lines[:3000]]  # vocab.txt is sorted by count
    small, tokens = write_pruned(tmp_path, lines, read_merge_lines(PHOBERT / "bpe.codes"), kept)
    vocabulary, kept_set = set(tokens), set(kept)
    for word in WORDS:
        before, after = full.tokenize(word), small.tokenize(word)
        if all(t in kept_set for t in before):
            assert after == before, word
        assert all(t in vocabulary for t in after), (word, after)
