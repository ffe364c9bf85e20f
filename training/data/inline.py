"""Annotated documents written as marked-up text, turned into the corpus JSONL format.

    python -m training.data.inline written.txt --out written.jsonl [--splits data/splits.json]

Counting character offsets by hand is where written annotation goes wrong; here the offsets
are computed. The input is UTF-8 text, one document per block:

    === written-052
    Sáng [5/3]{DATE:d1}, [Đại tá]{TITLE:t1} [Nguyễn Văn Hùng]{PER:p1} đã tiếp ...
    A second paragraph: every non-empty line is one, joined by a blank line as in the corpus.
    @ p1 has_title t1

A block starts with `=== ID`. An entity is `[surface text]{LABEL:handle}`, the handle any
letters, digits and `_`, unique in its document; a line `@ HEAD LABEL TAIL` names a relation by
handles. A backslash makes the next `[ ] { } @ = \\` text, in or out of an entity: `(xem \\[1\\])`
is `(xem [1])`, a line `\\@VTV ...` is a paragraph, `\\\\` one backslash; a backslash before anything
else is kept as it is. A block with no text line is refused. Entity ids become T1, T2, ... in text
order, and a `meets` head is the mention that comes first (the schema's rule), whichever way round it
was written. Every document then passes training.data.checks (labels, token boundaries, both
arguments in one sentence, ...) and SCHEMA v1.1's boundary conventions (training.data.conventions),
or nothing is written and the error names the file, the markup line and the handle written there
(not the generated T1, T2, ...).
With `--splits`, a document whose text contains an entity string of the dev or test documents that no training document
contains is refused too, as training.weak.silver refuses such sentences (the `--out` file itself, when it is a
`train_extra` file being rewritten, counts as no training document).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from viextract.labels import RELATION_LABELS

from ..pipes import quiet_pipe
from .checks import check_conventions, check_document
from .documents import CORPUS_FILE, DataError, Document, is_control, parse_document
from .files import check_output_file, read_utf8, save_documents, split_lines
from .splits import load_split
from .stats import counts_line

SOURCE = "written by the viextract team; training only"
# The surface may hold escapes (`\\]`); a lone backslash before `]` would eat the bracket, so it is no entity.
ENTITY = re.compile(r"\[((?:[^\[\]{}\\]|\\.)+)\]\{([A-Z]+):(\w+)\}")
_ESCAPE = re.compile(r"\\([\\\[\]{}@=])")
# An escape is read before an entity can start at its bracket: `\\[A]{PER:p}` is no entity.
_PIECE = re.compile(f"{_ESCAPE.pattern}|{ENTITY.pattern}")
_CHECKED_ITEM = re.compile(r"(entities|relations)\[(\d+)\]")
_ENTITY_ID = re.compile(r"\bT\d+\b")
# `@ HEAD LABEL TAIL` left at the end of a text line (a missing line break): kept as text, the relation was lost.
_RELATION_IN_TEXT = re.compile(r"@\s*\w+\s+(?:" + "|".join(RELATION_LABELS) + r")\s+\w+")


def _in_markup_terms(error: DataError, doc_id: str, where: str, entities: list, relations: list) -> DataError:
    """A check's error on generated ids (`entities[5]`, `T6`) restated as the markup line and handles."""
    item = _CHECKED_ITEM.match(error.field)
    if not item:
        return DataError(f"{where} ({doc_id}): {error.field}: {error.problem}")
    handle_of = {f"T{index + 1}": handle for index, (*_, handle) in enumerate(entities)}
    problem = _ENTITY_ID.sub(lambda m: repr(handle_of.get(m.group(), m.group())), error.problem)
    index = int(item.group(2))
    if item.group(1) == "entities":
        number, handle = entities[index][3], entities[index][4]
        return DataError(f"{where}:{number}: entity {handle!r} of {doc_id}: {problem}")
    number, head, label, tail = relations[index]
    return DataError(f"{where}:{number}: relation '@ {head} {label} {tail}' of {doc_id}: {problem}")


def _plain(segment: str, where: str, number: int) -> str:
    """Text between entities and escapes: a bracket or brace there is broken markup (`[Lào{LOC:l1}`), never
    kept as text; so is a relation left at the end of a text line (a missing line break)."""
    if any(mark in segment for mark in "[]{}"):
        raise DataError(f"{where}:{number}: entity: markup that is not [text]{{LABEL:handle}} in {segment!r}")
    if stray := _RELATION_IN_TEXT.search(segment):
        problem = f"{stray.group()!r} inside a text line; put it on a line of its own"
        raise DataError(f"{where}:{number}: relation: {problem}")
    return segment


def _paragraph(line: str, where: str, number: int, offset: int) -> tuple[str, list]:
    """One marked-up line as its text and its entities (start, end, label, line, handle), offsets from `offset`."""
    text, entities, position = "", [], 0
    for match in _PIECE.finditer(line):
        text += _plain(line[position : match.start()], where, number)
        position = match.end()
        escaped, surface, label, handle = match.groups()
        if escaped is not None:
            text += escaped
            continue
        surface = _ESCAPE.sub(r"\1", surface)
        start = offset + len(text)
        entities.append((start, start + len(surface), label, number, handle))
        text += surface
    return text + _plain(line[position:], where, number), entities


def _relation_rows(relations: list, entities: list, handles: dict, doc_id: str, where: str) -> list[dict]:
    """`@ HEAD LABEL TAIL` lines as JSON relations on the generated ids, a `meets` head the first mention."""
    ids = {handle: f"T{index + 1}" for handle, index in handles.items()}
    rows = []
    for number, head, label, tail in relations:
        for handle in (head, tail):
            if handle not in ids:
                raise DataError(f"{where}:{number}: relation: no entity with handle {handle!r} in {doc_id}")
        if label == "meets" and entities[handles[tail]][0] < entities[handles[head]][0]:
            head, tail = tail, head
        rows.append({"head": ids[head], "tail": ids[tail], "label": label})
    return rows


def _no_control_character(line: str, where: str, number: int) -> None:
    """As the document's own check refuses one, but at its markup line and column: that check's offset counts
    in the generated text, without the markup, so it pointed nowhere in the file being edited."""
    column = next((i for i, char in enumerate(line) if is_control(char)), None)
    if column is not None:
        problem = f"control character U+{ord(line[column]):04X} at column {column + 1}"
        raise DataError(f"{where}:{number}: text: {problem}: not text (a binary or mis-decoded file?)")


def _document(doc_id: str, header: int, lines: Sequence[tuple[int, str]], where: str) -> Document:
    """One block (its header's number, its other lines with their numbers) to a checked Document."""
    text, entities, relations, handles = "", [], [], {}
    for number, line in lines:
        _no_control_character(line, where, number)
        line = line.strip()
        if not line:
            continue
        if line.startswith("@"):
            parts = line[1:].split()
            if len(parts) != 3:
                raise DataError(f"{where}:{number}: relation: expected '@ HEAD LABEL TAIL', got {line!r}")
            relations.append((number, *parts))
            continue
        if text:
            text += "\n\n"
        paragraph, found = _paragraph(line, where, number, len(text))
        for entity in found:
            if entity[4] in handles:
                raise DataError(f"{where}:{number}: entity: handle {entity[4]!r} is used twice in {doc_id}")
            handles[entity[4]] = len(entities)
            entities.append(entity)
        text += paragraph
    if not text:
        # An empty document would be written, trained on as nothing and counted as a document.
        raise DataError(f"{where}:{header}: text: {doc_id} has no text line")
    data = {
        "id": doc_id,
        "date": None,
        "source": SOURCE,
        "text": text,
        "entities": [
            {"id": f"T{i + 1}", "start": start, "end": end, "label": label}
            for i, (start, end, label, _, _) in enumerate(entities)
        ],
        "relations": _relation_rows(relations, entities, handles, doc_id, where),
    }
    doc = parse_document(data, f"{where} ({doc_id})")
    try:
        check_document(doc, f"{where} ({doc_id})")
        check_conventions(doc, f"{where} ({doc_id})")
    except DataError as error:
        raise _in_markup_terms(error, doc_id, where, entities, relations) from None
    return doc


def parse_inline(text: str, where: str = "<text>") -> list[Document]:
    """Every `=== ID` block of `text` as a checked Document; DataError names the line at fault."""
    blocks: list[tuple[str, int, list[tuple[int, str]]]] = []
    # A byte-order mark is not text (editors on Windows add one, and files joined by `cat` keep theirs at a
    # header, which then read as text of the block before); offsets are computed after it.
    for number, line in enumerate(split_lines(text), 1):
        line = line.removeprefix("\ufeff")
        if line.lstrip().startswith("==="):  # indented, as `@` lines may be; text writes `\===`
            doc_id = line.lstrip()[3:].strip()
            if not doc_id:
                raise DataError(f"{where}:{number}: id: '===' needs a document id after it")
            if any(doc_id == seen for seen, _, _ in blocks):
                raise DataError(f"{where}:{number}: id: {doc_id!r} is used twice")
            blocks.append((doc_id, number, []))
        elif blocks:
            blocks[-1][2].append((number, line))
        elif line.strip():
            raise DataError(f"{where}:{number}: text before the first '=== ID' line")
    if not blocks:
        raise DataError(f"{where}: no '=== ID' block")
    return [_document(doc_id, header, lines, where) for doc_id, header, lines in blocks]


def refuse_held_out_strings(
    documents: Sequence[Document], splits: str | Path, where: str, out: str | Path | None = None
) -> None:
    """DataError for the first document that names a dev/test entity string no training document names.

    When `out`, the file being written, is a `train_extra` file, it is not read as training: the old output would
    vouch for its own leaks (one converted once without --splits passed ever after), and a new one is not there yet.
    """
    from ..weak.silver import held_out_strings, token_key

    held_out = load_split("dev", splits) + load_split("test", splits)
    training = load_split("train", splits, without=out)
    strings = held_out_strings(held_out, training)
    for doc in documents:
        key = token_key(doc.text)
        if found := sorted(s.strip() for s in strings if s in key):
            raise DataError(f"{where} ({doc.id}): text: names {found} of the dev or test documents")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.data.inline", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="marked-up text file (see the module docstring)")
    parser.add_argument("--out", required=True, help="JSONL file to write (corpus format)")
    parser.add_argument(
        "--splits",
        help="splits file (ids of corpus.jsonl beside it): refuse dev/test entity strings no training document names",
    )
    return parser


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # --splits reads the corpus beside it: writing these few documents there would replace it.
        corpus = Path(args.splits).parent / CORPUS_FILE if args.splits else None
        check_output_file(args.out, [args.input, args.splits, corpus])
        documents = parse_inline(read_utf8(args.input, "markup file"), args.input)
        if args.splits:
            refuse_held_out_strings(documents, args.splits, args.input, args.out)
        save_documents(documents, args.out)
    except (OSError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    entities = sum(len(doc.entities) for doc in documents)
    relations = sum(len(doc.relations) for doc in documents)
    print(f"{args.out}: {counts_line(len(documents), entities, relations)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
