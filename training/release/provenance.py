"""Licence and data provenance: read from a base, written into each trained model, read by the card.

A model's config.json holds `viextract.provenance`: the chain of encoders it was fine-tuned
from (oldest first) and every body of text any of them learned from, with its licence. Training
reads the base's provenance (its config.json, else the `pretrain_data.json` that
training.pretraining.mlm writes beside a base) and adds its own fine-tuning data, so a model trained
from the bundled weights, or from a base that saw CC BY-SA 4.0 text, carries that text's
licence on, and training.release.card chooses the card's licence from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viextract.card import UNRECORDED_LICENCE

from ..data.documents import CORPUS_FILE
from ..data.splits import extra_path, read_splits
from ..pretraining.text import UD_LICENCE

PROVENANCE_KEY = "provenance"  # inside config.json's `viextract` settings
PRETRAIN_DATA_FILENAME = "pretrain_data.json"
SOURCE_KEYS = ("name", "origin", "licence", "use")
COUNT_KEYS = ("sentences", "words")
# Licences of the texts training.weak.silver labels, by the name in its document ids (`silver:ud_vtb/...`).
SILVER_LICENCES = {
    "ud_vtb": UD_LICENCE,
    "vlsp2013": "shipped in underthesea (Apache-2.0); the sentences are the VLSP 2013 POS test set",
}
GOLD_LICENCE = "the project's corpus and written texts"
# A user's own training files: what they may be used for is theirs to say, not ours (viextract.card).
USER_DATA_NAME = "user_data"
USER_DATA_LICENCE = f"{UNRECORDED_LICENCE}: the user's data"
REPO = Path(__file__).resolve().parents[2]
PROJECT_DATA = REPO / "data"
# How data_origin ends for a run that read a splits file rather than whole files.
SPLITS_ORIGIN_SUFFIX = " (train split and its train_extra files)"


@dataclass(frozen=True)
class Provenance:
    bases: tuple[str, ...] = ()  # encoders fine-tuned from, oldest first
    sources: tuple[dict[str, Any], ...] = ()  # name, origin, licence, use (pretraining, fine-tuning), counts

    @property
    def licences(self) -> list[str]:
        return sorted({source["licence"] for source in self.sources if source.get("licence")})

    @property
    def share_alike(self) -> bool:
        """True when some text it learned from is CC BY-SA, whose licence the weights then keep."""
        return any("CC BY-SA" in licence.upper() for licence in self.licences)

    def to_dict(self) -> dict[str, Any]:
        return {"bases": list(self.bases), "sources": [dict(source) for source in self.sources]}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Provenance:
        """The stored form back; ValueError naming `where` and the field when it is not that form."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: viextract.{PROVENANCE_KEY}: expected an object")
        bases, sources = data.get("bases", []), data.get("sources", [])
        if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
            raise ValueError(f"{where}: viextract.{PROVENANCE_KEY}.bases: expected a list of strings")
        if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
            raise ValueError(f"{where}: viextract.{PROVENANCE_KEY}.sources: expected a list of objects")
        return cls(tuple(bases), tuple(_source(s) for s in sources))

    def extended(self, base: str | None = None, sources: Iterable[dict[str, Any]] = ()) -> Provenance:
        """This provenance with `base` after its bases and new `sources` (same name and use: kept once)."""
        seen = {(s.get("name"), s.get("use")) for s in self.sources}
        added = [s for s in sources if (s.get("name"), s.get("use")) not in seen]
        return Provenance(self.bases + ((base,) if base else ()), self.sources + tuple(added))


def _source(data: dict[str, Any], use: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {key: str(data[key]) for key in SOURCE_KEYS if data.get(key) is not None}
    source.update({key: data[key] for key in COUNT_KEYS if isinstance(data.get(key), int)})
    if use is not None:
        source["use"] = use
    return source


def read_model_provenance(model_dir: str | Path) -> Provenance | None:
    """The provenance a model directory's config.json stores, or None when it stores none."""
    path = Path(model_dir).expanduser() / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    settings = config.get("viextract") if isinstance(config, dict) else None
    if not isinstance(settings, dict) or PROVENANCE_KEY not in settings:
        return None
    return Provenance.from_dict(settings[PROVENANCE_KEY], str(path))


def base_provenance(base_model: str) -> Provenance:
    """What fine-tuning from `base_model` inherits; a Hub id (not read here) passes on only its name."""
    directory = Path(base_model).expanduser()
    if not directory.is_dir():
        return Provenance(bases=(base_model,))
    stored = read_model_provenance(directory)
    if stored is not None:
        return stored.extended(base_model)
    summary_path = directory / PRETRAIN_DATA_FILENAME
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Provenance(bases=(base_model,))
    rows = summary.get("train", []) if isinstance(summary, dict) else []
    return Provenance((base_model,), tuple(_source(s, "pretraining") for s in rows if isinstance(s, dict)))


def fine_tuning_sources(
    document_ids: Sequence[str], origin: str, user_files: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The bodies of text of the documents trained on: the project's gold data (described by `origin`; "" when
    none was read), the user's own files (their licence unknown to us), and each silver source."""
    names = sorted(
        {doc_id.split(":", 1)[1].split("/", 1)[0] for doc_id in document_ids if doc_id.startswith("silver:")}
    )
    sources = []
    if origin:
        sources.append({"name": "viextract_gold", "origin": origin, "licence": GOLD_LICENCE, "use": "fine-tuning"})
    if user_files:
        origin = ", ".join(user_files)
        sources.append({"name": USER_DATA_NAME, "origin": origin, "licence": USER_DATA_LICENCE, "use": "fine-tuning"})
    for name in names:
        licence = SILVER_LICENCES.get(name, "unknown")
        sources.append(
            {"name": f"silver_{name}", "origin": "training.weak.silver", "licence": licence, "use": "fine-tuning"}
        )
    return sources


def trained_provenance(
    base_model: str, document_ids: Sequence[str], origin: str, user_files: Sequence[str] = ()
) -> dict[str, Any]:
    """config.json's `viextract.provenance` for a model fine-tuned from `base_model` on these documents."""
    sources = fine_tuning_sources(document_ids, origin, user_files)
    return base_provenance(base_model).extended(sources=sources).to_dict()


def data_origin(config: Any) -> str:
    """Where a training config's gold documents come from, in words for the provenance record."""
    files = [str(path) for path in getattr(config, "train_files", None) or []]
    return ", ".join(files) if files else f"{config.splits_file}{SPLITS_ORIGIN_SUFFIX}"


def gold_origins(config: Any) -> tuple[str, list[str]]:
    """(the project's own gold data in words, "" when none is read; every other training file, as named).

    Only files under the repository's data/ are the project's corpus and written texts; the `train_files`
    of a user's run, or the corpus and train_extra files of their own splits file, are theirs.
    """
    files = [str(path) for path in getattr(config, "train_files", None) or []]
    if files:
        own = [file for file in files if is_project_file(file)]
        return ", ".join(own), [file for file in files if file not in own]
    splits_file = str(config.splits_file)
    data_dir = Path(config.data_dir) if getattr(config, "data_dir", None) else Path(splits_file).parent
    others = [str(data_dir / CORPUS_FILE)] if not is_project_file(data_dir / CORPUS_FILE) else []
    try:
        extra_files = read_splits(_found(splits_file)).get("train_extra", [])
    except (OSError, ValueError):
        extra_files = []  # training read it already; a card made later without it only loses these names
    for extra in extra_files:
        path = extra_path(extra, data_dir)
        if not is_project_file(path):
            others.append(str(path))
    own = data_origin(config) if is_project_file(data_dir / CORPUS_FILE) else ""
    return own, others


def is_project_file(path: str | Path) -> bool:
    """True for a file under the repository's data/ (the project's corpus and written texts), as the path
    resolves from the working directory, else from the repository root (how training finds it)."""
    return _found(path).resolve().is_relative_to(PROJECT_DATA.resolve())


def is_project_corpus(path: str | Path) -> bool:
    """True for the project's annotated news corpus itself, data/corpus.jsonl."""
    return _found(path).resolve() == (PROJECT_DATA / CORPUS_FILE).resolve()


def _found(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists() or not (REPO / path).exists():
        return path
    return REPO / path
