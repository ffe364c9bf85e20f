"""Is the hardware fed? Text preparation per process count, the forward pass alone, and pipe against it.

speed.py's rows for issue #20: text preparation (normalise, split, segment, tokenize into windows)
in 1..N processes; the NER forward pass alone over prepared windows at several batch sizes, through
viextract's own path (`TokenTagger.score_windows`: length-sorted batches, results copied back once);
the best of those as TFLOP/s and a fraction of the device's peak; `Extractor.pipe` as a fraction
of that forward rate, the share of the model's speed that reaches the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

# Dense bf16 tensor-core peak of an H100 or H200 SXM (the H200 has the H100's compute, more memory).
H100_H200_BF16_PEAK_TFLOPS = 989.0


def prep_run(run_cls, texts: Sequence[str], extractor, processes: int):
    """Text preparation alone in `processes` processes (pool start-up included), as a speed.py `Run`."""
    from viextract.align import SubwordAligner
    from viextract.parallel import DocumentPreparer, prepare_documents

    preparer = DocumentPreparer(extractor.segmenter, SubwordAligner(extractor.tokenizer))  # a cold word cache
    start = time.perf_counter()
    tokens = sum(
        len(w.input_ids)
        for doc in prepare_documents(texts, preparer, processes)
        for windows in doc.windows
        for w in windows
    )
    name = f"text preparation only, {processes} process{'es' if processes > 1 else ''} (normalise ... windows)"
    return run_cls(name, time.perf_counter() - start, len(texts), tokens, [])


def forward_run(run_cls, extractor, windows: Sequence, batch_size: int, batch_tokens: int | None, sync: Callable):
    """The NER forward pass alone over prepared windows, as `Extractor.pipe` batches them."""
    start = time.perf_counter()
    extractor.tagger.score_windows(windows, batch_size, batch_tokens)
    sync(extractor.device)
    name = f"NER forward only, batch {batch_size}" + (f", <= {batch_tokens} tokens" if batch_tokens else "")
    return run_cls(name, time.perf_counter() - start, 0, sum(len(w.input_ids) for w in windows), [])


def feed_summary(forward_rows: Sequence, pipe_rows: Sequence, flops_per_token: float, peak_tflops: float | None):
    """The best forward row (and its share of peak), the best pipe row as a fraction of it."""
    best_forward = max(forward_rows, key=lambda r: r.tokens_per_s)
    best_pipe = max(pipe_rows, key=lambda r: r.tokens_per_s)
    tflops = best_forward.tokens_per_s * flops_per_token / 1e12
    summary: dict[str, Any] = {
        "forward_best": best_forward.name,
        "forward_tokens_per_s": best_forward.tokens_per_s,
        "forward_tflops": tflops,
        "pipe_best": best_pipe.name,
        "pipe_tokens_per_s": best_pipe.tokens_per_s,
        "pipe_fraction_of_forward": best_pipe.tokens_per_s / best_forward.tokens_per_s,
    }
    if peak_tflops:
        summary["forward_fraction_of_peak"] = tflops / peak_tflops
    return summary


def print_feed(summary: dict[str, Any], forward_rows: Sequence, peak_tflops: float | None, markdown_table) -> None:
    print("\n### Feeding the device: the forward pass alone, and pipe against it\n")
    rows = [[r.name, f"{r.tokens_per_s:,.0f}"] for r in forward_rows]
    print(markdown_table(["forward pass alone (prepared windows)", "tokens/s"], rows))
    peak = (
        f", {summary['forward_fraction_of_peak']:.2%} of {peak_tflops:.0f} TFLOP/s"
        if "forward_fraction_of_peak" in summary
        else ""
    )
    print(
        f"\nBest forward: `{summary['forward_best']}`, {summary['forward_tokens_per_s']:,.0f} tokens/s = "
        f"{summary['forward_tflops']:.3f} TFLOP/s{peak}. Best pipe: `{summary['pipe_best']}`, "
        f"{summary['pipe_tokens_per_s']:,.0f} tokens/s = {summary['pipe_fraction_of_forward']:.1%} of the "
        f"forward rate (GPU goals: forward >= 40% of bf16 peak, pipe >= 25% of forward).",
        flush=True,
    )


def forward_batches(batch_sizes: Sequence[int], device: torch.device) -> list[int]:
    """The pipe's batch sizes, and on a GPU the large ones that fill it."""
    extra = (128, 512) if device.type == "cuda" else ()
    return sorted(set(batch_sizes) | set(extra))
