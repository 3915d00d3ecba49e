"""Clocks: what time the operations layer thinks it is. Every figure it computes takes the time
from one (the mesh's ``Services.clock`` or an explicit ``now``), so a simulation or a test can
drive it; nothing here reads the wall clock itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from assets.mesh import Mesh
from assets.ports import Services


class ManualClock:
    """A clock that moves only when told (:meth:`advance`, :meth:`set`): for tests and simulations."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's time is timezone-aware (UTC)")
        self._now = start

    def __call__(self) -> dt.datetime:
        return self._now

    def advance(self, by: dt.timedelta) -> dt.datetime:
        """Move the clock forward by ``by``; returns the new time."""
        if by < dt.timedelta(0):
            raise ValueError("a clock does not go back")
        self._now += by
        return self._now

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` in this clock's time: advance it, at once (a simulation's ``sleep``)."""
        self.advance(dt.timedelta(seconds=seconds))

    def set(self, at: dt.datetime) -> None:
        if at < self._now:
            raise ValueError(f"a clock does not go back (from {self._now.isoformat()} to {at.isoformat()})")
        self._now = at


def with_clock(mesh: Mesh, clock: Callable[[], dt.datetime],
               sleep: Callable[[float], None] | None = None) -> Mesh:
    """``mesh`` with its services timed by ``clock`` (runs, run records, states); with ``sleep``
    too, its waits (retries' back-off) go through it (a simulation advances the clock instead)."""
    base = mesh.wiring

    def wiring(m: Mesh) -> Services:
        services = dataclasses.replace(base(m), clock=clock)
        return services if sleep is None else dataclasses.replace(services, sleep=sleep)

    return dataclasses.replace(mesh, wiring=wiring)
