"""The masked-LM model, its time-budgeted learning-rate schedule, and held-out masked-token scores."""

from __future__ import annotations

import time
from pathlib import Path

from .mlm_config import PretrainConfig


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
