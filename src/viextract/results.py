"""The typed results `extract` returns. Offsets always index the caller's original string."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .labels import ENTITY_LABELS, RELATION_ARGUMENT_TYPES, RELATION_LABELS, SCHEMA_VERSION, allowed_relations

if TYPE_CHECKING:
    from .graph import Triple


@dataclass(frozen=True)
class Entity:
    """A mention: `text == original[start:end]` always holds.

    `value` is the ISO 8601 reading of a DATE (`dates.py`), None when it cannot be resolved
    and, from `extract`, for every other label.
    """

    text: str
    label: str
    start: int
    end: int
    score: float
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"text": self.text, "label": self.label, "start": self.start, "end": self.end, "score": self.score}
        # A DATE always has the key; other labels only when a value was set by hand, so that `from_dict` reads it
        # back, as `from_json` does, while what `extract` writes for them stays without it.
        if self.label == "DATE" or self.value is not None:
            out["value"] = self.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        _require_fields(data, ENTITY_FIELDS, "Entity.from_dict()")
        _require_label(data, "entities", "Entity.from_dict()")
        return cls._of_checked(data)

    @classmethod
    def _of_checked(cls, data: dict[str, Any]) -> Entity:
        """The Entity of a dict whose fields `_require_fields` has already checked."""
        return cls(data["text"], data["label"], data["start"], data["end"], data["score"], data.get("value"))


@dataclass(frozen=True)
class Relation:
    """`head -> tail` with a SCHEMA.md relation label; head and tail are entities of the same result."""

    head: Entity
    tail: Entity
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"head": self.head.to_dict(), "tail": self.tail.to_dict(), "label": self.label, "score": self.score}


# Half of an emoji cut in two (a truncated post read from JSON): as a character it makes a string impossible to
# write as UTF-8, so `to_json` writes the escape `json.loads` reads back (and render.py the replacement character).
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NUMBER = (int, float)
OPTIONAL_STR = (str, type(None))  # a field that may also be left out
ENTITY_FIELDS: dict[str, Any] = {
    "text": str,
    "label": str,
    "start": int,
    "end": int,
    "score": NUMBER,
    "value": OPTIONAL_STR,
}
RELATION_FIELDS: dict[str, Any] = {"head": int, "tail": int, "label": str, "score": NUMBER}
RELATION_DICT_FIELDS: dict[str, Any] = {**RELATION_FIELDS, "head": dict, "tail": dict}  # `to_dict`: in full
RELATION_OBJECT_FIELDS: dict[str, Any] = {**RELATION_FIELDS, "head": Entity, "tail": Entity}  # a Relation's own
SCHEMA_LABELS = {"entities": ("an entity", ENTITY_LABELS), "relations": ("a relation", RELATION_LABELS)}
EXTRACTION_FIELDS: dict[str, Any] = {"text": str, "entities": object, "relations": object}  # lists: `_records`


def _require_fields(data: Any, fields: dict[str, Any], where: str, *, others_allowed: bool = False) -> None:
    """ValueError `where: field(s) [...] missing` unless `data` is a dict holding `fields`: not a bare KeyError.

    A key not in `fields` is refused (a hand-typed `"lable"` or `"strat"` would otherwise be dropped, and the
    result read wrong or missing a field) unless `others_allowed`, as at the top of a document, where the CLI
    writes `file` and a batch record `id`: there a missing field's error names the keys left aside instead.
    Then `where: start: expected int, got str` for the first field not of its type.
    """
    others = [key for key in data if key not in fields] if isinstance(data, dict) else []
    if others and not others_allowed:
        raise ValueError(f"{where}: unknown key(s) {others}; the keys are {list(fields)}")
    required = [field for field, kind in fields.items() if kind is not OPTIONAL_STR]
    missing = [field for field in required if not isinstance(data, dict) or field not in data]
    if missing:
        aside = f" (other keys: {others})" if others else ""
        raise ValueError(f"{where}: field(s) {missing} missing{aside}")
    _require_types(data, fields, where)


def _require_types(data: dict[str, Any], fields: dict[str, Any], where: str, *, finite: bool = True) -> None:
    """ValueError `where: start: expected int, got str` for the first field of `data` not of its type; with
    `finite`, also for a NaN or infinite float."""
    for field, kind in fields.items():
        value = data.get(field)
        # JSON true is a Python bool, which isinstance counts as an int
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not object):
            expected = {NUMBER: "number", OPTIONAL_STR: "str or null"}.get(kind) or kind.__name__
            raise ValueError(f"{where}: {field}: expected {expected}, got {type(value).__name__}")
        # JSON has no NaN: Python's json reads it (and 1e400)
        if finite and kind is NUMBER and not _is_finite(value):
            raise ValueError(f"{where}: {field}: expected a finite number, got {_shown(value)}")


def _is_finite(number: float) -> bool:
    """Not NaN or infinite, and for an int, one a float holds: to_hf, the table and the page read it as a float,
    and `float(10**400)` raises OverflowError."""
    return abs(number) <= sys.float_info.max if isinstance(number, int) else math.isfinite(number)


def _json_int(digits: str) -> float:
    """A JSON int; one too long for Python to read (past 4300 digits: `ValueError: Exceeds the limit`, naming
    nothing) as inf, so that the field check names its item and field."""
    try:
        return int(digits)
    except ValueError:
        return math.inf


def _shown(number: float) -> str:
    """`number` for a message; a long int by its size (`repr` raises past 4300 digits)."""
    if isinstance(number, int):
        return f"an int of about {int(number.bit_length() * math.log10(2)) + 1} digits"
    return repr(number)


def _require_label(item: dict[str, Any], key: str, where: str) -> None:
    """ValueError unless `item["label"]` is a SCHEMA.md label of its kind (`key`, "entities" or "relations"): an
    edited file's or another tool's `"FOO"` or `"loves"` loaded as a label no model, filter or graph here knows."""
    kind, labels = SCHEMA_LABELS[key]
    if item["label"] not in labels:
        raise ValueError(
            f"{where}: label: {item['label']!r} is not {kind} label of SCHEMA.md v{SCHEMA_VERSION}; "
            f"the labels are {', '.join(labels)}"
        )


def _require_argument_types(relations: tuple[Relation, ...], where: str) -> None:
    """ValueError naming the first relation whose head and tail types SCHEMA.md does not allow for its label
    (`has_title` from PER to ORG): the table `extract` scores pairs by, so it never writes one."""
    for index, r in enumerate(relations):
        if r.label not in allowed_relations(r.head.label, r.tail.label):
            heads, tails = RELATION_ARGUMENT_TYPES[r.label]
            pairs = [f"{h} -> {t}" for h in ENTITY_LABELS if h in heads for t in ENTITY_LABELS if t in tails]
            raise ValueError(
                f"{where}: relations[{index}]: label: {r.label!r} does not go from {r.head.label} to "
                f"{r.tail.label} in SCHEMA.md v{SCHEMA_VERSION}; it goes {', '.join(pairs)}"
            )


def _require_offsets(entity: Entity, text: str, where: str) -> None:
    """ValueError unless `entity.text` is `text[start:end]`, as `Extraction` promises."""
    if not 0 <= entity.start <= entity.end <= len(text):
        raise ValueError(f"{where}: start/end {entity.start}:{entity.end} outside the text (length {len(text)})")
    if text[entity.start : entity.end] != entity.text:
        found = text[entity.start : entity.end]
        raise ValueError(f"{where}: text {entity.text!r} is not the text at {entity.start}:{entity.end}, {found!r}")


def require_finite_scores(extraction: Extraction, where: str) -> None:
    """ValueError naming the first NaN or infinite score: json.dumps would write `NaN`, which is not JSON."""
    for key, items in (("entities", extraction.entities), ("relations", extraction.relations)):
        for position, item in enumerate(items):
            score = item.score
            if isinstance(score, NUMBER) and not _is_finite(score):
                raise ValueError(f"{where}: {key}[{position}]: score: expected a finite number, got {_shown(score)}")


def _require_consistent(extraction: Extraction) -> None:
    """ValueError naming the first entity or relation of `extraction` that `from_json` would refuse: a field of
    the wrong type, a label not in SCHEMA.md, an entity that is not the text at its offsets, a relation argument
    that is not one of the entities or of a type its label does not take. A score may be NaN (a model gone
    wrong): `to_json` and the CLI refuse to write it, naming it."""
    where = "Extraction()"
    if not isinstance(extraction.text, str):
        raise ValueError(f"{where}: text: expected str, got {type(extraction.text).__name__}")
    for index, e in enumerate(extraction.entities):
        at = f"{where}: entities[{index}]"
        if not isinstance(e, Entity):
            raise ValueError(f"{at}: expected an Entity, got {type(e).__name__}")
        _require_types(vars(e), ENTITY_FIELDS, at, finite=False)
        _require_label(vars(e), "entities", at)
        _require_offsets(e, extraction.text, at)
    known = set(extraction.entities)
    for index, r in enumerate(extraction.relations):
        at = f"{where}: relations[{index}]"
        if not isinstance(r, Relation):
            raise ValueError(f"{at}: expected a Relation, got {type(r).__name__}")
        _require_types(vars(r), RELATION_OBJECT_FIELDS, at, finite=False)
        _require_label(vars(r), "relations", at)
        for side in ("head", "tail"):
            argument = getattr(r, side)
            _require_types(vars(argument), ENTITY_FIELDS, f"{at}: {side}", finite=False)  # hashable, for `in`
            if argument not in known:
                raise ValueError(
                    f"{at}: {side}: {argument.text!r} at {argument.start}:{argument.end} is not one of the entities"
                )
    _require_argument_types(extraction.relations, where)


def _records(data: dict[str, Any], key: str, fields: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """`data[key]`, a list of objects with `fields` and a SCHEMA.md label: else a ValueError naming the item and
    field, not a KeyError."""
    items = data[key]
    if not isinstance(items, list):
        raise ValueError(f"{where}: field '{key}': expected a list, got {type(items).__name__}")
    for index, item in enumerate(items):
        _require_fields(item, fields, f"{where}: {key}[{index}]")
        _require_label(item, key, f"{where}: {key}[{index}]")
    return items


def _checked_entities(data: dict[str, Any], where: str) -> tuple[Entity, ...]:
    """The entities of a checked Extraction dict, each one's text at its offsets."""
    entities = tuple(Entity._of_checked(e) for e in _records(data, "entities", ENTITY_FIELDS, where))
    for index, e in enumerate(entities):
        _require_offsets(e, data["text"], f"{where}: entities[{index}]")
    return entities


def _entity_of_dict(entities: tuple[Entity, ...], data: Any, where: str) -> Entity:
    """The entity of `entities` equal to a relation argument written in full (`to_dict`)."""
    _require_fields(data, ENTITY_FIELDS, where)
    wanted = Entity._of_checked(data)
    for entity in entities:
        if entity == wanted:
            return entity
    raise ValueError(f"{where}: {wanted.text!r} at {wanted.start}:{wanted.end} is not one of the entities")


@dataclass(frozen=True)
class Extraction:
    """One document's entities and relations; iterating it (and `len`) goes over its entities, as a spaCy Doc's ents.

    Built by hand, it is checked as `from_json` checks what it reads (a score may be NaN, which `to_json` refuses).
    """

    text: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    def __post_init__(self) -> None:
        # Lists become tuples: a result built from lists was unhashable and unequal to its own from_json.
        for field in ("entities", "relations"):
            items = getattr(self, field)
            if isinstance(items, (str, bytes, dict)) or not hasattr(items, "__iter__"):
                raise ValueError(f"Extraction(): {field}: expected a tuple, got {type(items).__name__}")
            object.__setattr__(self, field, tuple(items))
        # Refused here, not when it is saved: to_json wrote what from_json then refused (a has_title to a LOC).
        _require_consistent(self)

    def __iter__(self) -> Iterator[Entity]:
        return iter(self.entities)

    def __len__(self) -> int:
        return len(self.entities)

    def __bool__(self) -> bool:  # a result is a result even when it found nothing
        return True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; each relation repeats its head and tail entities in full."""
        return {
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
        }

    def to_json(self) -> str:
        """A JSON string in which relations name their entities by index: `{"head": 0, "tail": 3, ...}`.

        `Extraction.from_json(result.to_json()) == result`, scores and DATE values included.
        """
        index = self._entity_index()
        require_finite_scores(self, "to_json()")
        written = json.dumps(
            {
                "text": self.text,
                "entities": [{**e.to_dict(), "value": e.value} for e in self.entities],
                "relations": [
                    {"head": index(r.head), "tail": index(r.tail), "label": r.label, "score": r.score}
                    for r in self.relations
                ],
            },
            ensure_ascii=False,
        )
        return LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", written)

    @classmethod
    def from_json(cls, s: str) -> Extraction:
        """The Extraction that `to_json` wrote; relations get the very Entity objects of the result."""
        if not isinstance(s, (str, bytes, bytearray)):
            raise TypeError(f"from_json() takes a JSON str, got {type(s).__name__}")
        data = json.loads(s, parse_int=_json_int)
        _require_fields(data, EXTRACTION_FIELDS, "from_json(): not an Extraction's JSON", others_allowed=True)
        entities = _checked_entities(data, "from_json()")

        def entity(i: Any) -> Entity:
            if not 0 <= i < len(entities):  # an int: `_records` checked its type
                raise ValueError(f"from_json(): relation refers to entity {i!r}, not an index below {len(entities)}")
            return entities[i]

        relations = tuple(
            Relation(entity(r["head"]), entity(r["tail"]), r["label"], r["score"])
            for r in _records(data, "relations", RELATION_FIELDS, "from_json()")
        )
        _require_argument_types(relations, "from_json()")
        return cls(data["text"], entities, relations)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extraction:
        """The Extraction of a `to_dict()` (a line of the CLI's jsonl: other keys, as its `file`, are left aside).

        Checked as `from_json` checks; each relation's head and tail must equal one of the entities, whose
        very object it gets.
        """
        if not isinstance(data, dict):
            raise TypeError(f"from_dict() takes a dict, got {type(data).__name__}")
        _require_fields(data, EXTRACTION_FIELDS, "from_dict(): not an Extraction's dict", others_allowed=True)
        entities = _checked_entities(data, "from_dict()")
        relations = tuple(
            Relation(
                _entity_of_dict(entities, r["head"], f"from_dict(): relations[{index}]: head"),
                _entity_of_dict(entities, r["tail"], f"from_dict(): relations[{index}]: tail"),
                r["label"],
                r["score"],
            )
            for index, r in enumerate(_records(data, "relations", RELATION_DICT_FIELDS, "from_dict()"))
        )
        _require_argument_types(relations, "from_dict()")
        return cls(data["text"], entities, relations)

    def to_hf(self) -> list[dict[str, Any]]:
        """Entities as Hugging Face `pipeline("ner", aggregation_strategy="simple")` returns them."""
        return [
            {"entity_group": e.label, "word": e.text, "start": e.start, "end": e.end, "score": float(e.score)}
            for e in self.entities
        ]

    def to_triples(self) -> list[Triple]:
        """The relations as typed triples over merged PER/ORG nodes (`graph.py`)."""
        from .graph import extraction_triples

        return extraction_triples(self)

    def _entity_index(self):
        by_id = {id(e): i for i, e in enumerate(self.entities)}

        def index(entity: Entity) -> int:
            if id(entity) in by_id:
                return by_id[id(entity)]
            try:  # an equal entity built separately
                return self.entities.index(entity)
            except ValueError:
                raise ValueError(f"relation argument {entity.text!r} is not one of the extraction's entities") from None

        return index

    def to_displacy(self, title: str | None = None) -> dict[str, Any]:
        """The dict spaCy's `displacy.render(..., style="ent", manual=True)` takes."""
        from .render import to_displacy

        return to_displacy(self, title)
