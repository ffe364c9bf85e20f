#!/usr/bin/env bash
# The model card's "Does pretraining help?" rows: the bundled NER and relation commands run again from a
# randomly initialised twin of the bundled base (same shape, tokenizer and recipe), scored on dev. Run it after
# training/build_default.sh, then make the card again (bash training/make_card.sh).
#   bash training/ablate_random_init.sh        # about 1 hour on a 2-core CPU; minutes on a GPU
set -euo pipefail
if [ $# -gt 0 ]; then  # it takes none: an argument meant for a step would be ignored without a word
  echo "usage: bash training/ablate_random_init.sh   (takes no arguments; got: $*)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
bash training/build_inputs.sh
out=outputs/bundled
results=model_cards/results/viextract-default
# One twin per base: NER trains from the 12-layer e5 base, relations from its first 6 layers. Made afresh
# every run: a twin left from an earlier base would keep that base's vocabulary, and so would its scores.
random=$out/e5base-random
random_l6=$out/e5base-l6-random
rm -rf $random $random_l6 $out/random
python -m training.pretraining.random_base --like $out/e5base-float --out $random
python -m training.pretraining.random_base --like $out/e5base-l6 --out $random_l6
python -m training.fit.train ner --config configs/bundled/ner.yaml --set base_model=$random --set output_dir=$out/random/ner
python -m training.fit.train re --config configs/bundled/re.yaml --set base_model=$random_l6 --set output_dir=$out/random/re
python -m training.release.assemble --ner $out/random/ner --re $out/random/re --out $out/random/model
python -m training.evaluation.evaluate ner --model $out/random/model --data data/corpus.jsonl --docs dev \
  --out $results/ablation_ner_dev.json
python -m training.evaluation.evaluate re --model $out/random/model --data data/corpus.jsonl --docs dev \
  --out $results/ablation_re_dev.json
