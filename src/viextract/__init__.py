"""viextract: who met whom, with what title, where, when and what they signed, from Vietnamese news.

    from viextract import extract
    result = extract(text)  # entities with exact character offsets, and typed relations
"""

from .errors import HubError, ModelLoadError
from .extractor import Extractor, extract
from .graph import Triple
from .labels import ENTITY_LABELS, RELATION_LABELS
from .render import render
from .results import Entity, Extraction, Relation

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
