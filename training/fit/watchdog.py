"""Stop the jobs' process groups once the runner (training.fit.jobs) is gone, however it went: kill -9 included.

    python -I training/fit/watchdog.py   (started by the runner, which writes to its standard input)

The runner writes "+PGID" when a job starts and "-PGID" once it has stopped or reaped it. The end of the
input (the runner exited, or was killed: the kernel closes its end of the pipe) sends SIGTERM to every group
still listed, then SIGKILL 10 s later, as the runner itself stops them. Standard library only: it runs as a
plain script, with nothing of the repository to import.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterable

GRACE_S = 10.0  # the runner's own grace between SIGTERM and SIGKILL


def read_groups(lines: Iterable[str]) -> set[int]:
    """The process groups listed by `lines` ("+PGID" adds one, "-PGID" removes it) when they end."""
    groups: set[int] = set()
    for line in lines:
        pgid = int(line[1:])
        if line.startswith("+"):
            groups.add(pgid)
        else:
            groups.discard(pgid)
    return groups


def stop_groups(groups: set[int], grace_s: float) -> None:
    """SIGTERM every group, wait until they are gone (at most `grace_s`), then SIGKILL what is left."""
    _signal(groups, signal.SIGTERM)
    end = time.monotonic() + grace_s
    while groups and time.monotonic() < end:
        time.sleep(0.1)
        _signal(groups, 0)  # drops the groups that are gone
    _signal(groups, signal.SIGKILL)


def _signal(groups: set[int], signum: int) -> None:
    for pgid in list(groups):
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            groups.discard(pgid)


if __name__ == "__main__":
    stop_groups(read_groups(sys.stdin), GRACE_S)
