"""Coverage and bundled-model size of the e5 base for several restricted vocabulary sizes N.

    python -m training.pretraining.size_report --sizes 8000,12000,16000,20000,64000 [--text-file ...]

Known share: the share of subword tokens of held-out text (UD VTB test, never used to choose the
vocabulary) that are not <unk>, with every bpe.codes merge kept (dropped tokens read as <unk>)
and with the merges trimmed to the kept tokens (they split into smaller kept pieces instead).
Size: the package's model files if the bundled model were two such encoders (NER and relations),
int8-stored (viextract.storage), each with vocab.txt + bpe.codes + config.json; measured by
writing the files of an untrained model of that shape (the size does not depend on the values).
The classification heads add under 1 MB and are left out.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..pipes import quiet_pipe
from .build_e5_base import DEFAULT_PHOBERT_DIR, our_sentences
from .text import DEFAULT_UD_DIR, REPO


def encoder_files_size(vocab_path: Path, bpe_path: Path, vocab_size: int, scratch: Path) -> int:
    """Bytes of one int8-stored 12x384 encoder directory with this vocabulary."""
    import shutil

    from transformers import RobertaModel

    from viextract.storage import convert_directory

    from .phobert_config import phobert_config

    config = phobert_config(vocab_size, 384, 12, 12, 1536)
    RobertaModel(config, add_pooling_layer=False).save_pretrained(str(scratch / "float"))
    shutil.copyfile(vocab_path, scratch / "float" / "vocab.txt")
    shutil.copyfile(bpe_path, scratch / "float" / "bpe.codes")
    convert_directory(scratch / "float", scratch / "int8", to_int8=True)
    return sum(p.stat().st_size for p in (scratch / "int8").iterdir() if p.is_file())


def measure(args, n: int, trim: bool, full, entries, merges, ours: set[str], heldout) -> dict:
    """Rows, held-out known share and subwords, and one encoder's int8 files for one vocabulary size."""
    from transformers import PhobertTokenizer

    from .build_e5_base import heldout_figures
    from .restrict import restricted_vocab, write_vocab

    kept, kept_merges = restricted_vocab(entries, merges, n, ours, trim=trim)
    with tempfile.TemporaryDirectory() as scratch:
        vocab, codes = Path(scratch) / "vocab.txt", Path(scratch) / "bpe.codes"
        write_vocab(kept, vocab)
        codes.write_text("".join(line + "\n" for line in kept_merges), encoding="utf-8")
        restricted = PhobertTokenizer(vocab_file=str(vocab), merges_file=str(codes))
        size = encoder_files_size(vocab, codes, len(restricted), Path(scratch))
    return {"rows": len(restricted), "size": size, **heldout_figures(full, restricted, heldout)}


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    from transformers import PhobertTokenizer

    from .restrict import read_vocab_counts, text_tokens

    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.size_report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="4000,8000,12000,16000,20000,64000")
    parser.add_argument("--phobert-tokenizer", default=str(DEFAULT_PHOBERT_DIR))
    parser.add_argument("--text-file", action="append", default=[])
    parser.add_argument("--data-dir", default=str(REPO / "data"))
    parser.add_argument("--ud-dir", default=str(DEFAULT_UD_DIR))
    parser.add_argument("--segmenter", default="pyvi")
    parser.add_argument("--encoders", type=int, default=2, help="encoders in the package (NER + relations)")
    args = parser.parse_args(argv)
    source = Path(args.phobert_tokenizer)
    full = PhobertTokenizer(vocab_file=str(source / "vocab.txt"), merges_file=str(source / "bpe.codes"))
    entries = read_vocab_counts(source / "vocab.txt")
    merges = (source / "bpe.codes").read_text(encoding="utf-8").splitlines()
    ours, heldout = our_sentences(args)
    ours_tokens = set(text_tokens(full, ours))
    print(f"held-out: UD VTB test, {len(text_tokens(full, heldout))} subwords with the full vocabulary; "
          f"{len(ours_tokens)} distinct tokens in our text")  # fmt: skip
    print(f"{'N':>6} {'merges':>13} {'rows':>6} {'known':>7} {'subwords':>8} {'one encoder MB':>14} {'package MB':>10}")
    for n in (int(x) for x in args.sizes.split(",")):
        for trim in (False, True):
            row = measure(args, n, trim, full, entries, merges, ours_tokens, heldout)
            known = row["heldout_ud_test_known_share"]
            print(f"{n:>6} {'trimmed' if trim else 'all':>13} {row['rows']:>6} {known:>7.4f} "
                  f"{row['heldout_ud_test_subwords']:>8} {row['size'] / 1e6:>14.1f} "
                  f"{args.encoders * row['size'] / 1e6:>10.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
