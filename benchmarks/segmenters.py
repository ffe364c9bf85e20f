"""Which word segmenter should viextract use? Measured, not assumed.

For each segmenter, on the gold corpus (data/corpus.jsonl): how many gold entity
boundaries fall inside a word (the model then cannot find that entity exactly), and how
fast it segments; on the UD Vietnamese VTB test file (../shared/data/, gold words): word
segmentation precision/recall/F1. Prints a table.

    python benchmarks/segmenters.py [--corpus data/corpus.jsonl] [--ud-test PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from viextract.segment import split_tokens
from viextract.text import prepare_text

REPO = Path(__file__).resolve().parents[1]
DEFAULT_UD_TEST = REPO.parent / "shared" / "data" / "ud_vietnamese_vtb" / "vi_vtb-ud-test.conllu"


def boundary_cuts(documents: list[dict], segmenter: str) -> tuple[int, int, int, float]:
    """(gold boundaries, boundaries cut inside a word, entities affected, seconds)."""
    boundaries = cuts = affected = 0
    seconds = 0.0
    for doc in documents:
        started = time.perf_counter()
        prepared = prepare_text(doc["text"], segmenter)
        seconds += time.perf_counter() - started
        starts = {w.start for s in prepared.sentences for w in s.words}
        ends = {w.end for s in prepared.sentences for w in s.words}
        for entity in doc["entities"]:
            bad = (entity["start"] not in starts) + (entity["end"] not in ends)
            boundaries += 2
            cuts += bad
            affected += bad > 0
    return boundaries, cuts, affected, seconds


def read_conllu(path: Path) -> list[tuple[str, list[str]]]:
    """(raw sentence text, gold words) pairs from a CoNLL-U file."""
    sentences, text, words = [], None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# text ="):
            text = line[len("# text =") :].strip()
        elif not line.strip():
            if text is not None and words:
                sentences.append((text, words))
            text, words = None, []
        elif not line.startswith("#"):
            columns = line.split("\t")
            if columns[0].isdigit():
                words.append(columns[1])
    return sentences


def _spans_of_words(text: str, words: list[str]) -> set[tuple[int, int]] | None:
    """Character spans of gold words located in the raw text, ignoring spaces."""
    spans, cursor = set(), 0
    for word in words:
        syllables = word.split()
        start = text.find(syllables[0], cursor)
        if start < 0:
            return None
        end = start
        for syllable in syllables:
            found = text.find(syllable, end)
            if found < 0:
                return None
            end = found + len(syllable)
        spans.add((start, end))
        cursor = end
    return spans


def segmentation_f1(sentences, segmenter: str) -> tuple[float, float, float, float, int]:
    """Precision, recall, F1 of multi-token word boundaries, seconds, sentences scored."""
    gold_total = predicted_total = correct = 0
    seconds, scored = 0.0, 0
    for text, words in sentences:
        gold = _spans_of_words(text, words)
        if gold is None:
            continue
        # Score only words over our own token boundaries, so punctuation conventions don't count.
        tokens = {(a, b) for a, b in split_tokens(text)}
        token_starts, token_ends = {a for a, _ in tokens}, {b for _, b in tokens}
        gold = {s for s in gold if s[0] in token_starts and s[1] in token_ends}
        started = time.perf_counter()
        predicted = {(w.start, w.end) for s in prepare_text(text, segmenter).sentences for w in s.words}
        seconds += time.perf_counter() - started
        gold_total += len(gold)
        predicted_total += len(predicted)
        correct += len(gold & predicted)
        scored += 1
    precision = correct / predicted_total if predicted_total else 0.0
    recall = correct / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, seconds, scored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus.jsonl")
    parser.add_argument("--ud-test", type=Path, default=DEFAULT_UD_TEST)
    parser.add_argument("--segmenters", nargs="+", default=["underthesea", "pyvi", "syllables"])
    args = parser.parse_args(argv)
    documents = [json.loads(line) for line in args.corpus.open(encoding="utf-8")]
    ud = read_conllu(args.ud_test) if args.ud_test.is_file() else None
    if ud is None:
        print(f"(UD VTB test file not found at {args.ud_test}; pass --ud-test to score segmentation F1)")
    words = sum(len(d["text"].split()) for d in documents)
    print(f"corpus: {len(documents)} documents, {words} whitespace words, "
          f"{sum(len(d['entities']) for d in documents)} gold entities")
    print("| segmenter | gold boundaries cut | entities affected | corpus seconds | UD-test P / R / F1 | UD seconds |")
    print("|---|---|---|---|---|---|")
    for name in args.segmenters:
        prepare_text("khởi động", name)  # load the segmenter's model outside the timing
        boundaries, cuts, affected, seconds = boundary_cuts(documents, name)
        ud_cell, ud_seconds = "n/a", "n/a"
        if ud is not None:
            p, r, f, ud_time, scored = segmentation_f1(ud, name)
            ud_cell, ud_seconds = f"{p:.3f} / {r:.3f} / {f:.3f} ({scored} sent.)", f"{ud_time:.1f}"
        print(f"| {name} | {cuts} of {boundaries} | {affected} | {seconds:.2f} | {ud_cell} | {ud_seconds} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
