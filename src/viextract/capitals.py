"""Text printed in capitals (headlines), given to the models in the case their vocabulary knows best.

PhoBERT's vocabulary is cased: `Đại_tướng` is one token, `ĐẠI_TƯỚNG` is seven single letters, and
no training text is in capitals, so the bundled model finds almost nothing in a headline
(benchmarks/RESULTS-challenge.md). A run of capitals is rewritten, for the models only, word by
word in the form the vocabulary holds most often: its ids are in order of frequency in PhoBERT's
pretraining text, so the first of `Hồ_Chí_Minh` / `hồ_chí_minh` is the usual spelling. Up to four
syllables are looked up together, longest first, since a name is one token (`Hồ_Chí_Minh`) whose
syllables alone are common words (`hồ`). A syllable the vocabulary lacks goes to lower case
(chosen on the non-test corpus documents in capitals: docs/training.md, "Text in capitals").
Every change keeps the length, so offsets still index the caller's text.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping

from .normalize import normalize_text

# A run with fewer capitals than this is an acronym or a short label (`ASEAN`, `QĐND LÀO`), left as it is.
MIN_CAPITALS = 8
# The most syllables one vocabulary token spans that are looked up together.
MAX_SYLLABLES = 4

_RUN = re.compile(r"[^.!?\n]+")  # sentence-like runs: a headline is rarely longer than one
_SYLLABLE = re.compile(r"\w+")


def casing_table(vocabulary: Mapping[str, int]) -> dict[str, str]:
    """Lower-cased whole-word token -> its most frequent form (lowest id); `_` joins syllables."""
    table: dict[str, str] = {}
    for token, _ in sorted(vocabulary.items(), key=lambda item: item[1]):
        if token.endswith("@@") or not any(char.isalpha() for char in token):
            continue
        table.setdefault(token.lower(), token)
    return table


# Per tokenizer, built the first time a text in capitals comes: most calls never need it.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def casing_table_of(tokenizer) -> dict[str, str]:
    """`casing_table` of `tokenizer.get_vocab()`, kept while the tokenizer lives."""
    try:
        return _TABLES[tokenizer]
    except KeyError:
        table = _TABLES[tokenizer] = casing_table(tokenizer.get_vocab())
        return table
    except TypeError:  # a tokenizer that cannot be weakly referenced: built each time
        return casing_table(tokenizer.get_vocab())


def in_capitals(run: str) -> bool:
    """No lower-case letter, and MIN_CAPITALS capitals or more."""
    return run.upper() == run and sum(char.isupper() for char in run) >= MIN_CAPITALS


def recase_capitals(text: str, tokenizer) -> str:
    """`text` with each sentence-like run `in_capitals` in the usual case of `tokenizer`'s vocabulary.

    Runs are found and looked up in the normalised text (NFC, old-style tone placement: what the
    models read), so a headline typed in NFD, with combining tone marks or new-style tones, is
    recased as its NFC twin is; each case change is then made to the caller's characters.
    """
    if not any(in_capitals(match.group()) for match in _RUN.finditer(text)):
        return text  # most texts: no normalising here
    norm = normalize_text(text)
    runs = [match.span() for match in _RUN.finditer(norm.text) if in_capitals(match.group())]
    table = casing_table_of(tokenizer)
    chars = list(text)
    for start, end in runs:
        recased = _recase_run(norm.text[start:end], table)
        for i, (before, after) in enumerate(zip(norm.text[start:end], recased), start):
            if before != after:
                _set_case(chars, norm.starts[i], norm.ends[i], after.isupper())
    return "".join(chars)


def _set_case(chars: list[str], start: int, end: int, upper: bool) -> None:
    """The caller's characters behind one normalised character put in that case (marks have none)."""
    chunk = "".join(chars[start:end])
    changed = chunk.upper() if upper else chunk.lower()
    if len(changed) == len(chunk):  # a letter whose other case is longer stays as it is
        chars[start:end] = changed


def _recase_run(run: str, table: Mapping[str, str]) -> str:
    syllables = [match.span() for match in _SYLLABLE.finditer(run)]
    chars = list(run)
    i = 0
    while i < len(syllables):
        taken = _known_form(run, syllables[i : i + MAX_SYLLABLES], table)
        for form, (start, end) in zip(taken or [run[slice(*syllables[i])].lower()], syllables[i:]):
            if len(form) == end - start:  # a letter whose other case is longer stays as it is
                chars[start:end] = form
        i += len(taken) if taken else 1
    first = next((k for k, char in enumerate(chars) if char.isalpha()), None)
    if first is not None and len(chars[first].upper()) == 1:
        chars[first] = chars[first].upper()  # the run opens a sentence
    return "".join(chars)


def _known_form(run: str, syllables: list[tuple[int, int]], table: Mapping[str, str]) -> list[str] | None:
    """The vocabulary's form of the longest prefix of `syllables` (single spaces between) it holds, per syllable."""
    for count in range(len(syllables), 0, -1):
        group = syllables[:count]
        if any(run[a_end:b_start] != " " for (_, a_end), (b_start, _) in zip(group, group[1:])):
            continue
        form = table.get("_".join(run[start:end].lower() for start, end in group))
        if form is not None and form.count("_") == count - 1:
            return form.split("_")
    return None
