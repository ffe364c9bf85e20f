"""Errors raised when a model directory cannot be used."""

from __future__ import annotations


class ModelLoadError(OSError):
    """A model directory or Hub repo is missing, incomplete or inconsistent.

    The message names the directory, the file and what is wrong.
    """
