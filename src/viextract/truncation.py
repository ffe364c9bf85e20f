"""Counting what had to be cut to fit the model, so that a call logs one summary, not one line per item.

`align` (a word longer than a window) and `markers` (a relation candidate's sentence cut to a
window) call `note_truncation`; public calls (`Extractor.pipe`, `RelationExtractor.predict`) count
those notes and log one warning at the end. Counts are per thread (a context variable), so calls
in other threads never mix into them; worker processes send theirs back (`add_truncations`).
Outside such a call (training, which reports its own counts) a note is only logged at debug level.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

# What each kind of note means, for the summary line.
KINDS = {
    "sentence": "sentences longer than the segmenter's limit were cut into pieces",
    "word": "words longer than a model window were cut",
    "pair": "relation candidates' sentences were cut to a window around their two entities",
    "unscored": "relation candidates lay in no window holding both arguments and were not scored",
}

_counts: ContextVar[Counter | None] = ContextVar("viextract_truncations", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def note_truncation(kind: str, detail: str = "") -> None:
    """Count one cut of `kind` (a key of KINDS) in the call under way."""
    counts = _counts.get()
    if counts is None:
        logger.debug("cut: %s %s", kind, detail)
    else:
        counts[kind] += 1


def add_truncations(counts: Mapping[str, int]) -> None:
    """Count cuts made elsewhere (a worker process's) into the call under way, as `note_truncation` would."""
    current = _counts.get()
    if current is None:
        if counts:
            logger.debug("cuts: %s", dict(counts))
    else:
        current.update(counts)


@contextlib.contextmanager
def counting_truncations() -> Iterator[Counter]:
    """Count the notes made inside into a fresh Counter; an enclosing count gets them too."""
    outer = _counts.get()
    counts: Counter = Counter()
    token = _counts.set(counts)
    try:
        yield counts
    finally:
        _counts.reset(token)
        if outer is not None:
            outer.update(counts)


def report_truncations(counts: Counter) -> None:
    """One warning for everything counted, unless an enclosing call will report it."""
    if counts and _counts.get() is None:
        logger.warning("viextract: " + "; ".join(f"{counts[kind]} {KINDS[kind]}" for kind in KINDS if counts[kind]))


def reports_truncations(function: F) -> F:
    """Log one summary of the cuts made during each call of `function`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with counting_truncations() as counts:
            result = function(*args, **kwargs)
        report_truncations(counts)
        return result

    return wrapper  # type: ignore[return-value]


def reports_truncations_when_done(function: F) -> F:
    """For a function returning an iterator: log one summary when the iteration ends (or is closed).

    Counting is switched on only while the iterator computes its next item, never while the
    caller holds an item, so the caller's own calls are not counted into it.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return _summarised(function(*args, **kwargs))

    return wrapper  # type: ignore[return-value]


def _summarised(items: Iterable) -> Iterator:
    iterator = iter(items)
    total: Counter = Counter()
    try:
        while True:
            with counting_truncations() as counts:
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    total.update(counts)
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
        report_truncations(total)
