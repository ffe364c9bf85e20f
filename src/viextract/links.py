"""Web addresses and e-mail addresses, which are never part of an entity.

News text carries them (`Nguồn: https://baochinhphu.vn/thu-tuong-pham-minh-chinh-...`), and the
tokenizer cuts a link into syllables the NER model reads as a name. Only unmistakable links count:
a scheme (`https://`), `www.`, or `name@domain.tld`. A bare domain is left to the model, since
`VnExpress.net` may be the news outlet, an ORG.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# An address's name is matched from the start of its run of characters, without giving any back: tried from
# every position of a long run of letters (a base64 blob, a hash), `[\w.+-]+@` took time quadratic in its length.
_LINK = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)\S+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
# A link at the end of a sentence or in brackets does not take the punctuation after it.
_TRAILING = ".,;:!?)]}>»”’\"'"


def link_spans(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the web and e-mail addresses in `text`, in order."""
    spans = []
    for match in _LINK.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        spans.append((start, end))
    return spans


def drop_link_words(
    tags: Sequence[str], word_spans: Sequence[tuple[int, int]], links: Sequence[tuple[int, int]]
) -> list[str]:
    """`tags` with every word that overlaps a link set to O; what an entity keeps outside it stays.

    `word_spans` and `links` are character spans in the same text, each in order.
    """
    out = list(tags)
    if not links:
        return out
    link = 0
    for index, (start, end) in enumerate(word_spans):
        while link < len(links) and links[link][1] <= start:
            link += 1
        if link < len(links) and links[link][0] < end:
            out[index] = "O"
    return out
