"""Messages and progress bars on stderr that never fail the command: with stderr closed (`2>&-`) each write
is dropped, as argparse does, so the exit status is still the command's own."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    """`message` on stderr, and nothing when stderr is closed (`2>&-`): the failing write made a run that had
    done its work, an error, Ctrl-C or a usage error exit 1 instead of its own status."""
    if sys.stderr is None:  # print(file=None) would write it into the results on stdout
        return
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class Unfailing:
    """A stream whose failed writes are dropped: progress with stderr closed (`--progress 2>&-`, where the
    descriptor may even be another file's, read-only) ended the run at its first write, nothing written."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass
