"""Documents per second of `viextract batch` on each engine, over the corpus articles repeated to `--docs`.

Each engine runs the whole command path (`viextract.batch.run_batch`: read JSONL, extract, write
shards) into a fresh folder; the time includes starting workers and loading the model in each, as
a user would see it. The last column says whether the engine's records equal the first engine's.

    python benchmarks/batch.py [--model DIR] [--docs 200] [--workers 2] [--engines local datasets ray]
    python benchmarks/batch.py --quick    # smoke run: 6 documents, local in-process only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/batch.py` from anywhere

from benchmarks._models import (  # noqa: E402
    corpus_texts,
    format_machine,
    machine_info,
    markdown_table,
    quiet_libraries,
    repeat_to,
    resolve_model_dir,
    write_json,
)
from viextract.batch import BatchOptions, read_shard, run_batch  # noqa: E402


def run_engine(source: Path, out: Path, model: Path, engine: str, workers: int, shard_size: int):
    options = BatchOptions(
        str(source), str(out), model=str(model), engine=engine, workers=workers, shard_size=shard_size
    )
    summary = run_batch(options)
    records = [r for shard in sorted(out.glob("shard-*")) for r in read_shard(shard)]
    return summary, records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the bundled model)")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="processes (local), num_proc (datasets), actors (ray)")
    parser.add_argument("--engines", nargs="+", default=["local", "datasets", "ray"])
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write every figure here too")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.workers, args.engines = 6, 1, ["local"]
    model = resolve_model_dir(args.model)
    texts = repeat_to(corpus_texts(), args.docs)
    rows, figures, first = [], [], None
    with tempfile.TemporaryDirectory() as tmp, quiet_libraries():
        source = Path(tmp) / "in.jsonl"
        source.write_text(
            "".join(json.dumps({"id": f"doc{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
            encoding="utf-8",
        )
        for engine in args.engines:
            summary, records = run_engine(source, Path(tmp) / engine, model, engine, args.workers, args.shard_size)
            first = records if first is None else first
            same = "yes" if records == first else "NO"
            load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "-"
            rows.append(
                (
                    engine,
                    args.workers,
                    summary.documents,
                    f"{summary.seconds:.1f}",
                    f"{summary.docs_per_second:.2f}",
                    summary.entities,
                    summary.relations,
                    same,
                    load,
                )
            )
            figures.append(
                {
                    "engine": engine,
                    "workers": args.workers,
                    "documents": summary.documents,
                    "seconds": summary.seconds,
                    "docs_per_second": summary.docs_per_second,
                    "entities": summary.entities,
                    "relations": summary.relations,
                    "same_records_as_first": records == first,
                    "load_average_1min_at_end": load,
                }
            )
            print("finished:", " | ".join(str(cell) for cell in rows[-1]), file=sys.stderr, flush=True)
    info = machine_info()
    print(f"## viextract batch, {args.docs} documents (the corpus articles repeated), model {model}\n")
    print(format_machine(info) + "\n")
    print(
        markdown_table(
            [
                "engine",
                "workers",
                "documents",
                "seconds",
                "docs/s",
                "entities",
                "relations",
                f"records equal {args.engines[0]}'s",
                "load (1 min) at end",
            ],
            rows,
        )
    )
    write_json(args.json, {"machine": info, "model": str(model), "docs": args.docs, "rows": figures})
    return 0 if all(f["same_records_as_first"] for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
