"""Stand-ins for models and disks that tests of scoring and writing need, shared so they cannot drift apart."""

from __future__ import annotations

import errno
from types import SimpleNamespace

import training.pipes


def silent_ner_extractor(labels: list[str]) -> SimpleNamespace:
    """An extractor whose tagger knows `labels` and tags every word O: it finds no entity."""

    class Tagger:
        def tag(self, sentences, batch_size):
            return [[SimpleNamespace(label="O") for _ in words] for words in sentences]

    Tagger.labels = labels
    return SimpleNamespace(
        segmenter="syllables",
        tagger=Tagger(),
        pipe=lambda texts, batch_size: [SimpleNamespace(entities=[]) for _ in texts],
    )


def install_silent_relation_model(monkeypatch, relation_labels: list[str], entity_labels: list[str]) -> None:
    """RelationExtractor.from_pretrained gives a model of these labels and types that predicts no relation."""
    import viextract.relations

    config = SimpleNamespace(relation_labels=relation_labels, entity_labels=entity_labels, single_choice="none")
    fake = SimpleNamespace(
        config=config,
        threshold=0.5,
        model=SimpleNamespace(config=config),
        predict=lambda items, size: [[] for _ in items],
    )
    monkeypatch.setattr(viextract.relations.RelationExtractor, "from_pretrained", lambda *a, **k: fake)


def fill_disk_after_first_write(monkeypatch) -> list[int]:
    """training.pipes' os.write takes 4096 bytes of the first write, then the disk is full (ENOSPC). Returns the
    list of write sizes asked for, filled as writes come."""
    calls: list[int] = []

    def filling_disk(fd: int, data) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return 4096

    monkeypatch.setattr(training.pipes.os, "write", filling_disk)
    return calls
