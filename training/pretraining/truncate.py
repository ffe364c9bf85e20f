r"""A shallower copy of a base model: its embeddings and its first N transformer layers.

    python -m training.pretraining.truncate --base outputs/bundled/e5base-float --layers 6 \
        --out outputs/bundled/e5base-l6

A relation model reads the sentence again after the entity model, so its encoder's depth is most
of what relations cost next to entities (issue #19); fine-tuned from the lower half of the base it
costs half. The lower layers are kept, not every other one: each keeps the input it was pretrained
on. Same tokenizer files and base_info.json (provenance); `config.json` records the layers kept
under `viextract.truncated`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from viextract.quiet import quiet_transformers
from viextract.saving import atomic_directory

from ..fit.trainer import load_base_weights
from ..pipes import quiet_pipe
from .build_e5_base import INFO_FILE
from .random_base import base_problem, copy_tokenizer_files


def write_truncated(base: Path, out: Path, layers: int) -> None:
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(base))
    if not 1 <= layers <= config.num_hidden_layers:
        raise ValueError(f"--layers {layers}: {base} has {config.num_hidden_layers} layers; keep 1 to that many")
    note = dict(getattr(config, "viextract", None) or {})
    note["truncated"] = {"from_layers": config.num_hidden_layers, "kept": f"0-{layers - 1}"}
    config.num_hidden_layers = layers
    config.viextract = note
    # Layers past `layers` have no module to load into: dropped, and transformers' report of them is noise.
    # An int8-stored base (build_e5_base --dtype int8) is expanded, as plain from_pretrained would not.
    with quiet_transformers():
        model, info = load_base_weights(AutoModel, str(base), config=config, add_pooling_layer=False)
    missing = sorted(info.get("missing_keys") or ()) + [str(key) for key in info.get("mismatched_keys") or ()]
    if missing:
        raise ValueError(f"{base}: {len(missing)} weights of the kept layers are not in it (e.g. {missing[0]})")
    with quiet_transformers(), atomic_directory(out) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        copy_tokenizer_files(base, staging, also=(INFO_FILE,))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.truncate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base", type=Path, required=True, help="base directory: config.json, weights, tokenizer")
    parser.add_argument("--layers", type=int, required=True, help="transformer layers to keep, from the bottom")
    parser.add_argument("--out", type=Path, required=True)
    return parser


@quiet_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = base_problem(args.base, args.out, "--base")
    if problem:
        parser.error(problem)
    try:
        write_truncated(args.base, args.out, args.layers)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
