"""The pretraining recipe as data: `PretrainConfig`, read from YAML like the fine-tuning configs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from ..fit.config import CONFIG_FILENAME, ConfigError, TrainConfig
from .text import DEFAULT_UD_DIR

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
            "augment_copies", "early_stopping_patience", "checkpoint_dir", "save_total_limit", "layer_decay",
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
    epochs: float = 40
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
        self._check_counts_and_rates(bad)
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
        if self.text_file and self.text_files:  # collect_text reads text_file alone
            raise bad("text_files", "are not read when text_file is given; add their sentences to text_file")
        for part in [*self.ud_parts, *self.ud_heldout_parts]:
            if part not in ("train", "dev", "test"):
                raise bad("ud_parts", f"UD parts are 'train', 'dev', 'test'; got {part!r}")

    def _check_counts_and_rates(self, bad) -> None:
        """Values torch refused only after the text was collected (a dropout of 1.5), or that ran as something
        else without a word (torch_threads 0 as torch's default, eval_steps -5 as 5, max_vocab 0 as no cap)."""
        for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0 <= getattr(self, key) < 1:
                raise bad(key, f"must be in [0, 1), got {getattr(self, key)}")
        for key in ("torch_threads", "max_vocab"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise bad(key, f"must be at least 1, or null, got {getattr(self, key)}")
        if self.eval_steps < 0:
            raise bad("eval_steps", f"must be 0 (before and after training only) or more, got {self.eval_steps}")

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in dataclasses.asdict(self).items() if k not in self.UNUSED}
        return {"task": self.task, **values}

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CONFIG_FILENAME
        rerun = f"python -m training.pretraining.mlm --config {CONFIG_FILENAME}"
        header = f"# Resolved pretraining config; to rerun: {rerun}\n"
        path.write_text(header + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path
