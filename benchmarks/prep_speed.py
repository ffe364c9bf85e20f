"""Text preparation alone (normalise, split, segment, tokenize into windows), in tokens/s.

    python benchmarks/prep_speed.py [--model DIR] [--processes 1 2] [--repeats 2]
    python benchmarks/prep_speed.py --slow-tokenizer          # transformers' PhobertTokenizer instead
    PYTHONPATH=/other/checkout/src python benchmarks/prep_speed.py --processes 1   # another viextract
    python benchmarks/prep_speed.py --pipe --processes 1 2    # Extractor.pipe end to end, n_process 1 and 2
    python benchmarks/prep_speed.py --pipe --threads 2 --processes 1   # one process on both cores' threads

Inputs are distinct texts, so no cache is warm for them: the corpus and written documents
(data/), then UD VTB sentences (../shared/data/ud_vietnamese_vtb, when present) 40 to a
document. Tokens are the subwords of the NER windows, <s> and </s> included. One process runs
the steps in a loop (only `prepare_text` and `SubwordAligner`, so an older checkout runs it
too); N processes run `viextract.parallel.prepare_documents`, pool start-up included. `--pipe`
times `Extractor.pipe` with `n_process` N instead: on the CPU each worker runs the whole extraction
with `--threads` // N torch threads (at least 1), the caller with `--threads`. Wall
seconds are what a caller waits; CPU seconds (this process only) say how much work one process
did, and move less when the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/prep_speed.py` from anywhere

from benchmarks._models import REPO, format_machine, machine_info, resolve_model_dir  # noqa: E402

UD_DIR = REPO.parent / "shared" / "data" / "ud_vietnamese_vtb"
UD_SENTENCES_PER_DOC = 40


@dataclass
class PrepRun:
    processes: int
    seconds: float
    cpu_seconds: float | None
    docs: int
    tokens: int

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


def distinct_texts() -> list[str]:
    """Corpus and written documents, then UD VTB sentences grouped into documents: nothing repeats."""
    texts = [
        json.loads(line)["text"]
        for name in ("corpus.jsonl", "extra_written.jsonl")
        for line in (REPO / "data" / name).open(encoding="utf-8")
        if line.strip()
    ]
    ud = [
        line.split("=", 1)[1].strip()
        for path in sorted(UD_DIR.glob("*.conllu"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("# text")
    ]
    return texts + ["\n".join(ud[i : i + UD_SENTENCES_PER_DOC]) for i in range(0, len(ud), UD_SENTENCES_PER_DOC)]


def load_ner_tokenizer(model_dir: Path, slow: bool, tokenizer_dir: Path | None = None):
    """The tokenizer `Extractor` uses for this model (or transformers' slow one), and the model's segmenter.

    `tokenizer_dir`: vocab.txt and bpe.codes alone (PhoBERT's own), with the default segmenter.
    """
    from viextract.loading import load_tokenizer, read_config

    if tokenizer_dir is not None:
        directory, segmenter, vocab_size = tokenizer_dir, "pyvi", 10**9
    else:
        directory = model_dir / "ner" if (model_dir / "ner").is_dir() else model_dir
        config = read_config(directory)
        segmenter = (config.get("viextract") or {}).get("segmenter", "pyvi")
        vocab_size = int(config.get("vocab_size", 0))
    if slow:
        from transformers import PhobertTokenizer

        return PhobertTokenizer.from_pretrained(str(directory)), segmenter
    return load_tokenizer(directory, vocab_size), segmenter


def run_in_process(texts: list[str], tokenizer, segmenter: str) -> PrepRun:
    from viextract.align import SubwordAligner
    from viextract.text import prepare_text

    aligner = SubwordAligner(tokenizer)  # a fresh word cache: new text
    tokens = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        for sentence in prepare_text(text, segmenter).sentences:
            words = [w.text for w in sentence.words]
            tokens += sum(len(w.input_ids) for w in aligner.windows(words)) if words else 0
    return PrepRun(1, time.perf_counter() - wall, time.process_time() - cpu, len(texts), tokens)


def run_in_workers(texts: list[str], tokenizer, segmenter: str, processes: int) -> PrepRun:
    from viextract.align import SubwordAligner
    from viextract.parallel import DocumentPreparer, prepare_documents

    preparer = DocumentPreparer(segmenter, SubwordAligner(tokenizer))
    wall = time.perf_counter()
    tokens = sum(
        len(w.input_ids)
        for doc in prepare_documents(texts, preparer, processes)
        for windows in doc.windows
        for w in windows
    )
    return PrepRun(processes, time.perf_counter() - wall, None, len(texts), tokens)


def run_pipe(texts: list[str], extractor, processes: int) -> PrepRun:
    """`Extractor.pipe` end to end (text, NER, relations), worker start-up included; tokens as above."""
    wall, cpu = time.perf_counter(), time.process_time()
    results = list(extractor.pipe(texts, n_process=processes))
    seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(results) == len(texts)
    return PrepRun(processes, seconds, cpu, len(texts), 0)  # CPU seconds: this process's (the model's, with N > 1)


def measure_pipe(texts: list[str], model_dir: Path, processes: int, repeats: int) -> list[PrepRun]:
    from viextract import Extractor

    extractor = Extractor.from_pretrained(model_dir, device="cpu")
    list(extractor.pipe(texts[:1]))  # imports and pyvi's model, not counted
    tokens = run_in_process(texts, extractor.tokenizer, extractor.segmenter).tokens
    runs = [run_pipe(texts, extractor, processes) for _ in range(repeats)]
    for run in runs:
        run.tokens = tokens
    return runs


def measure_prep(texts: list[str], tokenizer, segmenter: str, processes: int, repeats: int) -> list[PrepRun]:
    run_in_process(texts[:1], tokenizer, segmenter)  # imports and pyvi's model, not counted
    if processes == 1:
        return [run_in_process(texts, tokenizer, segmenter) for _ in range(repeats)]
    return [run_in_workers(texts, tokenizer, segmenter, processes) for _ in range(repeats)]


def profile_prep(texts: list[str], tokenizer, segmenter: str) -> int:
    """Where one process spends text preparation: cProfile's top 15 functions by their own time."""
    import cProfile
    import pstats

    run_in_process(texts[:1], tokenizer, segmenter)
    profiler = cProfile.Profile()
    profiler.runcall(run_in_process, texts, tokenizer, segmenter)
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per row, each printed")
    parser.add_argument("--slow-tokenizer", action="store_true", help="transformers' PhobertTokenizer")
    parser.add_argument("--tokenizer-dir", default=None, help="vocab.txt + bpe.codes to use instead of the model's")
    parser.add_argument("--pipe", action="store_true", help="time Extractor.pipe (the whole extraction) instead")
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process run: top 15 by own time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads here (workers: this // processes)")
    parser.add_argument("--json", default=None, help="write every run here")
    args = parser.parse_args(argv)
    import torch

    import viextract

    torch.set_num_threads(args.threads)
    tokenizer_dir = Path(args.tokenizer_dir) if args.tokenizer_dir else None
    tokenizer, segmenter = load_ner_tokenizer(resolve_model_dir(args.model), args.slow_tokenizer, tokenizer_dir)
    texts = distinct_texts()
    print(f"# Text preparation, {time.strftime('%Y-%m-%d')}: {format_machine(machine_info())}")
    source = Path(viextract.__file__).parent
    what = "Extractor.pipe, whole extraction" if args.pipe else "text preparation"
    print(f"{what}; viextract from {source}; tokenizer {type(tokenizer).__name__}; {len(texts)} texts\n")
    if args.profile:
        return profile_prep(texts, tokenizer, segmenter)
    print(f"torch threads {args.threads}\n")
    print("| processes | run | seconds | CPU seconds | tokens | tokens/s |\n|---|---|---|---|---|---|")
    runs = []
    for processes in args.processes:
        if args.pipe:
            measured = measure_pipe(texts, resolve_model_dir(args.model), processes, args.repeats)
        else:
            measured = measure_prep(texts, tokenizer, segmenter, processes, args.repeats)
        for index, run in enumerate(measured, 1):
            cpu = f"{run.cpu_seconds:.2f}" if run.cpu_seconds is not None else "n/a"
            print(f"| {processes} | {index} | {run.seconds:.2f} | {cpu} | {run.tokens:,} | {run.tokens_per_s:,.0f} |")
            runs.append(run.__dict__ | {"tokens_per_s": run.tokens_per_s, "threads": args.threads})
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
