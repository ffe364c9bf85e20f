"""What benchmarks/quality.py and benchmarks/speed.py share: models to measure, corpus, scoring, tables.

Not part of the package: benchmarks may import training/ (splits, metrics, the weak annotator).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import platform
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUNDLED_MODEL_DIR = REPO / "src" / "viextract" / "models" / "default"
PHOBERT_TOKENIZER_DIR = REPO.parent / "shared" / "data" / "phobert_tokenizer"
CORPUS_FILE = REPO / "data" / "corpus.jsonl"
SPLITS_FILE = REPO / "data" / "splits.json"

# PhoBERT-base: 12 layers, 768 wide, 12 heads, 3072 intermediate, 64001 subwords, 258 positions.
PHOBERT_BASE_SHAPE = {"layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072, "vocab_size": 64001}
# The same architecture, small enough for a smoke run (`--quick`).
QUICK_SHAPE = {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 128, "vocab_size": 64001}


def resolve_model_dir(path: str | os.PathLike | None) -> Path:
    """`--model` as given, else the bundled default; a clear exit when neither exists."""
    if path is not None:
        directory = Path(path)
        if not directory.is_dir():
            raise SystemExit(f"--model {directory}: no such directory")
        return directory
    if (BUNDLED_MODEL_DIR / "ner").is_dir():
        return BUNDLED_MODEL_DIR
    raise SystemExit(
        f"no bundled default model at {BUNDLED_MODEL_DIR}; pass --model DIR (a directory written by "
        f"`python -m training.fit.train ner` or Extractor.save_pretrained)"
    )


def describe_model(directory: Path) -> str:
    """`bundled default` or the path, with the NER encoder's shape."""
    ner_dir = directory / "ner" if (directory / "ner").is_dir() else directory
    name = "bundled default" if directory.resolve() == BUNDLED_MODEL_DIR.resolve() else str(directory)
    try:
        config = json.loads((ner_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return name
    shape = (
        f"{config.get('num_hidden_layers')} layers, {config.get('hidden_size')} wide, "
        f"{config.get('vocab_size')} subwords"
    )
    relations = ", with relation model" if (directory / "re").is_dir() else ""
    return f"{name} ({shape}{relations})"


def corpus_texts(path: Path = CORPUS_FILE) -> list[str]:
    return [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]


def repeat_to(items: Sequence[Any], count: int) -> list[Any]:
    """`items` cycled until there are `count` of them."""
    if not items:
        raise ValueError("nothing to repeat")
    return [items[i % len(items)] for i in range(count)]


def load_tokenizer(directory: Path):
    from transformers import PhobertTokenizer

    return PhobertTokenizer(vocab_file=str(directory / "vocab.txt"), merges_file=str(directory / "bpe.codes"))


def build_token_classifier(
    tokenizer_dir: Path,
    out_dir: Path,
    *,
    layers: int,
    hidden: int,
    heads: int,
    intermediate: int,
    vocab_size: int | None = None,
    seed: int = 0,
) -> Path:
    """A randomly initialised PhoBERT-architecture (RoBERTa) token classifier over the schema's BIO
    labels, saved with its tokenizer as a viextract model directory (`out_dir/ner`)."""
    import torch
    from transformers import RobertaConfig, RobertaForTokenClassification

    from viextract.labels import bio_labels

    torch.manual_seed(seed)
    tokenizer = load_tokenizer(tokenizer_dir)
    labels = bio_labels()
    config = RobertaConfig(
        vocab_size=max(vocab_size or 0, len(tokenizer)),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=258,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = RobertaForTokenClassification(config)
    model.save_pretrained(out_dir / "ner", safe_serialization=True)
    tokenizer.save_pretrained(out_dir / "ner")
    return out_dir


def learn_tokenizer(out_dir: Path, texts: Iterable[str], num_merges: int = 400) -> Path:
    """A small PhoBERT-format vocabulary learned from `texts` (when PhoBERT's own is not on disk)."""
    from training.pretraining.bpe import train_tokenizer
    from viextract.text import prepare_text

    words = [w.text for text in texts for s in prepare_text(text).sentences for w in s.words]
    train_tokenizer(words, out_dir, num_merges=num_merges)
    return out_dir


# ---- scoring ------------------------------------------------------------------------------------


def gold_spans(documents) -> list[list[tuple[int, int, str]]]:
    return [[(e.start, e.end, e.label) for e in doc.entities] for doc in documents]


def extractor_spans(extractor, documents, batch_size: int = 32) -> list[list[tuple[int, int, str]]]:
    """Character spans `(start, end, label)` the extractor finds in each document's text."""
    results = extractor.pipe([doc.text for doc in documents], batch_size=batch_size)
    return [[(e.start, e.end, e.label) for e in result.entities] for result in results]


def entity_f1(extractor, documents) -> float:
    """Micro entity F1 (exact character span and label) of an extractor on gold documents."""
    from training.evaluation.metrics import score_spans

    return score_spans(gold_spans(documents), extractor_spans(extractor, documents)).micro.f1


# ---- reporting ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    import torch
    import transformers

    info: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": " ".join([Path(sys.argv[0]).name if sys.argv else "", *sys.argv[1:]]).strip(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def format_machine(info: dict[str, Any]) -> str:
    parts = [
        f"date {info['date']}",
        f"CPU {info['cpu']} ({info['cores']} cores, torch threads {info['torch_threads']})",
        f"torch {info['torch']}, transformers {info['transformers']}, python {info['python']}",
    ]
    if "gpu" in info:
        parts.append(f"GPU {info['gpu']}")
    if "load_average" in info:
        parts.append("load average " + " ".join(f"{x:.2f}" for x in info["load_average"]))
    return "; ".join(parts) + f"\n\ncommand: `{info['command']}`"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence transformers' progress bars and advice, and library warnings; restore them afterwards."""
    import transformers

    hf_logging = transformers.utils.logging
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    root = logging.getLogger()
    root_level = root.level
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    root.setLevel(logging.ERROR)  # onnxruntime.quantization gives its advice on the root logger
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        root.setLevel(root_level)


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nfigures written to {path}")
