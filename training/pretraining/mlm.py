"""Pretrain a small PhoBERT-shaped base (RoBERTa + PhobertTokenizer) from scratch with masked LM.

    python -m training.pretraining.mlm --config configs/pretrain.yaml [--set key=value ...]

Steps: collect word-segmented text (training.pretraining.text, or a prepared `text_file`), learn a
fastBPE vocabulary on it (training.pretraining.bpe; or start from an existing model with `init_from`, e.g. the
e5 base, keeping its tokenizer), pack sentences into sequences of at most `max_length` subwords, train a
RobertaForMaskedLM with the HF Trainer (15% dynamic masking) until the epochs, `max_steps` or
`max_minutes` run out, measure masked-token accuracy on held-out text against a random-init
model, and write the base atomically to `output_dir`: weights, config.json, vocab.txt and
bpe.codes, training_config.yaml, pretrain_data.json and pretrain_metrics.json. NER and RE
fine-tuning start from it with `base_model: <output_dir>`. See docs/pretraining.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viextract.inputs import InputError

from ..fit.config import ConfigError, add_overrides_option
from ..pipes import quiet_pipe
from .mlm_config import DATA_SUMMARY_FILENAME, METRICS_FILENAME, SHAPE_KEYS, PretrainConfig
from .mlm_data import build_tokenizer, check_inputs, collect_text, encode_sources
from .mlm_model import (
    Clock,
    build_model,
    evaluate_mlm,
    fixed_masked_batches,
    load_initial_model,
    masked_lm_loss,
    random_like,
    schedule_factor,
    unigram_accuracy,
)
from .text import format_summary

logger = logging.getLogger("training.pretraining.mlm")


def pretrain(config: PretrainConfig) -> dict:
    """Run the whole recipe; returns the metrics written beside the model."""
    import torch

    threads_before = torch.get_num_threads()
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    try:
        return _pretrain(config)
    finally:
        torch.set_num_threads(threads_before)


def _pretrain(config: PretrainConfig) -> dict:
    import torch

    from ..fit.trainer import resolve_bf16

    check_inputs(config)
    resolve_bf16(config.bf16)  # `bf16: true` on a machine that cannot: ConfigError now, not a traceback in training
    wall_start = time.monotonic()
    output_dir = Path(config.output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)

    text = collect_text(config)
    data_summary = text.summary()
    data_summary["segmenter"] = config.segmenter
    print("Pretraining text:\n" + format_summary(data_summary), flush=True)

    work = Path(tempfile.mkdtemp(prefix=f".work-{output_dir.name}-", dir=output_dir.parent))
    try:
        tokenizer, train_sequences, heldout_sequences = encode_text(config, text, work, data_summary)
        torch.manual_seed(config.seed)
        model = load_initial_model(config, tokenizer, work) if config.init_from else build_model(config, tokenizer)
        shape, parameters = describe_model(config, model, tokenizer)
        run = train_mlm(config, model, tokenizer, train_sequences, heldout_sequences, work)
        metrics: dict[str, Any] = {"parameters": parameters, "shape": shape, "init_from": config.init_from}
        metrics.update(vocab_size=len(tokenizer), **run.metrics)
        if run.heldout_batches:
            metrics["heldout"] = heldout_comparison(config, run, tokenizer, train_sequences, data_summary)
            print(f"held-out masked LM: {json.dumps(metrics['heldout'])}", flush=True)
        save_base(config, run.trainer.model, tokenizer, data_summary, metrics, wall_start)
        return metrics
    finally:
        shutil.rmtree(work, ignore_errors=True)


def encode_text(config: PretrainConfig, text, work: Path, data_summary: dict) -> tuple[Any, list, list]:
    """(tokenizer, train sequences, held-out sequences); the encoded sizes go into `data_summary`."""
    tokenizer = build_tokenizer(config, text.train_sentences(), work)
    tokenizer.model_max_length = config.max_length  # as PhoBERT's tokenizer says: 256
    train_sequences, train_counts = encode_sources(text.train, tokenizer, config.max_length)
    heldout_sequences, heldout_counts = encode_sources(text.heldout, tokenizer, config.max_length)
    data_summary["tokenizer"] = {
        "vocab_size": len(tokenizer),
        "num_merges": config.num_merges,
        "max_vocab": config.max_vocab,
    }
    data_summary["train_encoded"] = train_counts
    data_summary["heldout_encoded"] = heldout_counts
    for role, counts, words in (
        ("train", train_counts, data_summary["train_words"]),
        ("heldout", heldout_counts, data_summary["heldout_words"]),
    ):
        if words:
            counts["subwords_per_word"] = round(counts["subwords"] / words, 3)
        print(f"{role}: {counts}", flush=True)
    return tokenizer, train_sequences, heldout_sequences


def describe_model(config: PretrainConfig, model, tokenizer) -> tuple[dict[str, int], int]:
    """(shape, parameter count), printed in one line."""
    shape = {k: getattr(model.config, k) for k in SHAPE_KEYS}
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"model{' from ' + config.init_from if config.init_from else ''}: RoBERTa {shape['num_hidden_layers']} "
        f"layers x {shape['hidden_size']} hidden, {shape['num_attention_heads']} heads, FFN "
        f"{shape['intermediate_size']}, vocab {len(tokenizer)}: {parameters:,} parameters",
        flush=True,
    )
    return shape, parameters


@dataclass
class MlmRun:
    """A finished masked-LM training: the trainer, its held-out batches, and what to report of it."""

    trainer: Any
    heldout_batches: list[dict]
    device: Any
    metrics: dict[str, Any]


def train_mlm(config: PretrainConfig, model, tokenizer, train_sequences, heldout_sequences, work: Path) -> MlmRun:
    """Train until the epochs, `max_steps` or the time budget run out, scoring held-out text on the way."""
    import torch
    from transformers import DataCollatorForLanguageModeling

    from ..fit.trainer import resolve_bf16

    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=config.mlm_probability)
    heldout_batches = fixed_masked_batches(heldout_sequences, collator, config.eval_batch_size, config.seed)
    clock = Clock()
    budget_s = config.max_minutes * 60 if config.max_minutes else None
    history: list[dict] = []
    bf16 = resolve_bf16(config.bf16)
    args = mlm_arguments(config, work, bf16)
    device = args.device
    print(f"device: {device}, bf16: {bf16}, torch threads: {torch.get_num_threads()}", flush=True)
    before = evaluate_mlm(model.to(device), heldout_batches) if heldout_batches else None
    if before:
        history.append({"step": 0, "minutes": 0.0, "heldout": before})
        print(f"step 0: held-out {before}", flush=True)
    trainer = budget_trainer_class(config, clock, budget_s)(
        model=model,
        args=args,
        train_dataset=[{"input_ids": s} for s in train_sequences],
        data_collator=collator,
        callbacks=[budget_callback(config, clock, budget_s, heldout_batches, history)],
    )
    result = trainer.train()
    metrics: dict[str, Any] = {
        "device": str(device),
        "bf16": bf16,
        "torch_threads": torch.get_num_threads(),
        "steps": trainer.state.global_step,
        "epochs": round(trainer.state.epoch or 0.0, 2),
        "train_minutes": round(clock.elapsed / 60, 2),
        "final_train_loss": round(result.training_loss, 4),
        "history": history,
    }
    train_losses = [h["train_loss"] for h in history if "train_loss" in h]
    if train_losses:
        metrics["first_logged_train_loss"], metrics["last_logged_train_loss"] = train_losses[0], train_losses[-1]
    return MlmRun(trainer, heldout_batches, device, metrics)


def mlm_arguments(config: PretrainConfig, work: Path, bf16: bool):
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(work / "trainer"),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        adam_beta2=0.98,  # RoBERTa's
        max_grad_norm=config.max_grad_norm,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        bf16=bf16,
        seed=config.seed,
        dataloader_num_workers=config.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),  # torch warns on every run when there is nothing to pin for
        disable_tqdm=True,
    )


def budget_callback(config: PretrainConfig, clock: Clock, budget_s: float | None, heldout_batches, history: list):
    """A TrainerCallback that starts `clock`, stops at the time budget, and logs losses and held-out scores."""
    from transformers import TrainerCallback

    class Budget(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            clock.begin()

        def on_step_end(self, args, state, control, **kwargs):
            if budget_s is not None and clock.elapsed >= budget_s:
                print(f"time budget of {config.max_minutes} min reached at step {state.global_step}", flush=True)
                control.should_training_stop = True
            if heldout_batches and config.eval_steps and state.global_step % config.eval_steps == 0:
                history.append(
                    {
                        "step": state.global_step,
                        "minutes": round(clock.elapsed / 60, 2),
                        "heldout": evaluate_mlm(kwargs["model"], heldout_batches),
                    }
                )
                print(f"step {state.global_step}: held-out {history[-1]['heldout']}", flush=True)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                history.append(
                    {
                        "step": state.global_step,
                        "minutes": round(clock.elapsed / 60, 2),
                        "train_loss": round(logs["loss"], 4),
                    }
                )
                print(
                    f"step {state.global_step} ({clock.elapsed / 60:.1f} min): "
                    f"train loss {logs['loss']:.4f} lr {logs.get('learning_rate', 0):.2e}",
                    flush=True,
                )

    return Budget()


def budget_trainer_class(config: PretrainConfig, clock: Clock, budget_s: float | None):
    """A Trainer whose loss is `masked_lm_loss` and whose learning rate follows the time budget."""
    import torch
    from transformers import Trainer

    class BudgetTrainer(Trainer):
        # compute_loss returns a per-batch mean; the Trainer divides it for gradient accumulation.
        loss_is_scaled_for_ga = False

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            return masked_lm_loss(model, inputs, return_outputs)

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None:
                optimizer = optimizer if optimizer is not None else self.optimizer
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
                    optimizer,
                    lambda step: schedule_factor(
                        step, num_training_steps, clock.elapsed, budget_s, config.warmup_ratio, config.lr_scheduler
                    ),
                )
            return self.lr_scheduler

    return BudgetTrainer


def heldout_comparison(config: PretrainConfig, run: MlmRun, tokenizer, train_sequences, data_summary: dict) -> dict:
    """Held-out masked-token scores of the trained model, a random-init twin, and the most frequent subword."""
    import torch

    model = run.trainer.model
    after = evaluate_mlm(model, run.heldout_batches)
    torch.manual_seed(config.seed + 1)
    random_model = random_like(model).to(run.device)
    special = {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}
    return {
        "sources": [s["name"] for s in data_summary["heldout"]],
        "pretrained": after,
        "random_init": evaluate_mlm(random_model, run.heldout_batches),
        "most_frequent_subword_accuracy": unigram_accuracy(train_sequences, run.heldout_batches, special),
    }


def save_base(config: PretrainConfig, model, tokenizer, data_summary: dict, metrics: dict, wall_start: float) -> None:
    """The base written atomically: weights, tokenizer, resolved config, data summary and metrics."""
    from viextract.saving import atomic_directory

    output_dir = Path(config.output_dir)
    model = model.to("cpu")
    model.eval()
    with atomic_directory(output_dir) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        config.save(staging)
        metrics["total_minutes"] = round((time.monotonic() - wall_start) / 60, 2)
        (staging / DATA_SUMMARY_FILENAME).write_text(
            json.dumps(data_summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (staging / METRICS_FILENAME).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(f"saved the base to {output_dir} ({metrics['total_minutes']} min in all)", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.mlm", description="Pretrain a small PhoBERT-shaped base with masked LM."
    )
    parser.add_argument("--config", type=Path, help="YAML file of PretrainConfig keys (configs/pretrain.yaml)")
    add_overrides_option(parser, help="override one key")
    parser.add_argument("--ud-dir", help="folder of vi_vtb-ud-*.conllu (same as --set ud_dir=DIR)")
    return parser


@quiet_pipe
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = list(args.overrides) + ([f"ud_dir={args.ud_dir}"] if args.ud_dir else [])
    try:
        config = PretrainConfig.load(args.config, overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        pretrain(config)
    except (ConfigError, FileNotFoundError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
