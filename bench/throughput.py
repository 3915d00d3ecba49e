"""Throughput of a whole mesh on Airflow: the embedded profile (SQLite, LocalExecutor) against
the distributed one (PostgreSQL, CeleryExecutor, Redis, two Celery workers), as ``mesh up``
starts them, on the same machine.

The mesh is the benches' synthetic one (``bench/synthetic.py``: each domain a chain, every third
asset also reading the previous domain; 10 rows per asset) with the repository's DAG files. Each
profile gets a fresh copy; every root is triggered at once and the cascade followed until
every asset has finished (the governance DAG runs the assets' updates start are load while the
assets run; the ones still queued then are not waited for: on 2 shared cores they take far longer
than the assets). Printed per profile:

- assets per minute: assets published / (last asset task's end - the trigger);
- event-to-start latency under that load, for every asset-triggered run: its task's start minus
  the newest asset event that created the run (median and 90th percentile), and the part of it
  until the task was queued (the scheduler's share; the rest is waiting for a free slot).

Then the ratios distributed / embedded. The size is ``MESH_BENCH_DOMAINS`` x
``MESH_BENCH_ASSETS`` (default 50 x 2: the issue's 50 domains, each a root and one asset it
triggers, the least that gives every domain an asset-triggered run; on the distributed
profile the 100 assets took 16 minutes on 2 cores at load 18-30, after several minutes of
start-up). ``MESH_BENCH_PROFILES=distributed`` (or ``embedded``) runs one profile only.
The distributed profile runs first, so the PostgreSQL it starts is stopped as early as possible;
each profile's line is printed as soon as it is measured.
PostgreSQL and Redis: ``MESH_PG_URL`` and ``MESH_REDIS_URL``, or started on loopback by
``scripts/services.sh`` (and stopped afterwards); the Airflow database is a new one, dropped
afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assets.airflow.naming import asset_dag_id
from bench.synthetic import REPO, write_dag_files, write_mesh
from governance.wiring import load_mesh
from meshctl.airflow_cascade import (
    DONE,
    CascadeState,
    run_cascade,
    unpause_mesh,
    wait_for_dags,
)
from meshctl.local_airflow import AirflowClient, LocalAirflow, free_port
from meshctl.profiles import EMBEDDED, Profile, distributed
from meshctl.services import scratch_database, servers

DOMAINS = int(os.environ.get("MESH_BENCH_DOMAINS", "50"))
PER_DOMAIN = int(os.environ.get("MESH_BENCH_ASSETS", "2"))
PROFILES = tuple(p.strip() for p in os.environ.get("MESH_BENCH_PROFILES", "distributed,embedded").split(",")
                 if p.strip())
WORKERS = 2


@dataclass(frozen=True, slots=True)
class Figures:
    """One profile's cascade: assets published, seconds it took, latencies of triggered runs."""

    published: int
    seconds: float
    to_start: tuple[float, ...]
    to_queued: tuple[float, ...]

    @property
    def per_minute(self) -> float:
        return self.published / self.seconds * 60

    @property
    def latency(self) -> float:
        return statistics.median(self.to_start)

    def line(self, label: str) -> str:
        p90 = statistics.quantiles(self.to_start, n=10)[-1] if len(self.to_start) > 1 else self.latency
        return (f"  {label}: {self.published} assets in {self.seconds:.0f} s = {self.per_minute:.1f} assets/min; "
                f"event -> task start median {self.latency:.2f} s (p90 {p90:.2f} s; event -> queued median "
                f"{statistics.median(self.to_queued):.2f} s), {len(self.to_start)} triggered runs")


def _stamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _figures(client: AirflowClient, state: CascadeState) -> Figures:
    ends, to_start, to_queued = [], [], []
    for key, run in state.assets.items():
        if run.state != "success" or run.run_id is None:
            continue
        ti = client.task_instances(asset_dag_id(key), run.run_id)[0]
        ends.append(_stamp(ti["end_date"]))
        if run.run_type == "asset_triggered":
            event = max(_stamp(e["timestamp"]) for e in client.upstream_events(asset_dag_id(key), run.run_id))
            to_start.append((_stamp(ti["start_date"]) - event).total_seconds())
            to_queued.append((_stamp(ti["queued_when"]) - event).total_seconds())
    return Figures(published=len(ends), seconds=(max(ends) - state.started).total_seconds(),
                   to_start=tuple(to_start), to_queued=tuple(to_queued))


class _Published(Exception):  # noqa: N818 - not an error: the end of the measurement
    """Every asset of the cascade has finished: the figures are known."""

    def __init__(self, state: CascadeState) -> None:
        super().__init__("every asset finished")
        self.state = state


def _stop_when_published(state: CascadeState) -> None:
    """Stop following once every asset's run has finished: the governance DAG runs still queued
    were load while the assets ran, and add nothing to the figures (all taken from asset tasks)."""
    if all(state.assets[k].state in DONE for k in state.expected):
        raise _Published(state)


def run_profile(profile: Profile, folder: Path) -> Figures:
    """Start Airflow on a new synthetic mesh in ``folder``, trigger every root, follow the cascade."""
    root = folder / "mesh"
    write_mesh(root, domains=DOMAINS, assets_per_domain=PER_DOMAIN)
    write_dag_files(root)
    mesh = load_mesh(root)
    airflow = LocalAirflow(root, port=free_port(len(profile.ports(0))), profile=profile)
    airflow.start(timeout=600)
    try:
        with airflow.client() as client:
            wait_for_dags(client, mesh, timeout=600)
            unpause_mesh(client, mesh)
            roots: dict[str, dict[str, object]] = {k: {} for k in mesh.graph if mesh.graph[k].spec.is_root}
            try:
                state = run_cascade(client, mesh, roots, timeout=3600, poll=5, on_poll=_stop_when_published)
            except _Published as published:
                state = published.state
            if state.failed:
                raise RuntimeError(f"{profile.name}: {state.failed} failed; logs in {airflow.home / 'logs'}")
            return _figures(client, state)
    finally:
        airflow.stop()


def main() -> None:
    unknown = set(PROFILES) - {"embedded", "distributed"}
    if unknown or not PROFILES:
        raise SystemExit(f"MESH_BENCH_PROFILES: {sorted(unknown) or 'none'}; choose embedded and/or distributed")
    if PER_DOMAIN < 2:
        raise SystemExit("MESH_BENCH_ASSETS: at least 2 (a root and an asset it triggers, for the latency)")
    assets = DOMAINS * PER_DOMAIN
    print(f"throughput, synthetic mesh of {assets} assets in {DOMAINS} domains (10 rows each), every root "
          f"triggered at once, each asset's governance DAG run included in the load:", flush=True)
    measured: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "distributed" in PROFILES:
            with (servers(REPO / ".mesh" / "services") as urls,
                  scratch_database(urls.postgres, "airflow_bench") as db):
                spread = measured["distributed"] = run_profile(distributed(db, urls.redis, workers=WORKERS),
                                                               Path(tmp) / "distributed")
            print(spread.line(f"distributed (PostgreSQL, Celery on Redis, {WORKERS} workers x 2)"), flush=True)
        if "embedded" in PROFILES:
            embedded = measured["embedded"] = run_profile(EMBEDDED, Path(tmp) / "embedded")
            print(embedded.line("embedded (SQLite, LocalExecutor, parallelism 4)"), flush=True)
    if len(measured) == 2:
        spread, embedded = measured["distributed"], measured["embedded"]
        print(f"  ratio distributed / embedded: assets per minute {spread.per_minute / embedded.per_minute:.2f}x, "
              f"event -> task start {spread.latency / embedded.latency:.2f}x (one machine, 2 cores: the workers "
              "share its cores, so this measures the overhead of the distributed profile, not its scale-out)",
              flush=True)

if __name__ == "__main__":
    main()
