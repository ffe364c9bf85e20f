"""The challenge set: short written sentences per phenomenon of real news, scored per phenomenon.

    python -m training.evaluation.challenge --model DIR [--data data/challenge.jsonl] [--out results.json] [--markdown]
        [--capitals]
    python -m training.evaluation.challenge build data/challenge.txt --out data/challenge.jsonl
    python -m training.evaluation.challenge overlap data/written_topics.jsonl [--data data/challenge.jsonl]

Each document's id names its phenomenon (`challenge-<phenomenon>-NN`, PHENOMENA below). A model
is run once through `viextract.Extractor` on every text; each phenomenon then gets entity
P/R/F1 on exact character spans and relation F1 end to end (head span, tail span and label
exact), with counts, scored by training.evaluation.metrics as training.evaluation.evaluate does. The set is for
measurement only: no training path reads it, and nothing may be tuned on it; `overlap` lists
the challenge set's person, event and agreement names that a training file contains.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from viextract.labels import ENTITY_LABELS, RELATION_LABELS

from ..data.checks import sentence_bounds
from ..data.documents import DataError, Document, printed_in_capitals
from ..data.files import check_output_file, load_documents, load_numbered_documents, save_documents
from ..data.stats import counted
from ..pipes import quiet_pipe
from .metrics import score_items, score_spans
from .relations import gold_relations
from .runs import add_model_run_options

DEFAULT_DATA = "data/challenge.jsonl"
SOURCE = "written by the viextract team for the challenge set; measurement only, never training"
PREFIX = "challenge-"

# Key (in document ids) -> what the row measures; the table follows this order.
PHENOMENA: dict[str, str] = {
    "lao-names": "Lao names in Vietnamese transliteration",
    "country-pairs": "country pairs with a dash in EVENT/AGREEMENT names",
    "variants": "lower-case and variant spellings of fixed names",
    "abbreviations": "abbreviations (BĐBP, UBND, CHQS, ...)",
    "provincial": "provincial organs and titles",
    "dates": "date ranges and lists",
    "delegations": "delegation member lists, several titles each",
    "buildings": "named buildings, organs fused into titles",
}


def phenomenon_of(doc_id: str, where: str | None = None) -> str:
    """The PHENOMENA key a challenge document's id names; DataError (naming `where`, a file:line) for any other id."""
    for key in PHENOMENA:
        if doc_id.startswith(f"{PREFIX}{key}-"):
            return key
    place = f"{where}: id: {doc_id!r}:" if where else f"{doc_id}: id:"
    raise DataError(f"{place} expected '{PREFIX}<phenomenon>-NN' with a phenomenon of {list(PHENOMENA)}")


def load_challenge(path: str | Path) -> list[Document]:
    """The challenge documents of `path`, each id checked to name a phenomenon: a wrong file (the corpus) or id
    was refused only after the model loaded, by id alone, with no file or line."""
    numbered = load_numbered_documents(path)
    for line, doc in numbered:
        phenomenon_of(doc.id, f"{path}:{line}")
    return [doc for _, doc in numbered]


def group_documents(documents: Sequence[Document]) -> dict[str, list[Document]]:
    """Documents by phenomenon, in PHENOMENA's order; phenomena without a document are left out."""
    groups: dict[str, list[Document]] = {key: [] for key in PHENOMENA}
    for doc in documents:
        groups[phenomenon_of(doc.id)].append(doc)
    return {key: docs for key, docs in groups.items() if docs}


def score_group(documents: Sequence[Document], results: Sequence[Any]) -> dict[str, Any]:
    """Entity and end-to-end relation scores of `results` (Extractor results, one per document)."""
    gold_entities = [[(e.start, e.end, e.label) for e in doc.entities] for doc in documents]
    pred_entities = [[(e.start, e.end, e.label) for e in result.entities] for result in results]
    pred_relations = [
        {(r.head.start, r.head.end, r.tail.start, r.tail.end, r.label) for r in result.relations} for result in results
    ]
    return {
        "documents": len(documents),
        "sentences": sum(len(sentence_bounds(doc.text)) for doc in documents),
        "entities": score_spans(gold_entities, pred_entities, list(ENTITY_LABELS)).to_dict(),
        "relations_end_to_end": score_items(
            [gold_relations(doc) for doc in documents], pred_relations, list(RELATION_LABELS)
        ).to_dict(),
    }


def score_challenge(extractor, documents: Sequence[Document], batch_size: int = 32) -> dict[str, Any]:
    """One row per phenomenon, and `all` over every document, from one pass of `extractor`."""
    groups = group_documents(documents)
    ordered = [doc for docs in groups.values() for doc in docs]
    results = list(extractor.pipe([doc.text for doc in ordered], batch_size=batch_size))
    by_id = {doc.id: result for doc, result in zip(ordered, results)}
    rows = {key: score_group(docs, [by_id[doc.id] for doc in docs]) for key, docs in groups.items()}
    rows["all"] = score_group(ordered, results)
    return {"phenomena": rows}


ENTITY_COLUMNS = ("ent P", "ent R", "ent F1", "gold", "pred")
COLUMNS = ("phenomenon", "sent.", *ENTITY_COLUMNS, *(c.replace("ent", "rel") for c in ENTITY_COLUMNS))


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """The table's cells: per phenomenon, entity P/R/F1 with counts, relation P/R/F1 end to end with counts."""
    rows = []
    for key, row in report["phenomena"].items():
        cells = [key, str(row["sentences"])]
        for level in ("entities", "relations_end_to_end"):
            micro = row[level]["micro"]
            cells += [f"{micro[name] * 100:.1f}" for name in ("precision", "recall", "f1")]
            cells += [str(micro["support"]), str(micro["predicted"])]
        rows.append(cells)
    return rows


def format_table(report: dict[str, Any], markdown: bool = False) -> str:
    """Plain text (aligned columns) or a Markdown table of `score_challenge`'s report."""
    rows = table_rows(report)
    if markdown:
        header = "| " + " | ".join(COLUMNS) + " |"
        rule = "|---|" + "---:|" * (len(COLUMNS) - 1)
        bold = [[f"**{c}**" for c in row] if row[0] == "all" else row for row in rows]
        return "\n".join([header, rule, *("| " + " | ".join(row) + " |" for row in bold)])
    widths = [max(len(r[i]) for r in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(COLUMNS), *(line(row) for row in rows)])


def build_set(markup: str | Path, out: str | Path) -> list[Document]:
    """The challenge set's markup (training.data.inline's format) checked, tagged as measurement-only, written."""
    from ..data.files import read_utf8
    from ..data.inline import parse_inline

    check_output_file(out, [markup])
    written = parse_inline(read_utf8(markup, "markup file"), str(markup))
    documents = [replace(doc, source=SOURCE) for doc in written]
    group_documents(documents)  # every id must name a phenomenon
    save_documents(documents, out)
    return documents


# Names a model could learn by heart from training text; places, titles and dates are shared vocabulary.
NAMED_LABELS = ("PER", "EVENT", "AGREEMENT")


def shared_names(challenge: Sequence[Document], training: Sequence[Document]) -> list[tuple[str, str]]:
    """(training document id, name) for each challenge PER/EVENT/AGREEMENT string found in a training text.

    Matched as training.weak.silver matches held-out strings (token_key): spacing and hyphens are
    normalised, so `Bun-nhăng` and `Bun - nhăng` are the same name.
    """
    from ..weak.silver import token_key

    names = {doc.mention(e) for doc in challenge for e in doc.entities if e.label in NAMED_LABELS}
    keys = {name: token_key(name) for name in names}
    found = []
    for doc in training:
        text = token_key(doc.text)
        found += [(doc.id, name) for name in sorted(names) if keys[name] in text]
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.evaluation.challenge", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", required=True, help="model directory (ner/ and re/), e.g. src/viextract/models/default"
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"challenge documents (JSONL; default {DEFAULT_DATA})")
    parser.add_argument("--out", help="also write the scores as JSON here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    add_model_run_options(parser)
    parser.add_argument("--capitals", action="store_true", help="score the texts in capitals, as headlines are printed")
    return parser


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build"]:
        return _build_main(argv[1:])
    if argv[:1] == ["overlap"]:
        return _overlap_main(argv[1:])
    args = build_parser().parse_args(argv)
    from viextract import Extractor
    from viextract.errors import ModelLoadError

    from .runs import scored_weights, write_out

    try:
        check_output_file(args.out, [args.data])
        documents = load_challenge(args.data)
        if args.capitals:
            documents = [printed_in_capitals(doc) for doc in documents]
        extractor = Extractor.from_pretrained(args.model, device=args.device)
        scores = score_challenge(extractor, documents, args.batch_size)
        weights = scored_weights(args.model, "re")  # entities and relations: every model the extractor ran
        report = {"model": args.model, "weights": weights, "data": args.data, "capitals": args.capitals, **scores}
    except (DataError, ModelLoadError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = write_out(args.out, report)  # before printing: a reader that stops (`| head`) must not cost the file
    print(format_table(report, args.markdown))
    return status


def _build_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.challenge build", description="markup -> challenge JSONL"
    )
    parser.add_argument("markup", help="marked-up text (training.data.inline's format), ids challenge-<phenomenon>-NN")
    parser.add_argument("--out", default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    try:
        documents = build_set(args.markup, args.out)
    except (DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    groups = group_documents(documents)
    counts = ", ".join(f"{key} {sum(len(sentence_bounds(d.text)) for d in docs)}" for key, docs in groups.items())
    print(f"{args.out}: {counted(len(documents), 'document')}; sentences per phenomenon: {counts}")
    return 0


def _overlap_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.challenge overlap", description="challenge names found in training files"
    )
    parser.add_argument("files", nargs="+", help="training JSONL files, e.g. data/written_topics.jsonl")
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    try:
        challenge = load_documents(args.data)
        training = [doc for path in args.files for doc in load_documents(path)]
    except (DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    found = shared_names(challenge, training)
    for doc_id, name in found:
        print(f"{doc_id}: {name}")
    print(f"{len(found)} challenge {'/'.join(NAMED_LABELS)} names in {len(training)} training documents")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
