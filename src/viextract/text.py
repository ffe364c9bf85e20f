"""From the caller's string to sentences of words with exact offsets: the one text pipeline.

Inference and training both call `prepare_text`, so the words a model is trained on are
the words it is later asked about.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .normalize import NormalizedText, normalize_text
from .segment import (
    DEFAULT_SEGMENTER,
    SEGMENTERS,
    Word,
    get_segmenter,
    group_tokens,
    merge_groups,
    pyvi_word_starts,
)
from .sentences import split_sentences
from .tokens import char_classes, split_tokens
from .truncation import note_truncation

logger = logging.getLogger(__name__)

# Longer sentences (in syllables and punctuation marks) are cut into pieces of this size:
# it bounds the segmenter's work and the number of relation candidates per sentence.
MAX_SENTENCE_TOKENS = 400
# Where a long sentence is best cut: after a mark that ends a clause, never inside a name.
_CLAUSE_MARKS = frozenset(",;:")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the original string: `start`/`end` and each word's offsets index it."""

    start: int
    end: int
    words: tuple[Word, ...]


@dataclass(frozen=True)
class PreparedText:
    normalized: NormalizedText
    sentences: tuple[Sentence, ...]


def prepare_text(
    text: str,
    segmenter: str = DEFAULT_SEGMENTER,
    split_at: Collection[int] = (),
) -> PreparedText:
    """Normalise, split into sentences, segment into words; offsets point into `text`.

    `split_at` holds original offsets where a word must end (gold entity boundaries when
    building training data): the segmenter may not join across them.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    segment = get_segmenter(segmenter)
    norm = normalize_text(text)
    forced = set(split_at)
    pieces: list[list[tuple[int, int]]] = []
    classes = char_classes(norm.text)
    for sent_start, sent_end in split_sentences(norm.text):
        spans = split_tokens(norm.text, sent_start, sent_end, classes=classes)
        if len(spans) > MAX_SENTENCE_TOKENS:
            note_truncation("sentence", f"{len(spans)} tokens, pieces of {MAX_SENTENCE_TOKENS}")
        pieces.extend(cut_long_sentence(norm.text, spans))
    tokens = [[norm.text[a:b] for a, b in piece] for piece in pieces]
    # pyvi, the default, decodes a whole text's sentences in one batch and says where words start.
    fast = pyvi_word_starts(tokens) if segment is SEGMENTERS["pyvi"] else [None] * len(pieces)
    sentences = []
    for piece, piece_tokens, starts in zip(pieces, tokens, fast):
        if starts is None:
            words = _segment_piece(norm, piece, piece_tokens, segment, forced)
        else:
            words = _words_from_starts(norm, piece, piece_tokens, starts, forced)
        sentences.append(Sentence(words[0].start, words[-1].end, tuple(words)))
    return PreparedText(norm, tuple(sentences))


def cut_long_sentence(text: str, spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """`spans` in pieces of at most MAX_SENTENCE_TOKENS tokens, each cut after a clause mark (`,;:`) where its
    second half holds one, else between two lower-case words: a cut at a plain token count can fall inside a
    name (`Đại | tướng`) and split the entity."""
    pieces = []
    start = 0
    while len(spans) - start > MAX_SENTENCE_TOKENS:
        end = start + MAX_SENTENCE_TOKENS
        half = range(end - 1, start + MAX_SENTENCE_TOKENS // 2, -1)
        end = next((i + 1 for i in half if _is_clause_mark(text, spans[i])), None) or next(
            (i + 1 for i in half if _is_lower_word(text, spans[i]) and _is_lower_word(text, spans[i + 1])), end
        )
        pieces.append(spans[start:end])
        start = end
    return [*pieces, spans[start:]] if start < len(spans) else pieces


def _is_clause_mark(text: str, span: tuple[int, int]) -> bool:
    return text[span[0] : span[1]] in _CLAUSE_MARKS


def _is_lower_word(text: str, span: tuple[int, int]) -> bool:
    return text[span[0]].isalpha() and text[span[0]].islower()


def _segment_piece(norm: NormalizedText, spans, tokens: list[str], segment, forced: set[int]) -> list[Word]:
    groups = group_tokens(tokens, segment(tokens))
    if groups is None:
        logger.debug("segmenter output did not line up with the text; using syllables for one sentence")
    words: list[Word] = []
    for indices in merge_groups(tokens, groups):
        # Break the word wherever a forced boundary falls between two of its tokens.
        run = [indices[0]]
        for index in indices[1:]:
            if _forced_between(norm, spans, index, forced):
                words.append(_make_word(norm, spans, tokens, run))
                run = [index]
            else:
                run.append(index)
        words.append(_make_word(norm, spans, tokens, run))
    return words


def _forced_between(norm: NormalizedText, spans, index: int, forced: set[int]) -> bool:
    """Whether a forced boundary falls between token index-1 and token index."""
    return norm.starts[spans[index][0]] in forced or norm.ends[spans[index - 1][1] - 1] in forced


def _words_from_starts(
    norm: NormalizedText, spans, tokens: list[str], starts: list[bool], forced: set[int]
) -> list[Word]:
    """The words whose first tokens `starts` marks, as `_segment_piece` builds them (`_make_word`, inlined:
    this runs for every word of every text)."""
    if forced:
        starts = [start or _forced_between(norm, spans, i, forced) for i, start in enumerate(starts)]
    firsts = [i for i, start in enumerate(starts) if start]
    original_starts, original_ends = norm.starts, norm.ends
    return [
        Word(
            tokens[a] if b - a == 1 else "_".join(tokens[a:b]),
            original_starts[spans[a][0]],
            original_ends[spans[b - 1][1] - 1],
        )
        for a, b in zip(firsts, firsts[1:] + [len(tokens)])
    ]


def _make_word(norm: NormalizedText, spans, tokens: list[str], run: Sequence[int]) -> Word:
    # Spans are never empty, so each maps straight through `starts`/`ends` (span_to_original, unchecked).
    start, end = norm.starts[spans[run[0]][0]], norm.ends[spans[run[-1]][1] - 1]
    return Word(tokens[run[0]] if len(run) == 1 else "_".join([tokens[i] for i in run]), start, end)
