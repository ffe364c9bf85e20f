#!/usr/bin/env bash
# Rebuild viextract's bundled default model from this repository, step by step.
# Needs: pip install -e ".[train]" and ../shared/data/ud_vietnamese_vtb (pretraining text; see
# docs/pretraining.md for --set ud_dir=... when it lives elsewhere). No network.
# On the 2-core CPU machine it was built on this takes about an hour, most of it pretraining.
set -euo pipefail
cd "$(dirname "$0")/.."
out=outputs/bundled
results=$out/results
mkdir -p "$results"

# 1. The base: a PhoBERT-shaped (RoBERTa + PhobertTokenizer) encoder pretrained with masked LM.
# (The shipped base was this run with torch_threads=2; the thread count changes how far it gets in 22 minutes.)
[ -f $out/base/model.safetensors ] || python -m training.pretrain --config configs/pretrain.yaml \
  --set output_dir=$out/base --set torch_threads=2
# Its randomly initialised twin, for the ablation in the model card.
python -m training.random_base --like $out/base --out $out/base_random

# 2. Silver data: the weak annotator's labels on UD VTB and VLSP 2013 sentences (NER training only).
python -m training.silver --out $out/silver.jsonl

# A rebuild starts the fine-tuning over: checkpoints of an earlier build would otherwise stop it.
rm -rf $out/ner.checkpoints $out/re.checkpoints $out/ablation/ner.checkpoints $out/ablation/re.checkpoints

# 3. Fine-tune NER and relations on the train split (+ written sentences, + silver for NER), a fixed
#    number of epochs each (select_on_dev: false); dev is scored each epoch for the log only.
python -m training.train ner --config configs/bundled/ner.yaml
python -m training.train re --config configs/bundled/re.yaml

# 4. One model directory, weights stored in float16 (refused if dev F1 drops > 0.5 points).
python -m training.assemble --ner $out/ner --re $out/re --out $out/model --dtype float16

# 5. Evaluation: dev and test, k-fold (leave one corpus document out).
for split in dev test; do
  python -m training.evaluate ner --model $out/model --data data/corpus.jsonl --docs $split --out $results/ner_$split.json
  python -m training.evaluate re --model $out/model --data data/corpus.jsonl --docs $split --out $results/re_$split.json
done
# Folds have no dev set: they train the config's 10 epochs and keep the last, as the shipped model does.
python -m training.evaluate ner --kfold 5 --config configs/bundled/ner.yaml --data data/corpus.jsonl \
  --work-dir $out/kfold --out $results/ner_kfold.json
# Relations the same way, with the config's fixed epochs (2) and threshold (0.4). Scored from gold
# entities, and end to end from the entities of the NER fold model that held out the same document.
python -m training.evaluate re --kfold 5 --config configs/bundled/re.yaml --data data/corpus.jsonl \
  --work-dir $out/re_kfold --ner-kfold $results/ner_kfold.json --out $results/re_kfold.json

# The challenge set (data/challenge.jsonl, written for measurement, never trained on): per phenomenon.
python -m training.challenge --model $out/model --out $results/challenge.json

# 6. Ablation: the same fine-tuning from the random twin, scored on dev.
python -m training.train ner --config configs/bundled/ner.yaml --set base_model=$out/base_random \
  --set output_dir=$out/ablation/ner
python -m training.train re --config configs/bundled/re.yaml --set base_model=$out/base_random \
  --set output_dir=$out/ablation/re
python -m training.assemble --ner $out/ablation/ner --re $out/ablation/re --out $out/ablation/model
python -m training.evaluate ner --model $out/ablation/model --data data/corpus.jsonl --docs dev \
  --out $results/ablation_ner_dev.json
python -m training.evaluate re --model $out/ablation/model --data data/corpus.jsonl --docs dev \
  --out $results/ablation_re_dev.json

# 7. The card, then the model into the package.
python -m training.publish card --model $out/model --model-name viextract-default \
  --results $results/ner_dev.json --results $results/ner_test.json --results $results/ner_kfold.json \
  --results re.dev=$results/re_dev.json --results re.test=$results/re_test.json --results re.kfold=$results/re_kfold.json \
  --ablation ner=$results/ablation_ner_dev.json --ablation re=$results/ablation_re_dev.json \
  --challenge $results/challenge.json \
  --out model_cards/viextract-default.md
rm -rf src/viextract/models/default
mkdir -p src/viextract/models
cp -r $out/model src/viextract/models/default
echo "bundled model: src/viextract/models/default ($(du -sh src/viextract/models/default | cut -f1))"
