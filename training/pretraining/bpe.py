"""Learn a PhoBERT-style BPE vocabulary (fastBPE `bpe.codes` + `vocab.txt`) from segmented words.

`PhobertTokenizer` reads these two files; PhoBERT's own were made by fastBPE on
word-segmented text, where a word is syllables joined by `_`. We learn ours the same way:
symbols are characters, the last one carrying `</w>`; each merge joins the most frequent pair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

END = "</w>"


def _symbols(word: str) -> tuple[str, ...]:
    return (*word[:-1], word[-1] + END)


def learn_bpe(word_counts: Counter[str], num_merges: int, min_count: int = 2) -> list[tuple[str, str, int]]:
    """Merges `(left, right, count)` in the order fastBPE would write them."""
    vocab: dict[tuple[str, ...], int] = {_symbols(w): c for w, c in word_counts.items() if w}
    pair_counts: Counter[tuple[str, str]] = Counter()
    for symbols, count in vocab.items():
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += count
    merges: list[tuple[str, str, int]] = []
    for _ in range(num_merges):
        if not pair_counts:
            break
        # Ties broken by the pair itself so the result does not depend on dict order.
        best, count = max(pair_counts.items(), key=lambda item: (item[1], item[0]))
        if count < min_count:
            break
        merges.append((best[0], best[1], count))
        merged = best[0] + best[1]
        new_vocab: dict[tuple[str, ...], int] = {}
        for symbols, word_count in vocab.items():
            if best[0] not in symbols:
                new_vocab[symbols] = new_vocab.get(symbols, 0) + word_count
                continue
            for pair in zip(symbols, symbols[1:]):
                pair_counts[pair] -= word_count
            out: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == best[0] and symbols[i + 1] == best[1]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            new_symbols = tuple(out)
            for pair in zip(new_symbols, new_symbols[1:]):
                pair_counts[pair] += word_count
            new_vocab[new_symbols] = new_vocab.get(new_symbols, 0) + word_count
        vocab = new_vocab
        pair_counts = Counter({p: c for p, c in pair_counts.items() if c > 0})
    return merges


def apply_bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Subwords of `word` as PhobertTokenizer writes them (`Việt_@@`, `Nam`)."""
    symbols = list(_symbols(word))
    while len(symbols) > 1:
        pairs = [(ranks.get(p, 1 << 60), i) for i, p in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 60:
            break
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    tokens = [s + "@@" for s in symbols[:-1]] + [symbols[-1][: -len(END)]]
    return [t for t in tokens if t]


def build_vocab(
    word_counts: Counter[str], merges: list[tuple[str, str, int]], max_size: int | None = None
) -> Counter[str]:
    """Subword counts over the corpus, plus every single character in both forms (never <unk> in-domain)."""
    ranks = {(a, b): i for i, (a, b, _) in enumerate(merges)}
    counts: Counter[str] = Counter()
    for word, count in word_counts.items():
        for token in apply_bpe(word, ranks):
            counts[token] += count
    chars = {c for word in word_counts for c in word}
    for char in chars:
        counts[char] += 0
        counts[char + "@@"] += 0
    if max_size is not None and len(counts) > max_size:
        keep = {c for c in chars} | {c + "@@" for c in chars}
        ranked = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if t not in keep]
        keep |= set(ranked[: max(0, max_size - len(keep))])
        counts = Counter({t: c for t, c in counts.items() if t in keep})
    return counts


def write_fastbpe(directory: str | Path, merges: list[tuple[str, str, int]], vocab: Counter[str]) -> None:
    """Write `bpe.codes` and `vocab.txt` in fastBPE's formats ("a b count", "token count")."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "bpe.codes", "w", encoding="utf-8") as f:
        for left, right, count in merges:
            f.write(f"{left} {right} {count}\n")
    with open(directory / "vocab.txt", "w", encoding="utf-8") as f:
        for token, count in sorted(vocab.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write(f"{token} {max(count, 1)}\n")


def train_tokenizer(words: Iterable[str], directory: str | Path, num_merges: int, max_vocab: int | None = None):
    """Learn and write a tokenizer from an iterable of segmented words; return a PhobertTokenizer."""
    from transformers import PhobertTokenizer

    counts = Counter(w for w in words if w and not any(c.isspace() for c in w))
    merges = learn_bpe(counts, num_merges)
    write_fastbpe(directory, merges, build_vocab(counts, merges, max_vocab))
    directory = Path(directory)
    return PhobertTokenizer(vocab_file=str(directory / "vocab.txt"), merges_file=str(directory / "bpe.codes"))
