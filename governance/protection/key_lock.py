"""The lock that keeps a KEK alive while data keys it wrapped are on their way to storage.

A publish wraps its data key with the active KEK and stores it moments later (in a manifest,
a staging folder or a quarantine report). Publishers hold the lock *shared* from protecting
their data until it is stored; key rotation and retirement hold it *exclusive*, so they never
see a data key in flight: everything they scan is stored, and a KEK they retire wraps nothing.

It is an ``flock`` on ``.mesh/keys/keys.lock``: it serialises the processes and threads of one
host (the engine, Airflow workers, the CLI) and is released by the kernel if a holder dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class KeyLock:
    """A shared/exclusive lock on the file ``path`` (created owner-only on first use)."""

    path: Path

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Held by a publisher from wrapping a data key until it is stored."""
        with self._locked(fcntl.LOCK_SH, None):
            yield

    @contextmanager
    def exclusive(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Held by rotation and retirement; waits for running publishes to store their keys,
        calling ``on_wait`` once first if it has to wait."""
        with self._locked(fcntl.LOCK_EX, on_wait):
            yield

    @contextmanager
    def _locked(self, mode: int, on_wait: Callable[[], None] | None) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # closing the file releases the lock
