"""`run_batch`: read, shard, skip what is done, extract on an engine, write each shard whole, count."""

from __future__ import annotations

import os
import re
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain, islice
from pathlib import Path

from ..messages import Unfailing
from ..wording import counted
from .documents import (
    Document,
    check_unique_ids,
    detect_input_format,
    files_digest,
    files_stamp,
    input_content_digest,
    input_files_stamp,
    other_case_txt_files,
    read_documents,
    respelled_number_id,
    same_sizes,
)
from .loader import ExtractorSpec
from .plugins import PLUGIN_ENGINES, load_plugin_engine
from .shards import OutputDir

ENGINES = ("local", *PLUGIN_ENGINES, "ray")


@dataclass(frozen=True)
class BatchOptions:
    """Everything `viextract batch` takes; the CLI flags have the same names with dashes."""

    input: str
    out: str
    input_format: str | None = None  # None: from the name (folder: txt, .jsonl, .parquet)
    output_format: str = "jsonl"
    text_field: str = "text"
    id_field: str = "id"
    model: str | None = None  # None: the bundled default model
    engine: str = "local"
    workers: int = 1  # local: processes; datasets: num_proc; ray: actors
    threads_per_worker: int | None = None
    shard_size: int = 1000
    chunk_size: int = 32  # documents per unit of work: every engine extracts the same chunks
    batch_size: int = 32
    max_chars: int | None = None
    device: str | None = None
    quantize: str | None = None
    ray_address: str | None = None
    num_cpus_per_actor: float = 1.0
    num_gpus_per_actor: float = 0.0
    progress: bool = False


class BatchWarning(UserWarning):
    """What `run_batch` warns about: an input without documents, or `.TXT` files it did not read. The CLI prints
    each as one line instead."""


@dataclass(frozen=True)
class BatchSummary:
    documents: int  # read and handled in this run (records plus failures)
    entities: int
    relations: int
    failures: int
    shards_written: int
    shards_skipped: int  # already complete from an earlier run
    seconds: float
    notes: tuple[str, ...] = ()  # for the user, once: how an old output folder was resumed
    warnings: tuple[str, ...] = ()  # also warned (`BatchWarning`) by run_batch: no documents, `.TXT` not read

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        return (
            f"{counted(self.documents, 'document')}, {counted(self.entities, 'entity', 'entities')}, "
            f"{counted(self.relations, 'relation')}, {counted(self.failures, 'failure')}; "
            f"{counted(self.shards_written, 'shard')} written, {self.shards_skipped} "
            f"already complete; {self.seconds:.1f} s, {self.docs_per_second:.2f} docs/s"
        )


def run_batch(options: BatchOptions) -> BatchSummary:
    """Extract from every input document into `options.out`; a rerun resumes after the complete shards."""
    _check_options(options)
    # Before the output folder: a missing engine or input, or one of unknown format, must leave nothing behind.
    revision = _hub_revision(options.model)
    engine = _engine(options, revision)
    documents = read_documents(options.input, options.input_format, options.text_field, options.id_field)
    _check_rereadable(Path(options.input))
    check_unique_ids(options.input, _input_format(options), options.text_field, options.id_field)
    output = OutputDir(options.out, options.output_format)
    settings = _settings(options, revision)
    notes: list[str] = []

    def shards_hold_input() -> bool:
        again = read_documents(options.input, options.input_format, options.text_field, options.id_field)
        return output.holds(again, options.shard_size)

    with output.locked():  # held to the last shard: a second run on the folder would delete our temporary files
        output.open(
            settings,
            settle=lambda previous: _settle(previous, settings, shards_hold_input, notes),
            first=lambda: {key: digest() for key, digest in _digests(settings).items()},
        )
        summary = _write_shards(engine, documents, output, options)
    found = _empty_input_warnings(summary, options.input) + _other_case_warnings(options)
    summary = replace(summary, notes=tuple(notes), warnings=found)
    for message in summary.warnings:
        warnings.warn(message, BatchWarning, stacklevel=2)
    return summary


def _write_shards(engine, documents: Iterator[Document], output: OutputDir, options: BatchOptions) -> BatchSummary:
    shards = _pending_shards(documents, options.shard_size, output)
    started = time.perf_counter()
    counts = {"documents": 0, "entities": 0, "relations": 0, "failures": 0, "shards_written": 0}
    skipped: list[int] = []
    plan: deque[tuple[int, int]] = deque()  # (shard, number of chunks), filled as the engine reads chunks
    chunks = _chunk_stream(shards, options.chunk_size, plan, skipped)
    # Before the engine starts: a complete rerun loads no model (nor starts Ray), and a read-only folder with a
    # shard left to write is refused here, by `_pending_shards`.
    first = next(chunks, None)
    progress = _progress_bar(options.progress)
    try:  # a failed write or Ctrl-C must not leave the bar half drawn before the error
        outcomes_by_chunk = engine(chain([first], chunks)) if first is not None else iter(())
        for shard, outcomes in _group_by_shard(outcomes_by_chunk, plan):
            records = [o["record"] for o in outcomes if "record" in o]
            failures = [o["failure"] for o in outcomes if "failure" in o]
            output.write_shard(shard, records, failures)
            counts["documents"] += len(outcomes)
            counts["entities"] += sum(len(r["entities"]) for r in records)
            counts["relations"] += sum(len(r["relations"]) for r in records)
            counts["failures"] += len(failures)
            counts["shards_written"] += 1
            progress.update(len(outcomes))
    finally:
        progress.close()
    return BatchSummary(**counts, shards_skipped=len(skipped), seconds=time.perf_counter() - started)


def _empty_input_warnings(summary: BatchSummary, source: str) -> tuple[str, ...]:
    if summary.documents or summary.shards_skipped:  # a rerun that found every shard complete read documents
        return ()
    # The run did what was asked, but a wrong path or an empty export should not pass unseen.
    kinds = "an empty file, only blank lines, no rows, or a folder without .txt files"
    return (f"{source} holds no documents ({kinds})",)


def _other_case_warnings(options: BatchOptions) -> tuple[str, ...]:
    folder = Path(options.input)
    if _input_format(options) != "txt" or not folder.is_dir():
        return ()
    skipped = other_case_txt_files(folder)
    if not skipped:
        return ()
    files = counted(len(skipped), "file")
    return (
        f"{folder}: {files} named .TXT or another case of .txt not read, {skipped[0].name!r} first "
        f"(only names ending in lower-case .txt are documents: rename them to include them)",
    )


def _check_options(options: BatchOptions) -> None:
    if options.engine not in ENGINES:
        raise ValueError(f"unknown engine {options.engine!r}; expected one of {', '.join(ENGINES)}")
    for name in ("shard_size", "chunk_size", "batch_size", "workers"):
        if getattr(options, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(options, name)}")
    if options.max_chars is not None and options.max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {options.max_chars}")
    if options.device is not None and options.engine != "ray":  # Ray actors run elsewhere: their devices, not ours
        from ..arguments import check_device

        check_device(options.device)


def _check_rereadable(path: Path) -> None:
    """A pipe (`/dev/stdin`, `<(...)`) can be read once: the id check read it all, and the run found 0 documents."""
    if not path.is_file() and not path.is_dir():
        raise ValueError(
            f"{path}: not a file or folder but a pipe or device; viextract batch reads its input more than once "
            f"(to check ids, and to resume), so save it to a file first"
        )


def _input_format(options: BatchOptions) -> str:
    return options.input_format or detect_input_format(Path(options.input))


def _model_name(model: str | None) -> str | None:
    """A local model directory as an absolute path (Ray workers run in another folder); a Hub id as given."""
    return str(Path(model).resolve()) if model and Path(model).exists() else model


def _hub_revision(model: str | None) -> str | None:
    """The commit a Hub model resolves to now, downloaded once here; None for the bundled model or a folder.

    Pinned for the workers and recorded: a repo updated between two runs (or while workers start) would
    otherwise mix two models' extractions in one output.
    """
    if model is None or Path(model).exists():
        return None
    from ..loading import resolve_model_dir

    snapshot = resolve_model_dir(model)  # huggingface_hub's snapshots/<commit>, or a ModelLoadError
    return snapshot.name if re.fullmatch(r"[0-9a-f]{40}", snapshot.name) else None


def _recorded_model(model: str | None) -> str:
    """The bundled model as "bundled" however it was named (default, or its folder); others as `_model_name`."""
    if model is None:
        return "bundled"
    if not Path(model).exists():
        return model  # a Hub id
    return "bundled" if Path(model).resolve() == _bundled_dir().resolve() else str(Path(model).resolve())


def _bundled_dir() -> Path:
    from ..loading import BUNDLED_MODEL_DIR  # not extractor.py's: a run already complete never imports torch

    return Path(BUNDLED_MODEL_DIR)


def _model_files(model: str) -> tuple[Path, list[Path]] | None:
    """The files of a recorded model folder, hidden ones (`.git`) and notes (`*.md`) aside; None for a Hub id."""
    folder = _bundled_dir() if model == "bundled" else Path(model)
    if not folder.is_dir():
        return None
    files = [path for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix != ".md"]
    return folder, [path for path in files if not any(part.startswith(".") for part in path.relative_to(folder).parts)]


def _digests(settings: dict) -> dict[str, Callable[[], str]]:
    """For each `*_files` stamp, the key of its content digest and how to compute it (it reads every byte)."""
    digests = {"input_sha256": lambda: input_content_digest(settings["input"], settings["input_format"])}
    model = _model_files(settings["model"])
    if model is not None:
        digests["model_sha256"] = lambda: files_digest(*model)
    return digests


def _settings(options: BatchOptions, revision: str | None) -> dict:
    """What must stay the same for a rerun to resume: anything that moves documents between shards or changes them.

    Values as resolved, not as spelled: `--input-format jsonl` and the guess `jsonl` are one setting.
    """
    input_format = _input_format(options)
    model = _recorded_model(options.model)
    model_files = _model_files(model)
    return {
        "input": str(Path(options.input).resolve()),
        "input_files": input_files_stamp(options.input, input_format),  # else shards would not line up
        "input_format": input_format,
        "text_field": options.text_field,
        "id_field": options.id_field,
        "shard_size": options.shard_size,
        "output_format": options.output_format,
        "model": model,
        "model_files": files_stamp(*model_files) if model_files else None,  # retrained weights must not resume
        "model_revision": revision,  # a Hub model's commit: an updated repo must not resume either
        "quantize": options.quantize,  # int8 changes some spans: one folder must not mix the two
        "max_chars": options.max_chars,
        "id_numbers": "as spelled",  # a JSONL number id as the line spells it: `1e3`, not Python's `1000.0`
    }


def _settle(previous: dict, settings: dict, shards_hold_input: Callable[[], bool], notes: list[str]) -> dict:
    """An earlier manifest in today's terms: folders started before resolved values were recorded still resume."""
    settled = dict(previous)
    if previous.get("input_format", "") is None and previous.get("input") == settings["input"]:
        settled["input_format"] = settings["input_format"]  # guessed then from the same name: the same guess
    if "id_numbers" not in previous:
        settled["id_numbers"] = _earlier_id_numbers(previous, settings)
    if previous.get("model") not in (None, "bundled"):
        settled["model"] = _recorded_model(previous["model"])  # the bundled model's folder, given by its path
    for key, digest in _digests(settings).items():
        stamp = key.replace("_sha256", "_files")
        if _only_touched(previous, settings, stamp, key, digest):
            settled[stamp] = settings[stamp]
    if _touched_before_input_digest(previous, settings) and shards_hold_input():
        settled.update(input_files=settings["input_files"], input_sha256=_digests(settings)["input_sha256"]())
        notes.append(
            "the input has new modification or change times (a touch, a chmod, a copy back), and this output was "
            "made before its bytes were recorded (input_sha256); it resumes because the input's sizes, ids and "
            "entity texts match the complete shards"
        )
    return settled


def _earlier_id_numbers(previous: dict, settings: dict) -> str:
    """How the run that made this folder wrote number ids: as spelled, unless the input holds one that it wrote as
    Python's float or int (`1000.0` for `1e3`): later shards would write it otherwise, so the rerun is refused."""
    if previous.get("input") != settings["input"] or previous.get("id_field") != settings["id_field"]:
        return settings["id_numbers"]  # refused anyway, for the input or field named
    respelled = respelled_number_id(settings["input"], settings["input_format"], settings["id_field"])
    if respelled is None:
        return settings["id_numbers"]
    return f"as Python reads them (an id such as the one at {respelled} was written otherwise than it is spelled)"


def _touched_before_input_digest(previous: dict, settings: dict) -> bool:
    """The input's times moved, its sizes did not, and the manifest has no digest to tell a touch from an edit."""
    was, now = previous.get("input_files"), settings["input_files"]
    return "input_sha256" not in previous and was not in (None, now) and same_sizes(was, now)


def _only_touched(previous: dict, settings: dict, stamp: str, key: str, digest: Callable[[], str]) -> bool:
    """Same sizes, other modification times, same bytes: the files were touched (or copied again), not edited.

    Hashes them only when their sizes match, so an input that grew is refused without reading it.
    """
    was, now = previous.get(stamp), settings[stamp]
    if was is None or now is None or was == now or key not in previous or not same_sizes(was, now):
        return False
    return digest() == previous[key]


def _pending_shards(documents: Iterator[Document], shard_size: int, output: OutputDir) -> Iterator[tuple[int, list]]:
    """(shard number, documents) for each shard not yet complete; complete ones are read past, not held."""
    shard = 0
    while batch := list(islice(documents, shard_size)):
        if output.is_complete(shard):
            batch = []
        else:
            output.check_writable(shard)
        yield shard, batch
        shard += 1


def _chunk_stream(shards, chunk_size: int, plan: deque, skipped: list[int]) -> Iterator[list[Document]]:
    for shard, documents in shards:
        if not documents:
            skipped.append(shard)
            continue
        pieces = [documents[i : i + chunk_size] for i in range(0, len(documents), chunk_size)]
        plan.append((shard, len(pieces)))
        yield from pieces


def _group_by_shard(outcomes_by_chunk: Iterable[list[dict]], plan: deque) -> Iterator[tuple[int, list[dict]]]:
    """The engine returns chunks in order; `plan` (filled before they are returned) says where shards end."""
    collected: list[dict] = []
    seen = 0
    for outcomes in outcomes_by_chunk:
        collected += outcomes
        seen += 1
        shard, expected = plan[0]
        if seen == expected:
            plan.popleft()
            yield shard, collected
            collected, seen = [], 0


def _engine(options: BatchOptions, revision: str | None):
    threads = options.threads_per_worker
    if threads is None and options.workers > 1:  # workers x threads should not exceed the cores
        threads = max(1, (os.cpu_count() or 1) // options.workers)
    spec = ExtractorSpec(_model_name(options.model), options.device, options.quantize, threads, revision)
    common = {"batch_size": options.batch_size, "max_chars": options.max_chars}
    if options.engine == "local":
        from .local import map_chunks_local

        return lambda chunks: map_chunks_local(spec, chunks, workers=options.workers, **common)
    if options.engine in PLUGIN_ENGINES:
        map_chunks = load_plugin_engine(options.engine)
        return lambda chunks: map_chunks(spec, chunks, workers=options.workers, **common)
    from .ray_engine import map_chunks_ray

    device = "cuda" if options.num_gpus_per_actor > 0 and options.device is None else options.device
    threads = options.threads_per_worker or max(1, int(options.num_cpus_per_actor))  # an actor's CPUs
    spec = ExtractorSpec(spec.model, device, options.quantize, threads, revision)
    return lambda chunks: map_chunks_ray(
        spec,
        chunks,
        actors=options.workers,
        num_cpus_per_actor=options.num_cpus_per_actor,
        num_gpus_per_actor=options.num_gpus_per_actor,
        address=options.ray_address,
        **common,
    )


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool):
    if not enabled:
        return _NoProgress()
    import sys

    from tqdm import tqdm

    return tqdm(unit="doc", file=Unfailing(sys.stderr), desc="viextract batch")
