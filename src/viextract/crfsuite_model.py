"""The weights of a CRFsuite model file, read exactly (python-crfsuite's `info()` rounds them to 6 places).

CRFsuite (`lib/crf/src/crf1d_model.c`) writes little-endian: a 48-byte header, the label and
attribute names each in a CQDB chunk (`lib/cqdb/src/cqdb.c`: id -> offset of `id, size, name\\0`),
and a FEAT chunk of 20-byte features `type, src, dst, weight` (type 0: attribute src -> label dst;
type 1: label src -> label dst). Reading the doubles as stored lets a decoder in Python reproduce
crfsuite's own scores bit for bit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_CHUNK = 12  # chunk id, size, count
_FEATURE = np.dtype([("kind", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("weight", "<f8")])  # 20 bytes, packed
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
    # The FEAT chunk's own count: crfsuite leaves the header's feature count at 0.
    chunk, _, n_features = struct.unpack_from("<4sII", data, off_features)
    if chunk != b"FEAT":
        raise UnsupportedModel(f"no FEAT chunk at offset {off_features}")
    features = np.frombuffer(data, _FEATURE, n_features, off_features + _CHUNK)
    kind, src, dst, weight = (features[name] for name in _FEATURE.names)
    state = kind == _STATE
    if not np.isfinite(weight).all() or not np.isin(kind, (_STATE, _TRANSITION)).all():
        raise UnsupportedModel("a feature of unknown type or with a weight that is not finite")
    if (dst >= n_labels).any() or (src[~state] >= n_labels).any() or (src[state] >= n_attrs).any():
        raise UnsupportedModel("a feature refers to a label or attribute the model does not name")
    # Two weights for one (attribute or label, label) would be added, or overwritten, in an order not kept here.
    if len(np.unique((kind.astype(np.int64) * (n_attrs + n_labels) + src) * n_labels + dst)) != n_features:
        raise UnsupportedModel("two features for one (attribute or label, label) pair")
    transitions = np.zeros((n_labels, n_labels))
    transitions[src[~state], dst[~state]] = weight[~state]
    table = np.zeros((n_attrs, n_labels))
    table[src[state], dst[state]] = weight[state]
    used = np.unique(src[state])
    return CrfWeights(
        tuple(labels),
        dict(zip([attributes[a] for a in used.tolist()], map(tuple, table[used].tolist()))),
        tuple(map(tuple, transitions.tolist())),
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
