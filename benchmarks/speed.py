"""How fast is viextract, and what makes it so? Measured against a plain transformers loop.

For each model (the bundled default or `--model DIR`, and a randomly initialised model of
PhoBERT-base's shape: speed does not depend on the weights), over the corpus texts
(data/corpus.jsonl) repeated to `--docs` documents:

1. `Extractor.pipe` at batch sizes 1, 8, 32 (and int8, ONNX Runtime): documents/s, subword
   tokens/s, p50/p95 latency per document, peak resident memory; beside it the baseline, a plain
   loop of `AutoModelForTokenClassification` forward passes in fp32 over the same windows (one
   window per forward pass, input order, `torch.no_grad` as transformers' pipelines use, no
   inference_mode), and text preparation alone (normalise, split, segment).
2. Levers, each changed alone from the baseline (forward passes only, same windows): attention
   kernel, grad mode, batching with and without length sorting, dynamic int8, ONNX Runtime,
   threads; then combined.
3. Entity F1 on the dev split for every setting that can change predictions (trained model only).
4. Cold start: a fresh process, from `import viextract` to the first result.

    python benchmarks/speed.py [--model DIR] [--docs 200] [--json out.json]
    python benchmarks/speed.py --quick                     # smoke run: few documents, a small shape
    python benchmarks/speed.py --device cuda --dtype bf16  # on a GPU: + fraction of bf16 peak FLOP/s
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/speed.py` from anywhere

import torch  # noqa: E402

from benchmarks import _feed  # noqa: E402
from benchmarks._models import (  # noqa: E402
    CORPUS_FILE,
    PHOBERT_BASE_SHAPE,
    PHOBERT_TOKENIZER_DIR,
    QUICK_SHAPE,
    SPLITS_FILE,
    build_token_classifier,
    corpus_texts,
    describe_model,
    entity_f1,
    extractor_spans,
    format_machine,
    learn_tokenizer,
    machine_info,
    markdown_table,
    quiet_libraries,
    repeat_to,
    resolve_model_dir,
    write_json,
)
from viextract.align import SubwordAligner, Window  # noqa: E402
from viextract.ner import pad_batch  # noqa: E402
from viextract.text import prepare_text  # noqa: E402

BATCH_SIZES = (1, 8, 32)
LEVER_BATCH = 32
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Chunking as Extractor.pipe does it: a chunk closes at batch_size * this many sentences.
SENTENCES_PER_CHUNK_FACTOR = 4


# ---- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocInput:
    """One document as model windows, exactly as `Extractor` would build them."""

    windows: tuple[Window, ...]
    sentences: int

    @property
    def tokens(self) -> int:
        return sum(len(w.input_ids) for w in self.windows)


def prepare_inputs(texts: Sequence[str], tokenizer, segmenter: str) -> list[DocInput]:
    aligner = SubwordAligner(tokenizer)
    docs = []
    for text in texts:
        sentences = [[w.text for w in s.words] for s in prepare_text(text, segmenter).sentences]
        windows = tuple(w for words in sentences if words for w in aligner.windows(words))
        docs.append(DocInput(windows, len(sentences)))
    return docs


# ---- measuring ----------------------------------------------------------------------------------


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so the next row's RSS starts from live memory."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class PeakMemory:
    """Peak memory while the block runs: resident set (CPU, sampled) or allocated (CUDA)."""

    def __init__(self, device: torch.device, interval: float = 0.01):
        self.device = device
        self.interval = interval
        self.peak_mb: float | None = None
        self.start_mb: float | None = None
        self.kind = "RSS"

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            self.kind = "CUDA allocated"
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start_mb = torch.cuda.memory_allocated() / 2**20
            return self
        try:
            import psutil
        except ImportError:  # the process's lifetime peak: an upper bound
            import resource

            self.kind = "RSS (process peak so far)"
            self._resource = resource
            return self
        process = psutil.Process()
        self._peak = process.memory_info().rss
        self.start_mb = self._peak / 2**20
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(self.interval):
                self._peak = max(self._peak, process.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        self._process = process
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        elif hasattr(self, "_thread"):
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(self._peak, self._process.memory_info().rss) / 2**20
        else:
            self.peak_mb = self._resource.getrusage(self._resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Run:
    """One timed pass over the documents."""

    name: str
    seconds: float
    docs: int
    tokens: int
    latencies: list[float] = field(repr=False)
    peak_mb: float | None = None
    start_mb: float | None = None  # memory when the run began (models loaded, earlier heap)
    padding: float | None = None  # padded positions / real tokens (batched forward passes)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    def latency_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("latencies", "extra")}
        out.update(self.extra)
        out.update(
            docs_per_s=self.docs_per_s,
            tokens_per_s=self.tokens_per_s,
            latency_p50_ms=self.latency_ms(50),
            latency_p95_ms=self.latency_ms(95),
        )
        return out


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


GRAD_MODES: dict[str, Callable[[], Any]] = {
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
    "autograd": contextlib.nullcontext,
}


def forward_windows(
    name: str,
    model,
    docs: Sequence[DocInput],
    *,
    pad_id: int,
    device: torch.device,
    batch_size: int = 1,
    sort: bool = False,
    grad: str = "no_grad",
) -> Run:
    """Forward passes over the documents' windows, chunked as `Extractor.pipe` chunks documents.

    With batch_size=1 and sort=False this is the plain loop: one window per forward pass, in order.
    A document's latency runs from the start of its chunk to the end of its chunk.
    """
    grad_mode = GRAD_MODES[grad]
    latencies: list[float] = []
    padded = real = 0

    def flush(chunk: list[tuple[DocInput, float]]) -> None:
        nonlocal padded, real
        windows = [w for doc, _ in chunk for w in doc.windows]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids)) if sort else range(len(windows))
        order = list(order)
        for start in range(0, len(order), batch_size):
            batch = [windows[i] for i in order[start : start + batch_size]]
            ids, mask = pad_batch(batch, pad_id)
            padded += ids.numel()
            real += sum(len(w.input_ids) for w in batch)
            with grad_mode():
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
                logits.float().argmax(dim=-1).tolist()  # labels back on the host, as any tagger needs
        done = time.perf_counter()
        latencies.extend(done - started for _, started in chunk)

    total_start = time.perf_counter()
    chunk: list[tuple[DocInput, float]] = []
    pending = 0
    for doc in docs:
        chunk.append((doc, time.perf_counter()))
        pending += doc.sentences
        if pending >= batch_size * SENTENCES_PER_CHUNK_FACTOR:
            flush(chunk)
            chunk, pending = [], 0
    if chunk:
        flush(chunk)
    sync(device)
    seconds = time.perf_counter() - total_start
    tokens = sum(doc.tokens for doc in docs)
    return Run(name, seconds, len(docs), tokens, latencies, padding=padded / real - 1 if real else 0.0)


def pipe_run(name: str, extractor, texts: Sequence[str], tokens: int, batch_size: int, **options) -> Run:
    """`Extractor.pipe` over the texts; a document's latency runs from the moment pipe reads it to its result."""
    read_at: list[float] = []

    def feed() -> Iterator[str]:
        for text in texts:
            read_at.append(time.perf_counter())
            yield text

    latencies = []
    start = time.perf_counter()
    for index, _ in enumerate(extractor.pipe(feed(), batch_size=batch_size, **options)):
        latencies.append(time.perf_counter() - read_at[index])
    sync(extractor.device)
    return Run(name, time.perf_counter() - start, len(texts), tokens, latencies)


def measure(run: Callable[[], Run], warmup: Callable[[], Any], device: torch.device, repeats: int) -> Run:
    """Warm up, then the median of `repeats` timed runs, with peak memory."""
    warmup()
    runs = []
    for _ in range(repeats):
        with PeakMemory(device) as memory:
            result = run()
        result.peak_mb, result.start_mb = memory.peak_mb, memory.start_mb
        runs.append(result)
    return median_run(runs)


def measure_forward(name: str, model, docs, pad_id: int, device: torch.device, repeats: int, **options) -> Run:
    """`forward_windows` warmed up on the first document, then measured."""
    return measure(
        lambda: forward_windows(name, model, docs, pad_id=pad_id, device=device, **options),
        lambda: forward_windows("warm-up", model, docs[:1], pad_id=pad_id, device=device, **options),
        device,
        repeats,
    )


# ---- models -------------------------------------------------------------------------------------


def ner_dir_of(model_dir: Path) -> Path:
    return model_dir / "ner" if (model_dir / "ner").is_dir() else model_dir


def load_hf_model(model_dir: Path, device: torch.device, dtype: torch.dtype = torch.float32, attn: str | None = None):
    from transformers import AutoModelForTokenClassification

    from viextract.loading import check_loading_info
    from viextract.storage import load_model

    options = {"attn_implementation": attn} if attn else {}
    # load_model: the bundled weights are int8-stored, which a plain from_pretrained fills with random ones.
    model, info = load_model(AutoModelForTokenClassification, ner_dir_of(model_dir), **options)
    check_loading_info(ner_dir_of(model_dir), info, model.config.model_type)
    return model.to(device=device, dtype=dtype).eval()


def load_extractor(model_dir: Path, device: torch.device, dtype: torch.dtype, quantize: str | None = None):
    from viextract import Extractor

    extractor = Extractor.from_pretrained(model_dir, device=device, quantize=quantize)
    if dtype != torch.float32:
        extractor.ner_model.to(dtype)
        if extractor.relation_extractor is not None:
            extractor.relation_extractor.model.to(dtype)
    return extractor


def int8_model(model_dir: Path):
    model = load_hf_model(model_dir, torch.device("cpu"))
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def flops_per_token(model, mean_length: float) -> float:
    """2 x weights of every linear layer (encoder and head), plus attention's 4 x layers x length x width."""
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    config = model.config
    return 2 * linear + 4 * config.num_hidden_layers * mean_length * config.hidden_size


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---- the benchmark of one model -----------------------------------------------------------------


@dataclass
class ModelSpec:
    key: str
    directory: Path
    description: str
    trained: bool  # F1 means something only for a trained model


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def benchmark_model(spec: ModelSpec, args, texts: list[str], corpus: list[str], device: torch.device) -> dict:
    """Every measurement of one model. One model is in memory at a time, so peak RSS means something."""
    bench, result = prepare_bench(spec, args, texts, corpus, device)
    baseline, levers, onnx_dir = baseline_and_levers(bench, result)
    rows, forward_rows = pipe_rows(bench, baseline, onnx_dir)
    for run in rows:
        run.extra["x_baseline"] = run.tokens_per_s / baseline.tokens_per_s
    if args.peak_tflops:
        for run in rows:
            run.extra["tflops"] = run.tokens_per_s * result["flops_per_token"] / 1e12
            run.extra["fraction_of_peak"] = run.extra["tflops"] / args.peak_tflops
    result["pipe"] = [r.to_dict() for r in rows]
    report_model(bench, result, rows, forward_rows, levers, len(corpus))
    if onnx_dir is not None:
        shutil.rmtree(onnx_dir, ignore_errors=True)

    if not args.skip_cold_start:
        progress(f"{spec.key}: cold start")
        result["cold_start"] = cold_start(spec, corpus[0], device)
    return result


@dataclass
class Bench:
    """One model's benchmark: its inputs, the dev documents F1 is read on, and the F1 rows gathered so far."""

    spec: ModelSpec
    args: Any
    texts: list[str]
    device: torch.device
    docs: list
    tokens: int
    pad_id: int
    dev: list | None = None
    corpus_docs: list | None = None
    f1_rows: list[tuple[str, float, set]] = field(default_factory=list)

    def score(self, name: str, candidate) -> None:
        """Dev F1, and every span found on the whole corpus (a finer view of what a setting changes)."""
        if self.dev is not None:
            found = extractor_spans(candidate, self.corpus_docs)
            spans = {(i, *span) for i, in_doc in enumerate(found) for span in in_doc}
            self.f1_rows.append((name, entity_f1(candidate, self.dev), spans))

    def pipe_row(self, name: str, candidate, batch_size: int, **options) -> Run:
        progress(f"{self.spec.key}: {name}")
        options["batch_tokens"] = self.args.batch_tokens
        return measure(
            lambda: pipe_run(name, candidate, self.texts, self.tokens, batch_size, **options),
            lambda: list(candidate.pipe(self.texts[:1], batch_size=batch_size)),
            self.device,
            self.args.repeats,
        )


def prepare_bench(spec: ModelSpec, args, texts: list[str], corpus: list[str], device: torch.device):
    """(Bench, result dict with the input figures): the inputs prepared once, with the model's own tokenizer."""
    extractor = load_extractor(spec.directory, device, DTYPES[args.dtype])
    tokenizer, segmenter = extractor.tokenizer, extractor.segmenter
    has_relations = extractor.relation_extractor is not None
    del extractor  # loaded again for its own rows: one model in memory at a time
    distinct = prepare_inputs(corpus, tokenizer, segmenter)
    by_text = dict(zip(corpus, distinct))
    docs = [by_text[t] for t in texts]
    windows = [w for d in distinct for w in d.windows]
    bench = Bench(spec, args, texts, device, docs, sum(d.tokens for d in docs), tokenizer.pad_token_id)
    result: dict[str, Any] = {
        "description": spec.description,
        "docs": len(docs),
        "tokens": bench.tokens,
        "windows_per_corpus": len(windows),
        "mean_window_tokens": sum(len(w.input_ids) for w in windows) / len(windows),
        "segmenter": segmenter,
        "relations": has_relations,
        "dtype": args.dtype,
    }
    if spec.trained and not args.skip_f1:
        from training.data.files import load_documents
        from training.data.splits import load_split

        bench.dev = load_split("dev", args.splits)
        bench.corpus_docs = load_documents(args.corpus)
    return bench, result


def baseline_and_levers(bench: Bench, result: dict[str, Any]) -> tuple[Run, list | None, Path | None]:
    """(baseline forward run, lever runs or None, ONNX export folder or None): forward passes over the same windows."""
    from viextract.onnx import export_ner

    spec, args, device = bench.spec, bench.args, bench.device
    baseline_model = load_hf_model(spec.directory, device, torch.float32)
    result["baseline_attention"] = baseline_model.config._attn_implementation
    result["flops_per_token"] = flops_per_token(baseline_model, result["mean_window_tokens"])
    progress(f"{spec.key}: baseline")
    baseline = measure_forward(BASELINE_NAME, baseline_model, bench.docs, bench.pad_id, device, args.repeats)
    onnx_dir = None
    if device.type == "cpu" and not args.skip_onnx and onnx_available():
        onnx_dir = Path(tempfile.mkdtemp(prefix="viextract_onnx_"))
        progress(f"{spec.key}: ONNX export and int8 quantization")
        export_ner(spec.directory, onnx_dir / "model.onnx", int8=True)
    levers = None
    if not args.skip_levers:
        docs = bench.docs[: args.lever_docs]
        levers = run_levers(spec, args, docs, baseline_model, bench.pad_id, device, onnx_dir)
    del baseline_model
    release_memory()
    return baseline, levers, onnx_dir


def pipe_rows(bench: Bench, baseline: Run, onnx_dir: Path | None) -> tuple[list[Run], list[Run]]:
    """(Extractor.pipe rows after the baseline, NER-forward feed rows): batch sizes, processes, int8, ONNX."""
    from viextract.onnx import load_onnx_extractor

    spec, args, device, texts = bench.spec, bench.args, bench.device, bench.texts
    dtype, on_cpu = DTYPES[args.dtype], device.type == "cpu"
    rows = [baseline]
    if bench.dev is not None and dtype != torch.float32:
        bench.score("fp32", load_extractor(spec.directory, device, torch.float32))  # the reference comes first
        release_memory()
    extractor = load_extractor(spec.directory, device, dtype)
    for processes in args.processes:
        progress(f"{spec.key}: text preparation, {processes} processes")
        prep = lambda n=processes, e=extractor: _feed.prep_run(Run, texts, e, n)  # noqa: E731
        rows.append(measure(prep, lambda: None, device, 1))
    for batch_size in args.batch_sizes:
        rows.append(bench.pipe_row(f"Extractor.pipe, batch {batch_size}, {args.dtype}", extractor, batch_size))
    top = max(args.batch_sizes)
    for processes in (n for n in args.processes if n > 1):
        name = f"Extractor.pipe, batch {top}, {args.dtype}, {processes} processes"
        rows.append(bench.pipe_row(name, extractor, top, n_process=processes))
    forward_rows = feed_rows(extractor, [w for d in bench.docs for w in d.windows], args, device)
    bench.score(args.dtype, extractor)
    del extractor
    release_memory()
    if bench.dev is not None and on_cpu:
        from viextract import Extractor

        eager = Extractor.from_pretrained(spec.directory, device=device, attn_implementation="eager")
        bench.score("eager attention", eager)
    if on_cpu and dtype == torch.float32:
        quantized = load_extractor(spec.directory, device, torch.float32, quantize="int8")
        name = f"Extractor.pipe, batch {LEVER_BATCH}, int8 (torch dynamic)"
        rows.append(bench.pipe_row(name, quantized, LEVER_BATCH))
        bench.score("int8 (torch dynamic)", quantized)
        del quantized
        release_memory()
    if onnx_dir is not None:
        for label, file in ONNX_FILES:
            onnx_extractor = load_onnx_extractor(spec.directory, onnx_dir / file)
            rows.append(bench.pipe_row(f"Extractor.pipe, batch {LEVER_BATCH}, {label}", onnx_extractor, LEVER_BATCH))
            bench.score(label, onnx_extractor)
            del onnx_extractor
            release_memory()
    return rows, forward_rows


def report_model(bench: Bench, result: dict, rows: list[Run], forward_rows: list[Run], levers, n_corpus: int) -> None:
    """Print the model's tables (pipe, feed, levers, dev F1) and add their summaries to `result`."""
    args, device = bench.args, bench.device
    print(f"\n## {bench.spec.key}: {bench.spec.description}\n")
    print(
        f"{len(bench.docs)} documents, {bench.tokens:,} subword tokens ({result['windows_per_corpus']} windows over "
        f"the {n_corpus} corpus documents, {result['mean_window_tokens']:.1f} tokens a window on average); "
        f"segmenter {result['segmenter']}; relation model {'yes' if result['relations'] else 'no'}; "
        f"{torch.get_num_threads()} torch threads; device {device}, dtype {args.dtype}; attention "
        f"{result['baseline_attention']} (transformers' default); "
        f"{result['flops_per_token'] / 1e6:,.1f} MFLOP a token\n"
    )
    print_pipe_table(rows, args.peak_tflops, device)
    pipe_rows_only = [r for r in rows if r.name.startswith("Extractor.pipe")]
    result["feed"] = _feed.feed_summary(forward_rows, pipe_rows_only, result["flops_per_token"], args.peak_tflops)
    result["forward"] = [r.to_dict() for r in forward_rows]
    _feed.print_feed(result["feed"], forward_rows, args.peak_tflops, markdown_table)
    if levers is not None:
        result["levers"] = print_levers(levers, args.lever_docs, device)
    if bench.f1_rows:
        result["dev_f1"] = print_dev_f1(bench.f1_rows, bench.dev)


def feed_rows(extractor, windows: list[Window], args, device: torch.device) -> list[Run]:
    """The NER forward pass alone over the prepared windows at each batch size (see _feed)."""
    rows = []
    for batch_size in _feed.forward_batches(args.batch_sizes, device):
        progress(f"forward only, batch {batch_size}")
        rows.append(
            measure(
                lambda b=batch_size: _feed.forward_run(Run, extractor, windows, b, args.batch_tokens, sync),
                lambda b=batch_size: _feed.forward_run(Run, extractor, windows[:b], b, args.batch_tokens, sync),
                device,
                args.repeats,
            )
        )
    return rows


BASELINE_NAME = "baseline: plain loop, fp32, 1 window a pass, no_grad"
ONNX_FILES = (("ONNX Runtime fp32", "model.onnx"), ("ONNX Runtime int8", "model_int8.onnx"))


def run_levers(spec, args, docs, baseline_model, pad_id, device, onnx_dir) -> list[tuple[str, str, Run | None]]:
    """Each lever changed alone from the baseline, then combined; forward passes over the same windows."""
    on_cpu = device.type == "cpu"
    dtype = DTYPES[args.dtype]

    def timed(name: str, model, **options) -> Run:
        progress(f"{spec.key}: lever {name}")
        return measure_forward(name, model, docs, pad_id, device, args.repeats, **options)

    attention = baseline_model.config._attn_implementation
    threads = torch.get_num_threads()
    sorted_batches = {"batch_size": LEVER_BATCH, "sort": True, "grad": "inference_mode"}
    runs: list[tuple[str, str, Run | None]] = [
        (
            "baseline",
            f"batch 1, input order, no_grad, {attention}, fp32, {threads} threads",
            timed("baseline", baseline_model),
        ),
    ]
    other_attention = "eager" if attention != "eager" else "sdpa"
    model = load_hf_model(spec.directory, device, attn=other_attention)
    runs.append(("attention kernel", f"{other_attention} instead of {attention}", timed("attention", model)))
    del model
    release_memory()
    runs.append(
        (
            "grad mode",
            "torch.inference_mode instead of no_grad",
            timed("inference_mode", baseline_model, grad="inference_mode"),
        )
    )
    runs.append(
        ("grad mode", "autograd on (a loop without no_grad)", timed("autograd", baseline_model, grad="autograd"))
    )
    runs.append(
        (
            "batching",
            f"{LEVER_BATCH} windows a pass, input order",
            timed("batch", baseline_model, batch_size=LEVER_BATCH),
        )
    )
    runs.append(
        (
            "batching",
            f"{LEVER_BATCH} windows a pass, length-sorted",
            timed("sorted batch", baseline_model, batch_size=LEVER_BATCH, sort=True),
        )
    )
    if dtype != torch.float32:
        model = load_hf_model(spec.directory, device, dtype)
        runs.append(("precision", f"{args.dtype} instead of fp32", timed(args.dtype, model)))
        runs.append(
            (
                "combined",
                f"{args.dtype}, {LEVER_BATCH} sorted, inference_mode, {attention}",
                timed("combined", model, **sorted_batches),
            )
        )
        del model
        release_memory()
    if not on_cpu:
        runs.append(
            (
                "combined",
                f"fp32, {LEVER_BATCH} sorted, inference_mode, {attention}",
                timed("combined fp32", baseline_model, **sorted_batches),
            )
        )
        return runs
    return runs + cpu_levers(spec, baseline_model, onnx_dir, timed, sorted_batches)


def cpu_levers(spec, baseline_model, onnx_dir, timed, sorted_batches) -> list[tuple[str, str, Run | None]]:
    """The CPU-only levers: dynamic int8, ONNX Runtime, the thread count, and their combinations."""
    from viextract.onnx import OnnxTokenClassifier

    attention = baseline_model.config._attn_implementation
    threads = torch.get_num_threads()
    other_threads = 1 if threads > 1 else (os.cpu_count() or 1)
    quantized = int8_model(spec.directory)
    runs: list[tuple[str, str, Run | None]] = []
    runs.append(("dynamic int8", "torch quantize_dynamic of the Linear layers", timed("int8", quantized)))
    sessions = {}
    if onnx_dir is not None:
        for label, file in ONNX_FILES:
            sessions[label] = OnnxTokenClassifier(onnx_dir / file, baseline_model.config)
            runs.append((label, "batch 1, input order", timed(label, sessions[label])))
    else:
        runs.append(("ONNX Runtime", "skipped: onnx/onnxruntime not installed (pip install 'viextract[onnx]')", None))
    with torch_threads(other_threads):
        runs.append(
            (
                "threads",
                f"torch.set_num_threads({other_threads}) instead of {threads}",
                timed("threads", baseline_model),
            )
        )
    runs.append(
        (
            "combined",
            f"viextract's torch path: {LEVER_BATCH} sorted, inference_mode, {attention}",
            timed("combined", baseline_model, **sorted_batches),
        )
    )
    runs.append(("combined", "the same + dynamic int8", timed("combined int8", quantized, **sorted_batches)))
    for label, session in sessions.items():
        runs.append(
            (
                "combined",
                f"{label}, {LEVER_BATCH} sorted",
                timed(f"combined {label}", session, batch_size=LEVER_BATCH, sort=True),
            )
        )
    return runs


def fmt_mb(run: Run) -> str:
    if run.peak_mb is None:
        return "n/a"
    return f"{run.peak_mb:,.0f}" + (f" ({run.start_mb:,.0f})" if run.start_mb is not None else "")


def memory_header(device: torch.device) -> str:
    return "peak RSS MB (at start)" if device.type == "cpu" else "peak CUDA MB (at start)"


def print_pipe_table(rows: list[Run], peak_tflops: float | None, device: torch.device) -> None:
    header = ["run", "docs/s", "tokens/s", "p50 ms/doc", "p95 ms/doc", memory_header(device), "× baseline tokens/s"]
    if peak_tflops:
        header.append(f"% of {peak_tflops:.0f} TFLOP/s")
    table = []
    for run in rows:
        row = [
            run.name,
            f"{run.docs_per_s:,.2f}",
            f"{run.tokens_per_s:,.0f}",
            f"{run.latency_ms(50):,.1f}",
            f"{run.latency_ms(95):,.1f}",
            fmt_mb(run),
            f"{run.extra['x_baseline']:.2f}",
        ]
        if peak_tflops:
            row.append(f"{run.extra['fraction_of_peak']:.2%}")
        table.append(row)
    print(markdown_table(header, table), flush=True)


def print_levers(runs: list[tuple[str, str, Run | None]], docs: int, device: torch.device) -> list[dict]:
    base = runs[0][2]
    assert base is not None
    print(
        f"\n### Levers, each changed alone from the baseline ({docs} documents, {base.tokens:,} tokens; "
        f"forward passes only, text preparation excluded)\n"
    )
    header = ["lever", "setting", "tokens/s", "× baseline", "padding", memory_header(device)]
    table, out = [], []
    for lever, setting, run in runs:
        if run is None:
            table.append([lever, setting, "—", "—", "—", "—"])
            out.append({"lever": lever, "setting": setting, "skipped": True})
            continue
        ratio = run.tokens_per_s / base.tokens_per_s
        padding = f"{run.padding:.0%}" if run.padding is not None else ""
        table.append([lever, setting, f"{run.tokens_per_s:,.0f}", f"{ratio:.2f}", padding, fmt_mb(run)])
        out.append({"lever": lever, "setting": setting, "x_baseline": ratio, **run.to_dict()})
    print(markdown_table(header, table), flush=True)
    return out


def print_dev_f1(rows: list[tuple[str, float, set]], dev) -> list[dict]:
    """F1 change against the first row; and how many entity spans on the corpus came out differently."""
    _, reference, reference_spans = rows[0]
    print(f"\n### Entity micro-F1 on dev ({len(dev)} documents: {', '.join(d.id for d in dev)})\n")
    print(
        f"One dev entity more or less moves F1 by about {100 / max(1, sum(len(d.entities) for d in dev)):.1f} "
        f"points; the last column counts predicted spans (whole corpus) that differ from the first row's.\n"
    )
    table, out = [], []
    for name, f1, spans in rows:
        changed = len(spans ^ reference_spans)
        table.append(
            [name, f"{f1 * 100:.2f}", f"{(f1 - reference) * 100:+.2f}", f"{changed} of {len(reference_spans)}"]
        )
        out.append(
            {"setting": name, "f1": f1, "change_points": (f1 - reference) * 100, "corpus_spans_changed": changed}
        )
    print(markdown_table(["setting", "entity micro-F1", "change (points)", "corpus spans changed"], table))
    return out


COLD_START = """
import json, resource, sys, time
started = time.perf_counter()
import viextract
imported = time.perf_counter()
model, device, text = sys.argv[1], sys.argv[2], sys.stdin.read()
if model == "bundled":
    result = viextract.extract(text)
else:
    result = viextract.Extractor.from_pretrained(model, device=device)(text)
done = time.perf_counter()
# VmHWM is this process's own peak; Linux's ru_maxrss also counts the forked parent's pages before exec.
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()
    peak_mb = int(status[0]) / 1024
except (OSError, IndexError, ValueError):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import_s": imported - started, "load_and_first_extract_s": done - imported,
                  "import_to_result_s": done - started, "entities": len(result.entities),
                  "max_rss_mb": peak_mb}))
"""


def cold_start(spec: ModelSpec, text: str, device: torch.device) -> dict:
    """A fresh interpreter: seconds from `import viextract` to the first result, and its peak RSS."""
    from benchmarks._models import BUNDLED_MODEL_DIR

    model = "bundled" if spec.directory.resolve() == BUNDLED_MODEL_DIR.resolve() else str(spec.directory)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    )
    env["TRANSFORMERS_VERBOSITY"] = "error"
    env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", COLD_START, model, str(device)],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        print(f"\ncold start failed:\n{completed.stderr[-2000:]}")
        return {"error": completed.stderr[-2000:]}
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["process_wall_s"] = wall
    call = "viextract.extract(text)" if model == "bundled" else "Extractor.from_pretrained(model)(text)"
    print(f"\n### Cold start (fresh process, first document of the corpus, {call})\n")
    print(
        markdown_table(
            [
                "import viextract s",
                "load + first result s",
                "import → result s",
                "process wall s (incl. interpreter)",
                "peak RSS MB",
            ],
            [
                [
                    f"{figures['import_s']:.2f}",
                    f"{figures['load_and_first_extract_s']:.2f}",
                    f"{figures['import_to_result_s']:.2f}",
                    f"{wall:.2f}",
                    f"{figures['max_rss_mb']:,.0f}",
                ]
            ],
        ),
        flush=True,
    )
    return figures


# ---- main ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="viextract model directory (default: the bundled default)")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=("model", "base"),
        default=["model", "base"],
        help="measure the model (--model), the PhoBERT-base-shaped random model, or both",
    )
    parser.add_argument(
        "--base-dir", type=Path, help="reuse (or build once into) this directory for the PhoBERT-base-shaped model"
    )
    parser.add_argument(
        "--tokenizer",
        type=Path,
        default=PHOBERT_TOKENIZER_DIR,
        help="PhoBERT tokenizer (vocab.txt, bpe.codes) for the base-shaped model",
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS_FILE)
    parser.add_argument("--splits", type=Path, default=SPLITS_FILE)
    parser.add_argument("--docs", type=int, default=200, help="documents per run (the corpus repeated)")
    parser.add_argument("--lever-docs", type=int, default=40, help="documents per lever run")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per setting; the median is reported")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads before anything runs")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=None,
        help="Extractor's dtype (default fp32 on CPU, bf16 on CUDA); the baseline is always fp32",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        help=f"peak FLOP/s to report a fraction of (default on CUDA: {_feed.H100_H200_BF16_PEAK_TFLOPS:.0f}, "
        f"an H100's or H200's dense bf16)",
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", help="text preparation process counts (default 1 2; 1 with --quick)"
    )
    parser.add_argument("--batch-tokens", type=int, help="Extractor.pipe's batch_tokens (padded tokens a pass)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 5 documents (1 for levers), a 2-layer 'base' shape"
    )
    parser.add_argument("--skip-levers", action="store_true")
    parser.add_argument("--skip-onnx", action="store_true")
    parser.add_argument("--skip-f1", action="store_true")
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = torch.get_num_threads()
    try:
        with quiet_libraries():
            return run(args)
    finally:
        torch.set_num_threads(threads)


def run(args: argparse.Namespace) -> int:
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU here")
    if args.dtype is None:
        args.dtype = "bf16" if device.type == "cuda" else "fp32"
    if args.peak_tflops is None and device.type == "cuda":
        args.peak_tflops = _feed.H100_H200_BF16_PEAK_TFLOPS
    if args.threads:
        torch.set_num_threads(args.threads)
    shape = PHOBERT_BASE_SHAPE
    if args.quick:
        args.docs, args.lever_docs, shape = min(args.docs, 5), min(args.lever_docs, 1), QUICK_SHAPE
    args.processes = sorted(set(args.processes or ([1] if args.quick else [1, 2])))
    args.lever_docs = min(args.lever_docs, args.docs)
    info = machine_info()
    print("# viextract speed\n")
    print(format_machine(info))
    corpus = corpus_texts(args.corpus)
    texts = repeat_to(corpus, args.docs)

    specs = []
    with tempfile.TemporaryDirectory(prefix="viextract_speed_") as scratch:
        if "model" in args.models:
            directory = resolve_model_dir(args.model)
            specs.append(ModelSpec("model", directory, describe_model(directory), trained=True))
        if "base" in args.models:
            specs.append(base_spec(args, shape, Path(scratch), corpus))
        results = {spec.key: benchmark_model(spec, args, texts, corpus, device) for spec in specs}
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    print_summary(results)
    if info["load_average_after"]:
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in info['load_average_after'])}")
    write_json(args.json, {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}, "models": results})
    return 0


def base_spec(args, shape: dict, scratch: Path, corpus: list[str]) -> ModelSpec:
    directory = args.base_dir or scratch / "base"
    tokenizer_dir = args.tokenizer
    note = "PhoBERT's tokenizer"
    if not (tokenizer_dir / "vocab.txt").is_file():
        tokenizer_dir = learn_tokenizer(scratch / "tokenizer", corpus)
        note = f"a small learned tokenizer ({tokenizer_dir / 'vocab.txt'}; PhoBERT's not found at {args.tokenizer})"
    if not (directory / "ner" / "config.json").is_file():
        build_token_classifier(
            tokenizer_dir,
            directory,
            layers=shape["layers"],
            hidden=shape["hidden"],
            heads=shape["heads"],
            intermediate=shape["intermediate"],
            vocab_size=shape["vocab_size"],
        )
    name = "PhoBERT-base shape" if shape == PHOBERT_BASE_SHAPE else "small smoke-test shape (--quick)"
    description = (
        f"{name}: {shape['layers']} layers, {shape['hidden']} wide, {shape['heads']} heads, "
        f"{shape['intermediate']} intermediate, {shape['vocab_size']} subwords; randomly initialised (speed does "
        f"not depend on the weights; its predictions are meaningless, so no F1); {note}"
    )
    return ModelSpec("base", directory, description, trained=False)


def print_summary(results: dict[str, dict]) -> None:
    print("\n## Summary\n")
    for key, result in results.items():
        pipe = result["pipe"]
        baseline = pipe[0]
        best = max(
            (r for r in pipe if r["name"].startswith("Extractor.pipe")), key=lambda r: r["tokens_per_s"], default=None
        )
        dtype = result["dtype"]
        default = next((r for r in pipe if r["name"].endswith(f"batch {LEVER_BATCH}, {dtype}")), None)
        parts = [f"baseline {baseline['tokens_per_s']:,.0f} tokens/s"]
        if default:
            parts.append(f"Extractor.pipe batch {LEVER_BATCH} {dtype} {default['x_baseline']:.2f}x")
        if best:
            parts.append(f"fastest `{best['name']}` {best['x_baseline']:.2f}x")
        print(f"- {key}: " + "; ".join(parts) + " (goal on the PhoBERT-base shape, CPU: >= 3x)")
        for row in result.get("dev_f1", [])[1:]:
            print(f"  - dev F1 change, {row['setting']}: {row['change_points']:+.2f} points (goal: >= -0.5)")


if __name__ == "__main__":
    raise SystemExit(main())
