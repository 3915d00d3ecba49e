"""Exponential back-off: how long to wait after each failed attempt.

Its own module, importing nothing of the engine, so that the command line and the local Airflow
runner can wait between attempts without loading polars (:mod:`assets.retrying` retries runs).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Waits between attempts: ``first`` seconds, multiplied by ``factor`` each time, at most ``cap``."""

    first: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def __post_init__(self) -> None:
        if not (self.first >= 0 and self.factor >= 1 and self.cap >= self.first):
            raise ValueError(f"back-off needs first >= 0, factor >= 1 and cap >= first, got {self}")

    def wait(self, failed_attempt: int) -> float:
        """Seconds to wait after the ``failed_attempt``-th attempt failed (1-based); ``cap`` however
        many attempts failed (an outbox row retried for weeks counts past a float's range)."""
        try:
            return float(min(self.cap, self.first * self.factor ** (failed_attempt - 1)))
        except OverflowError:
            return float(self.cap)
