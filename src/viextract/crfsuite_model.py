"""The weights of a CRFsuite model file, read exactly (python-crfsuite's `info()` rounds them to 6 places).

CRFsuite (`lib/crf/src/crf1d_model.c`) writes little-endian: a 48-byte header, the label and
attribute names each in a CQDB chunk (`lib/cqdb/src/cqdb.c`: id -> offset of `id, size, name\\0`),
and a FEAT chunk of 20-byte features `type, src, dst, weight` (type 0: attribute src -> label dst;
type 1: label src -> label dst). Reading the doubles as stored lets a decoder in Python reproduce
crfsuite's own scores bit for bit.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_CHUNK = 12  # chunk id, size, count
_FEATURE = struct.Struct("<IIId")
_CQDB_HEADER = struct.Struct("<4sIIIII")
_STATE, _TRANSITION = 0, 1


class UnsupportedModel(ValueError):
    """A model file this reader does not reproduce exactly; the caller keeps python-crfsuite."""


@dataclass(frozen=True)
class CrfWeights:
    """`state[attribute][label]` and `transitions[from][to]`, 0.0 where the model has no feature."""

    labels: tuple[str, ...]
    state: dict[str, tuple[float, ...]]
    transitions: tuple[tuple[float, ...], ...]


def read_crfsuite(data: bytes) -> CrfWeights:
    """The labels, state weights and transition weights of a CRFsuite (crf1d) model file's bytes."""
    fields = _HEADER.unpack_from(data, 0)
    magic, _, kind, _, _, n_labels, n_attrs, off_features, off_labels, off_attrs = fields[:10]
    if magic != b"lCRF" or kind != b"FOMC":
        raise UnsupportedModel(f"not a CRFsuite crf1d model (magic {magic!r}, type {kind!r})")
    labels = _cqdb_names(data, off_labels, n_labels)
    attributes = _cqdb_names(data, off_attrs, n_attrs)
    state: dict[int, list[float]] = {}
    seen: set[tuple[int, int]] = set()
    transitions = [[0.0] * n_labels for _ in range(n_labels)]
    # The FEAT chunk's own count: crfsuite leaves the header's feature count at 0.
    chunk, _, n_features = struct.unpack_from("<4sII", data, off_features)
    if chunk != b"FEAT":
        raise UnsupportedModel(f"no FEAT chunk at offset {off_features}")
    features = data[off_features + _CHUNK : off_features + _CHUNK + _FEATURE.size * n_features]
    for kind, src, dst, weight in _FEATURE.iter_unpack(features):
        if not math.isfinite(weight) or dst >= n_labels:
            raise UnsupportedModel(f"feature {kind}, {src} -> {dst}: weight {weight}")
        if kind == _TRANSITION:
            transitions[src][dst] = weight
            continue
        if kind != _STATE or (src, dst) in seen:  # two weights for one (attribute, label) would need their order
            raise UnsupportedModel(f"feature type {kind} or a second weight for attribute {src}, label {dst}")
        seen.add((src, dst))
        state.setdefault(src, [0.0] * n_labels)[dst] = weight
    return CrfWeights(
        tuple(labels),
        {attributes[a]: tuple(row) for a, row in state.items()},
        tuple(tuple(row) for row in transitions),
    )


def _cqdb_names(data: bytes, offset: int, count: int) -> list[str]:
    """Names by id from a CQDB chunk's backward array (id -> record offset, relative to the chunk)."""
    chunk, _, _, _, bwd_size, bwd_offset = _CQDB_HEADER.unpack_from(data, offset)
    if chunk != b"CQDB" or bwd_size < count or not bwd_offset:
        raise UnsupportedModel(f"CQDB chunk at {offset}: id {chunk!r}, {bwd_size} names for {count}")
    names = []
    for index, record in enumerate(struct.unpack_from(f"<{count}I", data, offset + bwd_offset)):
        record_id, size = struct.unpack_from("<II", data, offset + record)
        if record_id != index or not record:
            raise UnsupportedModel(f"CQDB chunk at {offset}: name {index} is missing")
        start = offset + record + 8
        names.append(data[start : start + size - 1].decode("utf-8", "surrogateescape"))
    return names
