"""End to end on a real Airflow scheduler: asset-triggered cascades, event extras, a gate
failure that stops the downstream, governance handlers, a killed task, a refused second start.
Every test runs on each profile of ``running_mesh``; the last ones only on the distributed
profile: tasks ran on both Celery workers, and the audit chain they appended to at once verifies."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from assets.errors import MeshError
from governance.services import governed
from meshctl.airflow_cascade import follow, partitioned_keys
from meshctl.local_airflow import LocalAirflow
from tests.airflow.conftest import E2E_SCALE, ON_DISTRIBUTED, ON_EMBEDDED, RunningMesh
from tests.conftest import person

pytestmark = pytest.mark.airflow


def test_roots_trigger_their_downstream_as_asset_triggered_runs(running_mesh: RunningMesh) -> None:
    state = running_mesh.first_wave
    assert not state.failed
    graph = running_mesh.mesh.graph
    watched = {k for k in graph if graph[k].spec.drop is not None}  # scheduled by their drops' watchers
    partitioned = partitioned_keys(running_mesh.mesh)  # partitions: run by backfills and partition events
    assert set(state.assets) == set(graph) - partitioned - watched - graph.descendants(*watched)
    assert len(state.assets) == 13 and len(graph) == 18
    for key, run in state.assets.items():
        assert run.state == "success", key
        assert run.run_type == ("manual" if graph[key].spec.is_root else "asset_triggered"), key


def test_each_domain_is_an_airflow_team_that_hears_only_the_teams_its_assets_allow(
        running_mesh: RunningMesh) -> None:
    graph = running_mesh.mesh.graph
    with running_mesh.airflow.client() as client:
        dags = client.dags()
        assert {k: dags[k]["bundle_name"] for k in graph} == {k: graph[k].spec.domain for k in graph}
        deadline = time.monotonic() + 120
        while not (heard := client.runs("team_listener")) and time.monotonic() < deadline:
            time.sleep(1)
        unheard = client.runs("team_eavesdropper")
    assert heard and {r["run_type"] for r in heard} == {"asset_triggered"}
    assert unheard == [], "a team that does not name sales as a producer heard its event"


def test_asset_event_extra_holds_the_manifest_summary(running_mesh: RunningMesh) -> None:
    store = running_mesh.mesh.store()
    with running_mesh.airflow.client() as client:
        for key in ("sales.orders", "finance.revenue", "marketing.audience"):
            events = client.asset_events(key)
            assert events, key
            extra = events[0]["extra"]
            manifest = store.manifest(key, extra["version"])
            assert extra == {**manifest.summary(), "key": key, "run_id": manifest.run_id}
            assert events[0]["name"] == key and events[0]["group"] == key.split(".")[0]


def test_the_domain_governance_dags_ran_the_handlers(running_mesh: RunningMesh) -> None:
    history = governed(running_mesh.mesh).history
    for key, run in running_mesh.first_wave.assets.items():
        recorded = {r["version"]: r for r in history.for_asset(key)}
        assert run.extra["version"] in recorded, f"governance did not record {key}"
        assert recorded[run.extra["version"]]["source"] == "airflow"
    with running_mesh.airflow.client() as client:
        runs = client.runs("mesh_governance.finance")
        assert runs and all(r["run_type"] == "asset_triggered" for r in runs)
        tis = client.task_instances("mesh_governance.finance", runs[0]["dag_run_id"])
        assert {(t["task_id"], t["state"]) for t in tis} == {
            ("policy", "success"), ("history", "success"), ("lineage", "success"), ("replication", "success")}
    checks = governed(running_mesh.mesh).audit.query(action="policy_check")
    # >=: the observed source and what it feeds run on their own, scheduled by the drop's watcher
    assert {c.target for c in checks if c.source == "airflow"} >= set(running_mesh.first_wave.assets)
    assert all(c.outcome == "passed" for c in checks)


def test_the_governance_dags_replicated_every_version_verified(running_mesh: RunningMesh) -> None:
    mesh = running_mesh.mesh
    west = mesh.store("us-west")
    for key, run in running_mesh.first_wave.assets.items():
        replica = west.manifest(key, run.extra["version"])
        assert west.verify(replica) and replica == mesh.store("us-east").manifest(key, run.extra["version"])
    copies = governed(mesh).audit.query(action="replicate")
    assert {c.target for c in copies if c.actor.startswith("service:replication:")} >= set(running_mesh.first_wave.assets)


def test_lineage_from_the_tasks_and_the_governance_dags_is_valid_and_shares_the_namespace(
        running_mesh: RunningMesh, validate_openlineage: Callable[[dict[str, Any]], None]) -> None:
    from governance.lineage import run_uuid

    lineage = running_mesh.mesh.root / ".mesh" / "lineage"
    ours = [json.loads(line) for line in (lineage / "events.jsonl").read_text().splitlines()]
    for key, run in running_mesh.first_wave.assets.items():
        run_events = [e for e in ours if e["run"]["runId"] == run_uuid(run.run_id or "", key)]
        assert [e["eventType"] for e in run_events] == ["START", "COMPLETE"], key  # START from the task
        complete = run_events[1]
        assert complete["outputs"][0]["facets"]["version"]["datasetVersion"] == run.extra["version"]
    for event in ours:
        validate_openlineage(event)
    provider = [json.loads(line) for line in (lineage / "airflow-events.jsonl").read_text().splitlines()]
    tasks = {e["job"]["name"] for e in provider if e["eventType"] == "COMPLETE"}
    assert "sales.orders.materialize" in tasks or any(t.startswith("sales.orders.") for t in tasks), tasks
    assert {e["job"]["namespace"] for e in provider} == {"acme"}


def test_the_web_app_is_in_airflows_api_server_with_a_nav_link(running_mesh: RunningMesh) -> None:
    """`mesh up` loads the mesh's plugin: its FastAPI app at /mesh, a "Data mesh" link in the UI's
    navigation, and the dashboard shows the runs Airflow made."""
    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    with airflow.client() as client:
        plugins = client.http.get("/api/v2/plugins").json()["plugins"]
        ours = next(p for p in plugins if p["name"] == "acme_mesh")
        assert [a["url_prefix"] for a in ours["fastapi_apps"]] == ["/mesh"]
        assert [(v["name"], v["href"], v["destination"]) for v in ours["external_views"]] == [
            ("Data mesh", "mesh/", "nav")]
        page = client.http.get("/mesh/", timeout=120)
    assert page.status_code == 200
    assert all(f'data-domain="{d}"' in page.text for d in mesh.policy.active_domains)
    assert all(f'data-key="{k}" data-state="materialized"' in page.text for k in running_mesh.first_wave.assets)
    assert '<script src="/mesh/static/plotly.min.js">' in page.text


def test_a_gate_failure_emits_no_event_and_stops_the_downstream(running_mesh: RunningMesh) -> None:
    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    before = mesh.store().current_version("finance.fx_rates")
    started = dt.datetime.now(dt.UTC)
    with airflow.client() as client:
        events_before = len(client.asset_events("finance.fx_rates"))
        revenue_runs = len(client.runs("finance.revenue"))
        triggered = {"finance.fx_rates": client.trigger("finance.fx_rates", {"inject_bad_rows": True})}
        downstream = mesh.graph.descendants("finance.fx_rates") | {"finance.fx_rates"}
        state = follow(client, mesh, started, downstream, timeout=180, poll=2, triggered=triggered)
        assert state.failed == ["finance.fx_rates"]
        assert state.skipped == mesh.graph.descendants("finance.fx_rates")
        run_id = state.assets["finance.fx_rates"].run_id
        tis = client.task_instances("finance.fx_rates", run_id or "")
        assert [(t["state"], t["try_number"]) for t in tis] == [("failed", 1)], "a gate failure must not retry"
        _wait_for_scheduler_loops_after(airflow, dt.datetime.fromisoformat(tis[0]["end_date"]))
        assert len(client.asset_events("finance.fx_rates")) == events_before
        assert len(client.runs("finance.revenue")) == revenue_runs
    assert mesh.store().current_version("finance.fx_rates") == before
    from governance.lineage import run_uuid

    lineage = [json.loads(line) for line in (mesh.root / ".mesh" / "lineage" / "events.jsonl").read_text().splitlines()]
    failed_run = [e["eventType"] for e in lineage if e["run"]["runId"] == run_uuid(run_id or "", "finance.fx_rates")]
    assert failed_run == ["START", "FAIL"]


def _wait_for_scheduler_loops_after(airflow: LocalAirflow, moment: dt.datetime, timeout: float = 180) -> None:
    """Wait until the scheduler has heartbeated twice after ``moment``: it has run its loop, which
    creates the asset-triggered runs of queued events, since then (a state, not a time to sleep)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = httpx.get(f"{airflow.url}/api/v2/monitor/health", timeout=10).json()
        beat = (health.get("scheduler") or {}).get("latest_scheduler_heartbeat")
        if beat and dt.datetime.fromisoformat(beat) > moment:
            seen.add(beat)
            if len(seen) >= 2:
                return
        time.sleep(0.5)
    raise AssertionError(f"the scheduler did not heartbeat twice after {moment} in {timeout:.0f} s ({seen})")


def test_a_file_dropped_in_the_source_folder_is_observed_and_runs_what_it_feeds(running_mesh: RunningMesh) -> None:
    """marketing's triggerer (``--team-name marketing``: the watcher's trigger belongs to the
    domain's team) runs the DropTrigger, which sees the file; the arrivals Asset schedules the source's DAG,
    whose task observes and publishes through the step; the source's event schedules its readers."""
    from assets.atomic import atomic_write

    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    source, fed = "marketing.web_leads", "marketing.leads_by_channel"
    drop = mesh.graph[source].spec.drop
    assert drop is not None
    rows = "".join(f"{i},e2e{i}@mail.example,web,2026-11-27,{i}\n" for i in range(1, 6))
    atomic_write(drop.folder_at(mesh.root) / "leads-e2e.csv", f"lead_id,email,channel,signed_up,campaign_id\n{rows}".encode())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        current = mesh.store().current(source)
        done = current is not None and (current.observed or {}).get("file") == "leads-e2e.csv"
        reader = mesh.store().current(fed)
        if done and reader is not None and current is not None and reader.input_versions.get(source) == current.version:
            break
        time.sleep(2)
    else:
        pytest.fail("the dropped file was not observed, or its reader did not run on it, within 300 s")
    assert current.rows == 5 and current.run_id
    with airflow.client() as client:
        runs = {r["dag_run_id"]: r for r in client.runs(source)}
        assert runs[current.run_id]["run_type"] == "asset_triggered"  # by its arrivals, not by hand
        assert client.runs(fed)[0]["run_type"] == "asset_triggered"


def _task_process(ti_id: str) -> int | None:
    """The process running task instance ``ti_id``: LocalExecutor titles it ``airflow worker -- <id>``
    (its supervisor is ``airflow worker -- LocalExecutor: <id>``)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if cmdline == f"airflow worker -- {ti_id}":
            return int(proc.name)
    return None


def test_a_task_killed_mid_run_leaves_no_partial_version_and_its_retry_succeeds(running_mesh: RunningMesh) -> None:
    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    store = mesh.store()
    staging = Path(store.root.path("sales", "orders", ".staging"))
    started = dt.datetime.now(dt.UTC)
    with airflow.client() as client:
        run_id = client.trigger("sales.orders", {"scale": 3_000_000, "seed": 5})
        deadline = time.monotonic() + 120
        while not (staging.exists() and any(staging.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.05)
        ti_id = client.task_instances("sales.orders", run_id)[0]["id"]
        victim = _task_process(ti_id)
        assert victim is not None, "no task process found while it was writing"
        os.killpg(victim, signal.SIGKILL)
        current = store.require_current("sales.orders")
        assert store.verify(current)
        for version in store.versions("sales.orders"):
            assert store.verify(store.manifest("sales.orders", version))
        follow(client, mesh, started, {"sales.orders"}, timeout=240, poll=2, triggered={"sales.orders": run_id})
        tis = client.task_instances("sales.orders", run_id)
        assert tis[0]["state"] == "success" and tis[0]["try_number"] >= 2
    # sales.orders is @hourly: a scheduled run may publish after the retry, so find the retry's own version
    made = [m for m in (store.manifest("sales.orders", v) for v in store.versions("sales.orders")) if m.run_id == run_id]
    assert len(made) == 1, f"the retried run {run_id} published {len(made)} versions"
    assert made[0].rows == 3_000_000 and store.verify(made[0])


def test_a_second_start_is_refused_with_a_clear_message(running_mesh: RunningMesh, tmp_path: Path) -> None:
    airflow = running_mesh.airflow
    with pytest.raises(MeshError, match=f"already running .* on port {airflow.port}"):
        LocalAirflow(airflow.root, port=airflow.port + 10).start()
    with pytest.raises(MeshError, match="already running .*, every component"):
        airflow.start()
    with pytest.raises(MeshError, match=f"port\\(s\\) \\[{airflow.port}"):
        LocalAirflow(tmp_path, port=airflow.port).start()
    running = set(airflow.running())
    assert running == {c.name for c in airflow.components()}
    assert {"triggerer", "triggerer-marketing"} <= running  # the team-less one, and a team's


def test_starting_again_starts_only_what_is_missing(running_mesh: RunningMesh) -> None:
    airflow = running_mesh.airflow
    before = airflow.running()
    os.killpg(before["triggerer-marketing"], signal.SIGTERM)  # as if it died, or marketing's first drop came later
    deadline = time.monotonic() + 60
    while "triggerer-marketing" in airflow.running():
        assert time.monotonic() < deadline, "the triggerer did not stop"
        time.sleep(0.5)
    assert airflow.start(timeout=300) == ["triggerer-marketing"]
    after = airflow.running()
    assert set(after) == set(before) and after["triggerer-marketing"] != before["triggerer-marketing"]
    assert {k: v for k, v in after.items() if k != "triggerer-marketing"} == \
        {k: v for k, v in before.items() if k != "triggerer-marketing"}, "nothing else was restarted"


def test_a_scheduler_that_died_is_started_again_and_runs_what_is_triggered(running_mesh: RunningMesh) -> None:
    """What `mesh demo` does when a component dies mid-cascade (``LocalAirflow.revive``)."""
    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    before = airflow.running()
    os.killpg(before["scheduler"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while "scheduler" not in airflow.dead():
        assert time.monotonic() < deadline, "the scheduler did not stop"
        time.sleep(0.5)
    assert set(airflow.revive(timeout=300)) == {"scheduler"}
    after = airflow.running()
    assert set(after) == set(before) and after["scheduler"] != before["scheduler"]
    assert airflow.dead() == {} and airflow.revive() == {}, "nothing else to start"
    started = dt.datetime.now(dt.UTC)
    with airflow.client() as client:  # new data (another seed), and the one asset that reads only it
        triggered = {"customers.customers": client.trigger("customers.customers", {"scale": E2E_SCALE, "seed": 11})}
        keys = {"customers.customers", "customers.customer_segments"}
        state = follow(client, mesh, started, keys, timeout=300, poll=2, triggered=triggered)
    assert {k: state.assets[k].state for k in keys} == dict.fromkeys(keys, "success"), \
        "the new scheduler ran the triggered run and the asset-triggered one"


def test_no_plaintext_pii_in_data_manifests_logs_or_audit_after_airflow_runs(running_mesh: RunningMesh) -> None:
    from assets import AssetContext
    from tests.airflow.conftest import E2E_SCALE

    mesh = running_mesh.mesh
    truth = mesh.graph["customers.customers"].fn(context=AssetContext(
        key="customers.customers", run_id="t", params={"scale": E2E_SCALE, "seed": 3}))
    secrets = {s.encode() for s in set(truth["email"]) | set(truth["full_name"])}
    scanned = []
    for path in (mesh.root / ".mesh").rglob("*"):
        if not path.is_file() or path.suffix in (".db", ".parquet") or path.name.startswith("airflow.db"):
            continue  # Parquet is checked decoded in tests/governance; the metadata DB holds no data values
        data = path.read_bytes()
        scanned.append(path)
        assert not [s for s in secrets if s in data], f"plaintext PII in {path}"
    kinds = {p.name for p in scanned} | {p.suffix for p in scanned}
    assert {"audit.jsonl", "manifest.json", ".log"} <= kinds, f"expected task logs, manifests and the audit log: {kinds}"


def test_after_a_failover_airflow_publishes_to_the_new_region_and_replicates_back(running_mesh: RunningMesh) -> None:
    from governance.dr import dr_status, failback, failover

    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    audit = governed(mesh).audit
    deadline = time.monotonic() + 240  # the governance DAGs of the earlier waves may still be replicating
    while not dr_status(mesh).ready and time.monotonic() < deadline:
        time.sleep(1)
    failover(mesh, "us-west", audit, actor=person("platform@acme.example"))
    try:
        started = dt.datetime.now(dt.UTC)
        with airflow.client() as client:
            triggered = {"sales.products": client.trigger("sales.products", {})}
            state = follow(client, mesh, started, {"sales.products"}, timeout=240, poll=2, triggered=triggered)
        run = state.assets["sales.products"]
        assert run.state == "success"
        version = run.extra["version"]
        west, east = mesh.store("us-west"), mesh.store("us-east")
        assert west.current_version("sales.products") == version  # the task wrote to the active region
        assert east.verify(east.manifest("sales.products", version))  # the governance DAG copied it back
        copies = audit.query(action="replicate", target="sales.products")
        assert any(c.details.get("version") == version and c.where == "region:us-east" for c in copies)
    finally:
        failback(mesh, audit, actor=person("platform@acme.example"))
    assert mesh.active_region == "us-east"


def _worker(ti: dict[str, Any]) -> str:
    """The Celery worker that ran a task instance (its hostname is ``workerI@<host>``)."""
    return str(ti["hostname"]).split("@", 1)[0]


def _first_wave_task_instances(running_mesh: RunningMesh) -> list[dict[str, Any]]:
    """The task instances of the first wave's asset runs, and of every governance DAG run since."""
    from assets.airflow.naming import asset_dag_id, governance_dag_id

    found = []
    with running_mesh.airflow.client() as client:
        for key, run in running_mesh.first_wave.assets.items():
            found += client.task_instances(asset_dag_id(key), run.run_id or "")
        for domain in running_mesh.mesh.graph.domains():
            for run in client.runs(governance_dag_id(domain)):
                found += client.task_instances(governance_dag_id(domain), run["dag_run_id"])
    return found


@ON_DISTRIBUTED
def test_tasks_ran_on_both_celery_workers(running_mesh: RunningMesh) -> None:
    tis = _first_wave_task_instances(running_mesh)
    assert all(t["state"] == "success" for t in tis if t["dag_id"] in running_mesh.first_wave.assets)
    assert {_worker(t) for t in tis if t["hostname"]} == {"worker1", "worker2"}


@ON_DISTRIBUTED
def test_the_audit_chain_verifies_after_concurrent_appends_from_both_workers(running_mesh: RunningMesh) -> None:
    from typer.testing import CliRunner

    from meshctl.cli import app

    tis = [t for t in _first_wave_task_instances(running_mesh) if t["task_id"] in ("materialize", "policy")]
    by_run = {(t["dag_id"], t["dag_run_id"]): _worker(t) for t in tis if t["task_id"] == "materialize"}
    audit = governed(running_mesh.mesh).audit
    writers = {by_run[(r.target, r.details["run_id"])] for r in audit.query(action="materialize")
               if r.source == "airflow" and (r.target, r.details.get("run_id")) in by_run}
    assert writers == {"worker1", "worker2"}, "both workers appended to the audit log"
    spans = [(_worker(t), dt.datetime.fromisoformat(t["start_date"]), dt.datetime.fromisoformat(t["end_date"]))
             for t in tis if t["start_date"] and t["end_date"]]
    assert any(a[0] != b[0] and a[1] < b[2] and b[1] < a[2] for a in spans for b in spans), \
        "no two appending tasks on different workers overlapped in time"
    result = CliRunner().invoke(app, ["audit", "verify", "--full", "--json", "--root", str(running_mesh.mesh.root)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["records"] == sum(1 for _ in audit.records())


@ON_DISTRIBUTED
def test_the_workers_share_the_mesh_state_in_postgresql(running_mesh: RunningMesh) -> None:
    from governance.audit.database import DatabaseLogStorage

    services = governed(running_mesh.mesh)
    assert isinstance(services.audit.storage, DatabaseLogStorage)
    assert services.history.database.url.startswith("postgresql")
    graph = running_mesh.mesh.graph
    watched = {k for k in graph if graph[k].spec.drop is not None}
    partitioned = {k for k in graph if graph[k].spec.partitions is not None}
    # the drop watcher runs the watched source and what it feeds, not the first wave; a partitioned
    # asset on a clock runs its latest tick's partition on its own once unpaused (catchup=False)
    on_their_own = watched | graph.descendants(*watched) | partitioned | graph.descendants(*partitioned)
    published = set(services.history.published())
    assert published - on_their_own == set(running_mesh.first_wave.assets), "every asset's run is in the shared history"
    assert watched <= published, "the watched source's run is there too"
    assert not (running_mesh.mesh.state_dir / "state" / "mesh.sqlite").exists(), "nothing fell back to the local SQLite file"
    materialized = {r.target for r in services.audit.query(action="materialize")}
    assert materialized - on_their_own == set(running_mesh.first_wave.assets) and watched <= materialized


def test_a_backfill_runs_each_day_and_the_weekly_rollup_only_for_a_week_whose_gates_all_passed(
        running_mesh: RunningMesh) -> None:
    """``mesh backfill --on airflow`` of sales.daily_orders for one week, as an Airflow backfill:
    a day whose gate failed (``bad_day``) emits no partition event, so the
    weekly roll-up of that week does not run; the same backfill again runs only that day, and its
    event completes the week: Airflow's RollupMapper runs exactly that week's partition, once."""
    from assets.airflow.naming import partition_governance_dag_id
    from meshctl.airflow_backfill import (
        latest_states,
        plan_backfill,
        start_backfill,
        wait_for_backfill,
    )
    from meshctl.airflow_cascade import wait_for_partition_governance

    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    keys = ["sales.daily_orders", "sales.weekly_orders"]
    days = [f"2026-11-{d}" for d in range(16, 23)]
    week = "2026-11-16-W47"
    plan = plan_backfill(mesh, keys, days[0], days[-1])
    assert plan.how == {"sales.daily_orders": "backfill", "sales.weekly_orders": "follows"}
    assert plan.partitions == {"sales.daily_orders": tuple(days), "sales.weekly_orders": (week,)}
    with airflow.client() as client:
        client.set_paused(partition_governance_dag_id("sales"), False)
        bad = plan_backfill(mesh, keys, days[0], days[-1])
        started = start_backfill(client, mesh, bad, max_parallel=4, conf={"bad_day": "2026-11-18"})
        first = wait_for_backfill(client, bad, started, timeout=600)
        assert first.states["sales.daily_orders"] == {d: "failed" if d == "2026-11-18" else "success" for d in days}
        assert first.states["sales.weekly_orders"] == {week: None}, "a failed day's week must not run"
        backfill_runs = [r for r in client.partition_runs("sales.daily_orders") if r["run_type"] == "backfill"]
        assert sorted(r["partition_key"] for r in backfill_runs) == days

        resumed = dt.datetime.now(dt.UTC)
        started = start_backfill(client, mesh, plan, max_parallel=4)
        assert started["sales.daily_orders"]["partitions"] == ["2026-11-18"], "resumed: only the failed day"
        second = wait_for_backfill(client, plan, started, timeout=600)
        assert second.ok and second.states["sales.weekly_orders"] == {week: "success"}
        weekly = client.partition_runs("sales.weekly_orders")
        assert [(r["partition_key"], r["run_type"]) for r in weekly] == [(week, "asset_triggered")]
        events = client.upstream_events("sales.weekly_orders", weekly[0]["dag_run_id"])
        assert sorted(e["partition_key"] for e in events) == days
        latest = latest_states(client, "sales.daily_orders")  # also yesterday's run: its clock ticked meanwhile
        assert {d: latest[d] for d in days} == dict.fromkeys(days, "success")
        # the governance of what the resumed backfill published (the day and its week) is awaited; a
        # wait from now, with nothing published since, returns without waiting for the days done before
        assert wait_for_partition_governance(client, mesh, resumed)
        assert wait_for_partition_governance(client, mesh, dt.datetime.now(dt.UTC))
    store = mesh.store()
    for day in days:
        assert store.current_version("sales.daily_orders", partition=day) is not None
    assert store.current_version("sales.weekly_orders", partition=week) is not None


def test_a_missed_deadline_is_handed_to_the_executor(running_mesh: RunningMesh) -> None:
    """sales.products is due its domain's allowed_lag (1 h) after a run's logical date: a run for
    two hours ago has missed its Deadline Alert from the start. The scheduler hands the
    callback (a SyncCallback) to the executor, which runs it: no triggerer is involved."""
    import sqlalchemy

    from tests.airflow.conftest import E2E_SCALE

    airflow = running_mesh.airflow
    logical = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0)
    with airflow.client() as client:
        run_id = client.trigger("sales.products", {"scale": E2E_SCALE, "seed": 7}, logical_date=logical)
    engine = sqlalchemy.create_engine(airflow.profile.database_url or f"sqlite:///{airflow.home / 'airflow.db'}")
    query = sqlalchemy.text("SELECT c.type, c.state, c.data FROM callback c JOIN deadline d ON d.callback_id = c.id "
                            "JOIN dag_run r ON r.id = d.dagrun_id WHERE r.dag_id = 'sales.products' AND r.run_id = :run")
    deadline = time.monotonic() + 300
    try:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(query, {"run": run_id}).all()
            if rows and rows[0][1] in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"the missed deadline's callback did not finish in 300 s: {rows}"
            time.sleep(2)
    finally:
        engine.dispose()
    [(kind, state, data)] = rows
    assert (kind, state) == ("executor", "success")
    assert "governance.airflow.ops_dag.deadline_missed" in str(data)


@ON_EMBEDDED  # the same stop and start on the distributed profile passed by hand (8.5 min with its fixture): CI's time
def test_a_new_domain_file_is_loaded_by_mesh_up_again_which_restarts_airflow(running_mesh: RunningMesh) -> None:
    """Last in this module: it restarts every component. ``mesh domain create`` writes
    dags/logistics.py while Airflow runs; Airflow reads its DAG bundles when it starts, so
    ``mesh up`` again (``start()``) restarts it, once no DAG run is queued or running, and the new
    domain's DAG is parsed and runs in its own team."""
    from governance.tenancy import create_domain
    from governance.wiring import load_mesh
    from meshctl.airflow_cascade import run_cascade, unpause_mesh, wait_for_dags

    mesh, airflow = running_mesh.mesh, running_mesh.airflow
    create_domain(mesh.root, "logistics", "logistics@acme.example", governed(mesh).audit,
                  actor=person("council@acme.example"))
    assert airflow.bundles_changed() == "new domain file(s) dags/logistics.py"
    before = airflow.running()
    deadline = time.monotonic() + 600  # the earlier tests' runs (governance DAGs, backfills) finish first
    while True:
        try:
            launched = airflow.start(timeout=600)
            break
        except MeshError as exc:
            assert "queued or running" in str(exc) and "mesh up" in str(exc), exc
            assert airflow.running() == before, "a refused restart stops nothing"
            assert time.monotonic() < deadline, f"DAG runs still active after 600 s: {exc}"
            time.sleep(3)
    after = airflow.running()
    assert set(launched) == set(after) >= set(before), (launched, before)
    assert not set(after.values()) & set(before.values()), "every component was restarted"
    assert airflow.bundles_changed() is None
    grown = load_mesh(mesh.root)
    assert "logistics.example" in grown.graph
    with airflow.client() as client:
        wait_for_dags(client, grown)  # every domain's DAGs, the new one's too, parsed without import errors
        unpause_mesh(client, grown)
        state = run_cascade(client, grown, {"logistics.example": {}}, timeout=300)
    assert state.assets["logistics.example"].state == "success", state.assets["logistics.example"]
    assert grown.store().current("logistics.example") is not None
