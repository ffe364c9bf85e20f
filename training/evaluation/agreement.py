"""Inter-annotator agreement between two annotation passes of the same documents.

`python -m training.evaluation.agreement PASS_A.jsonl PASS_B.jsonl` prints a Markdown table: for each
entity label and each relation label, how many annotations are in both passes, only in A
and only in B, with the pairwise F1 of A against B (symmetric: 2*both / (|A| + |B|)).

Entities match on (document, start, end, label). Relations match on (document, head span,
tail span, label), so two passes that number their entities differently still agree. Offsets
only compare on the same text: the passes must hold the same documents with the same texts.
Only the standard library and the data tools' JSONL reader are used.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..data.documents import DataError
from ..data.files import read_jsonl
from ..pipes import quiet_pipe

# Row order of SCHEMA.md (v1); labels outside it are listed after these, sorted.
ENTITY_ORDER: tuple[str, ...] = ("PER", "TITLE", "ORG", "LOC", "DATE", "EVENT", "AGREEMENT")
RELATION_ORDER: tuple[str, ...] = (
    "has_title",
    "affiliated_with",
    "meets",
    "held_in",
    "date_of",
    "signed",
    "participates_in",
)

Span = tuple[int, int]
EntityKey = tuple[str, int, int, str]  # doc id, start, end, label
RelationKey = tuple[str, Span, Span, str]  # doc id, head span, tail span, label


@dataclass(frozen=True)
class Annotations:
    entities: frozenset[EntityKey]
    relations: frozenset[RelationKey]
    texts: dict[str, str] = field(default_factory=dict)  # doc id -> text


@dataclass(frozen=True)
class Row:
    label: str
    both: int
    only_a: int
    only_b: int

    @property
    def f1(self) -> float | None:
        """None when neither pass has any: 0/0 is no agreement figure (it was printed as 1.000)."""
        denominator = 2 * self.both + self.only_a + self.only_b
        return 2 * self.both / denominator if denominator else None

    @property
    def shown(self) -> str:
        return "–" if self.f1 is None else f"{self.f1:.3f}"


def load_pass(path: Path) -> Annotations:
    """Read one pass (JSONL: id, text, entities, relations) into comparable keys."""
    entities: set[EntityKey] = set()
    relations: set[RelationKey] = set()
    texts: dict[str, str] = {}
    first_line: dict[str, int] = {}
    # As the data tools read it: a bad line names file and line, and a key given twice is refused, not dropped.
    for line_number, doc in read_jsonl(path):
        where = f"{path}:{line_number}"
        try:
            doc_id = str(doc["id"])
            # A document twice in one pass pooled both copies' annotations under one text: refused, as load_documents.
            if doc_id in first_line:
                raise DataError(f"{where}: id: duplicate document id {doc_id!r} (also line {first_line[doc_id]})")
            first_line[doc_id] = line_number
            texts[doc_id] = str(doc["text"])
            spans: dict[str, Span] = {}
            for index, entity in enumerate(doc.get("entities", [])):
                start, end = (_offset(entity, key, f"{where}: entities[{index}].{key}") for key in ("start", "end"))
                if entity["id"] in spans:  # the later span replaced the earlier: relations moved to it silently
                    raise DataError(f"{where}: entities[{index}].id: duplicate entity id {entity['id']!r}")
                spans[entity["id"]] = (start, end)
                entities.add((doc_id, start, end, str(entity["label"])))
            relations.update(_relation_keys(doc, doc_id, spans, where))
        except DataError:
            raise
        except KeyError as missing:  # a missing field: one line naming it, not a traceback
            raise ValueError(f"{where}: missing field {missing}") from None
        except (TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{where}: not a pass document (id, text, entities, relations): {error}") from None
    return Annotations(frozenset(entities), frozenset(relations), texts)


def _offset(entity: dict, key: str, where: str) -> int:
    """An entity's offset: an integer. int() made 4.9 into 4 and true into 1, a span the other pass then
    matched (agreement 1.0 on a wrong offset)."""
    value = entity[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{where}: expected an integer character offset, got {json.dumps(value)[:40]}")
    return value


def _relation_keys(doc: dict, doc_id: str, spans: dict[str, Span], where: str) -> list[RelationKey]:
    keys = []
    for relation in doc.get("relations", []):
        if relation.get("head") not in spans or relation.get("tail") not in spans:
            raise ValueError(f"{where}: relation names unknown entity in {relation}")
        keys.append((doc_id, spans[relation["head"]], spans[relation["tail"]], str(relation["label"])))
    return keys


def check_same_documents(a: Annotations, b: Annotations) -> None:
    """ValueError unless both passes hold the same documents with the same texts: a document in one pass
    only would count all its annotations as disagreement, and a text edited in one pass moves every offset."""
    if only := sorted(set(a.texts) ^ set(b.texts)):
        raise ValueError(f"documents {only} are in one pass only; compare passes of the same documents")
    if differ := sorted(doc_id for doc_id in a.texts if a.texts[doc_id] != b.texts[doc_id]):
        raise ValueError(f"documents {differ} have another text in each pass, so their offsets do not compare")


def _ordered(labels: Iterable[str], order: tuple[str, ...]) -> list[str]:
    present = set(labels)
    return [label for label in order if label in present] + sorted(present - set(order))


def compare(
    a: frozenset[tuple[object, ...]], b: frozenset[tuple[object, ...]], order: tuple[str, ...]
) -> tuple[list[Row], Row]:
    """Per-label rows (a key's label is its last field) and the total row."""
    both = Counter(str(key[-1]) for key in a & b)
    only_a = Counter(str(key[-1]) for key in a - b)
    only_b = Counter(str(key[-1]) for key in b - a)
    rows = [
        Row(label, both[label], only_a[label], only_b[label])
        for label in _ordered((str(key[-1]) for key in a | b), order)
    ]
    total = Row("total", sum(both.values()), sum(only_a.values()), sum(only_b.values()))
    return rows, total


def format_table(a: Annotations, b: Annotations) -> str:
    lines = ["| kind | label | both | only A | only B | F1 |", "|---|---|---:|---:|---:|---:|"]
    totals: list[Row] = []
    for kind, keys_a, keys_b, order in (
        ("entity", a.entities, b.entities, ENTITY_ORDER),
        ("relation", a.relations, b.relations, RELATION_ORDER),
    ):
        rows, total = compare(keys_a, keys_b, order)
        for row in [*rows, total]:
            label = f"**{row.label}**" if row is total else f"`{row.label}`"
            lines.append(f"| {kind} | {label} | {row.both} | {row.only_a} | {row.only_b} | {row.shown} |")
        totals.append(total)
    figures = [f"{kind} {row.shown}" + (" (none in either pass)" if row.f1 is None else "")
               for kind, row in zip(("entities", "relations"), totals)]  # fmt: skip
    lines.append("")
    lines.append(f"A vs B F1: {', '.join(figures)}")
    return "\n".join(lines)


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m training.evaluation.agreement PASS_A.jsonl PASS_B.jsonl", file=sys.stderr)
        return 2
    try:
        a, b = load_pass(Path(args[0])), load_pass(Path(args[1]))
    except ValueError as error:  # DataError included: it names the file and line
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        check_same_documents(a, b)
    except ValueError as error:
        print(f"error: {args[0]} vs {args[1]}: {error}", file=sys.stderr)
        return 2
    print(format_table(a, b))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
