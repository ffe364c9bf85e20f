"""A weak, rule-based annotator: pre-labels raw text for a person to review, and scores itself on gold.

    python -m training.weak.annotate raw.txt [...] > draft.jsonl

Each file is one document whose id is its file name less the extension (`a/bai.txt` -> `bai`), so two files of
one name in different folders are refused before any draft is printed: rename one.
    python -m training.weak.annotate evaluate --gold data/corpus.jsonl [--docs test|all]

Entities come from gazetteers (training/weak/gazetteers.py), date regexes following SCHEMA.md's
DATE rules, trigger-word patterns for events and agreements, and "title + capitalised
words" for names; where candidates overlap the longest wins (training.weak.mentions). Relations come from
apposition ("Trung tướng X, Tư lệnh Y"), "tại LOC", "ký ... AGREEMENT", and proximity of
dates to events and agreements (training.weak.relation_rules). Every draft passes training.data.checks.

All matching runs on viextract's normalised text (NFC, one tone style), so a gazetteer entry
matches whatever tone placement the article uses; spans are mapped back to the original.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from viextract.labels import ENTITY_LABELS, RELATION_LABELS
from viextract.normalize import normalize_text

from ..data.checks import check_document, sentence_bounds
from ..data.documents import DEFAULT_SPLITS_FILE, DataError, Document, EntitySpan, RelationSpan, field_error
from ..data.files import load_documents, print_documents, read_utf8
from ..data.stats import counted
from ..evaluation.metrics import Scores, score_items, score_spans
from ..evaluation.runs import select_documents
from ..pipes import quiet_pipe
from .mentions import Mention, find_entities
from .relation_rules import find_relations

# ---------------------------------------------------------------------------------------
# Documents.


def annotate_text(text: str, doc_id: str, date: str | None = None) -> Document:
    """Pre-label one text; the result passes training.data.checks."""
    norm = normalize_text(text)
    mentions = find_entities(norm.text) if norm.text.strip() else []
    # Words in the original: a span must start and end on them (validator rule).
    words = [w for s in _syllable_sentences(text) for w in s.words]
    word_starts, word_ends = {w.start for w in words}, {w.end for w in words}
    bounds = sentence_bounds(text) if text.strip() else []

    original: dict[Mention, tuple[int, int]] = {}
    for mention in mentions:
        start, end = norm.span_to_original(mention.start, mention.end)
        if start in word_starts and end in word_ends and any(a <= start and end <= b for a, b in bounds):
            original[mention] = (start, end)
    kept = sorted(original, key=lambda m: original[m])
    ids = {m: f"T{i}" for i, m in enumerate(kept, start=1)}
    entities = tuple(EntitySpan(ids[m], *original[m], m.label) for m in kept)

    relations: set[tuple[str, str, str]] = set()
    seen_pairs: set[tuple[str, str]] = set()
    for a, b in bounds:
        # Sentence bounds are original offsets; relations are found on the normalised text.
        norm_start = next((i for i, s in enumerate(norm.starts) if s >= a), len(norm.text))
        norm_end = next((i for i in range(len(norm.ends) - 1, -1, -1) if norm.ends[i] <= b), -1) + 1
        for head, tail, label in sorted(find_relations(norm.text, kept, (norm_start, norm_end))):
            if head in ids and tail in ids and (ids[head], ids[tail]) not in seen_pairs:
                seen_pairs.add((ids[head], ids[tail]))
                relations.add((ids[head], ids[tail], label))
    order = {entity.id: n for n, entity in enumerate(entities)}
    doc = Document(
        id=doc_id,
        date=date,
        text=text,
        entities=entities,
        relations=tuple(
            RelationSpan(h, t, label) for h, t, label in sorted(relations, key=lambda r: (order[r[0]], order[r[1]]))
        ),
    )
    check_document(doc, f"<weak annotation of {doc_id}>")
    return doc


def _syllable_sentences(text: str):
    from viextract.text import prepare_text

    return prepare_text(text, segmenter="syllables").sentences if text.strip() else ()


# ---------------------------------------------------------------------------------------
# Evaluation against gold.


@dataclass(frozen=True)
class Evaluation:
    entities: Scores
    relations: Scores
    documents: int


def evaluate(gold: Sequence[Document]) -> Evaluation:
    """Exact span+label scores of the weak annotator on gold documents (relations: both spans and label)."""
    gold_entities, pred_entities, gold_relations, pred_relations = [], [], [], []
    for doc in gold:
        predicted = annotate_text(doc.text, doc.id, doc.date)
        gold_entities.append([(e.start, e.end, e.label) for e in doc.entities])
        pred_entities.append([(e.start, e.end, e.label) for e in predicted.entities])
        gold_relations.append(_relation_items(doc))
        pred_relations.append(_relation_items(predicted))
    return Evaluation(
        score_spans(gold_entities, pred_entities, ENTITY_LABELS),
        score_items(gold_relations, pred_relations, RELATION_LABELS),
        len(gold),
    )


def _relation_items(doc: Document) -> list[tuple[int, int, int, int, str]]:
    spans = {e.id: (e.start, e.end) for e in doc.entities}
    return [(*spans[r.head], *spans[r.tail], r.label) for r in doc.relations]


def format_scores(title: str, scores: Scores) -> str:
    """A Markdown table of per-label and micro P/R/F1 (percent)."""
    lines = [f"{title}", "", "| label | P | R | F1 | gold | predicted |", "|---|---:|---:|---:|---:|---:|"]
    for name, prf in [*scores.per_label.items(), ("**micro**", scores.micro)]:
        lines.append(
            f"| {name} | {prf.precision * 100:.1f} | {prf.recall * 100:.1f} | {prf.f1 * 100:.1f} "
            f"| {prf.gold} | {prf.predicted} |"
        )
    return "\n".join(lines)


def _evaluate_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.weak.annotate evaluate")
    parser.add_argument("--gold", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--docs", choices=("test", "all"), default="test")
    parser.add_argument("--splits", type=Path, default=Path(DEFAULT_SPLITS_FILE))
    args = parser.parse_args(argv)
    try:
        documents = select_documents(load_documents(args.gold), args.docs, args.splits, args.gold)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = evaluate(documents)
    ids = ", ".join(doc.id for doc in documents)
    print(f"Weak annotator vs {args.gold} ({args.docs}: {counted(result.documents, 'document')}: {ids})\n")
    print(format_scores("Entities (exact span and label)", result.entities))
    confusion = result.entities.confusion
    if confusion is not None:
        print("\nentity errors: " + ", ".join(f"{k} {v}" for k, v in confusion.to_dict().items()))
    print()
    print(format_scores("Relations (exact head span, tail span and label)", result.relations))
    return 0


def _read_inputs(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(path, text) of each raw file, all read first so a bad one is reported before any draft is printed;
    DataError for a file whose draft the data checks would refuse (blank, or the id of another file)."""
    texts: list[tuple[Path, str]] = []
    first: dict[str, Path] = {}
    for path in paths:
        # A byte-order mark is not text: drafting it would shift every offset by one.
        text = read_utf8(path, "input file").removeprefix("\ufeff")
        if not text.strip():
            raise field_error(str(path), "text", "empty: a document needs text")
        if path.stem in first:  # the id is the file name: two `x.txt` in two folders would share it
            raise field_error(str(path), "id", _duplicate_id(path, first[path.stem]))
        first[path.stem] = path
        texts.append((path, text))
    return texts


def _duplicate_id(path: Path, first: Path) -> str:
    if path.resolve() == first.resolve():  # one file given twice: renaming it would not help
        return f"{path.stem!r}: the file {first} is given twice; give it once"
    return f"{path.stem!r} is also the id of {first}; rename one"


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["evaluate"]:
        return _evaluate_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m training.weak.annotate",
        description="Pre-label raw text files as JSONL (one document per file, its id the file name less the "
        "extension, so no two files may share a name) for review; "
        "or `evaluate --gold FILE [--docs test|all]`.",
    )
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        texts = _read_inputs(args.files)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return print_documents(annotate_text(text, doc_id=path.stem) for path, text in texts)
    except KeyboardInterrupt:
        print("interrupted: the drafts printed so far are whole lines", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
