"""How does relation extraction cost grow with the entities of a sentence? (issue 19)

1. `extract` on one sentence naming 5 officials and on one naming 40 (sentences written for
   this benchmark, below): seconds each (median of `--repeats`), entities, relation candidates,
   and the scaling = (time ratio) / (length ratio in characters); 1 is linear in the text, the
   typed-marker model's one input per pair makes it grow with the square of the entities.
2. `Extractor.pipe` over the corpus texts repeated to `--docs` documents, with the relation model
   and without it (NER only, same extractor): documents/s each and their ratio.

The model is `--model DIR` (a directory with `ner/` and `re/`), by default the bundled one; the
table names it and its relation architecture (typed_markers or one_pass). One torch thread by
default (`--threads`), as the figures in docs/training.md were measured.

    python benchmarks/relation_scaling.py [--model DIR] [--threads 1] [--repeats 3] [--docs 40]
        [--batch-size 32] [--batch-tokens N] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/relation_scaling.py` from anywhere

import torch  # noqa: E402

from benchmarks._models import (  # noqa: E402
    corpus_texts,
    describe_model,
    format_machine,
    machine_info,
    markdown_table,
    quiet_libraries,
    repeat_to,
    resolve_model_dir,
    write_json,
)

# Written for this benchmark: made-up officials of a made-up delegation.
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ")
MIDDLES = ("Văn", "Đức", "Minh", "Quang", "Thị")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong", "Sơn", "Tâm", "Thành")
RANKS = ("Thượng tướng", "Trung tướng", "Thiếu tướng", "Đại tá", "Thứ trưởng", "Cục trưởng", "Vụ trưởng")


def official_name(i: int) -> str:
    return f"{SURNAMES[i % len(SURNAMES)]} {MIDDLES[(i // 3) % len(MIDDLES)]} {GIVEN[(i * 7) % len(GIVEN)]}"


def delegation_sentence(officials: int) -> str:
    """One sentence naming `officials` titled officials of a delegation, with an organisation, place and date."""
    members = ", ".join(f"{RANKS[i % len(RANKS)]} {official_name(i)}" for i in range(officials))
    return (
        f"Ngày 12/3/2024, tại Hà Nội, đoàn đại biểu Bộ Quốc phòng Việt Nam gồm {members} "
        f"đã hội đàm với đoàn đại biểu Bộ Quốc phòng Lào."
    )


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    run()  # warm-up: first-call allocations and caches are not what we measure
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_scaling(extractor, repeats: int, sizes: tuple[int, int] = (5, 40)) -> dict[str, Any]:
    from viextract.markers import candidate_pairs

    rows = {}
    for n in sizes:
        text = delegation_sentence(n)
        result = extractor(text)
        mentions = [(i, i + 1, e.label) for i, e in enumerate(result.entities)]  # labels are what candidates need
        seconds = median_seconds(lambda text=text: extractor(text), repeats)
        rows[n] = {
            "characters": len(text),
            "entities": len(result.entities),
            "candidates": len(candidate_pairs(mentions)),
            "relations": len(result.relations),
            "seconds": seconds,
        }
    small, large = (rows[n] for n in sizes)
    time_ratio = large["seconds"] / small["seconds"]
    length_ratio = large["characters"] / small["characters"]
    return {
        "sentences": rows,
        "time_ratio": time_ratio,
        "length_ratio": length_ratio,
        "scaling": time_ratio / length_ratio,
    }


def count_tokens(extractor, texts: list[str], batch_size: int, batch_tokens: int | None) -> dict[str, dict[str, int]]:
    """Subword tokens each model reads in one `pipe` over `texts`: real ones, and with the padding
    of their batches. What the relation pass costs next to the NER pass follows from these."""
    counts = {name: {"tokens": 0, "padded": 0} for name in ("ner", "relations")}

    def counter(name: str):
        def hook(module, args, kwargs, output):
            ids = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
            mask = kwargs.get("attention_mask")
            counts[name]["padded"] += ids.numel()
            counts[name]["tokens"] += int(mask.sum()) if mask is not None else ids.numel()

        return hook

    models = {"ner": extractor.ner_model, "relations": extractor.relation_extractor.model}
    handles = [model.register_forward_hook(counter(name), with_kwargs=True) for name, model in models.items()]
    try:
        list(extractor.pipe(texts, batch_size=batch_size, batch_tokens=batch_tokens))
    finally:
        for handle in handles:
            handle.remove()
    return counts


def measure_pipe(
    extractor, texts: list[str], repeats: int, batch_size: int, batch_tokens: int | None = None
) -> dict[str, float]:
    """Seconds of `pipe` with and without the relation model, the two runs alternating (median of each),
    so that a change in the machine's load between them touches both alike."""
    from viextract import Extractor

    ner_only = Extractor(extractor.ner_model, extractor.tokenizer, None, segmenter=extractor.segmenter)
    tokens = count_tokens(extractor, texts, batch_size, batch_tokens)  # also the warm-up
    with_re, without = [], []
    for _ in range(repeats):
        for target, times in ((extractor, with_re), (ner_only, without)):
            start = time.perf_counter()
            list(target.pipe(texts, batch_size=batch_size, batch_tokens=batch_tokens))
            times.append(time.perf_counter() - start)
    seconds_with, seconds_without = statistics.median(with_re), statistics.median(without)
    return {
        "documents": len(texts),
        "batch_size": batch_size,
        "batch_tokens": batch_tokens,
        "docs_per_s_with_relations": len(texts) / seconds_with,
        "docs_per_s_ner_only": len(texts) / seconds_without,
        "ratio": seconds_without / seconds_with,
        "tokens": tokens,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model directory with ner/ and re/ (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure; the median is reported")
    parser.add_argument(
        "--pipe-only", action="store_true", help="skip the 5/40-official sentences (minutes with typed_markers)"
    )
    parser.add_argument("--docs", type=int, default=40, help="documents for the pipe comparison (corpus repeated)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--batch-tokens", type=int, default=None, help="pipe's batch_tokens: padded tokens per forward (default: none)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    return parser


def main(argv: list[str] | None = None) -> int:
    from viextract import Extractor

    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    directory = resolve_model_dir(args.model)
    if not (directory / "re").is_dir():
        raise SystemExit(f"--model {directory}: no re/ directory; this benchmark needs a relation model")
    with quiet_libraries():
        extractor = Extractor.from_pretrained(directory, device=args.device)
        architecture = extractor.relation_extractor.config.architecture
        markers = extractor.relation_extractor.config.marker_format
        scaling = None if args.pipe_only else measure_scaling(extractor, args.repeats)
        texts = repeat_to(corpus_texts(), args.docs)
        pipe = measure_pipe(extractor, texts, args.repeats, args.batch_size, args.batch_tokens)
    info = machine_info()
    print(f"# Relation scaling: {describe_model(directory)}, relation architecture **{architecture}** ({markers})\n")
    print(format_machine(info) + "\n")
    if scaling is not None:
        rows = [
            (n, s["characters"], s["entities"], s["candidates"], s["relations"], f"{s['seconds']:.3f}")
            for n, s in scaling["sentences"].items()
        ]
        print(
            markdown_table(("officials", "characters", "entities", "candidate pairs", "relations", "extract s"), rows)
        )
        print(
            f"\nscaling (time ratio / length ratio): {scaling['time_ratio']:.2f} / {scaling['length_ratio']:.2f} "
            f"= **{scaling['scaling']:.2f}** (goal <= 2)\n"
        )
    print(
        markdown_table(
            ("pipe", "documents", "docs/s with relations", "docs/s NER only", "ratio"),
            [
                (
                    f"batch {args.batch_size}" + (f", {args.batch_tokens} tokens" if args.batch_tokens else ""),
                    pipe["documents"],
                    f"{pipe['docs_per_s_with_relations']:.2f}",
                    f"{pipe['docs_per_s_ner_only']:.2f}",
                    f"**{pipe['ratio']:.2f}x**",
                )
            ],
        )
    )
    print("\n(ratio: relations-on throughput as a share of NER-only; goal >= 0.6x on CPU)")
    ner, relations = pipe["tokens"]["ner"], pipe["tokens"]["relations"]
    print(
        f"\nsubword tokens read in one pass over the documents: NER {ner['tokens']:,} ({ner['padded']:,} with "
        f"padding), relations {relations['tokens']:,} ({relations['padded']:,} with padding)"
    )
    write_json(
        args.json,
        {
            "model": str(directory),
            "architecture": architecture,
            "marker_format": markers,
            "machine": info,
            "scaling": scaling,
            "pipe": pipe,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
