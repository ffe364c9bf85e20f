"""HTML tags and comments left in scraped text (`<p>`, `</a>`, `<br/>`, `<!-- ... -->`), blanked for the models.

So are a doctype (`<!DOCTYPE html>`), the markers of a CDATA section (`<![CDATA[`, `]]>`; its text stays),
what Word's HTML leaves outside comments (the markers `<![if !supportLists]>` and `<![endif]>`, whose text stays
as a browser shows it, and `<?xml ...>` processing instructions; any other `<!` or `<?` is prose) and terminal
escape sequences from captured output (colour codes `ESC [31m`: the date `\\x1b[31mNgày 15/3` was
`31mNgày 15/3`; OSC titles and links, `ESC ]` to BEL or `ESC \\`). An escape never crosses a line break;
a doctype or an `<?xml ...>` may, as any tag may (XHTML's doctype and Word's namespaces are wrapped).
An OSC cut before its end (by a line break, another escape or the end of the text) is blanked up to
there: its payload, a link or a window title, is no prose (`Tin Hà Nội` in a title was tagged LOC).

A tag cut into syllables sits between a title and a name (`Thủ tướng <b>Phạm Minh Chính</b>`) and
the bundled model then misses the name. Each tag becomes spaces of the same length, so offsets
still index the caller's text. A name may carry a prefix, as Word writes them (`<o:p>`, and
`<st1:personname>`, which hid `Phạm Minh Chính` from the model too). Only a well-formed tag counts:
a letter right after `<` (or `</`), no `<` or `>` inside but in a quoted value (`<a title="a>b">`,
`<a title="a<b">`; one holding both, or a line break, is not taken for a value), so `a < b` and `<3`
in prose stay. Entities (`&amp;`) are left as they are.

A comment is hidden from readers, so its text (a left-over byline, markup) is blanked whole, from
`<!--` to the first `-->` or `--!>` after it, as HTML5 ends one (`<!-->` and `<!--->` are empty comments,
while `<!--!>` and `<!---!>` are not closed by their own `--!>`). A `<!--`
never closed is left as it is: the text after it may be all the document, and is not a tag either.

The contents of `<script>` and `<style>` (JavaScript, CSS: no reader sees them, and their names and strings
looked like entities) are blanked with their tags, up to the first `</script` or `</style` followed by a
space, `/` or `>`, in any case, as HTML5 ends them; a `<!--` inside one opens no comment, and a `<script>`
inside a comment opens nothing. One never closed is left as an unclosed comment is (its tag alone is
blanked). `<template>` is not: its contents are HTML, nested templates and all, whose tags are blanked
anyway, and `<noscript>`, `<textarea>` and `<title>` hold text a reader can see.
"""

from __future__ import annotations

import re

# A doctype may span lines (XHTML's does): it is a tag here, so that pieces.py does not cut inside it either.
# An attribute value quoted after `=` may hold a `>` (`title="a>b"`) or a `<` (`title="a<b"`), not both: a quote
# left open would then reach over the tags and text up to the next quote; one never closed is a character.
# Nor a line break: a piece cut there (pieces.py) would end the tag at the `>` the whole text reads as the value's.
# The two kinds of value are disjoint and each `=` has one reading, so a tag that does not end is given up in
# linear time.
_VALUE = r"""(?:"[^"<\n]*"|"[^"<>\n]*<[^">\n]*"|'[^'<\n]*'|'[^'<>\n]*<[^'>\n]*')"""
_ATTRIBUTES = rf"""(?:[^<>=]|=\s*{_VALUE}|=(?!\s*{_VALUE}))*"""
# `<p/ >`: a `/` right after the name, then a space, is one HTML5 skips.
TAG = re.compile(rf"</?[A-Za-z][A-Za-z0-9:_.-]*(?:/?\s{_ATTRIBUTES})?/?>|<!(?i:doctype)\s[^<>]*>")
COMMENT_OPEN = "<!--"
COMMENT_CLOSE = re.compile("--!?>")
# The start of a comment or of a script or style element; what ends a script or a style element.
_HIDDEN_START = re.compile(r"<!--|<(?i:(script|style))[\t\n\f\r />]")
_RAW_TEXT_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE) for name in ("script", "style")}
_CDATA_MARKS = ("<![CDATA[", "]]>")
# Word's HTML: the markers of a revealed conditional (`<![if !supportLists]>1.<![endif]>`: what they hold is
# shown) and XML processing instructions (`<?xml:namespace prefix = o ns = "..." />`). Other `<!` and `<?` are prose.
_WORD_MARKUP = r"<!\[(?i:if\s[^<>\]]*|endif)\]>|<\?(?i:xml)[\s:][^<>]*>"
_TAG_OR_CDATA = re.compile(f"{TAG.pattern}|<!\\[CDATA\\[|\\]\\]>|{_WORD_MARKUP}")
# CSI (`ESC [` parameters, intermediates, a final byte) and OSC (`ESC ]` to BEL or ST, else to where it is cut),
# never across a line.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n\r]*(?:\x07|\x1b\\)?")


def blank_markup(text: str) -> str:
    """`text` with each terminal escape, HTML comment, tag and CDATA marker turned into as many spaces."""
    text = _blank_escapes(text)
    if "<" not in text and _CDATA_MARKS[1] not in text:  # a piece (pieces.py) may hold a `]]>` without its `<`
        return text
    return _TAG_OR_CDATA.sub(_spaces, _blank_spans(text, hidden_spans(text)))


def blanked_whole(text: str) -> list[tuple[int, int]]:
    """[start, end) of each comment, script or style element, tag and CDATA marker `blank_markup` blanks, in order,
    those that overlap as one.

    pieces.py cuts no line break inside one: the piece on either side would not blank its part.
    """
    text = _blank_escapes(text)  # escapes never hold a line break, but may hold a `<`
    hidden = hidden_spans(text)
    merged: list[tuple[int, int]] = []
    # A tag may hold a blanked comment (`<a<!-- -->\n>`): one span then, as bisecting the list needs.
    for start, end in sorted(hidden + [tag.span() for tag in _TAG_OR_CDATA.finditer(_blank_spans(text, hidden))]):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _blank_escapes(text: str) -> str:
    return ANSI_ESCAPE.sub(_spaces, text) if "\x1b" in text else text


def _spaces(match: re.Match[str]) -> str:
    return " " * len(match.group())


def _comment_end(text: str, opening: int) -> int:
    """End of the comment `<!--` at `opening` begins, or -1 where no `-->` or `--!>` closes it."""
    close = COMMENT_CLOSE.search(text, opening + 2)  # from the `--` of `<!--`: `<!-->` is closed at once
    while close is not None and close.start() < opening + 4 and close.group() == "--!>":
        close = COMMENT_CLOSE.search(text, close.start() + 1)  # its `--` overlaps the opening: no close yet
    return -1 if close is None else close.end()


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each comment and script or style element in `text`, in order; one never closed is not one."""
    # A linear scan, not a lazy regex, which is quadratic on many unclosed `<!--`.
    spans: list[tuple[int, int]] = []
    unclosed: set[str] = set()  # once a close is not found, none is left for later ones of that kind either
    position = 0
    while (start := _HIDDEN_START.search(text, position)) is not None:
        kind = (start.group(1) or COMMENT_OPEN).lower()
        end = -1 if kind in unclosed else _hidden_end(text, start, kind)
        if end < 0:
            unclosed.add(kind)
            position = start.start() + 1
        else:
            spans.append((start.start(), end))
            position = end
    return spans


def _hidden_end(text: str, start: re.Match[str], kind: str) -> int:
    """End of the comment or element `start` begins, or -1 where nothing closes it."""
    if kind == COMMENT_OPEN:
        return _comment_end(text, start.start())
    # Its start tag ends at a `>` before any close: the close is searched for from the `<script` on.
    close = _RAW_TEXT_END[kind].search(text, start.end())
    if close is None:
        return -1
    if close.group().endswith(">"):
        return close.end()
    return text.find(">", close.end()) + 1 or -1  # `</script\n>`, `</style >`


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    parts = []
    done = 0
    for start, end in spans:
        parts += [text[done:start], " " * (end - start)]
        done = end
    return "".join(parts) + text[done:] if parts else text
