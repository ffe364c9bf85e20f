"""viextract: who met whom, with what title, where, when and what they signed, from Vietnamese news.

    from viextract import extract
    result = extract(text)  # entities with exact character offsets, and typed relations
"""

from typing import TYPE_CHECKING

from .errors import HubError, ModelLoadError
from .graph import Triple
from .labels import ENTITY_LABELS, RELATION_LABELS
from .render import render
from .results import Entity, Extraction, Relation

if TYPE_CHECKING:  # type checkers and IDEs see them as imported here
    from .extractor import Extractor, extract

__version__ = "0.1.0"

__all__ = [
    "ENTITY_LABELS",
    "RELATION_LABELS",
    "Entity",
    "Extraction",
    "Extractor",
    "HubError",
    "ModelLoadError",
    "Relation",
    "Triple",
    "__version__",
    "extract",
    "render",
]

# Names whose module imports torch (1.5 s or more): imported at first use, so that reading results,
# `--help` and text-preparing workers never pay for it (PEP 562).
_FROM_EXTRACTOR = ("Extractor", "extract")


def __getattr__(name: str):
    if name in _FROM_EXTRACTOR:
        from . import extractor

        value = getattr(extractor, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_EXTRACTOR))
