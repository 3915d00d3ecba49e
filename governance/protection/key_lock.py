"""The lock that keeps a KEK alive while data keys it wrapped are on their way to storage.

A publish wraps its data key with the active KEK and stores it moments later (in a manifest,
a staging folder or a quarantine report). Publishers hold the lock *shared* from protecting
their data until it is stored; key rotation and retirement hold it *exclusive*, so they never
see a data key in flight: everything they scan is stored, and a KEK they retire wraps nothing.

It is an ``flock`` on ``.mesh/keys/keys.lock``: it serialises the processes and threads of one
host (the engine, Airflow workers, the CLI) and is released by the kernel if a holder dies.

The writer is preferred, so a steady stream of publishers cannot starve a rotation (``flock``
alone grants a shared lock whenever only shared holders are in, however long a writer has
waited). A second file, ``keys.lock.turnstile``, is a turnstile: a publisher passes it (holds
it exclusive for the moment it takes its shared lock); rotation holds it from before it waits
until it is done. So a waiting rotation stops new publishers at the turnstile and runs as
soon as the publishers already in have stored their keys. Both take the turnstile first, then
the lock, so they never deadlock. A thread that already holds the lock shared (a publish
within a publish) takes it again without the turnstile, which a waiting rotation holds.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Per thread: how many times each lock file is held shared (a nested hold skips the turnstile).
_held = threading.local()


@dataclass(frozen=True, slots=True)
class KeyLock:
    """A writer-preferring shared/exclusive lock on the file ``path`` and its turnstile beside
    it (both created owner-only on first use)."""

    path: Path

    @property
    def turnstile(self) -> Path:
        return self.path.with_name(f"{self.path.name}.turnstile")

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Held by a publisher from wrapping a data key until it is stored; waits while a
        rotation waits or runs."""
        counts: dict[Path, int] = _held.__dict__.setdefault("counts", {})
        if counts.get(self.path):
            counts[self.path] += 1
            try:
                yield
            finally:
                counts[self.path] -= 1
            return
        lock = self._open(self.path)
        try:
            turnstile = self._open(self.turnstile)
            try:
                fcntl.flock(turnstile, fcntl.LOCK_EX)  # passed at once unless a rotation waits or runs
                fcntl.flock(lock, fcntl.LOCK_SH)
            finally:
                os.close(turnstile)
            counts[self.path] = 1
            try:
                yield
            finally:
                counts[self.path] = 0
        finally:
            os.close(lock)  # closing the file releases the lock

    @contextmanager
    def exclusive(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Held by rotation and retirement; stops new publishers, waits for running publishes
        to store their keys, calling ``on_wait`` once first if it has to wait."""
        waited: list[bool] = []

        def take(fd: int) -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None and not waited:
                    waited.append(True)
                    on_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)

        turnstile = self._open(self.turnstile)
        try:
            take(turnstile)
            lock = self._open(self.path)
            try:
                take(lock)
                yield
            finally:
                os.close(lock)
        finally:
            os.close(turnstile)

    @staticmethod
    def _open(path: Path) -> int:
        """The lock file ``path``, opened (made, and its folder, the first time). Every publish
        opens it: the folder is made only when the file cannot be opened without it."""
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
