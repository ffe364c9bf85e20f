"""Word segmentation with exact offsets.

Three steps, each keeping character positions:
1. `split_tokens` (tokens.py) cuts a sentence into syllables and punctuation.
2. A segmenter (pyvi by default: README.md gives the measurements) decides which neighbouring syllables form one word.
   It only ever joins our tokens; it cannot move a boundary or change a character.
3. Each word becomes the PhoBERT form (`Việt_Nam`) with its span in the caller's string.
"""

from __future__ import annotations

import functools
import logging
import string
import struct
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .normalize import is_separator
from .pyvi_crf import PyviCrf, UnsupportedModel
from .pyvi_files import light_pyvi, sylabelize
from .tokens import is_word_char, split_tokens  # noqa: F401  (split_tokens: training and tests import it from here)

logger = logging.getLogger(__name__)

# A segmenter takes syllables and returns words, each a string of syllables joined by
# spaces or underscores (underthesea and pyvi style respectively).
Segmenter = Callable[[Sequence[str]], Sequence[str]]


def _underthesea(tokens: Sequence[str]) -> list[str]:
    from underthesea import word_tokenize

    # use_token_normalize=False: underthesea must not rewrite tone marks we already normalised.
    return word_tokenize(" ".join(tokens), use_token_normalize=False)


def _pyvi(tokens: Sequence[str]) -> list[str]:
    """`pyvi.ViTokenizer.tokenize(" ".join(tokens)).split()`, with pyvi's CRF decoded by `PyviCrf`.

    Same syllables, same labels, same joining rule, so the same words (tests/test_text_fast_paths.py
    compares the two on the corpus, the written documents, UD VTB and hostile strings).
    """
    _, syllables = _sylabelize()(" ".join(tokens))
    return _pyvi_words(tokens, syllables, _pyvi_predict()([syllables])[0])


def _pyvi_words(tokens: Sequence[str], syllables: list[str], labels: list[str]) -> list[str]:
    if not syllables:
        return " ".join(tokens).split()
    pieces = [syllables[0]]
    for i in range(1, len(labels)):
        joined = labels[i] == "I_W" and _pyvi_may_join(syllables[i - 1], syllables[i])
        pieces.append(("_" if joined else " ") + syllables[i])
    return "".join(pieces).split()


def pyvi_word_starts(sentences: Sequence[Sequence[str]]) -> list[list[bool]]:
    """Per sentence of tokens, whether each token starts a word: what `merge_groups(tokens,
    group_tokens(tokens, _pyvi(tokens)))` gives, for many sentences in one CRF batch.

    Where pyvi's syllables are the tokens (nearly always), its words are runs of tokens joined by
    `_`, so `group_tokens` puts two neighbours in one group exactly when pyvi joined them and both
    have a skeleton, and `merge_groups` adds that both start with a word character: no string needs
    matching back. Elsewhere (pyvi cuts `2016-2020` at the dash) the words go through both.
    """
    syllables_of = _sylabelize()
    traits = [[_token_traits(token) for token in tokens] for tokens in sentences]
    # No pyvi pattern matches a space, so a sentence whose every token is one syllable is its own syllables.
    syllables = [
        tokens if all(t[0] for t in found) else syllables_of(" ".join(tokens))[1]
        for tokens, found in zip(sentences, traits)
    ]
    out = []
    for tokens, found, labels, tokens_traits in zip(sentences, syllables, _pyvi_predict()(syllables), traits):
        if found is tokens:
            pairs = zip(labels[1:], tokens_traits, tokens_traits[1:])
            # pyvi joins on I_W unless its rule forbids it; merge_groups also needs word characters.
            out.append(
                [True] + [not (label == "I_W" and b[1] and a[1] and (b[2] or not a[2])) for label, b, a in pairs]
            )
            continue
        groups = group_tokens(tokens, _pyvi_words(tokens, found, labels))
        if groups is None:
            logger.debug("pyvi's words did not line up with the text; using syllables for one sentence")
        starts = [False] * len(tokens)
        for run in merge_groups(tokens, groups):
            starts[run[0]] = True
        out.append(starts)
    return out


@functools.cache
def _sylabelize() -> Callable[[str], tuple[str, list[str]]]:
    """pyvi's `sylabelize`: the copy in pyvi_files for the pyvi release it reproduces (importing
    `pyvi.ViTokenizer` costs scikit-learn, 3 to 4 s), else pyvi's own."""
    if light_pyvi():
        return sylabelize
    from pyvi.ViTokenizer import ViTokenizer

    return ViTokenizer.sylabelize


@functools.cache
def _pyvi_predict() -> Callable[[list[list[str]]], list[list[str]]]:
    """Labels for sentences of syllables: `PyviCrf`, or pyvi's own tagger if its model file cannot be read exactly."""
    try:
        return PyviCrf.from_pyvi().predict
    except (UnsupportedModel, OSError, struct.error) as error:
        logger.debug("pyvi's CRF through python-crfsuite: %s", error)
        return _pyvi_tagger


def _pyvi_tagger(sentences: list[list[str]]) -> list[list[str]]:
    from pyvi.ViTokenizer import ViTokenizer

    return [list(ViTokenizer.model.predict_single(ViTokenizer.sent2features(s, False))) if s else [] for s in sentences]


def _pyvi_may_join(before: str, word: str) -> bool:
    """pyvi's rule on an `I_W` label (`ViTokenizer.tokenize`): no punctuation, digit, or capital after lower case."""
    return (
        word not in string.punctuation
        and before not in string.punctuation
        and not word[0].isdigit()
        and not before[0].isdigit()
        and not (word[0].istitle() and not before[0].istitle())
    )


@functools.lru_cache(maxsize=100_000)  # tokens repeat: most are seen many times in a document
def _token_traits(token: str) -> tuple[bool, bool, bool]:
    """(whether pyvi reads the token as one syllable, whether pyvi's rule and `merge_groups` let it
    join a neighbour at all, whether it starts upper case)."""
    joinable = token not in string.punctuation and not token[0].isdigit() and is_word_char(token[0])
    return _sylabelize()(token)[1] == [token], joinable and bool(_skeleton(token)), token[0].istitle()


def _syllables(tokens: Sequence[str]) -> list[str]:
    return list(tokens)


SEGMENTERS: dict[str, Segmenter] = {"underthesea": _underthesea, "pyvi": _pyvi, "syllables": _syllables}
# Chosen by measurement (benchmarks/segmenters.py, figures in README.md): on our gold corpus
# pyvi cuts 2 of 394 entity boundaries against underthesea's 6, and it is faster.
DEFAULT_SEGMENTER = "pyvi"


def get_segmenter(name: str) -> Segmenter:
    try:
        return SEGMENTERS[name]
    except KeyError:
        raise ValueError(f"unknown segmenter {name!r}; choose one of {sorted(SEGMENTERS)}") from None


@functools.lru_cache(maxsize=100_000)  # syllables repeat: most are seen many times in a document
def _skeleton(text: str) -> str:
    """Letters without diacritics, lower-cased, no separators: what a segmenter cannot change."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(
        c for c in decomposed.casefold() if not unicodedata.combining(c) and not is_separator(c) and c != "_"
    )


def group_tokens(tokens: Sequence[str], words: Sequence[str]) -> list[int] | None:
    """For each token, the index of the segmenter word it starts in; None if they disagree.

    The segmenter's words are matched to the tokens character by character on the skeleton,
    so a segmenter that re-spaces or re-accents text still lines up.
    """
    token_keys = [_skeleton(token) for token in tokens]
    owner_of_char: list[int] = []
    for index, word in enumerate(words):
        owner_of_char.extend([index] * len(_skeleton(word)))
    if sum(len(key) for key in token_keys) != len(owner_of_char):
        return None
    groups: list[int] = []
    position = 0
    for key in token_keys:
        if not key:  # a token made only of characters the skeleton drops: stays alone
            groups.append(-1)
            continue
        groups.append(owner_of_char[position])
        position += len(key)
    return groups


@dataclass(frozen=True)
class Word:
    """One word: `text` is the model form (`Việt_Nam`), `start`/`end` index the original string."""

    text: str
    start: int
    end: int


def merge_groups(token_texts: Sequence[str], groups: Sequence[int] | None) -> list[list[int]]:
    """Token indices of each word: runs with the same group, never joining punctuation."""
    words: list[list[int]] = []
    for i, token in enumerate(token_texts):
        joinable = is_word_char(token[0])
        if (
            words
            and groups is not None
            and joinable
            and groups[i] >= 0
            and groups[i] == groups[words[-1][-1]]
            and is_word_char(token_texts[words[-1][-1]][0])
        ):
            words[-1].append(i)
        else:
            words.append([i])
    return words
