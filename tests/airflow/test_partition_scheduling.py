"""Airflow 3.3's partitioned asset scheduling, on a real scheduler, with plain DAGs (no mesh code):
the behaviour the mesh's generated DAGs rely on.

- A DAG on ``CronPartitionTimetable(key_format=...)`` is partitioned: a run triggered with a
  ``partition_key`` (REST ``POST dagRuns``) carries it, its task reads it from
  ``context["dag_run"].partition_key``, and its outlet's Asset event carries it.
- A DAG on ``PartitionedAssetTimetable`` runs once per *mapped* key: ``IdentityMapper`` the same
  key, ``RollupMapper(StartOfWeekMapper, WeekWindow)`` the week once all its seven days arrived.
- An Airflow backfill (``POST /api/v2/backfills``) of a partitioned DAG makes one run per
  partition; ``reprocess_behavior="failed"`` leaves the succeeded ones alone.
- A failed task emits no event: nothing downstream runs for that partition.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest

from meshctl.local_airflow import AirflowClient, LocalAirflow
from tests.airflow.conftest import ON_EMBEDDED, SPIKE, RunningMesh

pytestmark = [pytest.mark.airflow, ON_EMBEDDED]


@pytest.fixture
def spike(running_mesh: RunningMesh) -> LocalAirflow:
    """The embedded Airflow of the end-to-end tests, whose ``dags/spike.py`` holds the spike's
    DAGs (``tests.airflow.conftest.SPIKE``) in their own team: the tests judge only those DAGs'
    runs of their own partitions."""
    return running_mesh.airflow


#: The partitions the tests run are in January 2026. The scheduler may also run ``spike_days`` on
#: its own for the day of its latest cron tick (it did once in CI, just after midnight UTC), and
#: that run's event reaches ``spike_same``: runs outside the tests' month are not theirs to judge.
OURS = "2026-01-"


def _runs(client: AirflowClient, dag_id: str) -> dict[str, str]:
    """Partition key -> state of the latest run of that partition (the tests' partitions only)."""
    found: dict[str, str] = {}
    for run in reversed(client.partition_runs(dag_id)):
        if str(run["partition_key"]).startswith(OURS):
            found[run["partition_key"]] = run["state"]
    return found


def _wait(client: AirflowClient, want: dict[str, dict[str, str]], timeout: float = 600) -> dict[str, dict[str, str]]:
    """Wait until each DAG of ``want`` has (at least) those partitions in those states, and no
    spike run is active; then, after a quiet moment for late events, return every run."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while True:
        try:
            seen = {d: _runs(client, d) for d in SPIKE}
        except httpx.TimeoutException:  # a loaded machine's API server answers late: ask again
            continue
        done = all(seen[d].get(k) == s for d, runs in want.items() for k, s in runs.items())
        idle = not any(s in ("queued", "running") for runs in seen.values() for s in runs.values())
        quiet = quiet + 1 if done and idle else 0
        if quiet >= 3:
            return seen
        assert time.monotonic() < deadline, f"not settled: {seen}"
        time.sleep(2)


def test_a_partition_event_runs_exactly_the_mapped_downstream_partition(spike: LocalAirflow) -> None:
    with spike.client() as client:
        run_id = client.trigger("spike_days", partition_key="2026-01-07")
        seen = _wait(client, {"spike_days": {"2026-01-07": "success"}, "spike_same": {"2026-01-07": "success"}})
        assert client.return_value("spike_days", run_id, "produce") == {"partition": "2026-01-07"}
        events = client.asset_events("spike_days")
    assert seen["spike_same"] == {"2026-01-07": "success"}
    assert seen["spike_week"] == {}, "one day of seven does not complete the week"
    assert [e["partition_key"] for e in events if str(e["partition_key"]).startswith(OURS)] == ["2026-01-07"]


def test_a_backfill_runs_each_missing_day_and_the_week_once_all_arrived(spike: LocalAirflow) -> None:
    with spike.client() as client:
        backfill = client.create_backfill("spike_days", dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                                          dt.datetime(2026, 1, 11, tzinfo=dt.UTC), reprocess="failed")
        days = {f"2026-01-{d:02d}": "success" for d in range(5, 12)}
        seen = _wait(client, {"spike_days": days, "spike_same": days, "spike_week": {"2026-01-05": "success"}})
        backfill_runs = [r for r in client.partition_runs("spike_days") if r["run_type"] == "backfill"]
        assert client.backfill(backfill["id"])["dag_id"] == "spike_days"
    assert sorted(r["partition_key"] for r in backfill_runs) == sorted(set(days) - {"2026-01-07"}), \
        "the day that already succeeded is not run again"
    assert seen["spike_week"] == {"2026-01-05": "success"}


def test_a_failed_partition_runs_nothing_downstream(spike: LocalAirflow) -> None:
    with spike.client() as client:
        client.trigger("spike_days", partition_key="2026-01-14")
        seen = _wait(client, {"spike_days": {"2026-01-14": "failed"}})
    assert "2026-01-14" not in seen["spike_same"]
    assert set(seen["spike_week"]) <= {"2026-01-05"}

