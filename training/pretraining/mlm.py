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
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from ..fit.config import CONFIG_FILENAME, ConfigError, TrainConfig, add_overrides_option
from .text import DEFAULT_UD_DIR, PretrainText, Sentence, TextSource, format_summary

logger = logging.getLogger("training.pretraining.mlm")

DATA_SUMMARY_FILENAME = "pretrain_data.json"
SHAPE_KEYS = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")
METRICS_FILENAME = "pretrain_metrics.json"


@dataclass
class PretrainConfig(TrainConfig):
    """Masked-LM pretraining; shares loading, `--set` and the optimiser keys with TrainConfig."""

    task: ClassVar[str] = "pretrain"
    # TrainConfig keys that mean nothing here: rejected as unknown keys, left out of the saved config.
    UNUSED: ClassVar[frozenset[str]] = frozenset(
        {
            "base_model", "revision", "data_file", "splits_file", "train_files", "dev_files", "augment",
            "augment_copies", "early_stopping_patience", "checkpoint_dir", "save_total_limit",
        }
    )  # fmt: skip

    # ---- text (training.pretraining.text) ----
    # Folder with corpus.jsonl + splits.json (train documents only) and the train_extra files.
    data_dir: str = "data"
    use_corpus: bool = True
    # UD Vietnamese VTB treebank folder (CC BY-SA 4.0); files trained on, and files held out for evaluation.
    ud_dir: str = str(DEFAULT_UD_DIR)
    ud_parts: list[str] = field(default_factory=lambda: ["train", "dev"])
    ud_heldout_parts: list[str] = field(default_factory=lambda: ["test"])
    # The VLSP 2013 POS test sentences shipped inside the underthesea package.
    use_underthesea_vlsp2013: bool = True
    # More raw-text files (UTF-8, paragraphs), segmented with prepare_text like the corpus.
    text_files: list[str] = field(default_factory=list)
    # ---- tokenizer (training.pretraining.bpe) ----
    num_merges: int = 5000
    max_vocab: int | None = None
    # Use the vocab.txt + bpe.codes in this folder instead of learning new ones.
    tokenizer_dir: str | None = None
    # ---- continued pretraining ----
    # Start from this model directory (e.g. the e5 base of training.pretraining.build_e5_base; float or
    # int8-stored) with its own tokenizer and shape; an MLM head is added if it has none. None: from scratch.
    init_from: str | None = None
    # Prepared word-segmented text, one sentence per line (`python -m training.pretraining.text --write-text`),
    # used instead of building text from the sources above at run time (no segmenter needed then).
    text_file: str | None = None
    heldout_text_file: str | None = None
    # ---- model: RoBERTa as in PhoBERT, smaller ----
    num_hidden_layers: int = 4
    hidden_size: int = 256
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    # ---- training ----
    mlm_probability: float = 0.15
    # Wall-clock budget for the training loop in minutes (None: no limit); the linear schedule decays by
    # whichever of steps and time is further along, so a budget-bound run still ends at learning rate 0.
    max_minutes: float | None = None
    # Evaluate held-out masked-LM loss every this many steps (0: only before and after training).
    eval_steps: int = 100
    # torch.set_num_threads while pretraining (None: torch's default). On a 2-core machine shared with
    # other work, 1 thread ran 2.5-8x faster than 2 (docs/pretraining.md).
    torch_threads: int | None = None
    # Overridden TrainConfig defaults.
    learning_rate: float = 5e-4
    epochs: float = 40.0
    warmup_ratio: float = 0.06
    output_dir: str = "outputs/base"
    logging_steps: int = 20

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        return {k: v for k, v in super().field_types().items() if k not in cls.UNUSED}

    def validate(self, source: str = "config") -> None:
        super().validate(source)

        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{source}: {key}: {problem}")

        if self.hidden_size % self.num_attention_heads:
            raise bad(
                "hidden_size", f"{self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}"
            )
        for key in ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "num_merges"):
            if getattr(self, key) <= 0:
                raise bad(key, f"must be positive, got {getattr(self, key)}")
        if not 0 < self.mlm_probability < 1:
            raise bad("mlm_probability", f"must be in (0, 1), got {self.mlm_probability}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise bad("max_minutes", f"must be positive or none, got {self.max_minutes}")
        if self.lr_scheduler not in ("linear", "constant"):
            raise bad("lr_scheduler", f"must be 'linear' or 'constant', got {self.lr_scheduler!r}")
        if set(self.ud_parts) & set(self.ud_heldout_parts):
            raise bad(
                "ud_heldout_parts", f"{sorted(set(self.ud_parts) & set(self.ud_heldout_parts))} are also in ud_parts"
            )
        if self.init_from and self.tokenizer_dir:
            raise bad(
                "tokenizer_dir", "a model given with init_from brings its own tokenizer; leave tokenizer_dir unset"
            )
        if self.heldout_text_file and not self.text_file:
            raise bad("heldout_text_file", "is only read together with text_file")
        for part in [*self.ud_parts, *self.ud_heldout_parts]:
            if part not in ("train", "dev", "test"):
                raise bad("ud_parts", f"UD parts are 'train', 'dev', 'test'; got {part!r}")

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in dataclasses.asdict(self).items() if k not in self.UNUSED}
        return {"task": self.task, **values}

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CONFIG_FILENAME
        rerun = f"python -m training.pretraining.mlm --config {CONFIG_FILENAME}"
        header = f"# Resolved pretraining config; to rerun: {rerun}\n"
        path.write_text(header + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path


# ---- text, tokenizer, sequences -----------------------------------------------------------------


def check_inputs(config: PretrainConfig) -> None:
    """The given paths exist (checked when the run starts, so a config can name what a step before makes)."""
    for key in ("init_from", "text_file", "heldout_text_file"):
        value = getattr(config, key)
        if value and not Path(value).exists():
            raise FileNotFoundError(f"{key}: {value}: no such file or directory")


def collect_text(config: PretrainConfig) -> PretrainText:
    from .text import collect_pretraining_text, read_text_file, segment_documents

    if config.text_file:
        heldout = [read_text_file(config.heldout_text_file)] if config.heldout_text_file else []
        return PretrainText([read_text_file(config.text_file)], heldout)

    text = collect_pretraining_text(
        data_dir=Path(config.data_dir),
        ud_dir=Path(config.ud_dir),
        ud_parts=config.ud_parts,
        ud_heldout_parts=config.ud_heldout_parts,
        use_corpus=config.use_corpus,
        use_underthesea_vlsp2013=config.use_underthesea_vlsp2013,
        segmenter=config.segmenter,
    )
    for name in config.text_files:
        raw = Path(name).read_text(encoding="utf-8")
        source = TextSource(Path(name).name, name, "given with text_files")
        source.sentences = segment_documents([p for p in raw.split("\n\n") if p.strip()], config.segmenter)
        text.train.append(source)
    if not text.train_sentences():
        raise ValueError("no pretraining text: every source is switched off or empty")
    return text


def build_tokenizer(config: PretrainConfig, sentences: list[Sentence], directory: Path):
    """Learn vocab.txt + bpe.codes into `directory` (or copy them from tokenizer_dir)."""
    from transformers import PhobertTokenizer

    from .bpe import train_tokenizer

    if config.tokenizer_dir or config.init_from:
        for name in ("vocab.txt", "bpe.codes"):
            shutil.copyfile(Path(config.tokenizer_dir or config.init_from) / name, directory / name)
        return PhobertTokenizer(vocab_file=str(directory / "vocab.txt"), merges_file=str(directory / "bpe.codes"))
    words = (w for s in sentences for w in s)
    return train_tokenizer(words, directory, num_merges=config.num_merges, max_vocab=config.max_vocab)


def pack_sequences(sentence_ids: list[list[int]], max_length: int, bos_id: int, eos_id: int) -> list[list[int]]:
    """Consecutive sentences packed into `<s> ... </s>` sequences of at most `max_length` ids.

    A sentence longer than a whole sequence is cut into pieces; no sentence is dropped.
    """
    body = max_length - 2
    sequences: list[list[int]] = []
    current: list[int] = []
    for ids in sentence_ids:
        for start in range(0, len(ids), body):
            piece = ids[start : start + body]
            if current and len(current) + len(piece) > body:
                sequences.append(current)
                current = []
            current = current + piece
    if current:
        sequences.append(current)
    return [[bos_id, *s, eos_id] for s in sequences]


def encode_sources(sources: list[TextSource], tokenizer, max_length: int) -> tuple[list[list[int]], dict]:
    """Sequences of each source packed separately (no sequence mixes two sources), with counts."""
    sequences: list[list[int]] = []
    subwords = unknown = 0
    for source in sources:
        sentence_ids = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(" ".join(s))) for s in source.sentences]
        subwords += sum(len(ids) for ids in sentence_ids)
        unknown += sum(i == tokenizer.unk_token_id for ids in sentence_ids for i in ids)
        sequences.extend(pack_sequences(sentence_ids, max_length, tokenizer.bos_token_id, tokenizer.eos_token_id))
    return sequences, {"sequences": len(sequences), "subwords": subwords, "unknown_subwords": unknown}


# ---- model, schedule, evaluation ----------------------------------------------------------------


def load_initial_model(config: PretrainConfig, tokenizer, work: Path):
    """RobertaForMaskedLM from init_from (an int8-stored one expanded first); a fresh MLM head if it had none."""
    from transformers import RobertaForMaskedLM

    from viextract.storage import convert_directory, read_storage

    directory = Path(config.init_from)
    if read_storage(directory):
        directory = convert_directory(directory, work / "init_from", to_int8=False)
    model = RobertaForMaskedLM.from_pretrained(str(directory))
    if model.config.vocab_size < len(tokenizer):
        raise ValueError(f"{directory}: vocab_size {model.config.vocab_size} < the tokenizer's {len(tokenizer)}")
    return model


def random_like(model):
    """An untrained model of the same shape: the floor the pretrained one is compared with."""
    return type(model)(model.config)


def build_model(config: PretrainConfig, tokenizer):
    from transformers import RobertaForMaskedLM

    from .phobert_config import phobert_config

    model_config = phobert_config(
        len(tokenizer),
        config.hidden_size,
        config.num_hidden_layers,
        config.num_attention_heads,
        config.intermediate_size,
        hidden_dropout_prob=config.hidden_dropout_prob,
        attention_probs_dropout_prob=config.attention_probs_dropout_prob,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return RobertaForMaskedLM(model_config)


class Clock:
    """Seconds since the training loop began (0 before it begins)."""

    def __init__(self) -> None:
        self.start: float | None = None

    def begin(self) -> None:
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return 0.0 if self.start is None else time.monotonic() - self.start


def schedule_factor(
    step: int, total_steps: int, elapsed: float, budget_s: float | None, warmup: float, kind: str
) -> float:
    """Learning-rate multiplier from progress = max(step share, time share) in [0, 1]."""
    progress = step / max(total_steps, 1)
    if budget_s:
        progress = max(progress, elapsed / budget_s)
    progress = min(progress, 1.0)
    if warmup > 0 and progress < warmup:
        return max(progress / warmup, 1e-3)
    if kind == "constant":
        return 1.0
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


def masked_lm_loss(model, inputs: dict, return_outputs: bool = False):
    """Cross-entropy over the masked positions, running the LM head on those positions only.

    The head is a vocab-sized projection; on the ~15% of positions that are masked it costs a
    seventh of running it everywhere, as RobertaForMaskedLM's forward does. Same weights, same loss.
    """
    import torch

    labels = inputs["labels"]
    if not hasattr(model, "roberta"):  # wrapped (DataParallel, DeepSpeed): the model's own loss
        outputs = model(**inputs)
        return (outputs.loss, outputs) if return_outputs else outputs.loss
    hidden = model.roberta(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
    selected = labels != -100
    logits = model.lm_head(hidden[selected])
    loss = torch.nn.functional.cross_entropy(logits.float(), labels[selected])
    return (loss, {"logits": logits}) if return_outputs else loss


def fixed_masked_batches(sequences: list[list[int]], collator, batch_size: int, seed: int) -> list[dict]:
    """Held-out batches masked once with a fixed seed, so every model is scored on the same masks."""
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return [
            collator([{"input_ids": s} for s in sequences[i : i + batch_size]])
            for i in range(0, len(sequences), batch_size)
        ]
    finally:
        torch.random.set_rng_state(state)


def evaluate_mlm(model, batches: list[dict]) -> dict:
    """Masked-LM loss and top-1 accuracy over the masked positions of `batches`."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    loss_sum = correct = count = 0.0
    with torch.no_grad():
        for batch in batches:
            batch = {k: v.to(device) for k, v in batch.items()}
            hidden = model.roberta(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).last_hidden_state
            mask = batch["labels"] != -100
            target = batch["labels"][mask]
            picked = model.lm_head(hidden[mask]).float()
            loss_sum += torch.nn.functional.cross_entropy(picked, target, reduction="sum").item()
            correct += (picked.argmax(-1) == target).sum().item()
            count += mask.sum().item()
    model.train(was_training)
    return {
        "loss": round(loss_sum / max(count, 1), 4),
        "accuracy": round(correct / max(count, 1), 4),
        "masked_tokens": int(count),
    }


def unigram_accuracy(train_sequences: list[list[int]], batches: list[dict], special_ids: set[int]) -> float:
    """Accuracy of always guessing the most frequent training subword: the floor a model must beat."""
    from collections import Counter

    counts = Counter(i for s in train_sequences for i in s if i not in special_ids)
    best = counts.most_common(1)[0][0]
    hits = total = 0
    for batch in batches:
        target = batch["labels"][batch["labels"] != -100]
        hits += (target == best).sum().item()
        total += target.numel()
    return round(hits / max(total, 1), 4)


# ---- training -----------------------------------------------------------------------------------


def use_bf16(setting: bool | str) -> bool:
    import torch

    if setting == "auto":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return bool(setting)


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
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    from viextract.saving import atomic_directory

    check_inputs(config)
    wall_start = time.monotonic()
    output_dir = Path(config.output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)

    text = collect_text(config)
    data_summary = text.summary()
    data_summary["segmenter"] = config.segmenter
    print("Pretraining text:\n" + format_summary(data_summary), flush=True)

    work = Path(tempfile.mkdtemp(prefix=f".work-{output_dir.name}-", dir=output_dir.parent))
    try:
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

        torch.manual_seed(config.seed)
        model = load_initial_model(config, tokenizer, work) if config.init_from else build_model(config, tokenizer)
        shape = {k: getattr(model.config, k) for k in SHAPE_KEYS}
        parameters = sum(p.numel() for p in model.parameters())
        print(
            f"model{' from ' + config.init_from if config.init_from else ''}: RoBERTa {shape['num_hidden_layers']} "
            f"layers x {shape['hidden_size']} hidden, {shape['num_attention_heads']} heads, FFN "
            f"{shape['intermediate_size']}, vocab {len(tokenizer)}: {parameters:,} parameters",
            flush=True,
        )
        collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=config.mlm_probability)
        heldout_batches = fixed_masked_batches(heldout_sequences, collator, config.eval_batch_size, config.seed)

        clock = Clock()
        budget_s = config.max_minutes * 60 if config.max_minutes else None
        history: list[dict] = []

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

        bf16 = use_bf16(config.bf16)
        args = TrainingArguments(
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
            disable_tqdm=True,
        )
        device = args.device
        print(f"device: {device}, bf16: {bf16}, torch threads: {torch.get_num_threads()}", flush=True)
        before = evaluate_mlm(model.to(device), heldout_batches) if heldout_batches else None
        if before:
            history.append({"step": 0, "minutes": 0.0, "heldout": before})
            print(f"step 0: held-out {before}", flush=True)
        trainer = BudgetTrainer(
            model=model,
            args=args,
            train_dataset=[{"input_ids": s} for s in train_sequences],
            data_collator=collator,
            callbacks=[Budget()],
        )
        result = trainer.train()
        train_minutes = clock.elapsed / 60

        metrics: dict[str, Any] = {
            "parameters": parameters,
            "shape": shape,
            "init_from": config.init_from,
            "vocab_size": len(tokenizer),
            "device": str(device),
            "bf16": bf16,
            "torch_threads": torch.get_num_threads(),
            "steps": trainer.state.global_step,
            "epochs": round(trainer.state.epoch or 0.0, 2),
            "train_minutes": round(train_minutes, 2),
            "final_train_loss": round(result.training_loss, 4),
            "history": history,
        }
        train_losses = [h["train_loss"] for h in history if "train_loss" in h]
        if train_losses:
            metrics["first_logged_train_loss"], metrics["last_logged_train_loss"] = train_losses[0], train_losses[-1]
        if heldout_batches:
            after = evaluate_mlm(model, heldout_batches)
            torch.manual_seed(config.seed + 1)
            random_model = random_like(model).to(device)
            special = {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}
            metrics["heldout"] = {
                "sources": [s["name"] for s in data_summary["heldout"]],
                "pretrained": after,
                "random_init": evaluate_mlm(random_model, heldout_batches),
                "most_frequent_subword_accuracy": unigram_accuracy(train_sequences, heldout_batches, special),
            }
            print(f"held-out masked LM: {json.dumps(metrics['heldout'])}", flush=True)

        model = trainer.model.to("cpu")
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
        return metrics
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pretrain a small PhoBERT-shaped base with masked LM.")
    parser.add_argument("--config", type=Path, help="YAML file of PretrainConfig keys (configs/pretrain.yaml)")
    add_overrides_option(parser, help="override one key")
    parser.add_argument("--ud-dir", help="folder of vi_vtb-ud-*.conllu (same as --set ud_dir=DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = list(args.overrides) + ([f"ud_dir={args.ud_dir}"] if args.ud_dir else [])
    try:
        config = PretrainConfig.load(args.config, overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        pretrain(config)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
