"""Words to PhoBERT subwords, and windows over sentences longer than the model allows.

PhoBERT's tokenizer is slow-only: it has no offset mapping and no `word_ids()`. So each
word is tokenized on its own; the first subword of a word carries its label (training) and
its prediction (inference). Sentences over the limit are cut into overlapping windows on
word boundaries; each word's prediction is taken from the window where it sits furthest
from an edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .truncation import note_truncation

MAX_LENGTH = 256  # PhoBERT's position limit, <s> and </s> included
MAX_SUBWORDS = MAX_LENGTH - 2


@dataclass(frozen=True)
class Window:
    """Words [first_word, last_word) of one sentence as one model input."""

    input_ids: tuple[int, ...]
    first_word: int
    last_word: int
    # Position in input_ids of each word's first subword, for words first_word..last_word-1.
    word_positions: tuple[int, ...]


class SubwordAligner:
    """Tokenizes words one at a time (cached) and builds model windows from them."""

    def __init__(self, tokenizer, max_subwords: int = MAX_SUBWORDS, overlap: int = 64):
        if max_subwords < 2:
            raise ValueError("max_subwords must be at least 2")
        self.tokenizer = tokenizer
        self.max_subwords = max_subwords
        self.overlap = min(overlap, max_subwords // 2)
        self._cache: dict[str, tuple[int, ...]] = {}
        self.truncated_words = 0  # words cut because one word alone exceeded the window

    def word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._cache.get(word)
        if ids is None:
            ids = tuple(self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(word)))
            if not ids:  # the tokenizer dropped every character (controls, odd symbols)
                ids = (self.tokenizer.unk_token_id,)
            if len(self._cache) < 200_000:
                self._cache[word] = ids
        return ids

    def windows(self, words: Sequence[str]) -> list[Window]:
        """Overlapping windows covering every word; a sentence that fits gives one window."""
        pieces = [self.word_ids(w) for w in words]
        for index, ids in enumerate(pieces):
            if len(ids) > self.max_subwords:
                self.truncated_words += 1
                note_truncation("word", f"{len(ids)} subwords cut to {self.max_subwords}")
                pieces[index] = ids[: self.max_subwords]
        windows: list[Window] = []
        start = 0
        while start < len(pieces):
            end, used = start, 0
            while end < len(pieces) and used + len(pieces[end]) <= self.max_subwords:
                used += len(pieces[end])
                end += 1
            windows.append(self._window(pieces, start, end))
            if end == len(pieces):
                break
            # Step back from `end` by up to `overlap` subwords so the next window shares context.
            next_start, back = end, 0
            while next_start - 1 > start and back + len(pieces[next_start - 1]) <= self.overlap:
                next_start -= 1
                back += len(pieces[next_start])
            start = next_start
        return windows

    def _window(self, pieces: Sequence[tuple[int, ...]], start: int, end: int) -> Window:
        ids = [self.tokenizer.cls_token_id]
        positions = []
        for piece in pieces[start:end]:
            positions.append(len(ids))
            ids.extend(piece)
        ids.append(self.tokenizer.sep_token_id)
        return Window(tuple(ids), start, end, tuple(positions))


def best_window_per_word(windows: Sequence[Window], num_words: int) -> list[tuple[int, int]]:
    """For each word, (window index, position) from the window where it is most central."""
    best: list[tuple[int, int, int]] = [(-1, -1, -1)] * num_words
    for w_index, window in enumerate(windows):
        for offset, position in enumerate(window.word_positions):
            word = window.first_word + offset
            margin = min(offset, window.last_word - window.first_word - 1 - offset)
            if margin > best[word][0]:
                best[word] = (margin, w_index, position)
    return [(w, p) for _, w, p in best]
