"""Silver training data: the weak annotator's labels on unannotated Vietnamese news sentences.

    python -m training.weak.silver --out outputs/bundled/silver.jsonl [--ud-dir DIR] [--min-entities 1]

Five gold documents are too few for a small encoder to learn what a title, an organisation or a
place looks like; the rules and gazetteers of `training.weak.annotate` already know much of it (78
entity F1 on the test document, far above the small bundled model). Running them over the UD
VTB treebank's raw sentences and the VLSP 2013 sentences shipped in `underthesea` gives about
900 weakly labelled sentences (of 5,443) to train on beside the gold ones (`silver_files` in a
training config). The labels are noisy:
the rules miss names outside their gazetteers, so some silver entities are trained as O.

Held-out strings stay out. A sentence is dropped if it contains an entity string of the dev or
test documents that no training document contains (`held_out_strings`), so the silver set
cannot teach the model a name it will be scored on; k-fold evaluation applies the same rule per
fold (`without_leaks`). The output is derived from the UD treebank, so it is CC BY-SA 4.0 like
the treebank: it is written under outputs/ and not committed.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from viextract.normalize import normalize_text
from viextract.segment import split_tokens

from ..data.documents import CORPUS_FILE, DEFAULT_SPLITS_FILE, DataError, Document
from ..data.files import check_output_file, load_numbered_documents, read_utf8, save_documents
from ..data.splits import extra_path, load_split, read_splits
from ..pipes import quiet_pipe
from ..pretraining.text import DEFAULT_UD_DIR, read_vlsp2013_words, underthesea_vlsp_path
from .annotate import annotate_text

logger = logging.getLogger(__name__)

UD_PARTS = ("train", "dev", "test")
# Punctuation the treebanks write as separate tokens; rejoined so the text reads like news.
_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")


@dataclass(frozen=True)
class RawSentence:
    source: str  # e.g. "ud_vtb/train-s12", "vlsp2013/417"
    text: str


def ud_sentences(ud_dir: Path, parts: Iterable[str] = UD_PARTS) -> list[RawSentence]:
    """The `# text =` line of every UD VTB sentence."""
    out = []
    for part in parts:
        path = Path(ud_dir) / f"vi_vtb-ud-{part}.conllu"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: not found. The UD VTB treebank lives in ../shared/data/ud_vietnamese_vtb/ "
                f"beside the repository; pass the folder holding it with --ud-dir DIR"
            )
        sent_id = None
        for line in read_utf8(path, "UD treebank file").splitlines():
            if line.startswith("# sent_id"):
                sent_id = line.split("=", 1)[1].strip()
            elif line.startswith("# text"):
                out.append(RawSentence(f"ud_vtb/{sent_id}", detokenize(line.split("=", 1)[1].split())))
    return out


def vlsp_sentences() -> list[RawSentence]:
    """VLSP 2013 POS test sentences from the installed underthesea, words re-spaced as text."""
    path = underthesea_vlsp_path()
    if path is None:
        raise FileNotFoundError("underthesea's VLSP 2013 sentences were not found: install underthesea")
    return [
        RawSentence(f"vlsp2013/{number}", detokenize([word.replace("_", " ") for word in words]))
        for number, words in enumerate(read_vlsp2013_words(path), start=1)
    ]


def detokenize(tokens: Sequence[str]) -> str:
    text = " ".join(t for t in tokens if t)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text)).strip()


def token_key(text: str) -> str:
    """Normalised tokens between single spaces, so `Mai,` still contains the word `Mai`."""
    norm = normalize_text(text).text
    return " " + " ".join(norm[a:b] for a, b in split_tokens(norm)) + " "


def held_out_strings(held_out: Sequence[Document], seen: Sequence[Document]) -> set[str]:
    """Entity strings of the held-out documents that no seen document contains (normalised)."""
    seen_text = "\n".join(token_key(doc.text) for doc in seen)
    strings = {token_key(doc.text[e.start : e.end]) for doc in held_out for e in doc.entities}
    return {s for s in strings if s not in seen_text}


def without_leaks(silver: Sequence[Document], strings: set[str]) -> list[Document]:
    """The silver documents whose text contains none of `strings` (as whole words)."""
    kept = []
    for doc in silver:
        key = token_key(doc.text)  # once per document, not once per string
        if not any(s in key for s in strings):
            kept.append(doc)
    return kept


def silver_documents(
    sentences: Sequence[RawSentence], min_entities: int = 1, progress: bool = True
) -> tuple[list[Document], dict[str, int]]:
    """Weakly annotated one-sentence documents with at least `min_entities` entities."""
    kept: list[Document] = []
    counts = {"sentences": len(sentences), "kept": 0, "too_few_entities": 0}
    seen: set[str] = set()
    for sentence in tqdm(sentences, desc="weak annotation", disable=not progress):
        if not sentence.text or sentence.text in seen:
            continue
        seen.add(sentence.text)
        doc = annotate_text(sentence.text, f"silver:{sentence.source}")
        if len(doc.entities) < min_entities:
            counts["too_few_entities"] += 1
            continue
        kept.append(doc)
    counts["kept"] = len(kept)
    counts["duplicates"] = len(sentences) - len(seen)
    return kept, counts


def load_silver(paths: Sequence[str | Path]) -> list[Document]:
    """The documents of every silver file, with a hint when one has not been generated yet."""
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for path in paths:
        if not Path(path).is_file():
            raise DataError(
                f"silver_files: {path} does not exist; generate it with "
                f"`python -m training.weak.silver --out {path}` (needs ../shared/data/ud_vietnamese_vtb)"
            )
        silver = load_numbered_documents(path)
        if not silver:  # one that generated nothing added nothing to training, and nothing said so
            raise DataError(f"silver_files: {path}: no documents (empty file)")
        for number, document in silver:  # one given twice weighed every weak label twice
            if document.id in seen:
                where = f"{path}:{number}"
                raise DataError(
                    f"silver_files: {where}: id: document id {document.id!r} is also at {seen[document.id]}"
                )
            seen[document.id] = f"{path}:{number}"
            documents.append(document)
    return documents


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.weak.silver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="JSONL file to write (corpus format)")
    parser.add_argument("--ud-dir", default=str(DEFAULT_UD_DIR), help="folder with vi_vtb-ud-*.conllu")
    parser.add_argument("--no-vlsp", action="store_true", help="leave out underthesea's VLSP 2013 sentences")
    parser.add_argument("--min-entities", type=int, default=1, help="drop sentences with fewer weak entities")
    parser.add_argument(
        "--splits",
        default=DEFAULT_SPLITS_FILE,
        help="splits file (ids of corpus.jsonl beside it): its dev/test strings stay out",
    )
    return parser


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        counts = _run(args)
    except (DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: {args.out} not written", file=sys.stderr)
        return 130
    print(json.dumps(counts))
    return 0


def _run(args: argparse.Namespace) -> dict[str, int]:
    ud_files = [Path(args.ud_dir) / f"vi_vtb-ud-{part}.conllu" for part in UD_PARTS]
    check_output_file(args.out, [args.splits, *_gold_files(args.splits), *ud_files])
    # Every input is read before the annotation, so a bad one stops the run before that work.
    train = load_split("train", args.splits)
    held_out = load_split("dev", args.splits) + load_split("test", args.splits)
    sentences = ud_sentences(Path(args.ud_dir))
    if not args.no_vlsp:
        sentences += vlsp_sentences()
    documents, counts = silver_documents(sentences, args.min_entities)
    clean = without_leaks(documents, held_out_strings(held_out, train))
    counts["dropped_held_out_strings"] = len(documents) - len(clean)
    counts["written"] = len(clean)
    counts["entities"] = sum(len(doc.entities) for doc in clean)
    save_documents(clean, args.out)
    return counts


def _gold_files(splits: str | Path) -> list[Path]:
    """The corpus and `train_extra` files a splits file names: inputs that --out must not replace."""
    data_dir = Path(splits).parent
    if not Path(splits).is_file():
        return []  # load_split says what is wrong with it
    extras = read_splits(splits).get("train_extra", [])
    return [data_dir / CORPUS_FILE, *(extra_path(extra, data_dir) for extra in extras)]


if __name__ == "__main__":
    raise SystemExit(main())
