"""Which worker runs a run, and whether that worker is still alive.

A run's record names its worker (:meth:`Workers.current` when it starts). A run still
``running`` whose worker is known to be gone died without a result (a killed worker, an OOM
kill, a lost pod): it is found at once, where waiting for a run to take longer than any run
should (``died_after``) would find it hours later. A worker whose liveness cannot be judged
from here (another host, or no record of one) is judged by that wait alone.

:class:`LocalWorkers` names a worker by host, process id and the process's start time (so a
process id used again by a later process does not pass for the dead one's worker).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Protocol


class Workers(Protocol):
    """Names the worker of a run, and tells whether a named worker is alive."""

    def current(self) -> str:
        """The worker running this code."""
        ...

    def alive(self, worker: str) -> bool | None:
        """Whether ``worker`` is alive; ``None`` when it cannot be told from here."""
        ...


class LocalWorkers:
    """Workers as processes of a host: ``host:pid:start`` (see the module docstring)."""

    def __init__(self, host: str | None = None) -> None:
        self._host = host

    @property
    def host(self) -> str:
        return self._host or socket.gethostname()

    def current(self) -> str:
        pid = os.getpid()
        return f"{self.host}:{pid}:{_own_start(pid) or ''}"

    def alive(self, worker: str) -> bool | None:
        parts = worker.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        host, pid, started = parts[0], int(parts[1]), parts[2]
        if host != self.host:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: it exists
            pass
        now = _started(pid)
        return not (started and now and now != started)


def _own_start(pid: int) -> str | None:
    """:func:`_started` of this process (``pid``, its id now), read once per process: a
    process's start time never changes, and a forked child has another id, read anew."""
    known = _OWN_START.get(pid)
    if known is None:
        known = _OWN_START[pid] = (_started(pid),)
    return known[0]


#: This process's start time, by its id (one entry, or two after a fork).
_OWN_START: dict[int, tuple[str | None]] = {}


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``); ``None`` where
    that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


#: The workers of this process.
LOCAL = LocalWorkers()
