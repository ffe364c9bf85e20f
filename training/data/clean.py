"""Strip page furniture from raw corpus articles, as SCHEMA.md asks.

`python -m training.data.clean ../shared/corpus/*.txt --out cleaned.jsonl` writes (without --out, prints) one
`{"id", "date", "text"}` object per article; annotation starts from that text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..pipes import quiet_pipe, write_stdout
from .documents import DataError, check_date
from .files import check_output_file, read_utf8, split_lines
from .json_text import writing_file

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
        raw = raw[match.end() :]
    kept: list[str] = []
    for line in split_lines(raw):  # as inline.py reads it: U+2028 in a line is no paragraph break
        line = line.strip()
        # Furniture is told by its words however their accents were typed: decomposed (NFD, as macOS and some
        # sites write them) `Tin liên quan` and `(Ảnh: ...)` were kept as text. The kept line is not changed.
        composed = unicodedata.normalize("NFC", line)
        if composed in _LINK_LISTS:
            break
        if not line or _CAPTION.search(composed) or _BYLINE.match(composed):
            continue
        kept.append(line)
    return date, "\n\n".join(kept)


def clean_file(path: Path) -> CleanDocument:
    """The article at `path` cleaned; a byte-order mark is not text (editors on Windows add one)."""
    raw = read_utf8(path, "article").removeprefix("\ufeff")
    date, text = clean_article(raw)
    # Both were printed as they came, and the document refused only later, by validate, under another name.
    if date is not None:
        check_date(date, f"{path}:1")  # `date 2025-13-45`: no calendar date
    if not text:
        raise DataError(f"{path}: text: nothing is left once page furniture is dropped (an empty article?)")
    return CleanDocument(id=path.stem, date=date, text=text)


def clean_files(paths: list[Path]) -> list[CleanDocument]:
    """Each article cleaned; DataError when two have one id: `a/x.txt` and `b/x.txt` were both printed as id `x`,
    which every later tool refuses (or one annotation is taken for the other's)."""
    documents: list[CleanDocument] = []
    first: dict[str, Path] = {}
    for path in paths:
        doc = clean_file(path)
        if doc.id in first:
            raise DataError(f"{path}: id: {doc.id!r} is also the id of {first[doc.id]} (an id is the file's name)")
        first[doc.id] = path
        documents.append(doc)
    return documents


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data.clean", description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", nargs="+", type=Path, help="raw article text files (UTF-8)")
    parser.add_argument("--out", type=Path, help="JSONL file to write, whole or not at all (default: stdout)")
    args = parser.parse_args(argv)
    try:
        check_output_file(args.out, args.articles)
        lines = [_json_line(doc) for doc in clean_files(sorted(args.articles))]
        if args.out is None:
            write_stdout("".join(lines))  # a full disk under `>`: this one-line error, not a traceback or a cut file
            return 0
        # `> cleaned.jsonl` empties the file before the command runs: an article it refuses, or a full disk,
        # left the old file empty or cut short. --out replaces it only once the new one is whole.
        with writing_file(args.out, "cleaned articles") as staging:
            staging.write_text("".join(lines), encoding="utf-8")
    except BrokenPipeError:
        raise  # a reader that stopped (`| head`): quiet_pipe's
    except (DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _json_line(doc: CleanDocument) -> str:
    return json.dumps({"id": doc.id, "date": doc.date, "text": doc.text}, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
