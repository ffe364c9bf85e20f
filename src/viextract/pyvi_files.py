"""What `PyviCrf` needs of pyvi, read without importing `pyvi.ViTokenizer`.

That module unpickles pyvi's model when imported, and the pickle is a `sklearn_crfsuite.CRF`, so the
import costs scikit-learn (3 to 4 s) in every process that segments text. Here the CRFsuite file is
taken out of the pickle without building the CRF, the dictionary is read as pyvi reads it, and
`sylabelize` is pyvi's own, copied. All three are checked against pyvi's in tests/test_pyvi_files.py.

`sylabelize` below is adapted from pyvi 0.1.1 (`pyvi/ViTokenizer.py`, Copyright (c) 2016 Viet-Trung Tran,
MIT License: https://github.com/trungtv/pyvi/blob/master/LICENSE).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import pickle
import re
import unicodedata
from pathlib import Path

# The pyvi release whose `sylabelize` and model pickle this module reproduces; another uses pyvi's own code.
PYVI_VERSION = "0.1.1"
_DATA_KEY = "__FILE_RESOURCE_DATA__"  # where sklearn_crfsuite's FileResource pickles the model file's bytes


class Unavailable(Exception):
    """pyvi's files are not where, or not what, this module expects: use `pyvi.ViTokenizer` instead."""


@functools.cache
def light_pyvi() -> bool:
    """Whether the installed pyvi is the release this module reproduces."""
    try:
        return importlib.metadata.version("pyvi") == PYVI_VERSION
    except importlib.metadata.PackageNotFoundError:
        return False


def _folder() -> Path:
    spec = importlib.util.find_spec("pyvi")  # finds the package without running anything of it
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable("pyvi is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def read_model_bytes() -> bytes:
    """The CRFsuite model file inside pyvi's `models/pyvi3.pkl`: the bytes `ViTokenizer.model.modelfile` holds."""
    path = _folder() / "models" / "pyvi3.pkl"
    try:
        with path.open("rb") as file:
            crf = _StubUnpickler(file).load()
        data = crf.state["modelfile"].state[_DATA_KEY]
    except (OSError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, EOFError) as error:
        raise Unavailable(f"{path}: no CRFsuite model found in it ({error})") from error
    if not isinstance(data, bytes):
        raise Unavailable(f"{path}: the model file is {type(data).__name__}, not bytes")
    return data


def read_ngrams() -> tuple[set[str], set[str]]:
    """pyvi's two- and three-syllable words from `models/words.txt`, split as `ViTokenizer` splits them."""
    path = _folder() / "models" / "words.txt"
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")  # pyvi's codecs.open translates no newlines
    except (OSError, UnicodeDecodeError) as error:
        raise Unavailable(f"{path}: cannot be read ({error})") from error
    bi_grams = {line for line in lines if len(line.split(" ")) == 2}
    return bi_grams, {line for line in lines if len(line.split(" ")) == 3}


class _Stub:
    """Anything the pickle names: it keeps its state and runs nothing (no sklearn, no temporary file)."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class _StubUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 pickles bytes
            import codecs

            return codecs.encode
        return _Stub


_ABBREVIATIONS = [r"[A-ZĐ]+\.", r"Tp\.", r"Mr\.", r"Mrs\.", r"Ms\.", r"Dr\.", r"ThS\."]
_SPECIALS = ["==>", "->", r"\.\.\.", ">>", "\n"]
_WEB, _EMAIL = r"\w+://[^\s]+", r"([a-zA-Z0-9_.+-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)"
_DIGIT, _NON_WORD, _WORD = r"\d+([\.,_]\d+)+", r"[^\w\s]", r"\w+"
_SYLLABLE = re.compile(
    "(" + "|".join([*_ABBREVIATIONS, *_SPECIALS, _WEB, _EMAIL, _DIGIT, _NON_WORD, _WORD]) + ")", re.UNICODE
)


def sylabelize(text: str) -> tuple[str, list[str]]:
    """`ViTokenizer.sylabelize`: (the NFC text, its syllables)."""
    text = unicodedata.normalize("NFC", text)
    return text, [match.group(0) for match in _SYLLABLE.finditer(text)]
