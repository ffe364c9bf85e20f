"""Augmentation by mention replacement: new training documents with other names, titles, places and dates.

Each copy swaps every PER, TITLE, ORG, LOC and DATE mention for another string of the same
kind (gazetteers for names, titles, organisations and places; freshly drawn numbers in the
same shape for dates). EVENT and AGREEMENT names stay: their words are the evidence the
model must learn. A string is swapped for the same replacement everywhere in a document,
so repeated mentions still co-refer, and the relations are kept as they are. Offsets are
recomputed, and every copy passes training.data.checks, format and SCHEMA v1.1 conventions
both (a swap can make a title meet ORG `Quốc hội Việt Nam`, which the schema splits).

    python -m training.weak.augment data/corpus.jsonl --copies 2 --seed 0 > augmented.jsonl
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import product
from pathlib import Path

from ..data.checks import check_conventions, check_document
from ..data.documents import DataError, Document, EntitySpan
from ..data.files import load_documents, print_documents, require_documents
from ..pipes import quiet_pipe
from . import gazetteers as gz

logger = logging.getLogger(__name__)

# Draws per copy before giving up on it (a swap can break a rule: a sentence piece shifts, a title
# meets an organ that SCHEMA v1.1 fuses into it).
MAX_ATTEMPTS = 5


def _invented_names() -> tuple[str, ...]:
    vietnamese = [
        " ".join(parts)
        for parts in product(gz.VIETNAMESE_SURNAMES, gz.VIETNAMESE_MIDDLE_NAMES, gz.VIETNAMESE_GIVEN_NAMES)
    ]
    lao = [" ".join(parts) for parts in product(gz.LAO_GIVEN_NAMES, gz.LAO_FAMILY_NAMES)]
    return tuple(vietnamese + lao)


PERSONS: tuple[str, ...] = gz.KNOWN_PERSONS + _invented_names()
# Capitalised offices only: a lower-case `trưởng đoàn` is a role word and is left alone.
OFFICES: tuple[str, ...] = tuple(t for t in gz.OFFICES if t[0].isupper())


def pool_for(label: str, mention: str) -> Sequence[str] | None:
    """Strings a mention may become, or None to keep it; ranks stay ranks and countries stay countries."""
    if label == "PER":
        return PERSONS
    if label == "TITLE":
        if mention in gz.RANKS:
            return gz.RANKS
        return OFFICES if mention[:1].isupper() else None
    if label == "ORG":
        return gz.ORGANISATIONS
    if label == "LOC":
        return gz.COUNTRIES if mention in gz.COUNTRIES else gz.PLACES
    return None


_DATE_NUMBER = re.compile(r"\d+")


def _date_roles(mention: str) -> list[tuple[int, int, int, str]]:
    """(start, end, value, role) of each number of a date: year, quarter, month or day."""
    roles = []
    for match in _DATE_NUMBER.finditer(mention):
        before = mention[: match.start()]
        if len(match.group()) == 4:
            role = "year"
        elif before.endswith("quý ") or before.endswith("Quý "):
            role = "quarter"
        elif before.lower().endswith("tháng ") or before.endswith("/"):
            role = "month"  # `tháng 11/2025`, the `m` of `d/m`
        else:
            role = "day"  # `d/m`, both ends of `d-d/m`, `ngày d tháng m`
        roles.append((match.start(), match.end(), int(match.group()), role))
    return roles


def swap_date(mention: str, rng: random.Random) -> str:
    """The same date expression with other numbers: `ngày 25-27/12` -> `ngày 3-5/7`; words and shape kept.

    Ranges keep their length (`2021-2025` stays five years, `25-27/12` three days).
    """
    roles = _date_roles(mention)
    days = [value for _, _, value, role in roles if role == "day"]
    shift = {
        "year": rng.randint(-12, 6),
        "day": rng.randint(1 - min(days), 28 - max(days)) if days and max(days) <= 28 else 0,
    }
    fresh = {"month": rng.randint(1, 12), "quarter": rng.randint(1, 4)}
    out, last = [], 0
    for start, end, value, role in roles:
        new = value + shift[role] if role in shift else fresh[role]
        out.append(mention[last:start] + str(new))
        last = end
    return "".join(out) + mention[last:]


def _choose(pool: Sequence[str], original: str, taken: set[str], rng: random.Random) -> str:
    """A pool entry other than the original and not yet given to another string of this document."""
    choices = [s for s in pool if s != original and s not in taken]
    return rng.choice(choices) if choices else original


def _replacements(doc: Document, rng: random.Random) -> dict[tuple[str, str], str]:
    """One replacement per distinct (mention, label) of the document, injective within each label."""
    mapping: dict[tuple[str, str], str] = {}
    taken: dict[str, set[str]] = {}
    for entity in sorted(doc.entities, key=lambda e: e.start):
        key = (doc.mention(entity), entity.label)
        if key in mapping:
            continue
        used = taken.setdefault(entity.label, set())
        if entity.label == "DATE":
            new = swap_date(key[0], rng)
        else:
            pool = pool_for(entity.label, key[0])
            new = key[0] if pool is None else _choose(pool, key[0], used, rng)
        mapping[key] = new
        used.add(new)
    return mapping


def rewrite(doc: Document, mapping: dict[tuple[str, str], str], new_id: str) -> Document:
    """Replace each mention by its mapping, shifting every later offset; relations are unchanged."""
    pieces: list[str] = []
    entities: dict[str, EntitySpan] = {}
    cursor = 0
    for entity in sorted(doc.entities, key=lambda e: e.start):
        pieces.append(doc.text[cursor : entity.start])
        start = sum(map(len, pieces))
        new = mapping.get((doc.mention(entity), entity.label), doc.mention(entity))
        pieces.append(new)
        entities[entity.id] = replace(entity, start=start, end=start + len(new))
        cursor = entity.end
    pieces.append(doc.text[cursor:])
    return Document(
        id=new_id,
        date=doc.date,
        text="".join(pieces),
        entities=tuple(entities[e.id] for e in doc.entities),  # original order
        relations=doc.relations,
        source=f"augmented from {doc.id} by mention replacement; training only",
    )


def augment_document(doc: Document, copy: int, seed: int) -> Document | None:
    """Copy number `copy` of `doc`; None if no draw passed the format checks and the SCHEMA conventions."""
    return _draw_copy(doc, copy, seed)[0]


def _draw_copy(doc: Document, copy: int, seed: int) -> tuple[Document | None, str]:
    """The copy, or None and which kind of rule ("format" or "convention") its last draw broke."""
    rng = random.Random(f"{seed}/{doc.id}/{copy}")  # str seeds are stable across runs and platforms
    new_id = f"{doc.id}#aug{seed}-{copy}"
    broken = ""
    for _ in range(MAX_ATTEMPTS):
        candidate = rewrite(doc, _replacements(doc, rng), new_id)
        broken = _broken_rule(candidate)
        if not broken:
            return candidate, ""
    return None, broken


def _broken_rule(candidate: Document) -> str:
    """The kind of data rule the copy breaks: "format", "convention", or "" for none."""
    for kind, check in (("format", check_document), ("convention", check_conventions)):
        try:
            check(candidate, candidate.id)
        except DataError as error:
            logger.debug("augmented copy rejected, drawing again: %s", error)
            return kind
    return ""


def augment_documents(docs: Iterable[Document], copies: int, seed: int) -> list[Document]:
    """`copies` augmented copies of each document (originals not included); the same seed gives the same copies."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    out, dropped = [], Counter()
    for doc in docs:
        for copy in range(1, copies + 1):
            augmented, broken = _draw_copy(doc, copy, seed)
            if augmented is None:
                dropped[broken] += 1
            else:
                out.append(augmented)
    if dropped:
        logger.warning(
            "%d augmented copies broke a data rule in every draw and were left out "
            "(%d a format rule, %d a SCHEMA v1.1 convention)",
            sum(dropped.values()),
            dropped["format"],
            dropped["convention"],
        )
    return out


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.weak.augment", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants",
        action="store_true",
        help="instead: spelling variants (country-pair dashes, hyphenated/spaced names, lower case; weak.variants)",
    )
    parser.add_argument(
        "--kinds", help="with --variants: which, comma-separated (default dash,names,case; also: upper)"
    )
    args = parser.parse_args(argv)
    if args.kinds is not None and not args.variants:
        parser.error("--kinds goes with --variants")
    if args.copies < 0:
        parser.error(f"--copies: must be 0 or more, got {args.copies}")
    try:
        docs = [doc for path in args.files for doc in _documents_of(path)]
    except (DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return print_documents(_new_documents(docs, args, parser))
    except KeyboardInterrupt:
        print("interrupted: the documents printed so far are whole lines", file=sys.stderr)
        return 130


def _documents_of(path: Path) -> list[Document]:
    """The documents of `path`; an empty one is an error, as `training.data validate` says."""
    docs = load_documents(path)
    require_documents(docs, path)
    return docs


def _new_documents(docs: list[Document], args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[Document]:
    if not args.variants:
        return augment_documents(docs, args.copies, args.seed)
    from .variants import DEFAULT_KINDS, VARIANTS, variant_documents

    kinds = DEFAULT_KINDS if args.kinds is None else tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(VARIANTS))
    if unknown or not kinds:
        parser.error(f"--kinds: unknown {unknown or 'empty list'}; choose from {', '.join(VARIANTS)}")
    return variant_documents(docs, args.seed, kinds)


if __name__ == "__main__":
    raise SystemExit(main())
