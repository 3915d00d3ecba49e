"""Asset-event latency in a running scheduler: from an upstream publish (its Asset event) to the
start of the downstream task it schedules.

Measured on a local Airflow (``LocalAirflow``, the same as ``mesh up``) for the mesh pair
``sales.orders -> sales.daily_sales``, and for a baseline pair of plain hand-written Airflow
DAGs (a ``@task`` with an Asset outlet, and a DAG scheduled on that Asset) in the same run,
alternately. Each sample starts on a quiet Airflow (no DAG run queued or running, twice in a
row), so neither side waits for what the other's last sample scheduled; the mesh's own
governance DAG, which the same Asset event schedules, runs alongside its downstream task, as it
does in production. Target: at most 1.1x, medians of 9.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.synthetic import REPO, example_mesh
from governance.wiring import load_mesh
from meshctl.airflow_cascade import unpause_mesh, wait_for_dags
from meshctl.local_airflow import AirflowClient, LocalAirflow, free_port

REPEAT = 9
TARGET = 1.1

_BASELINE = '''from airflow.sdk import DAG, Asset, task

signal = Asset("bench.signal")

with DAG("bench_producer", schedule=None, catchup=False):
    @task(outlets=[signal])
    def produce():
        return "done"
    produce()

with DAG("bench_consumer", schedule=[signal], catchup=False):
    @task
    def consume():
        return "done"
    consume()
'''


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _wait_quiet(client: AirflowClient, timeout: float = 300) -> None:
    """Until no DAG run is queued or running, seen twice a second apart (an Asset event's runs
    are created a scheduler loop after it)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Airflow still had runs after {timeout:.0f}s")
        quiet = quiet + 1 if client.active_runs() == 0 else 0
        time.sleep(1)


def _latency(client: AirflowClient, producer: str, consumer: str, conf: dict[str, object]) -> float:
    """Trigger ``producer``; seconds from its Asset event to the start of ``consumer``'s task."""
    _wait_quiet(client)
    seen = {r["dag_run_id"] for r in client.runs(consumer)}
    run_id = client.trigger(producer, conf)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        new = [r for r in client.runs(consumer) if r["dag_run_id"] not in seen]
        if new and new[0]["state"] in ("success", "failed"):
            tis = client.task_instances(consumer, new[0]["dag_run_id"])
            events = [e for e in client.asset_events(producer) if e["source_run_id"] == run_id]
            return (_parse(tis[0]["start_date"]) - _parse(events[0]["timestamp"])).total_seconds()
        time.sleep(1)
    raise TimeoutError(f"{consumer} did not run after {producer}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = example_mesh(Path(tmp) / "mesh")
        shutil.copytree(REPO / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
        (root / "dags" / "bench_baseline.py").write_text(_BASELINE)
        mesh = load_mesh(root)
        airflow = LocalAirflow(root, port=free_port())
        airflow.start()
        try:
            with airflow.client() as client:
                wait_for_dags(client, mesh)
                _wait_for(client, ("bench_producer", "bench_consumer"))
                unpause_mesh(client, mesh)
                for dag_id in ("bench_producer", "bench_consumer"):
                    client.set_paused(dag_id, False)
                mesh_samples, plain_samples = [], []
                for _ in range(REPEAT):
                    mesh_samples.append(_latency(client, "sales.orders", "sales.daily_sales", {"scale": 1000}))
                    plain_samples.append(_latency(client, "bench_producer", "bench_consumer", {}))
        finally:
            airflow.stop()
    ours, plain = statistics.median(mesh_samples), statistics.median(plain_samples)
    ratio = ours / plain
    print(f"latency, Asset event -> downstream task start, medians of {REPEAT}, each on a quiet Airflow: "
          f"mesh {ours:.2f} s (samples {[round(s, 2) for s in mesh_samples]}) vs plain Airflow DAGs {plain:.2f} s "
          f"(samples {[round(s, 2) for s in plain_samples]}) -> ratio {ratio:.2f}x "
          f"(target <= {TARGET:.2f}x: {'met' if ratio <= TARGET else 'MISSED'})", flush=True)
    print("  scheduler settings: Airflow 3.3 defaults (LocalExecutor, SQLite, parallelism 4), as `mesh up` "
          "starts it", flush=True)


def _wait_for(client: AirflowClient, dag_ids: tuple[str, ...], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not set(dag_ids) <= set(client.dags()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dag_ids} were not registered: {client.import_errors()}")
        time.sleep(1)


if __name__ == "__main__":
    main()
