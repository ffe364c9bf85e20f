"""Text printed in capitals (headlines), given to the models in the case their vocabulary knows best.

PhoBERT's vocabulary is cased: `Đại_tướng` is one token, `ĐẠI_TƯỚNG` is seven single letters, and
no training text is in capitals, so the bundled model finds almost nothing in a headline
(benchmarks/RESULTS-challenge.md). A run of capitals is rewritten, for the models only, word by
word in the form the vocabulary holds most often: its ids are in order of frequency in PhoBERT's
pretraining text, so the first of `Hồ_Chí_Minh` / `hồ_chí_minh` is the usual spelling. Up to four
syllables are looked up together, longest first, since a name is one token (`Hồ_Chí_Minh`) whose
syllables alone are common words (`hồ`). A syllable the vocabulary lacks goes to lower case
(chosen on the non-test corpus documents in capitals: docs/training.md, "Text in capitals").
A person's name is the exception: its syllables are common words (`PHẠM MINH CHÍNH` would read
`phạm Minh chính`, and the model ended the name at `Minh`), so a common surname followed by a
given name, and the syllable after each middle name, are put in title case.
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
# Sixteen common Vietnamese surnames (lower case, as the vocabulary's forms are compared); a word the vocabulary
# holds whole (`lý_do`) is not one. sentences.py keeps its own, capitalised list for mixed-case text.
SURNAMES = frozenset("nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý".split())
# Common middle names: the name goes on after one (`Phạm Minh Chính`, `Nguyễn Thị Kim Ngân`).
MIDDLE_NAMES = frozenset("văn thị minh đức xuân hữu quang ngọc thanh kim quốc công đình hồng thế bá duy".split())
# The most syllables of a name put in title case, surname included.
MAX_NAME = 4

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
    chars = list(run)
    for group in _name_syllables(run, _words(run, table)):
        for form, (start, end) in group:
            if len(form) == end - start:  # a letter whose other case is longer stays as it is
                chars[start:end] = form
    first = next((k for k, char in enumerate(chars) if char.isalpha()), None)
    if first is not None and len(chars[first].upper()) == 1:
        chars[first] = chars[first].upper()  # the run opens a sentence
    return "".join(chars)


Word = list[tuple[str, tuple[int, int]]]  # (form, span in the run) of each syllable of one word


def _words(run: str, table: Mapping[str, str]) -> list[Word]:
    """The run cut into the vocabulary's longest words, each syllable in its form (unknown: lower case)."""
    syllables = [match.span() for match in _SYLLABLE.finditer(run)]
    words: list[Word] = []
    i = 0
    while i < len(syllables):
        taken = _known_form(run, syllables[i : i + MAX_SYLLABLES], table) or [run[slice(*syllables[i])].lower()]
        words.append(list(zip(taken, syllables[i:])))
        i += len(taken)
    return words


def _name_syllables(run: str, words: list[Word]) -> list[Word]:
    """`words` with each person's name in title case: a surname, the syllable after it and after each middle name.

    Only one-syllable words joined by one space count, so `LÝ DO` (the word `lý_do`) is no name.
    """
    named = list(words)
    i = 0
    while i < len(named):
        end = i + 1
        while end < min(i + MAX_NAME, len(named)) and _continues_name(run, named, i, end):
            end += 1
        if end > i + 1:  # a surname alone is a common word (`phạm`, `hồ`)
            named[i:end] = [[(form[:1].upper() + form[1:], span)] for ((form, span),) in named[i:end]]
        i = end
    return named


def _continues_name(run: str, words: list[Word], first: int, next_: int) -> bool:
    """Whether words[next_] goes on the name that words[first] opens, words[next_ - 1] being its last so far."""
    before, after = words[next_ - 1], words[next_]
    if len(before) != 1 or len(after) != 1 or run[before[0][1][1] : after[0][1][0]] != " ":
        return False
    lower = before[0][0].lower()
    return lower in SURNAMES if next_ - 1 == first else lower in MIDDLE_NAMES


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
