"""The typed results `extract` returns. Offsets always index the caller's original string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entity:
    """A mention: `text == original[start:end]` always holds."""

    text: str
    label: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "start": self.start, "end": self.end, "score": self.score}


@dataclass(frozen=True)
class Relation:
    """`head -> tail` with a SCHEMA.md relation label; head and tail are entities of the same result."""

    head: Entity
    tail: Entity
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"head": self.head.to_dict(), "tail": self.tail.to_dict(), "label": self.label, "score": self.score}


@dataclass(frozen=True)
class Extraction:
    text: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
        }

    def to_displacy(self, title: str | None = None) -> dict[str, Any]:
        """The dict spaCy's `displacy.render(..., style="ent", manual=True)` takes."""
        from .render import to_displacy

        return to_displacy(self, title)
