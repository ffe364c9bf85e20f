"""A randomly initialised twin of a base model, for the pretraining ablation.

    python -m training.pretraining.random_base --like outputs/base --out outputs/base_random [--seed 42]

Same config and tokenizer, fresh weights: fine-tuning from it instead of the base shows what
pretraining contributed (model cards report both).
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

from viextract.quiet import quiet_transformers
from viextract.saving import atomic_directory
from viextract.storage import STORAGE_KEY

from ..pipes import quiet_pipe

TOKENIZER_FILES = ("vocab.txt", "bpe.codes", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json")


def write_random_twin(like: Path, out: Path, seed: int = 42) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM

    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(str(like))
    # The twin's weights are written as floats: a copied int8 storage flag would misdescribe them.
    config.__dict__.pop(STORAGE_KEY, None)
    model = AutoModelForMaskedLM.from_config(config)
    with quiet_transformers(), atomic_directory(out) as staging:  # no "Writing model shards" bar
        model.save_pretrained(staging, safe_serialization=True)
        copy_tokenizer_files(like, staging)


def base_problem(base: Path, out: Path, flag: str) -> str | None:
    """Why `base` cannot be copied into `out`, found before any work: not a model folder, no tokenizer
    (the copy would have none and fine-tuning from it fail), or `out` being the base itself (the copy
    would replace the base's weights)."""
    from viextract.inputs import InputError

    from .folders import check_output_folder, check_tokenizer_folder

    if not (base / "config.json").is_file():
        return f"{flag}: {base}: no config.json there (a base model folder: config.json, weights, vocab.txt, bpe.codes)"
    if out.expanduser().resolve() == base.resolve():
        return f"--out {out} is the base itself: writing there would replace its weights; give another folder"
    if base.resolve() in out.expanduser().resolve().parents:  # a model inside the base: every copy of it carries one
        return f"--out {out} is inside the base {base}; give a folder outside it"
    try:
        check_tokenizer_folder(base, flag)
        check_output_folder(out, "--out")
    except InputError as error:
        return str(error)
    return None


def copy_tokenizer_files(base: Path, out: Path, also: tuple[str, ...] = ()) -> None:
    """The tokenizer files `base` has (and the `also` files it has), into `out`."""
    for name in (*TOKENIZER_FILES, *also):
        if (base / name).is_file():
            shutil.copy2(base / name, out / name)


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.random_base",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--like", type=Path, required=True, help="the pretrained base to copy the shape of")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    problem = base_problem(args.like, args.out, "--like")
    if problem:
        parser.error(problem)
    write_random_twin(args.like, args.out, args.seed)
    print(f"wrote a randomly initialised {args.like.name} twin to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
