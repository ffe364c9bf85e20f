"""HTML tags and comments left in scraped text (`<p>`, `</a>`, `<br/>`, `<!-- ... -->`), blanked for the models.

A tag cut into syllables sits between a title and a name (`Thủ tướng <b>Phạm Minh Chính</b>`) and
the bundled model then misses the name. Each tag becomes spaces of the same length, so offsets
still index the caller's text. Only a well-formed tag counts: a letter right after `<` (or `</`),
no `<` or `>` inside, so `a < b` and `<3` in prose stay. Entities (`&amp;`) are left as they are.

A comment is hidden from readers, so its text (a left-over byline, markup) is blanked whole, from
`<!--` to the first `-->` after it (`<!-->` and `<!--->` are empty comments, as in HTML5). A `<!--`
never closed is left as it is: the text after it may be all the document, and is not a tag either.
`<script>` and `<style>` contents are not blanked: only their tags are.
"""

from __future__ import annotations

import re

TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
COMMENT_OPEN = "<!--"
COMMENT_CLOSE = "-->"


def blank_markup(text: str) -> str:
    """`text` with each HTML comment and tag turned into as many spaces."""
    if "<" not in text:
        return text
    return TAG.sub(lambda match: " " * len(match.group()), _blank_comments(text))


def comment_end(text: str, opening: int) -> int:
    """End of the comment `<!--` at `opening` begins, or -1 where no `-->` closes it."""
    close = text.find(COMMENT_CLOSE, opening + 2)  # from the `--` of `<!--`: `<!-->` is closed at once
    return -1 if close < 0 else close + len(COMMENT_CLOSE)


def _blank_comments(text: str) -> str:
    # A linear scan, not a lazy regex, which is quadratic on many unclosed `<!--`.
    parts = []
    done = 0
    while (opening := text.find(COMMENT_OPEN, done)) >= 0 and (end := comment_end(text, opening)) >= 0:
        parts += [text[done:opening], " " * (end - opening)]
        done = end
    return "".join(parts) + text[done:] if parts else text
