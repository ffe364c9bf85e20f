"""Errors raised when a model directory cannot be used, or the Hub cannot take a model."""

from __future__ import annotations


class ModelLoadError(OSError):
    """A model directory or Hub repo is missing, incomplete or inconsistent.

    The message names the directory, the file and what is wrong.
    """


class HubError(OSError):
    """The Hugging Face Hub could not be reached, or refused an upload.

    The message names the repo and what to do: log in, check the token's access, or the network.
    """
