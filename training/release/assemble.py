"""Put a trained NER model and a trained relation model into one model directory.

    python -m training.release.assemble --ner outputs/ner --re outputs/re --out DIR [--dtype float16|int8]

The result has `ner/` and `re/` and loads with `Extractor.from_pretrained(DIR)`; it is what
`training.release.publish push` uploads and what ships as the bundled default. With `--dtype
float16` the weights are stored in half precision (half the size), with `--dtype int8` each
weight matrix as int8 rows with a float scale (a quarter); computation stays in float32 either
way, and the command checks on the dev documents that entity and relation F1 move by at
most `--max-f1-loss` points, refusing to write otherwise.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from viextract import Extractor
from viextract.errors import ModelLoadError
from viextract.loading import check_ner_labels, check_relation_segmenter, read_config, split_model_dir
from viextract.saving import atomic_directory, check_save_target
from viextract.storage import convert_directory

from ..data.documents import DEFAULT_SPLITS_FILE
from ..pipes import quiet_pipe

logger = logging.getLogger(__name__)
# int8: written in float32, then every weight matrix stored as int8 rows (viextract.storage); float compute.
DTYPES = {"float32": torch.float32, "float16": torch.float16, "int8": torch.float32}
# Files of a trained model directory that describe how it was made: they travel with it.
PROVENANCE_FILES = ("training_config.yaml", "training_metrics.json")
OWNED = ("ner", "re")  # what an assembled model directory is made of; replaced or removed as a whole


def load_pair(ner_dir: Path, re_dir: Path | None) -> Extractor:
    from viextract.relations import RelationExtractor

    ner = Extractor.from_pretrained(ner_dir, device="cpu")
    relations = None
    if re_dir is not None:
        tagger_dir, _ = split_model_dir(ner_dir)
        entity_labels = check_ner_labels(tagger_dir, read_config(tagger_dir))
        relations = RelationExtractor.from_pretrained(re_dir, entity_labels, device="cpu")
        # The words the relation model reads are the NER model's segmenter's (from_pretrained refuses such a pair too).
        check_relation_segmenter(re_dir, ner.segmenter, fix=f"; train it again with --set segmenter={ner.segmenter}")
    return Extractor(ner.ner_model, ner.tokenizer, relations, segmenter=ner.segmenter)


def check_out(out: Path, sources: dict[str, Path | None]) -> None:
    """ValueError before any loading when --out cannot be a model folder (a file is in the way) or is, or lies in,
    a model folder it reads: there its ner/ and re/ landed beside the weights they were read from."""
    try:
        check_save_target(out)
    except NotADirectoryError as error:
        raise ValueError(f"--out: {error}") from None
    for name, source in sources.items():
        if source is None or not source.exists():
            continue
        folder, target = source.resolve(), out.resolve()
        where = "is" if target == folder else "is inside" if folder in target.parents else ""
        if where:
            raise ValueError(
                f"--out: {out}: {where} the --{name} model folder, which it reads; write the model elsewhere"
            )


def write(extractor: Extractor, out: Path, dtype: torch.dtype, sources: dict[str, Path]) -> None:
    """Save in `dtype` (the in-memory models are cast back to float32 afterwards)."""
    models = [extractor.ner_model] + ([extractor.relation_extractor.model] if extractor.relation_extractor else [])
    for model in models:
        model.to(dtype)
    try:
        # ner/ and re/ are ours, as in Extractor.save_pretrained: an old re/ would pair with the new ner/.
        with atomic_directory(out, owned=OWNED) as staging:
            extractor.save_pretrained(staging / "model")
            for name in ("ner", "re"):
                if (staging / "model" / name).is_dir():
                    shutil.move(staging / "model" / name, staging / name)
                    for extra in PROVENANCE_FILES:
                        if (sources[name] / extra).is_file():
                            shutil.copy2(sources[name] / extra, staging / name / extra)
            # save_pretrained's generic card goes: an assembled model gets training.release.card's (publish card).
            (staging / "model" / "README.md").unlink(missing_ok=True)
            (staging / "model").rmdir()
    finally:
        for model in models:
            model.to(torch.float32)


def dev_f1(model_dir: Path, splits_file: str) -> dict[str, float]:
    from ..data.splits import load_split
    from ..evaluation.relations import evaluate as evaluate_relations

    documents = load_split("dev", splits_file)
    report = evaluate_relations(model_dir, documents) if (model_dir / "re").is_dir() else None
    if report is None:
        from ..evaluation.ner import evaluate_model_dir

        return {"entities": evaluate_model_dir(model_dir, documents, "cpu", 32)["chars"]["micro"]["f1"]}
    return {
        "entities": report["entities_end_to_end"]["micro"]["f1"],
        "relations": report["relations_end_to_end"]["micro"]["f1"],
    }


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.release.assemble",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ner", type=Path, required=True, help="a trained NER model directory")
    parser.add_argument("--re", type=Path, help="a trained relation model directory (optional)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--max-f1-loss", type=float, default=0.5, help="points of dev F1 a smaller copy may lose")
    parser.add_argument(
        "--splits",
        default=DEFAULT_SPLITS_FILE,
        help="splits file (ids of corpus.jsonl beside it) whose dev documents check the copy",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        sources = {"ner": args.ner, "re": args.re}
        check_out(args.out, sources)
        extractor = load_pair(args.ner, args.re)
        if args.dtype == "float32":
            write(extractor, args.out, torch.float32, sources)
            print(f"wrote {args.out} (float32)")
            return 0
        with tempfile.TemporaryDirectory() as scratch:
            reference, candidate = Path(scratch) / "float32", Path(scratch) / args.dtype
            write(extractor, reference, torch.float32, sources)
            write(extractor, candidate, DTYPES[args.dtype], sources)
            if args.dtype == "int8":
                convert_directory(candidate, candidate, to_int8=True)
            before, after = dev_f1(reference, args.splits), dev_f1(candidate, args.splits)
            print(
                f"dev F1 float32 -> {args.dtype}: "
                + ", ".join(f"{key} {100 * before[key]:.2f} -> {100 * after[key]:.2f}" for key in before)
            )
            worst = max(100 * (before[key] - after[key]) for key in before)
            if worst > args.max_f1_loss:
                print(
                    f"error: {args.dtype} loses {worst:.2f} F1 points on dev (> {args.max_f1_loss}); not written",
                    file=sys.stderr,
                )
                return 1
            with atomic_directory(args.out, owned=OWNED) as staging:
                shutil.copytree(candidate, staging, dirs_exist_ok=True)
        size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
        print(f"wrote {args.out} ({args.dtype}, {size / 1e6:.1f} MB)")
        return 0
    except (ModelLoadError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
