"""HTML tags and comments left in scraped text (`<p>`, `</a>`, `<br/>`, `<!-- ... -->`), blanked for the models.

So are a doctype (`<!DOCTYPE html>`), the markers of a CDATA section (`<![CDATA[`, `]]>`; its text stays)
and terminal escape sequences from captured output (colour codes `ESC [31m`: the date `\\x1b[31mNgày 15/3` was
`31mNgày 15/3`; OSC titles and links, `ESC ]` to BEL or `ESC \\`), none of which crosses a line break.

A tag cut into syllables sits between a title and a name (`Thủ tướng <b>Phạm Minh Chính</b>`) and
the bundled model then misses the name. Each tag becomes spaces of the same length, so offsets
still index the caller's text. Only a well-formed tag counts: a letter right after `<` (or `</`),
no `<` or `>` inside, so `a < b` and `<3` in prose stay. Entities (`&amp;`) are left as they are.

A comment is hidden from readers, so its text (a left-over byline, markup) is blanked whole, from
`<!--` to the first `-->` or `--!>` after it, as HTML5 ends one (`<!-->` and `<!--->` are empty comments,
while `<!--!>` and `<!---!>` are not closed by their own `--!>`). A `<!--`
never closed is left as it is: the text after it may be all the document, and is not a tag either.
`<script>` and `<style>` contents are not blanked: only their tags are.
"""

from __future__ import annotations

import re

# A doctype may span lines (XHTML's does): it is a tag here, so that pieces.py does not cut inside it either.
TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!(?i:doctype)\s[^<>]*>")
COMMENT_OPEN = "<!--"
COMMENT_CLOSE = re.compile("--!?>")
_CDATA_MARKS = ("<![CDATA[", "]]>")
_TAG_OR_CDATA = re.compile(f"{TAG.pattern}|<!\\[CDATA\\[|\\]\\]>")
# CSI (`ESC [` parameters, intermediates, a final byte) and OSC (`ESC ]` to BEL or ST), never across a line.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n\r]*(?:\x07|\x1b\\)")


def blank_markup(text: str) -> str:
    """`text` with each terminal escape, HTML comment, tag and CDATA marker turned into as many spaces."""
    if "\x1b" in text:
        text = ANSI_ESCAPE.sub(_spaces, text)
    if "<" not in text and _CDATA_MARKS[1] not in text:  # a piece (pieces.py) may hold a `]]>` without its `<`
        return text
    return _TAG_OR_CDATA.sub(_spaces, _blank_comments(text))


def _spaces(match: re.Match[str]) -> str:
    return " " * len(match.group())


def comment_end(text: str, opening: int) -> int:
    """End of the comment `<!--` at `opening` begins, or -1 where no `-->` or `--!>` closes it."""
    close = COMMENT_CLOSE.search(text, opening + 2)  # from the `--` of `<!--`: `<!-->` is closed at once
    while close is not None and close.start() < opening + 4 and close.group() == "--!>":
        close = COMMENT_CLOSE.search(text, close.start() + 1)  # its `--` overlaps the opening: no close yet
    return -1 if close is None else close.end()


def _blank_comments(text: str) -> str:
    # A linear scan, not a lazy regex, which is quadratic on many unclosed `<!--`.
    parts = []
    done = 0
    while (opening := text.find(COMMENT_OPEN, done)) >= 0 and (end := comment_end(text, opening)) >= 0:
        parts += [text[done:opening], " " * (end - opening)]
        done = end
    return "".join(parts) + text[done:] if parts else text
