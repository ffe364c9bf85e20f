"""HTML tags left in scraped text (`<p>`, `<b>`, `</a>`, `<br/>`), blanked for the models.

A tag cut into syllables sits between a title and a name (`Thủ tướng <b>Phạm Minh Chính</b>`) and
the bundled model then misses the name. Each tag becomes spaces of the same length, so offsets
still index the caller's text. Only a well-formed tag counts: a letter right after `<` (or `</`),
no `<` or `>` inside, so `a < b` and `<3` in prose stay. Entities (`&amp;`) are left as they are.
"""

from __future__ import annotations

import re

TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def blank_markup(text: str) -> str:
    """`text` with each HTML tag turned into as many spaces."""
    if "<" not in text:
        return text
    return TAG.sub(lambda match: " " * len(match.group()), text)
