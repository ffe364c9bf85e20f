"""Documents as model rows: words aligned to BIO tags, relation candidate rows, `datasets` tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from viextract.bio import decode_bio, encode_bio
from viextract.labels import (
    NO_RELATION,
    SYMMETRIC_RELATIONS,
    allowed_relations,
    bio_labels,
)
from viextract.segment import DEFAULT_SEGMENTER
from viextract.text import Sentence, prepare_text

from .documents import DataError, Document, EntitySpan


@dataclass(frozen=True)
class WordEntity:
    """An entity as words [start, end) of its sentence."""

    entity: EntitySpan
    start: int
    end: int


@dataclass(frozen=True)
class AlignedSentence:
    doc_id: str
    sentence: Sentence
    entities: tuple[WordEntity, ...] = field(default=())

    @property
    def tokens(self) -> list[str]:
        return [w.text for w in self.sentence.words]


def align_document(doc: Document, segmenter: str = DEFAULT_SEGMENTER) -> list[AlignedSentence]:
    """Segment `doc` with a forced word break at every gold boundary; place each entity on its words."""
    split_at = {x for e in doc.entities for x in (e.start, e.end)}
    prepared = prepare_text(doc.text, segmenter=segmenter, split_at=split_at)
    remaining = sorted(doc.entities, key=lambda e: e.start)
    aligned = []
    for sentence in prepared.sentences:
        starts = {w.start: i for i, w in enumerate(sentence.words)}
        ends = {w.end: i + 1 for i, w in enumerate(sentence.words)}
        inside = [e for e in remaining if sentence.start <= e.start and e.end <= sentence.end]
        placed = []
        for entity in inside:
            if entity.start not in starts or entity.end not in ends:
                raise DataError(f"{doc.id}: entities: {entity.id} does not fall on word boundaries")
            placed.append(WordEntity(entity, starts[entity.start], ends[entity.end]))
        aligned.append(AlignedSentence(doc.id, sentence, tuple(placed)))
    if sum(len(s.entities) for s in aligned) != len(doc.entities):
        raise DataError(f"{doc.id}: entities: some entity is not inside one sentence")
    return aligned


def bio_to_char_spans(
    word_starts: Sequence[int], word_ends: Sequence[int], tags: Sequence[str]
) -> list[tuple[int, int, str]]:
    """Words with BIO tags back to character spans (start, end, label) of the original text."""
    return [(word_starts[s.start], word_ends[s.end - 1], s.label) for s in decode_bio(tags)]


def ner_rows(doc: Document, segmenter: str = DEFAULT_SEGMENTER) -> list[dict[str, Any]]:
    """One row per sentence: tokens, BIO tags and where each word is in `doc.text`."""
    rows = []
    for aligned in align_document(doc, segmenter):
        words = aligned.sentence.words
        rows.append(
            {
                "doc_id": doc.id,
                "sentence_start": aligned.sentence.start,
                "tokens": aligned.tokens,
                "ner_tags": encode_bio(len(words), [(e.start, e.end, e.entity.label) for e in aligned.entities]),
                "word_starts": [w.start for w in words],
                "word_ends": [w.end for w in words],
            }
        )
    return rows


def relation_rows(doc: Document, segmenter: str = DEFAULT_SEGMENTER) -> list[dict[str, Any]]:
    """One row per candidate ordered pair of entities in a sentence, labelled with gold or `no_relation`.

    A pair is a candidate when SCHEMA.md allows some relation between its types; for a pair
    only a symmetric relation can link (`meets`), only the first-mention-first order is one.
    """
    gold = {(r.head, r.tail): r.label for r in doc.relations}
    rows = []
    for aligned in align_document(doc, segmenter):
        words = aligned.sentence.words
        for head in aligned.entities:
            for tail in aligned.entities:
                if head is tail:
                    continue
                labels = allowed_relations(head.entity.label, tail.entity.label)
                if not labels:
                    continue
                if all(label in SYMMETRIC_RELATIONS for label in labels) and head.start > tail.start:
                    continue
                rows.append(
                    {
                        "doc_id": doc.id,
                        "sentence_start": aligned.sentence.start,
                        "tokens": aligned.tokens,
                        "word_starts": [w.start for w in words],
                        "word_ends": [w.end for w in words],
                        "head": {
                            "id": head.entity.id,
                            "start": head.start,
                            "end": head.end,
                            "label": head.entity.label,
                        },
                        "tail": {
                            "id": tail.entity.id,
                            "start": tail.start,
                            "end": tail.end,
                            "label": tail.entity.label,
                        },
                        "label": gold.get((head.entity.id, tail.entity.id), NO_RELATION),
                    }
                )
    return rows


def _datasets():
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("training.data.features needs `datasets`: pip install -e .[train]") from error
    return datasets


def ner_features():
    ds = _datasets()
    ints = ds.Sequence(ds.Value("int32"))
    return ds.Features(
        {
            "doc_id": ds.Value("string"),
            "sentence_start": ds.Value("int32"),
            "tokens": ds.Sequence(ds.Value("string")),
            "ner_tags": ds.Sequence(ds.ClassLabel(names=bio_labels())),
            "word_starts": ints,
            "word_ends": ints,
        }
    )


def relation_features():
    ds = _datasets()
    ints = ds.Sequence(ds.Value("int32"))
    argument = {
        "id": ds.Value("string"),
        "start": ds.Value("int32"),
        "end": ds.Value("int32"),
        "label": ds.Value("string"),
    }
    return ds.Features(
        {
            "doc_id": ds.Value("string"),
            "sentence_start": ds.Value("int32"),
            "tokens": ds.Sequence(ds.Value("string")),
            "word_starts": ints,
            "word_ends": ints,
            "head": argument,
            "tail": argument,
            "label": ds.Value("string"),
        }
    )


def _to_dataset(rows: list[dict[str, Any]], features):
    ds = _datasets()
    columns = {name: [row[name] for row in rows] for name in features}
    return ds.Dataset.from_dict(columns, features=features)


def ner_dataset(documents: Iterable[Document], segmenter: str = DEFAULT_SEGMENTER):
    """Word-level NER examples, one row per sentence; `ner_tags` is a ClassLabel over bio_labels()."""
    return _to_dataset([row for doc in documents for row in ner_rows(doc, segmenter)], ner_features())


def relation_dataset(documents: Iterable[Document], segmenter: str = DEFAULT_SEGMENTER):
    """Relation candidates with word-level argument spans; `label` is a relation name or `no_relation`."""
    return _to_dataset([row for doc in documents for row in relation_rows(doc, segmenter)], relation_features())
