"""Signing the audit log's head after the read API's refusals of unproven callers, at most once a
while.

Each refusal is appended to the audit log (hash-chained and synced) at once; signing a new tree
head costs a signature, syncs and a witness write (an object in a bucket), which a caller who
proves nothing could otherwise make the server do for every request it sends. The head is signed
for the first refusal, then at most once per ``every`` seconds, by a timer, so every refusal is
under a signed, witnessed head within ``every`` seconds. ``before_seal`` runs just before each
seal, on the same cadence (:mod:`webapp.unproven_refusals` writes its summaries then).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from governance.audit import AuditLog


@dataclass
class SealPacer:
    """Seals ``AuditLog``s at most once per ``every`` seconds (module docstring)."""

    every: float = 10.0
    before_seal: Callable[[AuditLog], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _last: float = field(default=float("-inf"), init=False)
    _timer: threading.Timer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.every > 0:
            raise ValueError(f"a seal pace of {self.every} seconds is not a positive number of seconds")

    def seal_soon(self, audit: AuditLog) -> None:
        """Seal ``audit`` now if it was not sealed in the last ``every`` seconds, else once that
        much time has passed since."""
        with self._lock:
            now = time.monotonic()
            if self._timer is not None:
                return  # a seal is due already; it covers this record too
            if now - self._last >= self.every:
                self._last = now
                due = True
            else:
                self._timer = threading.Timer(self.every - (now - self._last), self._fire, args=(audit,))
                self._timer.daemon = True
                self._timer.start()
                due = False
        if due:
            self._seal(audit)

    def close(self) -> None:
        """Seal what a pending timer would have sealed, now (the server stops)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            timer.function(*timer.args)

    def _fire(self, audit: AuditLog) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._seal(audit)

    def _seal(self, audit: AuditLog) -> None:
        if self.before_seal is not None:
            self.before_seal(audit)
        audit.seal()
