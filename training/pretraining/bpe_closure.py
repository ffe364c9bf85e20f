"""A restricted PhoBERT vocabulary that never needs <unk>: kept tokens, the pieces that build them, pruned merges.

Dropping rows from PhoBERT's vocabulary alone turns every word whose BPE tokens were dropped
into <unk> (2.8% of held-out UD subwords at 20k rows, mostly names). Instead we keep, with each
kept token, every intermediate symbol BPE makes on the way to it, and drop the merges whose
result is not one of those symbols. BPE then stops early on a rare word, at smaller pieces that
are all in the vocabulary (a word of known characters never becomes <unk>), while a word whose
full-vocabulary tokens were all kept is cut exactly as before: each merge BPE applied to it is
on the way to a kept token, so it is still the lowest-ranked merge available at its step.
Both PhobertTokenizer and our fast tokenizer read the pruned `bpe.codes` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

END = "</w>"


def read_merge_lines(path: str | Path) -> list[str]:
    """bpe.codes lines as PhobertTokenizer reads them (split at "\\n", the last piece dropped)."""
    return Path(path).read_text(encoding="utf-8").split("\n")[:-1]


def merge_pair(line: str) -> tuple[str, ...]:
    return tuple(line.split()[:-1])


def token_symbols(token: str) -> list[str]:
    """BPE's starting symbols for a vocabulary token: `ab@@` is a piece inside a word, `ab` ends one."""
    if token.endswith("@@"):
        return list(token[:-2])
    return list(token[:-1]) + [token[-1] + END]


def symbol_token(symbol: str) -> str:
    """The vocabulary token of a BPE symbol (the inverse of token_symbols for one symbol)."""
    return symbol[: -len(END)] if symbol.endswith(END) else symbol + "@@"


def apply_merges(symbols: Sequence[str], ranks: dict[tuple[str, ...], int]) -> tuple[list[str], set[str]]:
    """PhobertTokenizer.bpe on a symbol sequence: the final symbols and every symbol seen on the way."""
    word = list(symbols)
    seen = set(word)
    while len(word) > 1:
        pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
        best = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                merged.append(word[i] + word[i + 1])
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = merged
        seen.update(word)
    return word, seen


def closure_symbols(tokens: Iterable[str], ranks: dict[tuple[str, ...], int]) -> set[str]:
    """Every symbol BPE makes while building each of `tokens` (the tokens' own symbols included)."""
    symbols: set[str] = set()
    for token in tokens:
        if token.replace("@@", ""):
            symbols |= apply_merges(token_symbols(token), ranks)[1]
    return symbols


def prune(kept: Sequence[str], merge_lines: Sequence[str]) -> tuple[list[str], list[str]]:
    """(`kept` + the intermediate tokens that build them, the merge lines whose result is one of those)."""
    pairs = [merge_pair(line) for line in merge_lines]
    ranks = {pair: rank for rank, pair in enumerate(pairs)}
    symbols = closure_symbols(kept, ranks)
    known = set(kept)
    extra = sorted({symbol_token(s) for s in symbols} - known)
    lines = [line for line, pair in zip(merge_lines, pairs) if len(pair) == 2 and "".join(pair) in symbols]
    return list(kept) + extra, lines
