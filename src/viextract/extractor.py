"""`Extractor`: NER, then relations, over any text, with offsets into the caller's string."""

from __future__ import annotations

import datetime
import functools
import json
import numbers
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import torch

from .arguments import check_device, check_positive_int, parse_device
from .bio import decode_bio, drop_symbol_edges
from .card import write_card
from .dates import reference_year, with_date_values
from .errors import ModelLoadError
from .labels import ENTITY_LABELS
from .links import drop_link_words, link_spans
from .loading import (
    BUNDLED_MODEL_DIR,
    IMPORT_LOCK,
    check_loading_info,
    check_ner_labels,
    check_relation_segmenter,
    check_segmenter,
    load_tokenizer,
    ner_load_errors,
    read_config,
    recorded_segmenter,
    resolve_model_dir,
    split_model_dir,
    transformers_class,
)
from .ner import TokenTagger, WordTag
from .parallel import (
    DocumentPreparer,
    Failed,
    KeptWorkers,
    PreparedDocument,
    check_can_start_workers,
    prepare_documents,
)
from .quiet import no_quantization_deprecation, quiet_unless_verbose
from .results import Entity, Extraction, Relation
from .saving import atomic_directory, check_save_target, refuse_quantized
from .segment import DEFAULT_SEGMENTER, get_segmenter
from .text import Sentence
from .truncation import reports_truncations_when_done

# Documents are prepared and tagged together until this many sentences are pending.
_SENTENCES_PER_CHUNK_FACTOR = 4


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"extract() takes a str, got {type(text).__name__}")
    return text


def _checked_texts(texts: Iterable[Any]) -> Iterator[str]:
    """`texts`, each checked as `_check_text` does, the error naming the item's index in the input."""
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"pipe() takes str texts, got {type(text).__name__} at index {index}")
        yield text


def check_batch_size(batch_size: Any) -> int:
    """`batch_size` itself if it is a positive int (bool excluded), else ValueError naming the value."""
    return check_positive_int("batch_size", batch_size)


def check_threshold(threshold: Any) -> float | None:
    """`threshold` as a float in [0, 1], or None; ValueError naming the value otherwise."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
    return float(threshold)


def check_labels(labels: Any) -> frozenset[str] | None:
    """The entity labels to keep, or None for all; ValueError naming the valid ones for an unknown label."""
    if labels is None:
        return None
    if isinstance(labels, str):
        labels = [labels]
    if not isinstance(labels, Iterable):
        raise TypeError(f"labels must be an entity label or a list of them, got {type(labels).__name__}")
    items = list(labels)
    wrong = [item for item in items if not isinstance(item, str)]
    if wrong:  # else a raw "unhashable type: 'list'", or sorting [1, 'X'] below failed
        raise TypeError(f"labels must be entity label strs, got {wrong[0]!r:.60} ({type(wrong[0]).__name__})")
    chosen = frozenset(items)
    unknown = sorted(chosen - set(ENTITY_LABELS))
    if unknown:
        raise ValueError(f"labels: unknown entity label(s) {unknown}; valid labels are {', '.join(ENTITY_LABELS)}")
    return chosen


def keep_labels(result: Extraction, labels: frozenset[str] | None) -> Extraction:
    """`result` with only entities of `labels`, and only relations whose head and tail are kept."""
    if labels is None:
        return result
    relations = tuple(r for r in result.relations if r.head.label in labels and r.tail.label in labels)
    return Extraction(result.text, tuple(e for e in result.entities if e.label in labels), relations)


def resolve_device(device: str | int | torch.device | None) -> torch.device:
    """`device` as a torch.device (None: a GPU if there is one; an int: that CUDA GPU, as in torch). A GPU
    this machine lacks is a ValueError here, before loading, not torch's AssertionError once loaded."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    given = device
    if isinstance(device, int) and not isinstance(device, bool):
        device = f"cuda:{device}"  # torch.device(5) itself raises a bare RuntimeError where there is no GPU
    target = parse_device(device, f"device: {given!r}")  # 'gpu', True, -1
    check_device(str(target))  # 'meta', 'xpu' without one: not torch's errors of every kind, once loaded
    return target


class Extractor:
    """Entities and relations from Vietnamese text.

    Safe to share between threads: a call keeps its state on its own stack, and the model
    runs under `torch.inference_mode`. The worker processes of `pipe(n_process=N)` are kept for the
    next call; `close()` stops them (so do garbage collection and interpreter exit).
    """

    def __init__(self, ner_model, tokenizer, relation_extractor=None, *, segmenter: str | None = None):
        self.ner_model = ner_model.eval()
        self.tokenizer = tokenizer
        self.relation_extractor = relation_extractor
        settings = getattr(ner_model.config, "viextract", None) or {}
        self.segmenter = segmenter or settings.get("segmenter", DEFAULT_SEGMENTER)
        get_segmenter(self.segmenter)  # an unknown name fails here, not at the first call
        self.tagger = TokenTagger(self.ner_model, tokenizer)
        self.training_metrics: dict | None = None  # ner/training_metrics.json of the loaded model, if any
        # The training records each part of the loaded model carried ({'ner': {file name: text}, 're': ...}).
        self.training_records: dict[str, dict[str, str]] = {}
        self._workers = KeptWorkers()

    def __getstate__(self) -> dict:  # a copy (or a worker's) starts its own processes, if any
        return {name: value for name, value in self.__dict__.items() if name != "_workers"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _workers=KeptWorkers())

    def close(self) -> None:
        """Stop the worker processes `pipe(n_process=N)` keeps between calls; a later call starts new ones.

        A `pipe` iteration still running on them then fails, saying so, unless every chunk of it was
        already sent to them (a short one finishes). Garbage collection and interpreter exit stop
        them too; call it to free their memory (a copy of the models each, on the CPU) sooner.
        """
        self._workers.close()

    @property
    def device(self) -> torch.device:
        return self.tagger.device

    def to(self, device: str | int | torch.device) -> Extractor:
        """Move the models to `device` ("cpu", "cuda", "cuda:0", 0, "mps"); returns self, as torch does.

        A GPU this machine lacks is a ValueError naming it, as in `from_pretrained`."""
        if device is None:  # resolve_device reads None as "pick one": to() is told where
            raise TypeError("to() takes a device (cpu, cuda, cuda:0, mps), got None")
        target = resolve_device(device)
        self.ner_model.to(target)
        if self.relation_extractor is not None:
            self.relation_extractor.model.to(target)
        return self

    @classmethod
    @quiet_unless_verbose
    def from_pretrained(
        cls,
        path_or_repo_id: str | os.PathLike,
        device: str | int | torch.device | None = None,
        *,
        revision: str | None = None,
        token: str | None = None,
        quantize: str | None = None,
        segmenter: str | None = None,
        attn_implementation: str | None = None,
        verbose: bool = False,
    ) -> Extractor:
        """Load a model directory (`ner/` and optional `re/`) or a Hub repo id.

        A local directory comes first, even one named like a repo id; `revision` (a Hub branch, tag or
        commit) with a local directory is refused, as it could not apply.

        `quantize="int8"` applies dynamic int8 quantization to the linear layers (CPU only).
        `segmenter` overrides the word segmenter the model was trained with (saved in its config).
        `attn_implementation` ("sdpa", "eager") picks the NER model's attention kernel; None keeps
        transformers' default (sdpa where torch has it). `verbose=True` lets transformers print its
        progress bars and log lines; by default loading prints nothing.
        """
        from .storage import load_model  # here, so `python -m viextract.storage` runs without a warning

        if quantize not in (None, "int8"):
            raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
        if segmenter is not None:
            get_segmenter(segmenter)  # a wrong name fails before the model is loaded, not after
        target = resolve_device(device)
        if quantize == "int8" and target.type != "cpu":
            raise ValueError("quantize='int8' runs on the CPU only")
        root = resolve_model_dir(path_or_repo_id, revision=revision, token=token)
        ner_dir, relation_dir = split_model_dir(root)
        config = read_config(ner_dir)
        entity_labels = check_ner_labels(ner_dir, config)
        if segmenter is None:
            check_segmenter(ner_dir, config)
        tokenizer = load_tokenizer(ner_dir, int(config.get("vocab_size", 0)), config.get("pad_token_id"))
        with ner_load_errors(ner_dir):
            options = {"attn_implementation": attn_implementation} if attn_implementation else {}
            # float32 compute whatever the stored dtype (float16, or int8 rows via viextract.storage).
            model, info = load_model(
                transformers_class("AutoModelForTokenClassification"), ner_dir, dtype=torch.float32, **options
            )
        check_loading_info(ner_dir, info, config.get("model_type"))
        model.to(target)
        relation_extractor = None
        if relation_dir is not None:
            with IMPORT_LOCK:
                from .relations import RelationExtractor

            relation_extractor = RelationExtractor.from_pretrained(
                relation_dir, entity_labels, device=target, verbose=verbose
            )
            if segmenter is None:
                _check_pair_segmenters(ner_dir, config, relation_dir)
        if quantize == "int8":
            model = _quantize(model)
            if relation_extractor is not None:
                relation_extractor.model = _quantize(relation_extractor.model)
        extractor = cls(model, tokenizer, relation_extractor, segmenter=segmenter)
        extractor.training_metrics = _read_metrics(ner_dir / METRICS_FILE)
        extractor.training_records = _read_records({"ner": ner_dir, "re": relation_dir})
        return extractor

    @quiet_unless_verbose
    def save_pretrained(self, directory: str | os.PathLike, *, verbose: bool = False) -> None:
        """Write `ner/` (and `re/`) so that `from_pretrained(directory)` gives this extractor back.

        Only `ner/` and `re/` are replaced (an old `re/` is removed when this extractor has none);
        other files in `directory` are left alone. An int8-quantized extractor cannot be saved.
        Nothing is printed unless `verbose=True`.
        """
        refuse_quantized(self.ner_model, "this extractor")
        if self.relation_extractor is not None:
            refuse_quantized(self.relation_extractor.model, "this extractor")
        directory = check_save_target(directory)
        # Both models record the segmenter this extractor runs, so the saved pair loads back as it is.
        models = [self.ner_model] + ([self.relation_extractor.model] if self.relation_extractor is not None else [])
        for model in models:
            model.config.viextract = {**(getattr(model.config, "viextract", None) or {}), "segmenter": self.segmenter}
        with atomic_directory(directory, owned=("ner", "re")) as staging:
            self.ner_model.save_pretrained(staging / "ner", safe_serialization=True)
            self.tokenizer.save_pretrained(staging / "ner")
            if self.relation_extractor is not None:
                self.relation_extractor.save_pretrained(staging / "re", atomic=False, verbose=verbose)
            _write_records(staging, self.training_records, has_relations=self.relation_extractor is not None)
            if self.training_metrics:  # the same weights: their dev scores go with them, into the card
                (staging / "ner" / METRICS_FILE).write_text(
                    json.dumps(self.training_metrics, indent=2), encoding="utf-8"
                )
            write_card(staging, directory)  # README.md, unless the directory has one viextract did not write

    @quiet_unless_verbose
    def push_to_hub(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        private: bool | None = None,
        commit_message: str = "Upload viextract model",
        revision: str | None = None,
        create_pr: bool = False,
        replace_card: bool | None = None,
        verbose: bool = False,
    ) -> str:
        """Save to a temporary directory and upload it (with its model card) to the Hub repo `repo_id`.

        Creates the repo, and the branch `revision`, if needed. Returns the commit URL (or the pull
        request's, with `create_pr`, which opens one against main: it cannot go with `revision`). A
        README.md already in the repo that viextract did not write (a `publish card` card) is never
        replaced silently: HubError unless `replace_card=True`
        (replace it) or `replace_card=False` (keep it). The upload's progress bars show only with
        `verbose=True`.
        """
        from .hub import push_directory

        return push_directory(
            functools.partial(self.save_pretrained, verbose=verbose),
            repo_id,
            token=token,
            private=private,
            commit_message=commit_message,
            revision=revision,
            create_pr=create_pr,
            replace_card=replace_card,
        )

    @overload
    def __call__(
        self, text: str, batch_size: int = 32, *, threshold=None, labels=None, document_date=None
    ) -> Extraction: ...
    @overload
    def __call__(
        self,
        text: list[str] | tuple[str, ...],
        batch_size: int = 32,
        *,
        threshold=None,
        labels=None,
        document_date=None,
    ) -> list[Extraction]: ...
    def __call__(self, text, batch_size=32, *, threshold=None, labels=None, document_date=None):
        """One text gives one `Extraction`; a list (or tuple) of texts gives a list, as `pipe` would.

        `threshold`, `labels` and `document_date` are as in `pipe`.
        """
        options = {"threshold": threshold, "labels": labels, "document_date": document_date}
        if isinstance(text, (list, tuple)):
            return list(self.pipe(text, batch_size=batch_size, **options))
        # to its end, where it logs its summary
        (result,) = self.pipe([_check_text(text)], batch_size=batch_size, **options)
        return result

    def pipe(
        self,
        texts: Iterable[str] | Iterable[tuple[str, Any]],
        batch_size: int = 32,
        *,
        n_process: int = 1,
        batch_tokens: int | None = None,
        as_tuples: bool = False,
        threshold: float | None = None,
        labels: Iterable[str] | None = None,
        document_date: datetime.date | str | None = None,
    ) -> Iterator[Extraction] | Iterator[tuple[Extraction, Any]]:
        """Extract from many texts, batching across documents; results keep input order.

        `batch_size` bounds the windows (sentences cut to the model's 256 subwords) of one forward pass.

        `n_process` > 1 uses that many spawned worker processes; results are the same as with 1.
        With the model on the CPU each worker runs the whole extraction on its share of the
        documents and of torch's threads (the model, not text, takes most of the time there); on
        a GPU they prepare text (normalise, split, segment, tokenize) while the model runs here.
        Each worker starts with a copy of the models, which costs seconds (benchmarks/RESULTS-speed.md);
        the workers are kept for the next call with the same `n_process` (and torch thread count), which
        pays nothing to start, unless the models or the segmenter changed in between (then new workers
        load the new ones; a write through `.data`, which torch does not count as a change, is seen by 16
        values sampled from each tensor only: call `close()` after one). `close()` stops them. Workers are spawned, so a
        script that calls it needs `if __name__ == "__main__":` (without it the pool reports itself
        broken), and must be a file, not piped into `python -` (a ValueError at the call). A document
        that fails in a worker raises `viextract.parallel.DocumentError` with its index, after the
        documents before it.
        `batch_tokens` caps a forward pass, of the entity model and of the relation model alike, at
        that many tokens once padded (inputs of similar length go together), on top of `batch_size`
        inputs. Anything cut to fit the model is counted and logged once, as one warning, when the
        iteration ends.

        `as_tuples=True` takes `(text, context)` pairs and yields `(Extraction, context)` (spaCy's
        convention). `threshold` overrides the model's relation threshold for this call; `labels`
        keeps only entities of those SCHEMA labels (and relations between kept entities).

        Arguments are checked here, at the call, not at the first iteration: a `str` (which would
        iterate character by character) is a TypeError, a `batch_size` that is not a positive int
        a ValueError.

        `document_date` (a `datetime.date` or 'YYYY-MM-DD') is the year that DATE values without
        one take (`dates.py`); without it, each text's ` date YYYY-MM-DD` header is used, if any.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError(
                f"pipe() takes an iterable of str, got one {type(texts).__name__}: use extractor(text) for one text"
            )
        if not isinstance(texts, Iterable):
            raise TypeError(f"pipe() takes an iterable of str, got {type(texts).__name__}")
        batch_size = check_batch_size(batch_size)
        n_process = check_positive_int("n_process", n_process)
        check_can_start_workers(n_process)
        if batch_tokens is not None:
            batch_tokens = check_positive_int("batch_tokens", batch_tokens)
        threshold, chosen = check_threshold(threshold), check_labels(labels)
        reference_year(document_date)
        options = (threshold, document_date)
        if as_tuples:
            return self._pipe_tuples(texts, batch_size, n_process, batch_tokens, options, chosen)
        results = self._pipe(texts, batch_size, n_process, batch_tokens, options)
        return results if chosen is None else (keep_labels(r, chosen) for r in results)

    def _pipe_tuples(self, pairs, batch_size, n_process, batch_tokens, options, labels):
        contexts: deque = deque()

        def texts() -> Iterator[str]:
            for index, pair in enumerate(pairs):
                if not isinstance(pair, tuple) or len(pair) != 2:
                    raise TypeError(
                        f"pipe(as_tuples=True) takes (text, context) pairs, got {pair!r:.60} at index {index}"
                    )
                contexts.append(pair[1])
                yield pair[0]

        for result in self._pipe(texts(), batch_size, n_process, batch_tokens, options):
            yield keep_labels(result, labels), contexts.popleft()

    @reports_truncations_when_done
    def _pipe(
        self,
        texts: Iterable[str],
        batch_size: int,
        n_process: int,
        batch_tokens: int | None,
        options: tuple[float | None, Any] = (None, None),
    ) -> Iterator[Extraction]:
        source = _UntilError(_checked_texts(texts))
        if n_process > 1 and _models_in_workers(self.device):
            threads = max(1, torch.get_num_threads() // n_process)
            settings = (batch_size, batch_tokens, *options)
            results = self._workers.map(iter(source), _ExtractTask(self), n_process, threads, settings)
            yield from (result for _, result in results)
            source.raise_error()
            return
        preparer = DocumentPreparer(self.segmenter, self.tagger.aligner)
        prepared = prepare_documents(iter(source), preparer, n_process, self._workers)
        for chunk in _chunks_of_sentences(prepared, batch_size * _SENTENCES_PER_CHUNK_FACTOR):
            yield from self._extract_prepared(chunk, batch_size, batch_tokens, *options)
        source.raise_error()

    def _extract_prepared(
        self,
        documents: Sequence[PreparedDocument],
        batch_size: int,
        batch_tokens: int | None = None,
        threshold: float | None = None,
        document_date=None,
    ) -> list[Extraction]:
        sentences = [s for doc in documents for s in doc.sentences]
        originals = [doc.text for doc in documents for _ in doc.sentences]
        doc_links = [link_spans(doc.text) for doc in documents]
        links = [spans for doc, spans in zip(documents, doc_links) for _ in doc.sentences]
        tags = self.tagger.tag(
            [[w.text for w in s.words] for s in sentences],
            batch_size=batch_size,
            batch_tokens=batch_tokens,
            windows=[w for doc in documents for w in doc.windows],
        )
        # Per sentence: the entities and their word spans, for the relation model.
        found = [_sentence_entities(*parts) for parts in zip(sentences, tags, originals, links)]
        entities = [sentence_entities for sentence_entities, _ in found]
        mentions = [sentence_mentions for _, sentence_mentions in found]
        relations: list[list[Relation]] = [[] for _ in sentences]
        if self.relation_extractor is not None:
            candidates = [i for i, found in enumerate(entities) if len(found) >= 2]
            scored = self.relation_extractor.predict(
                [([w.text for w in sentences[i].words], mentions[i]) for i in candidates],
                batch_size=batch_size,
                threshold=threshold,
                batch_tokens=batch_tokens,
            )
            for i, sentence_relations in zip(candidates, scored):
                relations[i] = [
                    Relation(entities[i][head], entities[i][tail], label, round(score, 4))
                    for head, tail, label, score in sentence_relations
                ]
        results = []
        position = 0
        for doc in documents:
            count = len(doc.sentences)
            results.append(
                with_date_values(
                    Extraction(
                        doc.text,
                        tuple(e for found in entities[position : position + count] for e in found),
                        tuple(r for found in relations[position : position + count] for r in found),
                    ),
                    document_date,
                )
            )
            position += count
        return results


def _sentence_entities(
    sentence: Sentence, tags: Sequence[WordTag], text: str, links: Sequence[tuple[int, int]]
) -> tuple[list[Entity], list[tuple[int, int, str]]]:
    """One sentence's entities (offsets into `text`) and their word spans, from its words' tags."""
    labels = drop_link_words([t.label for t in tags], [(w.start, w.end) for w in sentence.words], links)
    labels = drop_symbol_edges(labels, [w.text for w in sentence.words])
    spans = decode_bio(labels, [t.prob for t in tags])
    entities = []
    for span in spans:
        start, end = sentence.words[span.start].start, sentence.words[span.end - 1].end
        entities.append(Entity(text[start:end], span.label, start, end, round(span.score, 4)))
    return entities, [(span.start, span.end, span.label) for span in spans]


def _chunks_of_sentences(documents: Iterator[PreparedDocument], size: int) -> Iterator[list[PreparedDocument]]:
    """`documents` in lists of at least `size` sentences (the last may have fewer), to be tagged together.

    A document that failed to prepare (a worker's `TextPreparationError`, a dead worker) is raised after
    the list before it: `pipe` yields the documents read before it first."""
    chunk: list[PreparedDocument] = []
    sentences = 0
    try:
        for document in documents:
            chunk.append(document)
            sentences += max(1, len(document.sentences))  # an empty text counts: a stream of them waited for ever
            if sentences >= size:
                yield chunk
                chunk, sentences = [], 0
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def _models_in_workers(device: torch.device) -> bool:
    """Whether `pipe`'s workers run the models too (CPU), or only prepare text for the caller's device."""
    return device.type == "cpu"


class _UntilError:
    """The texts of an input that may fail midway (a file that is not UTF-8, a non-str at index 7):
    iteration stops at the error, so `pipe` first yields the documents read before it, and
    `raise_error` then raises it. Ctrl-C is not held back."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = texts
        self.error: Exception | None = None

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self.texts
        except Exception as error:
            self.error = error

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


class _ExtractTask:
    """A CPU worker's task: whole extraction of a chunk of documents, with its own copy of the extractor."""

    def __init__(self, extractor: Extractor):
        self.extractor = extractor
        self.preparer = DocumentPreparer(extractor.segmenter, extractor.tagger.aligner)

    def __call__(self, first: int, texts: list[str], settings: tuple) -> list[Extraction | Failed]:
        """`settings`: this call's (batch_size, batch_tokens, threshold, document_date), sent with each chunk."""
        prepared = self.preparer.each(first, texts)
        ready = [(first + i, doc) for i, doc in enumerate(prepared) if not isinstance(doc, Failed)]
        try:
            extracted = self.extractor._extract_prepared([doc for _, doc in ready], *settings)
        except Exception:  # find the document at fault: one at a time
            extracted = [self._alone(index, doc, settings) for index, doc in ready]
        results = iter(extracted)
        return [doc if isinstance(doc, Failed) else next(results) for doc in prepared]

    def _alone(self, index: int, document: PreparedDocument, settings: tuple) -> Extraction | Failed:
        try:
            return self.extractor._extract_prepared([document], *settings)[0]
        except Exception as error:
            return Failed.of(index, error, preparing=False)


METRICS_FILE = "training_metrics.json"


def _check_pair_segmenters(ner_dir: Path, config: dict[str, Any], relation_dir: Path) -> None:
    """ModelLoadError for a relation model trained on other words than the NER model's segmenter makes (a pair
    copied together by hand; training's assemble refuses to write one)."""
    segmenter = recorded_segmenter(config) or DEFAULT_SEGMENTER
    fix = f"; use a relation model trained with {segmenter!r}, or pass segmenter= to choose the words both read"
    check_relation_segmenter(relation_dir, segmenter, ner_dir, fix)


def _read_metrics(path: Path) -> dict | None:
    """The training metrics a model directory carries (their dev F1 feeds the card), None if absent or unreadable."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) else None


# What a training run leaves beside the weights and a saved copy keeps: the config that trained them (the card's
# training commands, and what `publish push` uploads) and its metrics (sizes, dev scores).
RECORD_FILES = ("training_config.yaml", METRICS_FILE)


def _read_records(parts: dict[str, Path | None]) -> dict[str, dict[str, str]]:
    """{part: {file name: text}} of the RECORD_FILES each model folder holds (kept as text: never parsed here);
    ner/'s metrics are `Extractor.training_metrics` instead, which a caller may change."""
    records: dict[str, dict[str, str]] = {}
    for part, directory in parts.items():
        if directory is None:
            continue
        for name in (name for name in RECORD_FILES if (part, name) != ("ner", METRICS_FILE)):
            try:
                records.setdefault(part, {})[name] = (directory / name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # a model without records (or an unreadable one) saves without them
    return records


def _write_records(staging: Path, records: dict[str, dict[str, str]], has_relations: bool) -> None:
    """Write the kept records into `staging`'s ner/ and re/ (re/'s only when this extractor has one)."""
    for part, files in records.items():
        if part == "re" and not has_relations:
            continue
        for name, text in files.items():
            (staging / part / name).write_text(text, encoding="utf-8")


def _quantize(model):
    with no_quantization_deprecation():
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


_default_extractor: Extractor | None = None
_default_lock = threading.Lock()


def default_extractor() -> Extractor:
    """The bundled default model, loaded once on first use (once, even when threads ask at once)."""
    global _default_extractor
    if _default_extractor is not None:
        return _default_extractor
    with _default_lock:
        if _default_extractor is None:
            if not (BUNDLED_MODEL_DIR / "ner").is_dir():
                raise ModelLoadError(
                    f"{BUNDLED_MODEL_DIR}: this installation has no bundled default model. Load one explicitly: "
                    f"Extractor.from_pretrained('/path/to/model') or a Hugging Face repo id."
                )
            _default_extractor = Extractor.from_pretrained(BUNDLED_MODEL_DIR)
        return _default_extractor


@quiet_unless_verbose
def extract(
    text: str,
    *,
    threshold: float | None = None,
    labels: Iterable[str] | None = None,
    document_date: datetime.date | str | None = None,
) -> Extraction:
    """Entities and relations in `text` with the bundled default model (keyword arguments: see `Extractor.pipe`)."""
    text = _check_text(text)  # wrong arguments fail before the model is loaded
    check_threshold(threshold)
    check_labels(labels)
    reference_year(document_date)
    return default_extractor()(text, threshold=threshold, labels=labels, document_date=document_date)
