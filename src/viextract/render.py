"""A self-contained HTML view of extractions: entities highlighted by label, relations drawn as arcs.

The page has no script and loads nothing: inline CSS only. Text is set in a monospace font and
wrapped here, so a column is exactly one `ch` and arcs can be placed without measuring in a browser.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from unicodedata import category, combining

from .labels import ENTITY_LABELS
from .normalize import LINE_BREAKS
from .results import LONE_SURROGATE, Entity, Extraction, Relation

LINE_WIDTH = 96  # characters per rendered line: ~800 px at 14 px, fits a laptop window
TAB_SIZE = 8  # CSS's default tab-size, which the page keeps
_COLOURS = ("#a5d8ff", "#ffd8a8", "#b2f2bb", "#d0bfff", "#ffec99", "#fcc2d7", "#c3fae8")
LABEL_COLOURS: dict[str, str] = dict(zip(ENTITY_LABELS, _COLOURS))
_OTHER_COLOUR = "#dee2e6"
_LEVEL_EM = 1.7  # height of one arc level


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    entities: tuple[Entity, ...]


def render(
    extraction: Extraction | Sequence[Extraction], *, title: str | None = None, names: Sequence[str] | None = None
) -> str:
    """One HTML page for one extraction or a list of them (one section per document, headed by its `names` entry)."""
    if not isinstance(extraction, (Extraction, Iterable)) or isinstance(extraction, str):
        raise TypeError(f"extraction: expected Extraction or a list of them, got {type(extraction).__name__}")
    docs = [extraction] if isinstance(extraction, Extraction) else list(extraction)
    for index, doc in enumerate(docs):
        if not isinstance(doc, Extraction):
            raise TypeError(f"extraction: expected Extraction or a list of them, got {type(doc).__name__} at {index}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title: expected str or None, got {type(title).__name__}")
    if names is not None:  # a list here: checking a generator's items used them up before the headings
        names = list(names) if isinstance(names, Iterable) and not isinstance(names, str) else names
        if not isinstance(names, list) or [type(name) for name in names] != [str] * len(docs):
            raise TypeError(f"names: expected {len(docs)} strings, one per extraction, got {names!r:.200}")
    headings = [f'<h2 class="name">{html.escape(name)}</h2>\n' for name in names] if names else [""] * len(docs)
    sections = "\n".join(_document(doc, index, headings[index]) for index, doc in enumerate(docs))
    heading = f"<h1>{html.escape(title)}</h1>\n" if title else ""
    page = (
        '<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title or 'viextract')}</title>\n<style>{_css()}</style></head>\n"
        f"<body>\n{heading}{_legend()}\n{sections}\n</body></html>\n"
    )
    # Half an emoji (a post cut short) cannot be written as UTF-8, nor shown: the replacement character, as a
    # browser shows it, one column for one.
    return LONE_SURROGATE.sub("\ufffd", page)


def to_displacy(extraction: Extraction, title: str | None = None) -> dict[str, Any]:
    """`{"text", "ents": [{"start", "end", "label"}], "title"}` for displaCy's manual "ent" style."""
    ordered = sorted(extraction.entities, key=lambda e: (e.start, e.end))
    ents = [{"start": e.start, "end": e.end, "label": e.label} for e in ordered]
    return {"text": extraction.text, "ents": ents, "title": title}


def _document(doc: Extraction, index: int, heading: str) -> str:
    entities = _drawable(doc.text, doc.entities)
    ids = {e: f"d{index}-e{n}" for n, e in enumerate(entities)}
    lines = _wrap(doc.text, entities)
    line_of = {e: n for n, line in enumerate(lines) for e in line.entities}
    on_line: dict[int, list[Relation]] = {}  # each line's arcs come from its own relations, not from all of them
    for r in doc.relations:
        if r.head in line_of and line_of.get(r.tail) == line_of[r.head]:
            on_line.setdefault(line_of[r.head], []).append(r)
    body = "\n".join(_line_html(doc.text, line, on_line.get(n, []), ids) for n, line in enumerate(lines))
    rows = "\n".join(_relation_row(r, ids, line_of) for r in doc.relations)
    relations = f'<ol class="relations">\n{rows}\n</ol>' if rows else '<p class="none">(no relations)</p>'
    return f'<section class="doc" id="d{index}">\n{heading}<div class="text">\n{body}\n</div>\n{relations}\n</section>'


# Every break that ends a sentence (normalize.py), \r\n as one: a lone \r or U+2028 starts a line too.
_LINE_BREAK = re.compile("\r\n|[" + re.escape("".join(sorted(LINE_BREAKS))) + "]")


def _drawable(text: str, entities: Sequence[Entity]) -> list[Entity]:
    """Entities in text order that a mark can show: not overlapping an earlier one, not across a line break.

    The others still appear in the relation list.
    """
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (e.start, -e.end)):
        if _LINE_BREAK.search(text, entity.start, entity.end) or not 0 <= entity.start < entity.end <= len(text):
            continue
        if not kept or entity.start >= kept[-1].end:
            kept.append(entity)
    return kept


def _wrap(text: str, entities: list[Entity]) -> list[_Line]:
    """Lines of at most LINE_WIDTH characters, cut at spaces outside entities, and at every line break."""
    inside = set()
    for e in entities:
        inside.update(range(e.start, e.end))
    bounds: list[tuple[int, int]] = []
    offset = 0
    for line_break in [*_LINE_BREAK.finditer(text), None]:
        start, end = offset, line_break.start() if line_break else len(text)
        while end - start > LINE_WIDTH and (cut := _cut(text, start, end, inside)) < end:
            bounds.append((start, cut))
            start = cut + 1  # the space at the cut is between lines
        bounds.append((start, end))  # the rest; a run with no space to cut at stays one long line
        offset = line_break.end() if line_break else len(text)
    starts = [e.start for e in entities]  # in text order (_drawable): each line's entities are one slice
    return [_Line(s, e, tuple(entities[bisect_left(starts, s) : bisect_left(starts, e)])) for s, e in bounds]


def _cut(text: str, start: int, end: int, inside: set[int]) -> int:
    """The last space within LINE_WIDTH not inside an entity; else the first one after it; else `end`.

    Searched outwards from the width, not listed to `end`: that made a long paragraph quadratic.
    """
    for i in range(min(start + LINE_WIDTH, end - 1), start, -1):
        if text[i] == " " and i not in inside:
            return i
    return next((i for i in range(start + LINE_WIDTH + 1, end) if text[i] == " " and i not in inside), end)


def _line_html(text: str, line: _Line, relations: Sequence[Relation], ids: dict[Entity, str]) -> str:
    parts, at = [], line.start
    for e in line.entities:
        parts.append(html.escape(text[at : e.start]))
        colour = LABEL_COLOURS.get(e.label, _OTHER_COLOUR)
        parts.append(
            f'<mark id="{ids[e]}" class="ent" data-label="{html.escape(e.label)}" style="background:{colour}" '
            f'title="{html.escape(e.label)} {e.score:.2f}">{html.escape(text[e.start : e.end])}</mark>'
        )
        at = e.end
    parts.append(html.escape(text[at : line.end]))
    arcs, height = _arcs(text, line, relations)
    return f'<div class="line" style="padding-top:{height:.1f}em">{arcs}<span>{"".join(parts) or " "}</span></div>'


def _arcs(text: str, line: _Line, relations: Sequence[Relation]) -> tuple[str, float]:
    """Arcs above the line for relations with both ends on it, stacked so overlapping arcs do not cross."""
    here = set(line.entities)
    same = [r for r in relations if r.head in here and r.tail in here and r.head != r.tail]
    same.sort(key=lambda r: abs(_centre(r.head) - _centre(r.tail)))

    def column(entity: Entity) -> float:  # the entity's middle, in columns: combining marks (NFD input) take none
        return (_columns(text, line.start, entity.start) + _columns(text, line.start, entity.end)) / 2

    placed: list[tuple[float, float, int]] = []
    out = []
    for r in same:
        left, right = sorted((column(r.head), column(r.tail)))
        level = 1 + max((lv for a, b, lv in placed if a < right and left < b), default=0)
        placed.append((left, right, level))
        tail_x = column(r.tail)
        out.append(
            f'<span class="arc" style="left:{left:.1f}ch;width:{right - left:.1f}ch;'
            f'height:{level * _LEVEL_EM - 0.5:.1f}em"><span class="rel">{html.escape(r.label)}</span></span>'
            f'<span class="head" style="left:{tail_x:.1f}ch"></span>'
        )
    top = max((lv for _, _, lv in placed), default=0) * _LEVEL_EM + 0.3
    return "".join(out), top


def _columns(text: str, start: int, end: int) -> int:
    """Columns from `start` (a line's start) to `end` as the browser draws them in `white-space:pre`: a tab goes
    on to the next multiple of TAB_SIZE; invisible format characters (zero-width space, direction marks) take none.
    """
    column = 0
    for char in text[start:end]:
        if char == "\t":
            column += TAB_SIZE - column % TAB_SIZE
        elif not combining(char) and category(char) != "Cf":
            column += 1
    return column


def _centre(entity: Entity) -> float:
    return (entity.start + entity.end) / 2


def _relation_row(r: Relation, ids: dict[Entity, str], line_of: dict[Entity, int]) -> str:
    def chip(e: Entity) -> str:
        colour = LABEL_COLOURS.get(e.label, _OTHER_COLOUR)
        target = f' href="#{ids[e]}"' if e in ids else ""
        return f'<a class="chip" style="background:{colour}"{target}>{html.escape(e.text)}</a>'

    apart = line_of.get(r.head) != line_of.get(r.tail) or r.head not in line_of
    note = ' <span class="apart">(different lines)</span>' if apart else ""
    return f'<li>{chip(r.head)} <span class="rel">{html.escape(r.label)}</span> → {chip(r.tail)}{note}</li>'


def _legend() -> str:
    items = "".join(
        f'<span class="chip" style="background:{colour}">{label}</span>' for label, colour in LABEL_COLOURS.items()
    )
    return f'<div class="legend">{items}</div>'


def _css() -> str:
    return (
        "body{font-family:system-ui,sans-serif;margin:1.5em;color:#212529;background:#fff}"
        "h1{font-size:1.3em}h2.name{font-size:1em;margin:0.2em 0 0.6em}"
        ".legend{margin-bottom:1em}.chip{padding:0.1em 0.4em;margin-right:0.4em;border-radius:0.3em;"
        "font-size:0.85em;color:#212529;text-decoration:none}"
        ".doc{border-top:1px solid #ced4da;padding-top:0.5em;margin-bottom:2em}"
        ".text{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:14px}"
        ".line{position:relative;white-space:pre;padding-bottom:1.1em;line-height:1.3}"
        "mark.ent{position:relative;color:inherit;border-radius:2px}"
        "mark.ent::after{content:attr(data-label);position:absolute;left:0;top:1.35em;font-size:9px;"
        "font-family:system-ui,sans-serif;font-weight:bold;color:#495057}"
        ".arc{position:absolute;bottom:2.45em;border:1.5px solid #495057;border-bottom:none;"
        "border-radius:0.8em 0.8em 0 0;box-sizing:border-box}"
        ".arc>.rel{position:absolute;top:-0.75em;left:50%;transform:translateX(-50%);background:#fff;"
        "padding:0 0.2em;font-size:10px;line-height:1.2}"
        ".head{position:absolute;bottom:2.1em;transform:translateX(-50%);width:0;height:0;"
        "border-left:4px solid transparent;border-right:4px solid transparent;border-top:6px solid #495057}"
        ".rel{font-family:system-ui,sans-serif;color:#495057}"
        ".relations{font-size:0.9em;line-height:1.8}.apart,.none{color:#868e96;font-size:0.85em}"
    )
