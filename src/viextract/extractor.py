"""`Extractor`: NER, then relations, over any text, with offsets into the caller's string."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import torch

from .bio import decode_bio, drop_symbol_edges
from .errors import ModelLoadError
from .loading import check_ner_labels, load_tokenizer, read_config, resolve_model_dir, split_model_dir
from .ner import TokenTagger
from .results import Entity, Extraction, Relation
from .saving import atomic_directory
from .segment import DEFAULT_SEGMENTER, get_segmenter
from .text import PreparedText, prepare_text

# Documents are prepared and tagged together until this many sentences are pending.
_SENTENCES_PER_CHUNK_FACTOR = 4


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"extract() takes a str, got {type(text).__name__}")
    return text


def check_batch_size(batch_size: Any) -> int:
    """`batch_size` itself if it is a positive int (bool excluded), else ValueError naming the value."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Extractor:
    """Entities and relations from Vietnamese text.

    Safe to share between threads: a call keeps its state on its own stack, and the model
    runs under `torch.inference_mode`.
    """

    def __init__(self, ner_model, tokenizer, relation_extractor=None, *, segmenter: str | None = None):
        self.ner_model = ner_model.eval()
        self.tokenizer = tokenizer
        self.relation_extractor = relation_extractor
        settings = getattr(ner_model.config, "viextract", None) or {}
        self.segmenter = segmenter or settings.get("segmenter", DEFAULT_SEGMENTER)
        get_segmenter(self.segmenter)  # an unknown name fails here, not at the first call
        self.tagger = TokenTagger(self.ner_model, tokenizer)

    @property
    def device(self) -> torch.device:
        return self.tagger.device

    @classmethod
    def from_pretrained(
        cls,
        path_or_repo_id: str | os.PathLike,
        device: str | torch.device | None = None,
        *,
        revision: str | None = None,
        token: str | None = None,
        quantize: str | None = None,
        segmenter: str | None = None,
        attn_implementation: str | None = None,
    ) -> Extractor:
        """Load a model directory (`ner/` and optional `re/`) or a Hub repo id.

        `quantize="int8"` applies dynamic int8 quantization to the linear layers (CPU only).
        `segmenter` overrides the word segmenter the model was trained with (saved in its config).
        `attn_implementation` ("sdpa", "eager") picks the NER model's attention kernel; None keeps
        transformers' default (sdpa where torch has it).
        """
        from transformers import AutoModelForTokenClassification

        if quantize not in (None, "int8"):
            raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
        root = resolve_model_dir(path_or_repo_id, revision=revision, token=token)
        ner_dir, relation_dir = split_model_dir(root)
        config = read_config(ner_dir)
        entity_labels = check_ner_labels(ner_dir, config)
        tokenizer = load_tokenizer(ner_dir, int(config.get("vocab_size", 0)))
        target = resolve_device(device)
        try:
            options = {"attn_implementation": attn_implementation} if attn_implementation else {}
            # float32 compute whatever the stored dtype (the bundled model is stored in float16).
            model = AutoModelForTokenClassification.from_pretrained(
                str(ner_dir), use_safetensors=True, dtype=torch.float32, **options
            )
        except Exception as error:
            raise ModelLoadError(f"{ner_dir}: cannot load the NER model ({error})") from error
        model.to(target)
        relation_extractor = None
        if relation_dir is not None:
            from .relations import RelationExtractor

            relation_extractor = RelationExtractor.from_pretrained(relation_dir, entity_labels, device=target)
        if quantize == "int8":
            if target.type != "cpu":
                raise ValueError("quantize='int8' runs on the CPU only")
            model = _quantize(model)
            if relation_extractor is not None:
                relation_extractor.model = _quantize(relation_extractor.model)
        return cls(model, tokenizer, relation_extractor, segmenter=segmenter)

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Write `ner/` (and `re/`) so that `from_pretrained(directory)` gives this extractor back."""
        settings = dict(getattr(self.ner_model.config, "viextract", None) or {})
        settings["segmenter"] = self.segmenter
        self.ner_model.config.viextract = settings
        with atomic_directory(directory) as staging:
            self.ner_model.save_pretrained(staging / "ner", safe_serialization=True)
            self.tokenizer.save_pretrained(staging / "ner")
            if self.relation_extractor is not None:
                self.relation_extractor.save_pretrained(staging / "re")

    @overload
    def __call__(self, text: str, batch_size: int = 32) -> Extraction: ...
    @overload
    def __call__(self, text: list[str] | tuple[str, ...], batch_size: int = 32) -> list[Extraction]: ...
    def __call__(self, text, batch_size=32):
        """One text gives one `Extraction`; a list (or tuple) of texts gives a list, as `pipe` would."""
        if isinstance(text, (list, tuple)):
            return list(self.pipe(text, batch_size=batch_size))
        return next(self.pipe([_check_text(text)], batch_size=batch_size))

    def pipe(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[Extraction]:
        """Extract from many texts, batching sentences across documents; results keep input order.

        Arguments are checked here, at the call, not at the first iteration: a `str` (which would
        iterate character by character) is a TypeError, a `batch_size` that is not a positive int
        a ValueError.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError(
                f"pipe() takes an iterable of str, got one {type(texts).__name__}: use extractor(text) for one text"
            )
        if not isinstance(texts, Iterable):
            raise TypeError(f"pipe() takes an iterable of str, got {type(texts).__name__}")
        check_batch_size(batch_size)
        return self._pipe(texts, batch_size)

    def _pipe(self, texts: Iterable[str], batch_size: int) -> Iterator[Extraction]:
        pending: list[PreparedText] = []
        pending_sentences = 0
        for text in texts:
            prepared = prepare_text(_check_text(text), self.segmenter)
            pending.append(prepared)
            pending_sentences += len(prepared.sentences)
            if pending_sentences >= batch_size * _SENTENCES_PER_CHUNK_FACTOR:
                yield from self._extract_prepared(pending, batch_size)
                pending, pending_sentences = [], 0
        if pending:
            yield from self._extract_prepared(pending, batch_size)

    def _extract_prepared(self, documents: Sequence[PreparedText], batch_size: int) -> list[Extraction]:
        sentences = [s for doc in documents for s in doc.sentences]
        originals = [doc.normalized.original for doc in documents for _ in doc.sentences]
        tags = self.tagger.tag([[w.text for w in s.words] for s in sentences], batch_size=batch_size)
        # Per sentence: the entities and their word spans, for the relation model.
        mentions: list[list[tuple[int, int, str]]] = []
        entities: list[list[Entity]] = []
        for sentence, sentence_tags, original in zip(sentences, tags, originals):
            labels = drop_symbol_edges([t.label for t in sentence_tags], [w.text for w in sentence.words])
            spans = decode_bio(labels, [t.prob for t in sentence_tags])
            found = []
            for span in spans:
                start, end = sentence.words[span.start].start, sentence.words[span.end - 1].end
                found.append(Entity(original[start:end], span.label, start, end, round(span.score, 4)))
            entities.append(found)
            mentions.append([(span.start, span.end, span.label) for span in spans])
        relations: list[list[Relation]] = [[] for _ in sentences]
        if self.relation_extractor is not None:
            candidates = [i for i, found in enumerate(entities) if len(found) >= 2]
            scored = self.relation_extractor.predict(
                [([w.text for w in sentences[i].words], mentions[i]) for i in candidates], batch_size=batch_size
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
                Extraction(
                    doc.normalized.original,
                    tuple(e for found in entities[position : position + count] for e in found),
                    tuple(r for found in relations[position : position + count] for r in found),
                )
            )
            position += count
        return results


def _quantize(model):
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


BUNDLED_MODEL_DIR = Path(__file__).parent / "models" / "default"
_default_extractor: Extractor | None = None


def default_extractor() -> Extractor:
    """The bundled default model, loaded once on first use."""
    global _default_extractor
    if _default_extractor is None:
        if not (BUNDLED_MODEL_DIR / "ner").is_dir():
            raise ModelLoadError(
                f"{BUNDLED_MODEL_DIR}: this installation has no bundled default model. Load one explicitly: "
                f"Extractor.from_pretrained('/path/to/model') or a Hugging Face repo id."
            )
        _default_extractor = Extractor.from_pretrained(BUNDLED_MODEL_DIR)
    return _default_extractor


def extract(text: str) -> Extraction:
    """Entities and relations in `text` with the bundled default model."""
    text = _check_text(text)  # a wrong type fails before the model is loaded
    return default_extractor()(text)
