"""Words to PhoBERT subwords, and windows over sentences longer than the model allows.

Each word is tokenized on its own (`FastPhobertTokenizer.encode_words` at inference, any
PhoBERT tokenizer in training), so subwords never cross a word boundary; the first subword
of a word carries its label (training) and its prediction (inference). Sentences over the
limit are cut into overlapping windows on word boundaries; each word's prediction is taken
from the window where it sits furthest from an edge.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from .truncation import note_truncation

MAX_LENGTH = 256  # PhoBERT's position limit, <s> and </s> included
MAX_SUBWORDS = MAX_LENGTH - 2
_CACHED_WORDS = 200_000  # per aligner: a model's vocabulary of words seen, bounded on odd input


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
        return self.words_ids([word])[0]

    def words_ids(self, words: Sequence[str]) -> list[tuple[int, ...]]:
        """Each word's subword ids; the words not seen before go to the tokenizer in one call."""
        cache = self._cache
        missing = [w for w in dict.fromkeys(words) if w not in cache]
        if not missing:
            return list(map(cache.__getitem__, words))
        found = dict(zip(missing, self._encode(missing)))
        room = max(0, _CACHED_WORDS - len(cache))
        cache.update(found if room >= len(found) else dict(list(found.items())[:room]))
        return [cache.get(w) or found[w] for w in words]

    def _encode(self, words: list[str]) -> list[tuple[int, ...]]:
        encode_words = getattr(self.tokenizer, "encode_words", None)  # FastPhobertTokenizer's batch path
        if encode_words is not None:
            encoded = encode_words(words)
        else:
            encoded = [tuple(self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(w))) for w in words]
        # A word whose every character the tokenizer dropped (controls, odd symbols) still needs a position.
        return [tuple(ids) or (self.tokenizer.unk_token_id,) for ids in encoded]

    def windows(self, words: Sequence[str]) -> list[Window]:
        """Overlapping windows covering every word; a sentence that fits gives one window."""
        pieces = self.words_ids(words)
        sizes = list(map(len, pieces))
        if pieces and sum(sizes) <= self.max_subwords:  # nearly every sentence: one window, built in C
            ids = (self.tokenizer.cls_token_id, *itertools.chain.from_iterable(pieces), self.tokenizer.sep_token_id)
            return [Window(ids, 0, len(pieces), tuple(itertools.accumulate(sizes[:-1], initial=1)))]
        return self._sliding_windows(pieces, sizes)

    def _sliding_windows(self, pieces: list[tuple[int, ...]], sizes: list[int]) -> list[Window]:
        """The windows of a sentence longer than one window (any sentence, in tests), words cut to fit."""
        for index, size in enumerate(sizes):
            if size > self.max_subwords:
                self.truncated_words += 1
                note_truncation("word", f"{size} subwords cut to {self.max_subwords}")
                pieces[index], sizes[index] = pieces[index][: self.max_subwords], self.max_subwords
        windows: list[Window] = []
        start = 0
        while start < len(pieces):
            end, used = start, 0
            while end < len(pieces) and used + sizes[end] <= self.max_subwords:
                used += sizes[end]
                end += 1
            windows.append(self._window(pieces, start, end))
            if end == len(pieces):
                break
            # Step back from `end` by up to `overlap` subwords so the next window shares context.
            next_start, back = end, 0
            while next_start - 1 > start and back + sizes[next_start - 1] <= self.overlap:
                next_start -= 1
                back += sizes[next_start]
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
