"""Annotated documents as typed data: `Document` and its spans, parsed from one JSON object each.

One document per line: {"id", "date", "text", "entities": [{"id","start","end","label"}],
"relations": [{"head","tail","label"}]} (optionally "source", and an entity's "text", which must be its
mention); offsets index `text` in code points. Other keys are refused: no tool writes them back.
Every rule of SCHEMA.md that code can check is checked once (training.data.checks), so training,
augmentation and the weak annotator all write and read the same valid data.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from viextract.normalize import LINE_BREAKS

SPLIT_NAMES = ("train", "dev", "test")
CORPUS_FILE = "corpus.jsonl"
# Where every command looks for the splits file unless told: relative to the directory it runs in.
DEFAULT_SPLITS_FILE = "data/splits.json"


class DataError(ValueError):
    """A data file breaks the format or SCHEMA.md; the message is `file:line: field: problem`.

    `where`, `field` and `problem` hold the three parts when a check raised it, so a caller that
    knows more about the place (training.data.inline: the markup line and handle) can say it better.
    """

    def __init__(self, message: str, where: str = "", field: str = "", problem: str = "") -> None:
        super().__init__(message)
        self.where, self.field, self.problem = where, field, problem


@dataclass(frozen=True)
class EntitySpan:
    id: str
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class RelationSpan:
    head: str
    tail: str
    label: str


@dataclass(frozen=True)
class Document:
    id: str
    date: str | None
    text: str
    entities: tuple[EntitySpan, ...] = ()
    relations: tuple[RelationSpan, ...] = ()
    source: str | None = None

    def entity(self, entity_id: str) -> EntitySpan:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(entity_id)

    def mention(self, entity: EntitySpan) -> str:
        return self.text[entity.start : entity.end]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "date": self.date,
            "text": self.text,
            "entities": [{"id": e.id, "start": e.start, "end": e.end, "label": e.label} for e in self.entities],
            "relations": [{"head": r.head, "tail": r.tail, "label": r.label} for r in self.relations],
        }
        if self.source is not None:
            data["source"] = self.source
        return data


def printed_in_capitals(doc: Document) -> Document:
    """`doc` with its text in capitals (a headline's printing), every offset unchanged.

    DataError if a character's capital is longer than it, which would move the offsets.
    """
    text = doc.text.upper()
    if len(text) != len(doc.text):
        raise DataError(f"{doc.id}: text: its capitals are not one character each, so offsets would move")
    return replace(doc, text=text)


# ---------------------------------------------------------------------------------------
# Parsing: JSON shape and field types.


def field_error(where: str, field_name: str, problem: str) -> DataError:
    return DataError(f"{where}: {field_name}: {problem}", where, field_name, problem)


def _require(obj: dict, key: str, kinds: tuple[type, ...], where: str, prefix: str = "") -> Any:
    name = f"{prefix}{key}"
    if key not in obj:
        raise field_error(where, name, "missing")
    value = obj[key]
    # bool is an int subclass: an offset of `true` is a mistake, not 1.
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        wanted = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise field_error(where, name, f"expected {wanted}, got {type(value).__name__}")
    if isinstance(value, str):
        _check_unicode(value, where, name)
    return value


def _check_unicode(value: str, where: str, name: str) -> None:
    """JSON lets `\\ud83d` stand alone, but such a string cannot be written as UTF-8 again (nor tokenized)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        problem = f"lone surrogate U+{ord(value[error.start]):04X} at offset {error.start}: not Unicode text"
        raise field_error(where, name, f"{problem} (half of an escaped pair?)") from None


# The keys of data/README.md's format. The tools write back only these, so another one was lost on the first
# rewrite, and a misspelt one (`relation`, an entity's `mention`) was ignored instead of checked.
DOCUMENT_KEYS = ("id", "date", "text", "entities", "relations", "source")
ENTITY_KEYS = ("id", "start", "end", "label", "text")
RELATION_KEYS = ("head", "tail", "label")


def _check_keys(obj: dict, known: tuple[str, ...], where: str, prefix: str = "") -> None:
    unknown = next((key for key in obj if key not in known), None)
    if unknown is not None:
        raise field_error(where, f"{prefix}{unknown}", f"unknown key; expected {', '.join(known)}")


def _check_control_characters(text: str, where: str) -> None:
    """No control character but tabs and line breaks: the models read one as a space, so a NUL between letters
    (UTF-16 read as UTF-8) or U+0080-U+009F (Windows-1252 quotes read as Latin-1) cut words without a sign."""
    found = next((i for i, char in enumerate(text) if is_control(char)), None)
    if found is not None:
        problem = f"control character U+{ord(text[found]):04X} at offset {found}"
        raise field_error(where, "text", f"{problem}: not text (a binary or mis-decoded file?)")


def is_control(char: str) -> bool:
    """A control character a document's text may not hold: any but a tab and the line breaks."""
    return unicodedata.category(char) == "Cc" and char != "\t" and char not in LINE_BREAKS


def _require_list(obj: dict, key: str, where: str) -> list:
    items = _require(obj, key, (list,), where)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise field_error(where, f"{key}[{index}]", f"expected object, got {type(item).__name__}")
    return items


def _check_mention(mention: str, text: str, entity: EntitySpan, where: str, name: str) -> None:
    """An entity's optional `text` must be what its offsets cut out of the document; else the offsets were
    counted another way (UTF-16 units, as JavaScript does, or UTF-8 bytes), and nothing else would notice
    when the shifted span happens to fall on other words. Offsets outside the text are check_entities' error."""
    start, end = entity.start, entity.end
    if not 0 <= start <= end <= len(text) or _composed(text[start:end]) == _composed(mention):
        return  # the same mention, its accents perhaps typed decomposed (NFD): only the offsets are used
    hint = "offsets count code points (Python str indices), not UTF-16 units or bytes"
    if _composed(text)[start:end] == _composed(mention):
        hint = "the offsets fit the text composed (NFC), but it is decomposed (NFD): count them on the text as written"
    raise field_error(where, name, f"{mention!r} is not the text at [{start}, {end}), {text[start:end]!r}; {hint}")


def _composed(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def check_date(date: str, where: str) -> None:
    """`date` is the article's `YYYY-MM-DD` or `YYYY-MM` (data/README.md): `11/10/2025` reads ambiguously."""
    try:
        dt.datetime.strptime(date, "%Y-%m-%d" if len(date) == 10 else "%Y-%m")
        valid = len(date) in (7, 10)
    except ValueError:
        valid = False
    if not valid:
        raise field_error(where, "date", f"expected YYYY-MM-DD, YYYY-MM or null, got {date!r}")


def parse_document(obj: Any, where: str) -> Document:
    """Check the shape and types of one decoded JSON line and build a Document."""
    if not isinstance(obj, dict):
        raise field_error(where, "document", f"expected object, got {type(obj).__name__}")
    _check_keys(obj, DOCUMENT_KEYS, where)
    doc_id = _require(obj, "id", (str,), where)
    if not doc_id:
        raise field_error(where, "id", "empty")
    date = _require(obj, "date", (str, type(None)), where)
    if date is not None:
        check_date(date, where)
    text = _require(obj, "text", (str,), where)
    if not text.strip():  # a blank article or a lost field: counted as a document, trained and scored as nothing
        raise field_error(where, "text", "empty: a document needs text")
    _check_control_characters(text, where)
    source = obj.get("source")
    if source is not None and not isinstance(source, str):
        raise field_error(where, "source", f"expected str or null, got {type(source).__name__}")
    if source is not None:
        _check_unicode(source, where, "source")
    entities = []
    for index, item in enumerate(_require_list(obj, "entities", where)):
        prefix = f"entities[{index}]."
        _check_keys(item, ENTITY_KEYS, where, prefix)
        entity = EntitySpan(
            id=_require(item, "id", (str,), where, prefix),
            start=_require(item, "start", (int,), where, prefix),
            end=_require(item, "end", (int,), where, prefix),
            label=_require(item, "label", (str,), where, prefix),
        )
        if "text" in item:
            _check_mention(_require(item, "text", (str,), where, prefix), text, entity, where, f"{prefix}text")
        entities.append(entity)
    relations = []
    for index, item in enumerate(_require_list(obj, "relations", where)):
        prefix = f"relations[{index}]."
        _check_keys(item, RELATION_KEYS, where, prefix)
        relations.append(
            RelationSpan(
                head=_require(item, "head", (str,), where, prefix),
                tail=_require(item, "tail", (str,), where, prefix),
                label=_require(item, "label", (str,), where, prefix),
            )
        )
    return Document(doc_id, date, text, tuple(entities), tuple(relations), source)
