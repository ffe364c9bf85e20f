#!/usr/bin/env bash
# The bundled model's card, from the results files kept in model_cards/results/viextract-default (those
# present: dev/test/challenge always; k-fold, pretraining ablation and speed when they were measured).
#   bash training/make_card.sh [MODEL_DIR]      # default: the bundled model in src/viextract/models/default
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-src/viextract/models/default}
results=model_cards/results/viextract-default
optional=()
[ -f $results/ner_kfold.json ] && optional+=(--results $results/ner_kfold.json)
[ -f $results/re_kfold.json ] && optional+=(--results re.kfold=$results/re_kfold.json)
[ -f $results/ablation_ner_dev.json ] && optional+=(--ablation ner=$results/ablation_ner_dev.json)
[ -f $results/ablation_re_dev.json ] && optional+=(--ablation re=$results/ablation_re_dev.json)
[ -f $results/speed.json ] && optional+=(--speed $results/speed.json)
python -m training.release.publish card --model "$model" --model-name viextract-default \
  --results $results/ner_dev.json --results $results/ner_test.json \
  --results re.dev=$results/re_dev.json --results re.test=$results/re_test.json \
  --challenge $results/challenge.json "${optional[@]}" --out model_cards/viextract-default.md
