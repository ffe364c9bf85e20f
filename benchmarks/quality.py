"""How well does viextract find entities, next to the alternatives? Exact spans, SCHEMA.md's labels.

Systems, side by side:
  model        a viextract model (`--model DIR`; default: the bundled default)
  weak         our rule-based annotator (training.weak.annotate): gazetteers, date regexes, triggers
  underthesea  underthesea.ner, its CRF tagger; its PER/ORG/LOC are mapped to ours and only those
               three labels are scored for it (it has no TITLE/DATE/EVENT/AGREEMENT; MISC is dropped)

Scoring (SCHEMA.md): an entity counts when its character span and label match gold exactly;
micro precision/recall/F1 over all labels, per-label rows, and micro over PER/ORG/LOC alone so
that all three systems are compared on the same ground.

Evaluations:
  test    the test split of data/splits.json
  k-fold  leave one document out over every corpus document (k = number of documents): micro
          over all held-out documents, and the mean/std of per-document F1. The weak annotator
          and underthesea learn nothing from the corpus, so each fold scores one document. The
          model must be trained K times for this: pass `--kfold-config configs/ner.yaml`, and
          training.evaluation.evaluate's k-fold (k = K) trains each fold's model on the K-1 other corpus
          documents plus the train_extra documents of splits.json (never held out; leave them out
          with --kfold-no-extra), with no dev and the config's epochs, and scores the held-out one.
          Without it the model has no k-fold column: the bundled model saw the train and dev
          documents.

    python benchmarks/quality.py [--model DIR] [--json out.json]
    python benchmarks/quality.py --kfold-config configs/ner.yaml --set epochs=10   # trains K models
    python benchmarks/quality.py --quick    # test split only
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/quality.py` from anywhere

from benchmarks._models import (  # noqa: E402
    BUNDLED_MODEL_DIR,
    CORPUS_FILE,
    SPLITS_FILE,
    describe_model,
    extractor_spans,
    format_machine,
    gold_spans,
    machine_info,
    markdown_table,
    quiet_libraries,
    write_json,
)
from training.data.documents import Document  # noqa: E402
from training.data.files import load_documents
from training.data.splits import load_train_extra  # noqa: E402
from training.evaluation.metrics import PRF, mean_std, score_spans  # noqa: E402
from training.fit.config import add_overrides_option  # noqa: E402
from viextract.bio import decode_bio  # noqa: E402
from viextract.labels import ENTITY_LABELS  # noqa: E402
from viextract.normalize import normalize_text  # noqa: E402
from viextract.sentences import split_sentences  # noqa: E402

SYSTEMS = ("model", "weak", "underthesea")
UNDERTHESEA_LABELS = ("PER", "ORG", "LOC")
SpanList = list[tuple[int, int, str]]
# A located underthesea token may start this many characters past the previous one's end.
MAX_SKIPPED_CHARS = 3


def _skeleton(text: str) -> tuple[str, list[int]]:
    """`text` without spaces, `_`, case or combining marks, and each kept character's index in `text`."""
    chars, source = [], []
    for index, char in enumerate(text):
        if char.isspace() or char == "_":
            continue
        chars.append(unicodedata.normalize("NFD", char)[0].lower())
        source.append(index)
    return "".join(chars), source


# ---- systems ------------------------------------------------------------------------------------


def weak_spans(documents: Sequence[Document]) -> list[SpanList]:
    from training.weak.annotate import annotate_text

    return [
        [(e.start, e.end, e.label) for e in annotate_text(doc.text, doc.id, doc.date).entities] for doc in documents
    ]


class Underthesea:
    """underthesea.ner sentence by sentence, its tokens located in the text, its BIO decoded to spans."""

    def __init__(self):
        from underthesea import ner

        self.ner = ner
        self.unaligned = 0  # tokens that could not be found in the text (their tags are lost)
        self.tokens = 0

    def spans(self, text: str) -> SpanList:
        # viextract's sentence bounds; underthesea reads each sentence as the caller wrote it.
        norm = normalize_text(text)
        found: SpanList = []
        for norm_start, norm_end in split_sentences(norm.text):
            start, end = norm.span_to_original(norm_start, norm_end)
            sentence = text[start:end]
            rows = self.ner(sentence)
            offsets, tags = self._locate(sentence, [row[0] for row in rows]), [row[-1] for row in rows]
            kept = [(o, t) for o, t in zip(offsets, tags) if o is not None]
            for span in decode_bio([t for _, t in kept]):
                if span.label not in UNDERTHESEA_LABELS:
                    continue
                a, b = kept[span.start][0][0], kept[span.end - 1][0][1]
                # Its tokens include punctuation; an entity never starts or ends with it in gold.
                while a < b and not sentence[a].isalnum():
                    a += 1
                while b > a and not sentence[b - 1].isalnum():
                    b -= 1
                if a < b:
                    found.append((start + a, start + b, span.label))
        return found

    def _locate(self, sentence: str, tokens: Sequence[str]) -> list[tuple[int, int] | None]:
        """Character range of each token in the sentence, left to right; None where it is not found.

        Matching ignores spaces, case and diacritics: underthesea rewrites tone placement (`tuý` ->
        `túy`) and joins syllables with spaces.
        """
        skeleton, source = _skeleton(sentence)
        offsets: list[tuple[int, int] | None] = []
        cursor = 0
        for token in tokens:
            self.tokens += 1
            wanted, _ = _skeleton(token)
            found = skeleton.find(wanted, cursor) if wanted else -1
            if found < 0 or found - cursor > MAX_SKIPPED_CHARS:
                self.unaligned += 1
                offsets.append(None)
                continue
            offsets.append((source[found], source[found + len(wanted) - 1] + 1))
            cursor = found + len(wanted)
        return offsets

    def __call__(self, documents: Sequence[Document]) -> list[SpanList]:
        return [self.spans(doc.text) for doc in documents]


def model_predictor(model_dir: Path) -> Callable[[Sequence[Document]], list[SpanList]]:
    from viextract import Extractor

    extractor = Extractor.from_pretrained(model_dir, device="cpu")
    return lambda documents: extractor_spans(extractor, documents)


# ---- scoring ------------------------------------------------------------------------------------


def restrict(spans: Sequence[SpanList], labels: Sequence[str]) -> list[SpanList]:
    keep = set(labels)
    return [[s for s in unit if s[2] in keep] for unit in spans]


def score(gold: Sequence[SpanList], pred: Sequence[SpanList], labels: Sequence[str]) -> dict[str, Any]:
    """Per-label and micro scores over `labels`, and micro over PER/ORG/LOC."""
    scores = score_spans(restrict(gold, labels), restrict(pred, labels), labels)
    common = score_spans(restrict(gold, UNDERTHESEA_LABELS), restrict(pred, UNDERTHESEA_LABELS), UNDERTHESEA_LABELS)
    out = scores.to_dict()
    out["micro_per_org_loc"] = common.micro.to_dict()
    return out


def system_labels(system: str) -> tuple[str, ...]:
    return UNDERTHESEA_LABELS if system == "underthesea" else tuple(ENTITY_LABELS)


def evaluate(systems: dict[str, Callable], documents: Sequence[Document]) -> dict[str, dict[str, Any]]:
    gold = gold_spans(documents)
    results = {}
    for name, predict in systems.items():
        started = time.perf_counter()
        predicted = predict(documents)
        seconds = time.perf_counter() - started
        results[name] = score(gold, predicted, system_labels(name))
        results[name]["seconds"] = seconds
        results[name]["predicted_spans"] = predicted
    return results


def kfold(systems: dict[str, Callable], documents: Sequence[Document]) -> dict[str, dict[str, Any]]:
    """Leave one document out for the systems that learn nothing from the corpus: each document is a fold."""
    gold = gold_spans(documents)
    results: dict[str, dict[str, Any]] = {}
    for name, predict in systems.items():
        if name == "model":
            continue
        labels = system_labels(name)
        predicted = predict(documents)
        result = score(gold, predicted, labels)
        per_doc = [
            score_spans(restrict([g], labels), restrict([p], labels), labels).micro.f1 for g, p in zip(gold, predicted)
        ]
        results[name] = with_fold_summary(result, dict(zip((d.id for d in documents), per_doc)))
    return results


def with_fold_summary(result: dict[str, Any], per_document: dict[str, float]) -> dict[str, Any]:
    mean, std = mean_std(list(per_document.values()))
    return {**result, "per_document_f1": per_document, "mean_f1": mean, "std_f1": std}


def model_kfold(
    config_path: Path | None,
    overrides: Sequence[str],
    documents: Sequence[Document],
    work_dir: Path,
    extra_train: Sequence[Document] = (),
):
    """training.evaluation.ner's k-fold with k = number of documents: K models, each tested on its held-out document.

    `extra_train` joins every fold's training set, as in training.evaluation.evaluate. The per-fold
    character-span counts are summed into micro figures over all held-out documents.
    """
    from training.evaluation.ner import kfold_ner
    from training.fit.ner import NerConfig

    config = NerConfig.load(config_path, list(overrides))
    result = kfold_ner(config, documents, len(documents), work_dir, None, 32, list(extra_train))
    return kfold_from_folds(result["folds"])


def kfold_from_folds(folds: Sequence[dict[str, Any]], documents: Sequence[Document] = ()):
    """Micro figures summed over the folds of a training.evaluation.evaluate k-fold run.

    With `documents`, the folds must hold out each of them exactly once (leave one document out),
    so a results file from another corpus or another K is refused rather than mis-scored.
    """
    if documents:
        held_out = sorted(doc_id for fold in folds for doc_id in fold["test_ids"])
        if held_out != sorted(doc.id for doc in documents) or any(len(f["test_ids"]) != 1 for f in folds):
            raise ValueError(
                f"--kfold-results: its folds hold out {held_out}, not each of the {len(documents)} corpus "
                f"documents alone (run training.evaluation.evaluate ner --kfold {len(documents)} on this corpus)"
            )
    counts: dict[str, list[int]] = {label: [0, 0, 0] for label in ENTITY_LABELS}
    per_document = {}
    for fold in folds:
        chars = fold["chars"]
        per_document[", ".join(fold["test_ids"])] = chars["micro"]["f1"]
        for label, values in chars["per_label"].items():
            for i, key in enumerate(("correct", "predicted", "support")):
                counts[label][i] += values[key]

    def total(labels: Sequence[str]) -> PRF:
        return PRF(*(sum(counts[label][i] for label in labels) for i in range(3)))

    result = {
        "micro": total(ENTITY_LABELS).to_dict(),
        "per_label": {label: total([label]).to_dict() for label in ENTITY_LABELS},
        "micro_per_org_loc": total(UNDERTHESEA_LABELS).to_dict(),
    }
    return with_fold_summary(result, per_document)


# ---- output -------------------------------------------------------------------------------------


def cell(values: dict[str, Any] | None) -> str:
    if values is None:
        return "—"
    return f"{values['f1'] * 100:.1f} ({values['precision'] * 100:.1f} / {values['recall'] * 100:.1f})"


def results_table(results: dict[str, dict[str, Any]], names: Sequence[str], gold_counts: dict[str, int]) -> str:
    header = ["label", "gold", *[f"{name} F1 (P / R)" for name in names]]
    rows = []
    for label in ENTITY_LABELS:
        rows.append(
            [
                label,
                gold_counts.get(label, 0),
                *[cell(results[n]["per_label"].get(label)) if n in results else "—" for n in names],
            ]
        )
    total = sum(gold_counts.values())
    rows.append(
        [
            "**micro, all labels**",
            total,
            *["—" if n == "underthesea" or n not in results else cell(results[n]["micro"]) for n in names],
        ]
    )
    common = sum(gold_counts.get(label, 0) for label in UNDERTHESEA_LABELS)
    rows.append(
        [
            "**micro, PER/ORG/LOC**",
            common,
            *[cell(results[n]["micro_per_org_loc"]) if n in results else "—" for n in names],
        ]
    )
    return markdown_table(header, rows)


def gold_counts(documents: Sequence[Document]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in documents:
        for entity in doc.entities:
            counts[entity.label] = counts.get(entity.label, 0) + 1
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="viextract model directory (default: the bundled default)")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--corpus", type=Path, default=CORPUS_FILE)
    parser.add_argument("--splits", type=Path, default=SPLITS_FILE)
    parser.add_argument("--kfold-config", type=Path, help="NER training config: train K models for the model's k-fold")
    add_overrides_option(parser, help="override a key of --kfold-config (repeatable)")
    parser.add_argument(
        "--kfold-no-extra", action="store_true", help="train the k-fold models without the train_extra documents"
    )
    parser.add_argument(
        "--kfold-results",
        type=Path,
        help="the model's k-fold from a finished `viextract evaluate ner --kfold K` JSON instead of training anew",
    )
    parser.add_argument("--quick", action="store_true", help="the test split only (no k-fold)")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with quiet_libraries():
        return run(args)


def run(args: argparse.Namespace) -> int:
    info = machine_info()
    print("# viextract entity quality\n")
    print(format_machine(info))

    notes = []
    systems: dict[str, Callable] = {}
    model_dir = args.model
    if "model" in args.systems:
        if model_dir is None and (BUNDLED_MODEL_DIR / "ner").is_dir():
            model_dir = BUNDLED_MODEL_DIR
        if model_dir is None:
            notes.append(f"model: skipped, no bundled default at {BUNDLED_MODEL_DIR}; pass --model DIR")
        else:
            systems["model"] = model_predictor(model_dir)
            notes.append(f"model: {describe_model(model_dir)}")
    if "weak" in args.systems:
        systems["weak"] = weak_spans
        notes.append(
            "weak: training.weak.annotate (rules and gazetteers; its gazetteers were written from the train "
            "documents and kept free of test-document strings, so only its test-split figure is unseen)"
        )
    underthesea = None
    if "underthesea" in args.systems:
        underthesea = systems["underthesea"] = Underthesea()
        notes.append(
            "underthesea: underthesea.ner (CRF); PER/ORG/LOC mapped to ours, MISC dropped; only PER, ORG, "
            "LOC are scored for it, so its micro is the PER/ORG/LOC row"
        )
    names = [n for n in SYSTEMS if n in systems]
    for note in notes:
        print(f"- {note}")

    corpus = load_documents(args.corpus)
    test_ids = json.loads(args.splits.read_text(encoding="utf-8")).get("test", [])
    test = [doc for doc in corpus if doc.id in set(test_ids)]
    test_results = evaluate(systems, test)
    print(f"\n## Test split ({len(test)} documents: {', '.join(d.id for d in test)}), entity F1 (P / R), percent\n")
    print(results_table(test_results, names, gold_counts(test)))
    print("\nseconds: " + ", ".join(f"{n} {test_results[n]['seconds']:.1f}" for n in names))

    out: dict[str, Any] = {"machine": info, "notes": notes, "test": strip(test_results)}
    if not args.quick:
        folds = kfold(systems, corpus)
        if "model" in systems and args.kfold_results is not None:
            saved = json.loads(args.kfold_results.read_text(encoding="utf-8"))
            folds["model"] = kfold_from_folds(saved["folds"], corpus)
            config = saved.get("config", {})
            source = f"model k-fold: read from {args.kfold_results} (base {config.get('base_model')}, epochs "
            source += f"{config.get('epochs')}, silver {config.get('silver_files') or 'none'})"
            notes.append(source)
            print(f"- {source}")
        elif "model" in systems and args.kfold_config is not None:
            with tempfile.TemporaryDirectory(prefix="viextract_kfold_") as scratch:
                corpus_ids = {doc.id for doc in corpus}
                extra = (
                    []
                    if args.kfold_no_extra
                    else [d for d in load_train_extra(args.splits) if d.id not in corpus_ids]
                )
                folds["model"] = model_kfold(args.kfold_config, args.overrides, corpus, Path(scratch), extra)
        print(f"\n## Leave one document out (k = {len(corpus)}), micro over held-out documents, F1 (P / R)\n")
        print(results_table(folds, names, gold_counts(corpus)))
        print(
            "\nper-document micro F1, mean ± std: "
            + ", ".join(
                f"{n} {folds[n]['mean_f1'] * 100:.1f} ± {folds[n]['std_f1'] * 100:.1f}" for n in names if n in folds
            )
        )
        if "model" in systems and "model" not in folds:
            print(
                "model: no k-fold figure; it needs K trained models: pass --kfold-config CONFIG or "
                "--kfold-results FILE (a trained model has seen the train and dev documents)"
            )
        out["kfold"] = strip(folds)
    if underthesea is not None:
        print(f"\nunderthesea tokens not located in the text: {underthesea.unaligned} of {underthesea.tokens}")
    write_json(args.json, out)
    return 0


def strip(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: v for k, v in values.items() if k != "predicted_spans"} for name, values in results.items()}


if __name__ == "__main__":
    raise SystemExit(main())
