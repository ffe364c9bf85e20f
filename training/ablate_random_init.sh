#!/usr/bin/env bash
# The model card's "Does pretraining help?" rows: the bundled NER and relation commands run again from a
# randomly initialised twin of the bundled base (same shape, tokenizer and recipe), scored on dev.
# Needs the base, silver and variants files of training/build_default.sh steps 1-2 (made here if absent).
#   bash training/ablate_random_init.sh        # about 1.5 hours on a 2-core CPU; minutes on a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
out=outputs/bundled
results=$out/results
mkdir -p "$results"

[ -f $out/e5base/model.safetensors ] || python -m training.pretraining.build_e5_base --vocab-size 10000 \
  --dtype int8 --out $out/e5base
[ -f $out/e5base-float/model.safetensors ] || python -m viextract.storage expand $out/e5base $out/e5base-float
[ -f $out/silver.jsonl ] || python -m training.weak.silver --out $out/silver.jsonl --splits data/splits.json
[ -f $out/variants.jsonl ] || python -m training.weak.augment --variants data/extra_written.jsonl \
  data/written_topics.jsonl > $out/variants.jsonl

random=$out/e5base-random
[ -f $random/model.safetensors ] || python -m training.pretraining.random_base --like $out/e5base-float --out $random
python -m training.fit.train ner --config configs/bundled/ner.yaml \
  --set base_model=$random --set output_dir=$out/random/ner
python -m training.fit.train re --config configs/bundled/re.yaml \
  --set base_model=$random --set output_dir=$out/random/re
python -m training.release.assemble --ner $out/random/ner --re $out/random/re --out $out/random/model
python -m training.evaluation.evaluate ner --model $out/random/model --data data/corpus.jsonl --docs dev \
  --out $results/ablation_ner_dev.json
python -m training.evaluation.evaluate re --model $out/random/model --data data/corpus.jsonl --docs dev \
  --out $results/ablation_re_dev.json
