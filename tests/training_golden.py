"""A tiny NER and relation training whose output files are summed up in a golden manifest.

The manifest (tests/data/training_golden.json) records, for every file a training run writes:
text files (vocabulary, merges, tokenizer settings) by their SHA-256; config.json and
training_config.yaml as their parsed content with the run's folder written `<root>`;
training_metrics.json without its timings; weights as a digest per tensor (shape, dtype, sum,
sum of |x|, sum of squares, four values at fixed positions) compared within a tolerance, so that
a machine whose float reductions round differently still passes. Checkpoints are not outputs.

Generate it with a tree's own command (the pre-split one was `python -m training.train`):

    python -m tests.training_golden write --tree /tmp/presplit --module training.train \
        --out tests/data/training_golden.json

and check any tree's command against it (`--module training.fit.train`, or `--command "viextract train"`):

    python -m tests.training_golden check --tree . --module training.fit.train

The tiny bases, the data files and the configs are built here, by this tree's code, the same
way every time (seeded), so only the training command differs between two runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "training_golden.json"
CORPUS = REPO / "data" / "corpus.jsonl"
ROOT_MARK = "<root>"
TASKS = ("ner", "re")

# Weights agree within RTOL of their size, plus ATOL for each element: a tensor whose gradient is zero in
# exact arithmetic (attention key biases) holds only rounding noise (~1e-7), which the thread count changes.
RTOL = 1e-4
ATOL = 1e-6
# Numbers in the metrics that measure the machine, not the run.
TIMING_KEYS = ("runtime", "per_second", "seconds")
# Top-level metrics added after the golden run (abac3af): the sizes of the training files (data/sizes.py)
# and the dev F1 of the saved weights (viextract.card.kept_dev_f1), new records rather than changes of
# what training computes; tests/test_train_ner.py and tests/test_extractor_api.py check them.
ADDED_METRICS = ("data", "kept_dev_f1")
# Training-config keys added after the golden run, with the value that leaves training as it was then;
# a resolved config holding that value is compared without the key.
ADDED_CONFIG_KEYS = {"layer_decay": 1.0, "marker_format": "typed_entity_marker_punct"}
# Keys of config.json that name the library versions of the machine that trained.
MACHINE_KEYS = ("transformers_version",)
# NER decoding tables in config.json["viextract"], too large to keep whole.
DIGESTED_TABLES = ("tag_bigrams", "word_context")
HASHED_FILES = ("vocab.txt", "bpe.codes", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")

# The smallest runs that still take every step: dev scoring, early-stopping choice, decoding tables
# (NER), negative sampling, class weights and the dev threshold (relations).
NER_CONFIG = {
    "max_steps": 6,
    "batch_size": 8,
    "eval_batch_size": 32,
    "learning_rate": 5.0e-3,
    "warmup_ratio": 0.0,
    "logging_steps": 2,
    "allow_unseen_labels": True,
}
RE_CONFIG = {
    "segmenter": "syllables",
    "learning_rate": 3.0e-3,
    "epochs": 2,
    "batch_size": 16,
    "eval_batch_size": 64,
    "negative_ratio": 1.0,
    "class_weights": "sqrt_balanced",
    "logging_steps": 4,
    "bf16": False,
}


# ---- inputs: tokenizer, bases, data, configs ----------------------------------------------------


def build_tokenizer(directory: Path) -> Path:
    """A 400-merge BPE over the words of data/corpus.jsonl (committed, so every checkout builds the same)."""
    from training.pretraining.bpe import train_tokenizer
    from viextract.text import prepare_text

    texts = [json.loads(line)["text"] for line in CORPUS.open(encoding="utf-8")]
    words = [w.text for text in texts for s in prepare_text(text).sentences for w in s.words]
    train_tokenizer(words, directory, num_merges=400)
    return directory


def build_bases(root: Path) -> dict[str, Path]:
    """{task: base model directory}: a token classifier for NER, a masked LM with marker words for relations."""
    import torch
    from transformers import RobertaConfig, RobertaForMaskedLM

    from tests.conftest import build_tiny_token_classifier, tiny_config_values
    from tests.relation_helpers import copy_tokenizer_with_markers, load_tokenizer

    tokenizer_dir = build_tokenizer(root / "tokenizer")
    ner = root / "base_ner"
    build_tiny_token_classifier(tokenizer_dir, ner)
    re_base = copy_tokenizer_with_markers(tokenizer_dir, root / "base_re")
    tokenizer = load_tokenizer(re_base)
    torch.manual_seed(0)
    RobertaForMaskedLM(RobertaConfig(**tiny_config_values(tokenizer))).save_pretrained(re_base)
    tokenizer.save_pretrained(re_base)
    return {"ner": ner, "re": re_base}


def write_data(root: Path) -> tuple[Path, Path]:
    """(train, dev) JSONL: the corpus's first two documents to train on, the third for dev."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    train, dev = root / "train.jsonl", root / "dev.jsonl"
    train.write_text("".join(lines[:2]), encoding="utf-8")
    dev.write_text(lines[2], encoding="utf-8")
    return train, dev


def write_configs(root: Path) -> dict[str, Path]:
    """{task: YAML config} over freshly built bases and data under `root`; outputs go to root/out/<task>."""
    import yaml

    bases = build_bases(root)
    train, dev = write_data(root)
    configs = {}
    for task, values in (("ner", NER_CONFIG), ("re", RE_CONFIG)):
        config = {
            "base_model": str(bases[task]),
            "train_files": [str(train)],
            "dev_files": [str(dev)],
            "output_dir": str(root / "out" / task),
            **values,
        }
        configs[task] = root / f"{task}.yaml"
        configs[task].write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return configs


# ---- running a tree's command -------------------------------------------------------------------


def run_command(tree: Path, command: Sequence[str], task: str, config: Path) -> None:
    """`command task --config config` run by `tree`'s code (its src/ and root first on the path)."""
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}", "OMP_NUM_THREADS": "1"}
    argv = [*command, task, "--config", str(config)]
    done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} (in {tree}) exited {done.returncode}:\n{done.stderr[-4000:]}")


def run_in_process(task: str, config: Path) -> None:
    """This checkout's `python -m training.fit.train task --config config`, without a new interpreter."""
    from training.fit.train import main

    if main([task, "--config", str(config)]) != 0:
        raise RuntimeError(f"training.fit.train {task} --config {config} failed")


def make_manifest(root: Path, train: Callable[[str, Path], None]) -> dict[str, Any]:
    """Build the inputs under `root`, train both tasks with `train(task, config)`, describe the outputs."""
    configs = write_configs(root)
    manifest: dict[str, Any] = {"bases": {task: describe_base(root / f"base_{task}") for task in TASKS}}
    for task in TASKS:
        train(task, configs[task])
        manifest[task] = describe_directory(root / "out" / task, root)
    return manifest


# ---- describing files ---------------------------------------------------------------------------


def describe_directory(directory: Path, root: Path) -> dict[str, Any]:
    """{file name: description} of every file a run wrote into its output directory."""
    described = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        described[path.relative_to(directory).as_posix()] = describe_file(path, root)
    return described


def describe_file(path: Path, root: Path) -> dict[str, Any]:
    if path.suffix == ".safetensors":
        return {"tensors": describe_weights(path)}
    if path.name in HASHED_FILES:
        return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    text = path.read_text(encoding="utf-8").replace(str(root), ROOT_MARK)
    if path.name == "training_metrics.json":
        metrics = drop_keys(json.loads(text), TIMING_KEYS)
        return {"json": {k: v for k, v in metrics.items() if k not in ADDED_METRICS}}
    if path.suffix == ".json":
        return {"json": digest_tables(drop_keys(json.loads(text), MACHINE_KEYS))}
    if path.suffix in (".yaml", ".yml"):
        import yaml

        # Its comment names the command to train again, which the split renamed on purpose: the keys are what counts.
        keys = yaml.safe_load(text)
        return {"yaml": {k: v for k, v in keys.items() if ADDED_CONFIG_KEYS.get(k, object()) != v}}
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def drop_keys(value: Any, parts: Sequence[str]) -> Any:
    """`value` without the dictionary keys that contain one of `parts`, at any depth."""
    if isinstance(value, dict):
        return {k: drop_keys(v, parts) for k, v in value.items() if not any(part in k for part in parts)}
    if isinstance(value, list):
        return [drop_keys(v, parts) for v in value]
    return value


def digest_tables(config: dict[str, Any]) -> dict[str, Any]:
    """A config.json with NER's decoding tables (thousands of numbers) each replaced by a digest."""
    settings = config.get("viextract")
    if not isinstance(settings, dict):
        return config
    tables = {key: table_digest(value) for key, value in settings.items() if key in DIGESTED_TABLES}
    return {**config, "viextract": {**settings, **tables}}


def table_digest(table: Any) -> dict[str, Any]:
    """Its keys and nesting exactly (a hash), its numbers as count, sum, sum of |x| and sum of squares."""
    numbers: list[float] = []

    def layout(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: layout(v) for k, v in value.items()}
        if isinstance(value, list):
            return [layout(v) for v in value]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.append(float(value))
            return "#"
        return value

    shape = json.dumps(layout(table), sort_keys=True, ensure_ascii=False)
    return {
        "layout_sha256": hashlib.sha256(shape.encode("utf-8")).hexdigest(),
        "numbers": len(numbers),
        "sum": rounded(math.fsum(numbers)),
        "abs_sum": rounded(math.fsum(abs(x) for x in numbers)),
        "sum_sq": rounded(math.fsum(x * x for x in numbers)),
    }


def describe_weights(path: Path) -> dict[str, Any]:
    """{tensor name: digest} of a safetensors file: enough to tell two trainings apart, small enough to commit."""
    from safetensors.torch import load_file

    return {key: tensor_digest(tensor) for key, tensor in sorted(load_file(path).items())}


def describe_base(directory: Path) -> dict[str, Any]:
    """One digest of all a base's weights: where it differs, so did the inputs (torch or transformers changed)."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(directory / "model.safetensors")
    flat = torch.cat([tensors[key].reshape(-1).double() for key in sorted(tensors)])
    return {"tensors": len(tensors), **tensor_digest(flat)}


def tensor_digest(tensor) -> dict[str, Any]:
    flat = tensor.detach().reshape(-1).double()
    count = flat.numel()
    positions = sorted({0, count // 3, (2 * count) // 3, count - 1}) if count else []
    return {
        "shape": list(tensor.shape),
        "dtype": str(tensor.dtype).removeprefix("torch."),
        "sum": rounded(float(flat.sum())),
        "abs_sum": rounded(float(flat.abs().sum())),
        "sum_sq": rounded(float((flat * flat).sum())),
        "values": {str(i): rounded(float(flat[i])) for i in positions},
    }


def rounded(number: float) -> float:
    """Seven significant digits (float32's precision): far inside the tolerance, and half the manifest's size."""
    return float(f"{number:.7g}")


# ---- comparing ----------------------------------------------------------------------------------


def compare_manifest(golden: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The differences of a run's manifest from the golden one (whose `made_by` says where it came from)."""
    return compare({k: v for k, v in golden.items() if k != "made_by"}, manifest)


def compare(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Every difference between two manifests, one line each naming the file and key."""
    if isinstance(expected, dict) and "shape" in expected and "sum_sq" in expected:
        return compare_digest(expected, actual, where)
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines = [f"{where}/{key}: missing" for key in expected if key not in actual]
        lines += [f"{where}/{key}: not in the golden manifest" for key in actual if key not in expected]
        for key in (key for key in expected if key in actual):
            lines += compare(expected[key], actual[key], f"{where}/{key}")
        return lines
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items expected, {len(actual)} written"]
        return [line for i, (e, a) in enumerate(zip(expected, actual)) for line in compare(e, a, f"{where}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        if close(expected, actual, RTOL * abs(expected)):
            return []
        return [f"{where}: {expected!r} expected, {actual!r} written"]
    return [] if expected == actual else [f"{where}: {expected!r} expected, {actual!r} written"]


def compare_digest(expected: dict[str, Any], actual: dict[str, Any], where: str) -> list[str]:
    for key in ("shape", "dtype"):
        if expected[key] != actual.get(key):
            return [f"{where}: {key} {expected[key]} expected, {actual.get(key)} written"]
    count = math.prod(expected["shape"])
    scale = math.sqrt(expected["sum_sq"] / max(1, count))  # the tensor's RMS
    tolerances = {
        "sum": RTOL * expected["abs_sum"] + ATOL * count,
        "abs_sum": RTOL * expected["abs_sum"] + ATOL * count,
        "sum_sq": RTOL * expected["sum_sq"] + 2 * ATOL * math.sqrt(count * expected["sum_sq"]),
    }
    lines = [
        f"{where}: {key} {expected[key]!r} expected, {actual[key]!r} written"
        for key, tolerance in tolerances.items()
        if not close(expected[key], actual[key], tolerance)
    ]
    for index, value in expected["values"].items():
        if not close(value, actual["values"].get(index, math.nan), RTOL * max(abs(value), scale) + ATOL):
            lines.append(f"{where}: value [{index}] {value!r} expected, {actual['values'].get(index)!r} written")
    return lines


def close(expected: float, actual: float, tolerance: float) -> bool:
    return abs(expected - actual) <= tolerance + 1e-12


def format_json(value: Any, indent: str = "") -> str:
    """JSON with one line for each value that fits in 200 characters (a tensor digest, a log entry), for short diffs."""
    flat = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(flat) + len(indent) <= 200 or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + " "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {format_json(value[k], inner)}" for k in sorted(value)]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(f"{inner}{format_json(v, inner)}" for v in value) + f"\n{indent}]"


# ---- command ------------------------------------------------------------------------------------


def about_run(tree: Path, command: Sequence[str]) -> dict[str, str]:
    """Which commit and command made a manifest, under which library versions (what to suspect when it differs)."""
    import torch
    import transformers

    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    program = [Path(command[0]).name if command[0] == sys.executable else command[0], *command[1:]]
    return {
        "commit": commit.strip(),
        "command": " ".join([*program, "ner|re", "--config", "<root>/ner.yaml|re.yaml"]),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.training_golden", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument("--tree", type=Path, default=REPO, help="checkout whose training command runs")
    parser.add_argument("--module", default="training.fit.train", help="its training module (python -m MODULE)")
    parser.add_argument("--command", help="a console command instead of python -m MODULE, e.g. 'viextract train'")
    parser.add_argument("--work", type=Path, help="folder for the run (kept); a fresh temporary one if omitted")
    parser.add_argument("--out", type=Path, default=GOLDEN, help="the manifest to write or check against")
    args = parser.parse_args(argv)
    command = args.command.split() if args.command else [sys.executable, "-m", args.module]
    tree = args.tree.resolve()

    work = args.work or Path(tempfile.mkdtemp(prefix="training_golden-"))
    try:
        manifest = make_manifest(work.resolve(), lambda task, config: run_command(tree, command, task, config))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.action == "write":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        about = {"made_by": about_run(tree, command)}
        args.out.write_text(format_json({**about, **manifest}) + "\n", encoding="utf-8")
        return 0
    differences = compare_manifest(json.loads(args.out.read_text(encoding="utf-8")), manifest)
    print("\n".join(differences) or f"{' '.join(command)} in {tree}: same files as {args.out}")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
