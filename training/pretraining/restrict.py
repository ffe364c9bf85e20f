"""A restricted PhoBERT vocabulary: its N most frequent tokens plus every token our own text uses.

PhoBERT's `vocab.txt` lists each token with its count in PhoBERT's 20 GB pretraining text, so
the top N is a principled list. Dropped tokens are simply absent from the written vocab.txt;
PhobertTokenizer then maps them to <unk>, whose row becomes the mean of the dropped rows.

With `trim` (training.pretraining.bpe_closure), the vocabulary also keeps the pieces that build
each kept token and bpe.codes only the merges that make them, so a word made of dropped tokens
splits into smaller kept pieces instead of reading as <unk>, while kept words are cut as before.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class VocabEntry:
    token: str
    count: int


def read_vocab_counts(path: str | Path) -> list[VocabEntry]:
    """The `token count` lines of a fastBPE vocab.txt, in file order; InputError naming the file and line."""
    from viextract.inputs import InputError, decode_utf8

    path = Path(path)
    entries = []
    # Lines as PhobertTokenizer reads them (text mode: \n, \r\n or \r; splitlines would also cut at U+2028).
    lines = io.StringIO(decode_utf8(path.read_bytes(), str(path)), newline=None).readlines()
    for number, line in enumerate(lines, start=1):
        token, _, count = line.strip().rpartition(" ")
        if not token or not count.isdigit():  # a blank line too: PhobertTokenizer refuses it
            raise InputError(f"{path}:{number}: expected 'token count', got {line.rstrip(chr(10))!r}")
        entries.append(VocabEntry(token, int(count)))
    return entries


def text_tokens(tokenizer, sentences: Iterable[Sequence[str]]) -> list[str]:
    """Every subword token (with repeats) PhobertTokenizer gives the word-segmented sentences."""
    tokens: list[str] = []
    for words in sentences:
        if words:
            tokens.extend(tokenizer.tokenize(" ".join(words)))
    return tokens


def select_vocab(entries: Sequence[VocabEntry], top_n: int | None, required: Iterable[str]) -> list[VocabEntry]:
    """The kept entries, in file order: the `top_n` most counted (all if None) and every required one."""
    if top_n is None or top_n >= len(entries):
        return list(entries)
    ranked = sorted(range(len(entries)), key=lambda i: (-entries[i].count, i))
    keep = set(ranked[:top_n])
    wanted = set(required)
    keep.update(i for i, e in enumerate(entries) if e.token in wanted)
    return [entries[i] for i in sorted(keep)]


def coverage(tokens: Sequence[str], kept: set[str]) -> float:
    """Share of `tokens` (subword occurrences) that stay in the vocabulary."""
    return sum(t in kept for t in tokens) / max(len(tokens), 1)


def restrict_rows(
    full_tokens: Sequence[str], full_rows: np.ndarray, kept_tokens: Sequence[str], unk: str = "<unk>"
) -> np.ndarray:
    """Rows of `kept_tokens` (full tokenizer order -> kept order); <unk> = mean of the dropped rows."""
    index = {t: i for i, t in enumerate(full_tokens)}
    rows = full_rows[[index[t] for t in kept_tokens]].copy()
    dropped = np.ones(len(full_tokens), dtype=bool)
    dropped[[index[t] for t in kept_tokens]] = False
    if dropped.any():
        rows[list(kept_tokens).index(unk)] = full_rows[dropped].mean(axis=0)
    return rows


def write_vocab(entries: Sequence[VocabEntry], path: Path) -> None:
    path.write_text("".join(f"{e.token} {e.count}\n" for e in entries), encoding="utf-8")


def restricted_vocab(
    entries: Sequence[VocabEntry], merges: list[str], top_n: int, ours: set[str], trim: bool = True
) -> tuple[list[VocabEntry], list[str]]:
    """(vocab.txt entries, bpe.codes lines): top N + our text's tokens, + with `trim` the pieces that build them.

    Pieces PhoBERT's vocabulary lacks get count 0; the builder transfers their embeddings from e5 too.
    """
    from .bpe_closure import prune

    kept = select_vocab(entries, top_n, ours)
    if not trim:
        return kept, merges
    counts = {e.token: e.count for e in entries}
    tokens, merges = prune([e.token for e in kept], merges)
    return [VocabEntry(t, counts.get(t, 0)) for t in tokens], merges
