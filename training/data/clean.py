"""Strip page furniture from raw corpus articles, as SCHEMA.md asks.

`python -m training.data.clean ../shared/corpus/*.txt > cleaned.jsonl` prints one
`{"id", "date", "text"}` object per article; annotation starts from that text.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# " date 2025-10-11 Chiều tối..." : the crawler glued the date onto the first line.
_DATE_HEADER = re.compile(r"^\s*date (\d{4}-\d{2}(?:-\d{2})?)\s+")
# A photo caption ends in "(Ảnh: ...)" with optional full stop, or in a bare "Ảnh: SOURCE".
_CAPTION = re.compile(r"(\(Ảnh:[^()]*\)\.?|\bẢnh: [^.]{1,40})\s*$")
# A byline is a short line "Theo BNG"; "Theo đánh giá, ..." is a sentence, not a byline.
_BYLINE = re.compile(r"^Theo(\s+\S+){1,3}$")
# Everything from these headings on is a list of links to other articles.
_LINK_LISTS = {"Tin liên quan", "Tin mới hơn", "Tin khác"}


@dataclass(frozen=True)
class CleanDocument:
    id: str
    date: str | None
    text: str


def clean_article(raw: str) -> tuple[str | None, str]:
    """Return (date, body): the date header lifted out, furniture lines dropped."""
    date = None
    match = _DATE_HEADER.match(raw)
    if match:
        date = match.group(1)
        raw = raw[match.end():]
    kept: list[str] = []
    for line in raw.splitlines():
        line = line.strip()
        if line in _LINK_LISTS:
            break
        if not line or _CAPTION.search(line) or _BYLINE.match(line):
            continue
        kept.append(line)
    return date, "\n\n".join(kept)


def clean_file(path: Path) -> CleanDocument:
    date, text = clean_article(path.read_text(encoding="utf-8"))
    return CleanDocument(id=path.stem, date=date, text=text)


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: python -m training.data.clean FILE.txt [...]", file=sys.stderr)
        return 2
    for path in sorted(paths):
        doc = clean_file(path)
        print(json.dumps({"id": doc.id, "date": doc.date, "text": doc.text}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
