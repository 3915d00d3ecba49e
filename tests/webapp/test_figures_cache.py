"""The dashboard's slow figures are measured off the request path: once per snapshot, refreshed
in the background when stale, while pages show the last snapshot."""

from __future__ import annotations

import datetime as dt
import time

from assets.mesh import Mesh
from governance.ops import NOT_MEASURED, OperationsView
from tests.webapp.conftest import ServedMesh
from webapp.figures import FiguresCache


class Counting:
    def __init__(self) -> None:
        self.built = 0

    def __call__(self, mesh: Mesh) -> OperationsView:
        self.built += 1
        return NOT_MEASURED


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"waited two minutes for {what}"
        time.sleep(0.05)


def test_a_fresh_snapshot_is_reused_and_a_stale_one_is_served_while_it_is_refreshed(served_mesh: ServedMesh) -> None:
    mesh, counting = served_mesh.mesh, Counting()
    cache = FiguresCache(counting, days=30, max_age=dt.timedelta(minutes=1))
    t0 = dt.datetime.now(dt.UTC)
    first = cache.get(mesh, t0)
    assert cache.get(mesh, t0 + dt.timedelta(seconds=30)) is first and counting.built == 1
    assert first.usage is not None and {c.domain for c in first.usage.charges} >= set(mesh.policy.active_domains)
    stale = cache.get(mesh, t0 + dt.timedelta(minutes=5))
    assert stale is first, "the page does not wait for the refresh"
    _wait_for(lambda: cache.get(mesh, t0 + dt.timedelta(seconds=1)) is not first, "the background refresh")
    assert counting.built == 2
