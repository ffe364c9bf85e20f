"""pyvi's word-segmentation CRF, decoded here with crfsuite's own arithmetic: same labels, far less work.

pyvi builds about fifteen feature strings per syllable and python-crfsuite converts and looks each
up again on every call. Here a syllable's share of the score (its own features, and what it adds to
its neighbours) is computed once and cached; a batch of sentences is summed with numpy in the order
crfsuite adds the features (float addition is not associative, so the order is kept); and the
two-label Viterbi compares scores as crfsuite's `crf1dc_viterbi` does. The scores are then bit for
bit crfsuite's, so are the labels (tests compare them on the corpus, written documents, UD VTB).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np

from .crfsuite_model import CrfWeights, UnsupportedModel, read_crfsuite
from .pyvi_files import Unavailable, light_pyvi, read_model_bytes, read_ngrams

_CACHED_SYLLABLES = 200_000  # distinct syllables kept (Vietnamese has about 7,000; the rest are names and numbers)
# What one syllable adds to a score, one row per part, in the order of pyvi's feature dict
# (`ViTokenizer.word2features`): its own features, then what it gives the syllable after it (-1:)
# and the one before it (+1:), each `lower`, `istitle`, `isupper`.
_OWN, _AS_PREVIOUS, _AS_NEXT = 0, slice(1, 4), slice(4, 7)


class PyviCrf:
    """Labels of pyvi's CRF (`B_W`/`I_W`) for sentences of syllables, as `ViTokenizer.model.predict` gives them."""

    def __init__(self, weights: CrfWeights, bi_grams: Collection[str], tri_grams: Collection[str]):
        if len(weights.labels) != 2:
            raise UnsupportedModel(f"expected pyvi's two labels, got {weights.labels}")
        self.labels = weights.labels
        self.bi_grams, self.tri_grams = bi_grams, tri_grams
        self._state = weights.state
        self._transitions = weights.transitions
        # The features named alike for every syllable, looked up once.
        self._fixed = {name: self._weights(name) for name in _FIXED_FEATURES}
        self._constant = {name: np.array(self._fixed[name]) for name in _FLAG_FEATURES}
        self._ngrams = _NgramCodes(bi_grams, tri_grams)
        self._rows = _SyllableRows(self._row, self._ngrams.word_id)

    @classmethod
    def from_pyvi(cls) -> PyviCrf:
        """From pyvi's model files, read without importing scikit-learn where `pyvi_files` knows the release."""
        if light_pyvi():
            try:
                return cls(read_crfsuite(read_model_bytes()), *read_ngrams())
            except Unavailable:
                pass
        from pyvi.ViTokenizer import ViTokenizer

        # The model pyvi loaded: its pickle keeps the CRFsuite file in a temporary file.
        data = Path(ViTokenizer.model.modelfile.name).read_bytes()
        return cls(read_crfsuite(data), ViTokenizer.bi_grams, ViTokenizer.tri_grams)

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """For each sentence of syllables, its labels; an empty sentence has none."""
        flat = [syllable for sentence in sentences for syllable in sentence]
        if not flat:
            return [[] for _ in sentences]
        scores = self._state_scores(flat, [len(sentence) for sentence in sentences])
        first, second = scores[:, 0].tolist(), scores[:, 1].tolist()
        names = self.labels
        out, start = [], 0
        for sentence in sentences:
            end = start + len(sentence)
            labels = _viterbi(first, second, start, end, self._transitions) if end > start else []
            out.append([names[label] for label in labels])
            start = end
        return out

    def _state_scores(self, flat: list[str], lengths: list[int]) -> np.ndarray:
        """Each syllable's score per label: its features' weights added in pyvi's dict order, as crfsuite adds them."""
        ids, table, lower_ids = self._rows.lookup(flat)
        lengths = np.array([n for n in lengths if n])
        offsets = np.cumsum(lengths) - lengths
        position = np.arange(len(flat)) - np.repeat(offsets, lengths)  # within its sentence
        remaining = np.repeat(lengths, lengths) - 1 - position  # syllables after it in its sentence
        before, after = ids.copy(), ids.copy()
        before[1:], after[:-1] = ids[:-1], ids[1:]
        before[position == 0], after[remaining == 0] = 0, 0  # row 0: no neighbour, adds +0.0
        pairs, triples = self._ngrams.flags(lower_ids[ids])
        flag = self._constant
        scores = table[ids, _OWN].copy()
        for row in table[before, _AS_PREVIOUS].transpose(1, 0, 2):
            scores += row
        scores += _shifted(pairs, 1, position >= 1)[:, None] * flag["-1:word.bi_gram()"]
        scores += _shifted(triples, 2, position >= 2)[:, None] * flag["-2:word.tri_gram()"]
        for row in table[after, _AS_NEXT].transpose(1, 0, 2):
            scores += row
        scores += _shifted(pairs, 0, remaining >= 1)[:, None] * flag["+1:word.bi_gram()"]
        scores += _shifted(triples, 0, remaining >= 2)[:, None] * flag["+2:word.tri_gram()"]
        return scores

    def _row(self, syllable: str, lower: str) -> list[list[float]]:
        """What one syllable adds: its own five features summed in order, then its -1: and +1: features."""
        upper, title, digit = syllable.isupper(), syllable.istitle(), syllable.isdigit()
        fixed = self._fixed
        bias, word = fixed["bias"], self._weights("word.lower():" + lower)
        is_upper, is_title, is_digit = (fixed[f"word.{name}()"] for name in ("isupper", "istitle", "isdigit"))
        own = [
            0.0 + bias[k] * 1.0 + word[k] * 1.0 + is_upper[k] * upper + is_title[k] * title + is_digit[k] * digit
            for k in (0, 1)
        ]
        rows = [own]
        for side in ("-1:", "+1:"):
            rows.append([w * 1.0 for w in self._weights(side + "word.lower():" + lower)])
            rows.append([w * title for w in fixed[side + "word.istitle()"]])
            rows.append([w * upper for w in fixed[side + "word.isupper()"]])
        return rows

    def _weights(self, attribute: str) -> tuple[float, ...]:
        # python-crfsuite hands crfsuite the attribute as a C string, which ends at a NUL.
        return self._state.get(attribute.split("\0", 1)[0], (0.0, 0.0))


class _SyllableRows:
    """Each syllable's row of `PyviCrf._row` and its n-gram id, computed on first sight; shared by threads.

    Rows are written once and never changed: growing or starting again makes new arrays, so the arrays
    `lookup` returns stay valid for its caller while other threads add syllables.
    """

    def __init__(self, row: Callable[[str, str], list[list[float]]], word_id: Callable[[str], int]):
        self._row, self._word_id = row, word_id
        self._lock = threading.Lock()
        self._start_again(1024)

    def _start_again(self, size: int) -> None:
        self._index: dict[str, int] = {}
        self._table = np.zeros((size, 7, 2))  # row 0: no neighbour, adds nothing
        self._lower_ids = np.zeros(size, dtype=np.int64)  # per row, the n-gram id of its lower case

    def lookup(self, flat: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(each syllable's row, the rows, the n-gram ids), every syllable of `flat` added first."""
        with self._lock:
            get = self._index.get
            ids = [get(syllable, 0) for syllable in flat]
            if 0 in ids:
                new = list(dict.fromkeys(s for s, i in zip(flat, ids) if not i))
                if len(self._index) + len(new) >= _CACHED_SYLLABLES:  # odd input: start again, do not grow
                    new = list(dict.fromkeys(flat))
                    self._start_again(2 * len(new) + 1)
                self._add(new)
                ids = list(map(self._index.__getitem__, flat))
            return np.array(ids, dtype=np.intp), self._table, self._lower_ids

    def _add(self, syllables: list[str]) -> None:
        size, count = len(self._index) + 1, len(syllables)
        if size + count > len(self._table):
            self._table = _grown(self._table, size, 2 * (size + count))
            self._lower_ids = _grown(self._lower_ids, size, len(self._table))
        lowered = [syllable.lower() for syllable in syllables]
        self._table[size : size + count] = [self._row(s, low) for s, low in zip(syllables, lowered)]
        self._lower_ids[size : size + count] = [self._word_id(low) for low in lowered]
        self._index.update(zip(syllables, range(size, size + count)))


_FLAG_FEATURES = ("-1:word.bi_gram()", "-2:word.tri_gram()", "+1:word.bi_gram()", "+2:word.tri_gram()")
_FIXED_FEATURES = (
    *("bias", "word.isupper()", "word.istitle()", "word.isdigit()"),
    *(f"{side}word.{name}()" for side in ("-1:", "+1:") for name in ("istitle", "isupper")),
    *_FLAG_FEATURES,
)


class _NgramCodes:
    """pyvi's dictionary of two- and three-syllable words as sorted integer codes, looked up for a whole batch at once.

    pyvi asks `" ".join([a, b]).lower() in bi_grams`. That is `a.lower() + " " + b.lower()` (str.lower
    looks across a space only for a final sigma, and a space stops that look), and no syllable holds a
    space, so the pair is in the dictionary exactly when the entry split at its space gives the two
    lowered syllables: compared here as numbers, one id per dictionary syllable.
    """

    def __init__(self, bi_grams, tri_grams):
        self._ids: dict[str, int] = {}
        # An entry with another number of spaces can never equal two (three) syllables joined by spaces.
        pairs = [self._code(words) for entry in bi_grams if len(words := entry.split(" ")) == 2]
        triples = [self._code(words) for entry in tri_grams if len(words := entry.split(" ")) == 3]
        self.unknown = len(self._ids)  # the id of a syllable in no entry: no code contains it
        if self.unknown >= _NGRAM_BASE:
            raise UnsupportedModel(f"{self.unknown} distinct syllables in pyvi's dictionary, codes hold {_NGRAM_BASE}")
        self._pairs, self._triples = (
            np.unique(np.array(pairs, dtype=np.int64)),
            np.unique(np.array(triples, dtype=np.int64)),
        )

    def _code(self, words: list[str]) -> int:
        code = 0
        for word in words:
            code = code * _NGRAM_BASE + self._ids.setdefault(word, len(self._ids))
        return code

    def word_id(self, lowered: str) -> int:
        return self._ids.get(lowered, self.unknown)

    def flags(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ids of consecutive lowered syllables: whether each pair, and each triple, is a dictionary entry."""
        pairs = ids[:-1] * _NGRAM_BASE + ids[1:]
        triples = (ids[:-2] * _NGRAM_BASE + ids[1:-1]) * _NGRAM_BASE + ids[2:]
        return _member(pairs, self._pairs), _member(triples, self._triples)


_NGRAM_BASE = 1 << 20  # more distinct dictionary syllables than this would need wider codes (pyvi has about 10,000)


def _member(codes: np.ndarray, sorted_codes: np.ndarray) -> np.ndarray:
    """1.0 where a code is in `sorted_codes`, else 0.0."""
    if not len(sorted_codes):
        return np.zeros(len(codes))
    found = np.minimum(np.searchsorted(sorted_codes, codes), len(sorted_codes) - 1)
    return (sorted_codes[found] == codes).astype(float)


def _grown(array: np.ndarray, used: int, size: int) -> np.ndarray:
    grown = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


def _shifted(flags: np.ndarray, shift: int, valid: np.ndarray) -> np.ndarray:
    """Per syllable, the n-gram flag that starts `shift` syllables before it; 0 where it is not in its sentence."""
    out = np.zeros(len(valid))
    out[shift : shift + len(flags)] = flags[: len(valid) - shift]
    out[~valid] = 0.0
    return out


def _viterbi(first: list[float], second: list[float], start: int, end: int, transitions) -> list[int]:
    """crfsuite's `crf1dc_viterbi` for two labels over scores[start:end]: same sums, same strict comparisons
    (a tie goes to the lower label)."""
    (t00, t01), (t10, t11) = transitions
    a0, a1 = first[start], second[start]
    back = []
    for t in range(start + 1, end):
        x, y, u, v = a0 + t00, a1 + t10, a0 + t01, a1 + t11
        to_first, to_second = y > x, v > u
        back.append((to_first, to_second))
        a0 = (y if to_first else x) + first[t]
        a1 = (v if to_second else u) + second[t]
    label = int(a1 > a0)
    labels = [label]
    for step in reversed(back):
        label = int(step[label])
        labels.append(label)
    labels.reverse()
    return labels
