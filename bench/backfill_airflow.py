"""A backfill of 365 daily partitions on Airflow: what parsing and scheduling it costs.

- **Parse**: ``DagBag`` of the example mesh's ``dags/sales.py`` (its DAGs generated from the
  compiled mesh, among them the daily-partitioned ``sales.daily_orders`` on
  ``CronPartitionTimetable`` and its weekly roll-up on ``PartitionedAssetTimetable`` +
  ``RollupMapper``) in a fresh process, median of 5; baseline: the same number of hand-written
  DAGs with the same timetables (:mod:`bench.parse`'s timer). A backfill adds no DAG: its 365
  partitions cost no parse.
- **Scheduling**: on a real Airflow (the distributed profile by default: PostgreSQL, Celery on
  Redis, two workers, its servers started as ``mesh up --profile distributed`` starts them;
  ``MESH_BENCH_PROFILE=embedded`` for SQLite and the LocalExecutor, where Airflow 3.3 refuses to
  create a backfill while another process writes its database, which its scheduler always
  does: 503 "Backfill creation is not supported on SQLite under concurrent access"), the time from
  creating an Airflow backfill of 365 daily partitions of a trivial asset (one ``EmptyOperator``
  task, which the scheduler finishes without a worker, so only scheduling is timed) to all 365
  runs created, and to all 365 finished. Baseline in the same Airflow: the same backfill of an
  unpartitioned DAG on a daily ``CronTriggerTimetable`` (365 logical dates). The backfill is
  created as ``mesh backfill --on airflow`` creates it (:func:`meshctl.airflow_backfill.create_backfill`:
  asked again when Airflow answers 503 "Database is locked" on SQLite); the retries' waits are in
  the time.

Run: ``timeout 3600 uv run python -m bench backfill_airflow`` (``MESH_BENCH_PROFILE=embedded`` for SQLite).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.parse import _parse_seconds
from bench.synthetic import REPO, example_mesh
from governance.compiled import current_compiled_mesh, write_compiled_mesh
from meshctl.airflow_backfill import create_backfill
from meshctl.local_airflow import AirflowClient, LocalAirflow, free_port
from meshctl.profiles import EMBEDDED, Profile, distributed
from meshctl.services import scratch_database, servers

DAYS, REPEAT, MAX_ACTIVE = 365, 5, 16
PROFILE = os.environ.get("MESH_BENCH_PROFILE", "distributed")
FIRST = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

_BENCH_DAGS = '''from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, CronPartitionTimetable, CronTriggerTimetable

with DAG("bench_partitioned", schedule=CronPartitionTimetable("0 0 * * *", timezone="UTC", run_offset=-1,
         key_format="%Y-%m-%d"), catchup=False, max_active_runs={max_active}, is_paused_upon_creation=False):
    EmptyOperator(task_id="materialize")

with DAG("bench_unpartitioned", schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC"), catchup=False,
         max_active_runs={max_active}, is_paused_upon_creation=False):
    EmptyOperator(task_id="materialize")
'''

_HAND = '''from airflow.sdk import (DAG, Asset, AssetAny, CronPartitionTimetable, CronTriggerTimetable, IdentityMapper,
                        PartitionedAssetTimetable, RollupMapper, StartOfWeekMapper, WeekWindow, task)

{body}
'''


def _hand_written(root: Path) -> str:
    """As many hand-written DAGs as the sales file generates, with the same timetables."""
    compiled = current_compiled_mesh(root)
    lines = []
    for spec in compiled.assets_of("sales"):
        key = spec.key
        if spec.key == "sales.daily_orders":
            schedule = ('CronPartitionTimetable("0 0 * * *", timezone="UTC", run_offset=-1, key_format="%Y-%m-%d")')
        elif spec.key == "sales.weekly_orders":
            schedule = ('PartitionedAssetTimetable(assets=Asset("sales.daily_orders"), partition_mapper_config={'
                        'Asset("sales.daily_orders"): RollupMapper(upstream_mapper=StartOfWeekMapper('
                        'input_format="%Y-%m-%d", output_format="%Y-%m-%d-W%V"), window=WeekWindow())})')
        elif spec.inputs:
            schedule = "[" + ", ".join(f'Asset("{i.key}")' for i in spec.inputs) + "]"
        else:
            schedule = 'CronTriggerTimetable("0 0 * * *", timezone="UTC")'
        lines += [f'with DAG("{key}", schedule={schedule}, catchup=False):',
                  f'    @task(outlets=[Asset("{key}")])', "    def materialize():", "        return None",
                  "    materialize()", ""]
    lines += ['with DAG("mesh_governance.sales", schedule=AssetAny(Asset("sales.orders")), catchup=False):',
              "    @task", "    def policy():", "        return None", "    policy()", "",
              'with DAG("mesh_governance.sales.partitions", schedule=PartitionedAssetTimetable(assets=AssetAny('
              'Asset("sales.daily_orders")), default_partition_mapper=IdentityMapper()), catchup=False):',
              "    @task", "    def policy2():", "        return None", "    policy2()", ""]
    return _HAND.format(body="\n".join(lines))


def _parse_cost(root: Path) -> tuple[float, float]:
    generated, hand = root / "bench_generated", root / "bench_hand"
    generated.mkdir()
    hand.mkdir()
    shutil.copy(REPO / "dags" / "sales.py", generated / "sales.py")
    (generated / "sales.py").write_text((generated / "sales.py").read_text().replace(
        "Path(__file__).resolve().parent.parent", f"Path({str(root)!r})"))
    write_compiled_mesh(root)
    (hand / "hand.py").write_text(_hand_written(root))
    gen = statistics.median(_parse_seconds(generated, root) for _ in range(REPEAT))
    base = statistics.median(_parse_seconds(hand, root) for _ in range(REPEAT))
    return gen, base


def _time_backfill(client: AirflowClient, dag_id: str) -> tuple[float, float]:
    """Seconds from creating the backfill to all runs created, and to all finished."""
    last = FIRST + dt.timedelta(days=DAYS - 1)
    start = time.perf_counter()
    create_backfill(client, dag_id, FIRST, last, max_parallel=MAX_ACTIVE, reprocess="none")  # asks again on a 503
    created = finished = None
    while finished is None:
        runs = client.partition_runs(dag_id)
        if created is None and len(runs) >= DAYS:
            created = time.perf_counter() - start
        if len(runs) >= DAYS and all(r["state"] in ("success", "failed") for r in runs):
            finished = time.perf_counter() - start
        else:
            time.sleep(1)
    assert created is not None and all(r["state"] == "success" for r in runs), "a bench run failed"
    return created, finished


def _schedule_cost(root: Path, profile: Profile) -> dict[str, tuple[float, float]]:
    """Each bench DAG's backfill timed on a real Airflow of ``profile`` at ``root``."""
    airflow = LocalAirflow(root, port=free_port(len(profile.ports(0))), profile=profile)
    try:
        airflow.start(timeout=900)
        with airflow.client() as client:
            deadline = time.monotonic() + 600
            while not {"bench_partitioned", "bench_unpartitioned"} <= set(client.dags()):
                assert time.monotonic() < deadline, client.import_errors()
                time.sleep(1)
            return {dag: _time_backfill(client, dag) for dag in ("bench_unpartitioned", "bench_partitioned")}
    finally:
        airflow.stop()


def main() -> None:
    if PROFILE not in ("embedded", "distributed"):
        raise SystemExit(f"MESH_BENCH_PROFILE={PROFILE!r}: choose embedded or distributed")
    with tempfile.TemporaryDirectory() as tmp:
        root = example_mesh(Path(tmp) / "mesh")
        gen, base = _parse_cost(root)
        print(f"parse (DagBag, median of {REPEAT} fresh processes): the sales domain's generated DAGs, with "
              f"sales.daily_orders (CronPartitionTimetable) and its weekly roll-up (RollupMapper): {gen:.2f} s; "
              f"the same DAGs hand-written with the same timetables: {base:.2f} s -> {gen / base:.2f}x", flush=True)
        (root / "dags").mkdir(exist_ok=True)
        for other in (root / "dags").glob("*.py"):
            other.unlink()  # only the two bench DAGs run: the scheduler times nothing else
        (root / "dags" / "bench.py").write_text(_BENCH_DAGS.replace("{max_active}", str(MAX_ACTIVE)))
        if PROFILE == "embedded":
            timings = _schedule_cost(root, EMBEDDED)
        else:
            with servers(REPO / ".mesh" / "services") as urls, scratch_database(urls.postgres, "airflow_bench") as db:
                timings = _schedule_cost(root, distributed(db, urls.redis, workers=2))
    (p_created, p_done), (u_created, u_done) = timings["bench_partitioned"], timings["bench_unpartitioned"]
    print(f"scheduling an Airflow backfill of {DAYS} daily partitions of a trivial asset (EmptyOperator, "
          f"max_active_runs={MAX_ACTIVE}, {PROFILE} profile): runs created in {p_created:.1f} s, all finished in "
          f"{p_done:.1f} s ({p_done / DAYS * 1000:.0f} ms a partition); baseline, the same backfill of an unpartitioned "
          f"daily DAG: {u_created:.1f} s / {u_done:.1f} s -> {p_done / u_done:.2f}x", flush=True)


if __name__ == "__main__":
    main()
