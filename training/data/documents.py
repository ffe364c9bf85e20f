"""Annotated documents: load and validate the JSONL corpus, split it, turn it into datasets.

One document per line: {"id", "date", "text", "entities": [{"id","start","end","label"}],
"relations": [{"head","tail","label"}]} (optionally "source"); offsets index `text`.
Every rule of SCHEMA.md that code can check is checked here, once, so training,
augmentation and the weak annotator all write and read the same valid data.

    python -m training.data.documents validate FILE...
    python -m training.data.documents stats [--splits data/splits.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viextract.bio import decode_bio, encode_bio
from viextract.labels import (
    ENTITY_LABELS,
    NO_RELATION,
    RELATION_ARGUMENT_TYPES,
    RELATION_LABELS,
    SYMMETRIC_RELATIONS,
    allowed_relations,
    bio_labels,
)
from viextract.segment import DEFAULT_SEGMENTER
from viextract.text import Sentence, prepare_text

from .conventions import Span, convention_problems

SPLIT_NAMES = ("train", "dev", "test")
CORPUS_FILE = "corpus.jsonl"


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


# ---------------------------------------------------------------------------------------
# Parsing: JSON shape and field types.


def _fail(where: str, field_name: str, problem: str) -> DataError:
    return DataError(f"{where}: {field_name}: {problem}", where, field_name, problem)


def _require(obj: dict, key: str, kinds: tuple[type, ...], where: str, prefix: str = "") -> Any:
    name = f"{prefix}{key}"
    if key not in obj:
        raise _fail(where, name, "missing")
    value = obj[key]
    # bool is an int subclass: an offset of `true` is a mistake, not 1.
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        wanted = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise _fail(where, name, f"expected {wanted}, got {type(value).__name__}")
    return value


def _require_list(obj: dict, key: str, where: str) -> list:
    items = _require(obj, key, (list,), where)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _fail(where, f"{key}[{index}]", f"expected object, got {type(item).__name__}")
    return items


def parse_document(obj: Any, where: str) -> Document:
    """Check the shape and types of one decoded JSON line and build a Document."""
    if not isinstance(obj, dict):
        raise _fail(where, "document", f"expected object, got {type(obj).__name__}")
    doc_id = _require(obj, "id", (str,), where)
    if not doc_id:
        raise _fail(where, "id", "empty")
    date = _require(obj, "date", (str, type(None)), where)
    text = _require(obj, "text", (str,), where)
    source = obj.get("source")
    if source is not None and not isinstance(source, str):
        raise _fail(where, "source", f"expected str or null, got {type(source).__name__}")
    entities = []
    for index, item in enumerate(_require_list(obj, "entities", where)):
        prefix = f"entities[{index}]."
        entities.append(
            EntitySpan(
                id=_require(item, "id", (str,), where, prefix),
                start=_require(item, "start", (int,), where, prefix),
                end=_require(item, "end", (int,), where, prefix),
                label=_require(item, "label", (str,), where, prefix),
            )
        )
    relations = []
    for index, item in enumerate(_require_list(obj, "relations", where)):
        prefix = f"relations[{index}]."
        relations.append(
            RelationSpan(
                head=_require(item, "head", (str,), where, prefix),
                tail=_require(item, "tail", (str,), where, prefix),
                label=_require(item, "label", (str,), where, prefix),
            )
        )
    return Document(doc_id, date, text, tuple(entities), tuple(relations), source)


# ---------------------------------------------------------------------------------------
# Checking: SCHEMA.md's rules on a parsed document.


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of `text` as viextract's prepare_text splits it.

    The syllable segmenter is enough: sentence bounds do not depend on the segmenter, and it
    keeps validation fast.
    """
    return [(s.start, s.end) for s in prepare_text(text, segmenter="syllables").sentences]


def _token_bounds(text: str, split_at: Iterable[int]) -> tuple[set[int], set[int]]:
    words = [w for s in prepare_text(text, segmenter="syllables", split_at=set(split_at)).sentences for w in s.words]
    return {w.start for w in words}, {w.end for w in words}


def _sentence_of(bounds: Sequence[tuple[int, int]], start: int, end: int) -> int | None:
    for index, (s_start, s_end) in enumerate(bounds):
        if s_start <= start and end <= s_end:
            return index
    return None


def check_document(doc: Document, where: str) -> None:
    """Raise DataError at the first way `doc` breaks the format or SCHEMA.md."""
    text = doc.text
    by_id: dict[str, tuple[int, EntitySpan]] = {}
    for index, entity in enumerate(doc.entities):
        name = f"entities[{index}]"
        if entity.label not in ENTITY_LABELS:
            raise _fail(
                where, f"{name}.label", f"unknown entity label {entity.label!r}; expected one of {ENTITY_LABELS}"
            )
        if not 0 <= entity.start < entity.end <= len(text):
            raise _fail(
                where, name, f"offsets [{entity.start}, {entity.end}) are outside the text of length {len(text)}"
            )
        mention = text[entity.start : entity.end]
        if mention != mention.strip():
            raise _fail(where, name, f"span {mention!r} starts or ends in whitespace")
        if entity.id in by_id:
            raise _fail(
                where, f"{name}.id", f"duplicate entity id {entity.id!r} (also entities[{by_id[entity.id][0]}])"
            )
        by_id[entity.id] = (index, entity)

    ordered = sorted(enumerate(doc.entities), key=lambda pair: (pair[1].start, pair[1].end))
    for (i_prev, prev), (i_next, nxt) in zip(ordered, ordered[1:]):
        if nxt.start < prev.end:
            raise _fail(
                where,
                f"entities[{i_next}]",
                f"{nxt.id} {text[nxt.start : nxt.end]!r} [{nxt.start}, {nxt.end}) overlaps entities[{i_prev}] "
                f"{prev.id} {text[prev.start : prev.end]!r} [{prev.start}, {prev.end})",
            )

    bounds = sentence_bounds(text)
    starts, ends = _token_bounds(text, [x for e in doc.entities for x in (e.start, e.end)])
    sentence_of: dict[str, int] = {}
    for index, entity in enumerate(doc.entities):
        sentence = _sentence_of(bounds, entity.start, entity.end)
        if sentence is None:
            raise _fail(where, f"entities[{index}]", f"{text[entity.start : entity.end]!r} crosses a sentence boundary")
        # A boundary inside a token (`10` of `10/10`) cannot be a word boundary, so BIO tags
        # could not express the span.
        if entity.start not in starts or entity.end not in ends:
            raise _fail(
                where,
                f"entities[{index}]",
                f"{text[entity.start : entity.end]!r} does not start and end at token bounds",
            )
        sentence_of[entity.id] = sentence

    seen_pairs: dict[tuple[str, str], int] = {}
    for index, relation in enumerate(doc.relations):
        name = f"relations[{index}]"
        if relation.label not in RELATION_LABELS:
            raise _fail(
                where, f"{name}.label", f"unknown relation label {relation.label!r}; expected one of {RELATION_LABELS}"
            )
        for role in ("head", "tail"):
            if getattr(relation, role) not in by_id:
                raise _fail(where, f"{name}.{role}", f"no entity with id {getattr(relation, role)!r}")
        head, tail = by_id[relation.head][1], by_id[relation.tail][1]
        if relation.head == relation.tail:
            raise _fail(where, name, f"head and tail are the same entity {relation.head!r}")
        head_types, tail_types = RELATION_ARGUMENT_TYPES[relation.label]
        if head.label not in head_types or tail.label not in tail_types:
            raise _fail(
                where,
                name,
                f"{relation.label} does not allow {head.label} -> {tail.label} "
                f"(allowed: {'/'.join(sorted(head_types))} -> {'/'.join(sorted(tail_types))})",
            )
        if sentence_of[head.id] != sentence_of[tail.id]:
            raise _fail(where, name, f"{head.id} and {tail.id} are in different sentences")
        if relation.label in SYMMETRIC_RELATIONS and (head.start, head.end) > (tail.start, tail.end):
            raise _fail(where, name, f"{relation.label} is symmetric: the head must be the mention that comes first")
        pair = (relation.head, relation.tail)
        if pair in seen_pairs:
            raise _fail(
                where, name, f"second label for the pair {head.id} -> {tail.id} (see relations[{seen_pairs[pair]}])"
            )
        seen_pairs[pair] = index


def check_conventions(doc: Document, where: str) -> None:
    """Raise DataError at the first SCHEMA v1.1 annotation convention `doc` breaks (gold files only)."""
    spans = [Span(i, e.start, e.end, e.label) for i, e in enumerate(doc.entities)]
    for index, problem in convention_problems(doc.text, spans):
        raise _fail(where, f"entities[{index}] {doc.entities[index].id}", problem)


def read_utf8(path: str | Path, what: str = "file") -> str:
    """The text of `path`; DataError naming the file (and line) when it is missing or not UTF-8."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the {what}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        raise _fail(f"{path}:{line}", "encoding", f"not UTF-8 text (byte 0x{byte:02x} at column {column})") from None


def read_jsonl(path: str | Path) -> list[tuple[int, Any]]:
    """(line number, decoded object) for each non-blank line; DataError on bad JSON or a non-UTF-8 file."""
    path = Path(path)
    rows = []
    for number, line in enumerate(read_utf8(path, "data file").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise _fail(f"{path}:{number}", "json", f"invalid JSON: {error.msg} at column {error.colno}") from None
    return rows


def load_documents(path: str | Path) -> list[Document]:
    """Read and validate a JSONL file; raise DataError (`file:line: field: problem`) at the first fault."""
    return [doc for _, doc in load_numbered_documents(path)]


def load_numbered_documents(path: str | Path) -> list[tuple[int, Document]]:
    """`load_documents` with the line number of each document, for messages about it."""
    documents: list[tuple[int, Document]] = []
    first_line: dict[str, int] = {}
    for number, obj in read_jsonl(path):
        where = f"{path}:{number}"
        doc = parse_document(obj, where)
        check_document(doc, where)
        if doc.id in first_line:
            raise _fail(where, "id", f"duplicate document id {doc.id!r} (also line {first_line[doc.id]})")
        first_line[doc.id] = number
        documents.append((number, doc))
    return documents


def validate_documents(documents: Iterable[Document], where: str = "<memory>") -> None:
    """Check documents built in code (augmentation, the weak annotator) like ones read from disk."""
    for index, doc in enumerate(documents):
        check_document(doc, f"{where}:{doc.id or index}")


def write_documents(documents: Iterable[Document], handle) -> None:
    for doc in documents:
        handle.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")


def save_documents(documents: Iterable[Document], path: str | Path) -> None:
    """`documents` as a JSONL file at `path`, written beside it and renamed into place: never half a file."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        write_documents(documents, handle)
    partial.replace(out)


# ---------------------------------------------------------------------------------------
# Splits.


def load_split(
    split_name: str,
    splits_path: str | Path = "data/splits.json",
    data_dir: str | Path | None = None,
) -> list[Document]:
    """Documents of `train`, `dev` or `test` from `data_dir/corpus.jsonl`, in the order splits.json lists them.

    `train` also holds every document of the `train_extra` files, whose paths are relative to the
    parent of `data_dir` (the repository root for `data/`). `data_dir` defaults to the folder of
    splits.json.
    """
    if split_name not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split_name!r}; expected one of {SPLIT_NAMES}")
    splits_path = Path(splits_path)
    data_dir = Path(data_dir) if data_dir is not None else splits_path.parent
    splits = read_splits(splits_path)
    corpus_path = data_dir / CORPUS_FILE
    corpus = {doc.id: doc for doc in load_documents(corpus_path)}
    documents = []
    for doc_id in splits[split_name]:
        if doc_id not in corpus:
            raise DataError(f"{splits_path}:1: {split_name}: document {doc_id!r} is not in {corpus_path}")
        documents.append(corpus[doc_id])
    if split_name == "train":
        known = {doc.id for doc in documents}
        for extra in splits.get("train_extra", []):
            extra_path = Path(extra) if Path(extra).is_absolute() else data_dir.parent / extra
            for number, doc in load_numbered_documents(extra_path):
                if doc.id in known or doc.id in corpus:
                    raise _fail(
                        f"{extra_path}:{number}", "id", f"document id {doc.id!r} is also in the corpus or another file"
                    )
                known.add(doc.id)
                documents.append(doc)
    return documents


def read_splits(path: str | Path) -> dict[str, list[str]]:
    """splits.json checked: lists of ids, no document in two splits; DataError names the file and field."""
    path = Path(path)
    try:
        splits = json.loads(read_utf8(path, "splits file"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: json: invalid JSON: {error.msg}") from None
    if not isinstance(splits, dict):
        raise DataError(f"{path}:1: splits: expected an object")
    for name in (*SPLIT_NAMES, "train_extra"):
        value = splits.get(name, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise DataError(f"{path}:1: {name}: expected a list of strings")
    # A document in two splits would leak test data into training.
    owner: dict[str, str] = {}
    for name in SPLIT_NAMES:
        for doc_id in splits.get(name, []):
            if doc_id in owner:
                raise DataError(f"{path}:1: {name}: document {doc_id!r} is also in {owner[doc_id]}")
            owner[doc_id] = name
    return splits


# ---------------------------------------------------------------------------------------
# Words and tags.


@dataclass(frozen=True)
class WordEntity:
    """An entity as words [start, end) of its sentence."""

    entity: EntitySpan
    start: int
    end: int


@dataclass(frozen=True)
class AlignedSentence:
    doc_id: str
    sentence: Sentence
    entities: tuple[WordEntity, ...] = field(default=())

    @property
    def tokens(self) -> list[str]:
        return [w.text for w in self.sentence.words]


def align_document(doc: Document, segmenter: str = DEFAULT_SEGMENTER) -> list[AlignedSentence]:
    """Segment `doc` with a forced word break at every gold boundary; place each entity on its words."""
    split_at = {x for e in doc.entities for x in (e.start, e.end)}
    prepared = prepare_text(doc.text, segmenter=segmenter, split_at=split_at)
    remaining = sorted(doc.entities, key=lambda e: e.start)
    aligned = []
    for sentence in prepared.sentences:
        starts = {w.start: i for i, w in enumerate(sentence.words)}
        ends = {w.end: i + 1 for i, w in enumerate(sentence.words)}
        inside = [e for e in remaining if sentence.start <= e.start and e.end <= sentence.end]
        placed = []
        for entity in inside:
            if entity.start not in starts or entity.end not in ends:
                raise DataError(f"{doc.id}: entities: {entity.id} does not fall on word boundaries")
            placed.append(WordEntity(entity, starts[entity.start], ends[entity.end]))
        aligned.append(AlignedSentence(doc.id, sentence, tuple(placed)))
    if sum(len(s.entities) for s in aligned) != len(doc.entities):
        raise DataError(f"{doc.id}: entities: some entity is not inside one sentence")
    return aligned


def bio_to_char_spans(
    word_starts: Sequence[int], word_ends: Sequence[int], tags: Sequence[str]
) -> list[tuple[int, int, str]]:
    """Words with BIO tags back to character spans (start, end, label) of the original text."""
    return [(word_starts[s.start], word_ends[s.end - 1], s.label) for s in decode_bio(tags)]


def ner_rows(doc: Document, segmenter: str = DEFAULT_SEGMENTER) -> list[dict[str, Any]]:
    """One row per sentence: tokens, BIO tags and where each word is in `doc.text`."""
    rows = []
    for aligned in align_document(doc, segmenter):
        words = aligned.sentence.words
        rows.append(
            {
                "doc_id": doc.id,
                "sentence_start": aligned.sentence.start,
                "tokens": aligned.tokens,
                "ner_tags": encode_bio(len(words), [(e.start, e.end, e.entity.label) for e in aligned.entities]),
                "word_starts": [w.start for w in words],
                "word_ends": [w.end for w in words],
            }
        )
    return rows


def relation_rows(doc: Document, segmenter: str = DEFAULT_SEGMENTER) -> list[dict[str, Any]]:
    """One row per candidate ordered pair of entities in a sentence, labelled with gold or `no_relation`.

    A pair is a candidate when SCHEMA.md allows some relation between its types; for a pair
    only a symmetric relation can link (`meets`), only the first-mention-first order is one.
    """
    gold = {(r.head, r.tail): r.label for r in doc.relations}
    rows = []
    for aligned in align_document(doc, segmenter):
        words = aligned.sentence.words
        for head in aligned.entities:
            for tail in aligned.entities:
                if head is tail:
                    continue
                labels = allowed_relations(head.entity.label, tail.entity.label)
                if not labels:
                    continue
                if all(label in SYMMETRIC_RELATIONS for label in labels) and head.start > tail.start:
                    continue
                rows.append(
                    {
                        "doc_id": doc.id,
                        "sentence_start": aligned.sentence.start,
                        "tokens": aligned.tokens,
                        "word_starts": [w.start for w in words],
                        "word_ends": [w.end for w in words],
                        "head": {
                            "id": head.entity.id,
                            "start": head.start,
                            "end": head.end,
                            "label": head.entity.label,
                        },
                        "tail": {
                            "id": tail.entity.id,
                            "start": tail.start,
                            "end": tail.end,
                            "label": tail.entity.label,
                        },
                        "label": gold.get((head.entity.id, tail.entity.id), NO_RELATION),
                    }
                )
    return rows


def _datasets():
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("training.data.documents needs `datasets`: pip install -e .[train]") from error
    return datasets


def ner_features():
    ds = _datasets()
    ints = ds.Sequence(ds.Value("int32"))
    return ds.Features(
        {
            "doc_id": ds.Value("string"),
            "sentence_start": ds.Value("int32"),
            "tokens": ds.Sequence(ds.Value("string")),
            "ner_tags": ds.Sequence(ds.ClassLabel(names=bio_labels())),
            "word_starts": ints,
            "word_ends": ints,
        }
    )


def relation_features():
    ds = _datasets()
    ints = ds.Sequence(ds.Value("int32"))
    argument = {
        "id": ds.Value("string"),
        "start": ds.Value("int32"),
        "end": ds.Value("int32"),
        "label": ds.Value("string"),
    }
    return ds.Features(
        {
            "doc_id": ds.Value("string"),
            "sentence_start": ds.Value("int32"),
            "tokens": ds.Sequence(ds.Value("string")),
            "word_starts": ints,
            "word_ends": ints,
            "head": argument,
            "tail": argument,
            "label": ds.Value("string"),
        }
    )


def _to_dataset(rows: list[dict[str, Any]], features):
    ds = _datasets()
    columns = {name: [row[name] for row in rows] for name in features}
    return ds.Dataset.from_dict(columns, features=features)


def ner_dataset(documents: Iterable[Document], segmenter: str = DEFAULT_SEGMENTER):
    """Word-level NER examples, one row per sentence; `ner_tags` is a ClassLabel over bio_labels()."""
    return _to_dataset([row for doc in documents for row in ner_rows(doc, segmenter)], ner_features())


def relation_dataset(documents: Iterable[Document], segmenter: str = DEFAULT_SEGMENTER):
    """Relation candidates with word-level argument spans; `label` is a relation name or `no_relation`."""
    return _to_dataset([row for doc in documents for row in relation_rows(doc, segmenter)], relation_features())


# ---------------------------------------------------------------------------------------
# Command line.


def count_labels(documents: Iterable[Document]) -> Counter:
    counts: Counter = Counter()
    for doc in documents:
        counts["documents"] += 1
        counts.update(e.label for e in doc.entities)
        counts.update(r.label for r in doc.relations)
    return counts


def format_stats(columns: dict[str, Counter]) -> str:
    """A Markdown table: one row per entity and relation label, one column per split."""
    names = list(columns)
    rows = [
        ["documents"],
        *([label] for label in ENTITY_LABELS),
        ["entities"],
        *([label] for label in RELATION_LABELS),
        ["relations"],
    ]
    for row in rows:
        label = row[0]
        for name in names:
            counts = columns[name]
            if label == "entities":
                value = sum(counts[x] for x in ENTITY_LABELS)
            elif label == "relations":
                value = sum(counts[x] for x in RELATION_LABELS)
            else:
                value = counts[label]
            row.append(str(value))
    table = [["label", *names], ["---", *("---:" for _ in names)], *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join("| " + " | ".join(cell.ljust(w) for cell, w in zip(r, widths)) + " |" for r in table)


def split_stats(splits_path: Path, data_dir: Path | None = None) -> dict[str, Counter]:
    columns: dict[str, Counter] = {}
    total: Counter = Counter()
    splits = read_splits(splits_path)
    for name in SPLIT_NAMES:
        counts = count_labels(load_split(name, splits_path, data_dir))
        columns[name] = counts
        total += counts
    if splits.get("train_extra"):
        # Say how much of train is synthetic rather than annotated news.
        root = (Path(data_dir) if data_dir is not None else splits_path.parent).parent
        extra: Counter = Counter()
        for path in splits["train_extra"]:
            extra += count_labels(load_documents(Path(path) if Path(path).is_absolute() else root / path))
        columns["(of train: extra)"] = extra
    columns["total"] = total
    return columns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data.documents", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="validate gold JSONL files against SCHEMA.md, its v1.1 annotation conventions included"
    )
    validate.add_argument("files", nargs="+", type=Path)
    stats = commands.add_parser("stats", help="entity and relation counts per split")
    stats.add_argument("--splits", type=Path, default=Path("data/splits.json"))
    stats.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.command == "validate":
        failed = False
        for path in args.files:
            try:
                numbered = load_numbered_documents(path)
                for number, doc in numbered:
                    check_conventions(doc, f"{path}:{number}")
            except (DataError, OSError) as error:
                print(f"{error}", file=sys.stderr)
                failed = True
                continue
            docs = [doc for _, doc in numbered]
            counts = count_labels(docs)
            entities = sum(counts[x] for x in ENTITY_LABELS)
            relations = sum(counts[x] for x in RELATION_LABELS)
            print(f"{path}: OK ({len(docs)} documents, {entities} entities, {relations} relations)")
        return 1 if failed else 0

    try:
        columns = split_stats(args.splits, args.data_dir)
    except (DataError, OSError) as error:
        print(f"{error}", file=sys.stderr)
        return 1
    print(format_stats(columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
