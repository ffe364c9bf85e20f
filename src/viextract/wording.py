"""How messages word a count, for the library's summaries and the training tools' reports alike."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 document`, `2 documents`: a count with its noun, for messages that may well count one."""
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"
