"""`mesh ops status`, `mesh ops report` and the metrics endpoint on the example mesh."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx

from assets import materialize
from governance.ops.clock import ManualClock, with_clock
from governance.ops.metrics import serve_metrics
from governance.runs.records import run_records
from governance.wiring import load_mesh
from meshctl.cli.demo import TRY
from tests.cli.test_cli import mesh

H = dt.timedelta(hours=1)


def test_status_after_a_run_then_a_breach_with_its_reason(example_root: Path) -> None:
    code, out, _ = mesh(example_root, "ops", "status", "--json")
    assert code == 0 and {s["state"] for s in json.loads(out)} == {"unknown"}
    assert mesh(example_root, "materialize", "*")[0] == 0
    code, out, _ = mesh(example_root, "ops", "status", "--json")
    found = {s["key"]: s for s in json.loads(out)}
    assert code == 0 and len(found) == 18 and {s["state"] for s in found.values()} == {"fresh"}
    assert all(s["version"] and s["deadline"] and s["age_seconds"] < 600 for s in found.values())
    records = run_records(load_mesh(example_root))  # orders: its last good run 5 h ago, then a failure
    now = dt.datetime.now(dt.UTC)
    records.started("sales.orders", "old", "airflow", now - 5 * H)
    records.ended("sales.orders", "old", "airflow", now - 5 * H, now - 5 * H, "materialized", version="v-old")
    code, out, _ = mesh(example_root, "ops", "status", "sales.orders", "--json")
    assert json.loads(out)[0]["state"] == "fresh", "the newest publish counts, not the last recorded"
    code, out, err = mesh(example_root, "ops", "status", "sales.*")
    assert code == 0 and "sales.customer_orders" in out and "finance" not in out


def test_status_of_a_breached_asset_exits_non_zero_and_says_why(example_root: Path) -> None:
    records = run_records(load_mesh(example_root))
    now = dt.datetime.now(dt.UTC)
    records.started("sales.orders", "r1", "airflow", now - 6 * H)
    records.ended("sales.orders", "r1", "airflow", now - 6 * H, now - 6 * H, "materialized", version="v1")
    records.started("sales.orders", "r2", "airflow", now - 2 * H)
    records.ended("sales.orders", "r2", "airflow", now - 2 * H, now - 2 * H, "error", error="upstream API 503")
    code, out, _ = mesh(example_root, "ops", "status", "sales.orders", "--json")
    [orders] = json.loads(out)
    assert code == 1 and orders["state"] == "breached" and "upstream API 503" in orders["reason"]
    code, out, _ = mesh(example_root, "ops", "status", "sales.orders")
    assert "breached" in out and "r2 error" in out


def test_an_asset_whose_current_manifest_is_damaged_is_shown_unreadable(example_root: Path) -> None:
    assert mesh(example_root, "materialize", "*")[0] == 0
    store = load_mesh(example_root).store()
    current = store.require_current("sales.daily_sales")
    manifest = Path(store.root.path("sales", "daily_sales", current.version, "manifest.json"))
    manifest.write_text('{"key": "sales.daily_sales"')  # cut short: not JSON
    code, out, _ = mesh(example_root, "ops", "status", "--json")
    found = {s["key"]: s for s in json.loads(out)}
    assert code == 1, "an unreadable current version fails the status like a breach"
    daily = found["sales.daily_sales"]
    assert daily["readable"] is False and "cannot be read" in daily["reason"] and "mesh ops heal" in daily["reason"]
    assert all(s["readable"] for k, s in found.items() if k != "sales.daily_sales")
    code, out, _ = mesh(example_root, "ops", "status", "sales.daily_sales")
    assert code == 1 and "unreadable" in out


def test_a_missing_current_pointer_and_a_damaged_partition_are_shown_unreadable(example_root: Path) -> None:
    assert mesh(example_root, "materialize", "*")[0] == 0
    store = load_mesh(example_root).store()
    Path(store.root.path("sales", "orders", "CURRENT")).unlink()
    [day] = store.partitions("sales.daily_orders")
    version = store.require_current("sales.daily_orders", day).version
    Path(store.root.path("sales", "daily_orders", day, version, "manifest.json")).write_text("[]")
    code, out, _ = mesh(example_root, "ops", "status", "sales.orders sales.daily_orders", "--json")
    found = {s["key"]: s for s in json.loads(out)}
    assert code == 1
    assert not found["sales.orders"]["readable"] and "CURRENT pointer is missing" in found["sales.orders"]["reason"]
    daily = found["sales.daily_orders"]
    assert not daily["readable"] and f"partition {day}:" in daily["reason"], daily


def test_report_prints_targets_and_json(example_root: Path) -> None:
    assert mesh(example_root, "materialize", "*")[0] == 0
    code, out, _ = mesh(example_root, "ops", "report", "--since", "1d", "--json")
    report = json.loads(out)
    assert code == 0 and set(report["domains"]) == {"customers", "finance", "marketing", "sales"}
    assert report["mesh"]["targets"]["sla_target"] == 99.5 and report["mesh"]["incidents"] == 0
    assert report["mesh"]["targets"]["mttr_target_seconds"] == 900
    code, out, _ = mesh(example_root, "ops", "report")
    assert code == 0 and "SLA (fresh)" in out and "mesh" in out
    code, _, err = mesh(example_root, "ops", "report", "--since", "a month")
    assert code == 1 and "Fix:" in err and "Traceback" not in err


def test_metrics_are_scraped_over_http(example_root: Path) -> None:
    clock = ManualClock(dt.datetime(2026, 3, 2, 0, 10, tzinfo=dt.UTC))
    loaded = with_clock(load_mesh(example_root), clock)
    materialize("sales.orders", mesh=loaded)
    clock.advance(4 * H)  # orders: due 01:10, grace 30 min: breached
    server, thread = serve_metrics(loaded, 0)
    try:
        body = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=30).text
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert 'mesh_asset_freshness_state{asset="sales.orders",domain="sales",state="breached"} 1.0' in body
    assert 'mesh_asset_freshness_state{asset="sales.orders",domain="sales",state="fresh"} 0.0' in body
    assert 'mesh_asset_freshness_state{asset="finance.revenue",domain="finance",state="unknown"} 1.0' in body
    assert 'mesh_asset_age_seconds{asset="sales.orders",domain="sales"} 14400.0' in body
    assert 'mesh_asset_runs_total{asset="sales.orders",domain="sales",status="materialized"} 1.0' in body
    assert 'mesh_asset_run_duration_seconds_count{asset="sales.orders",domain="sales"} 1.0' in body
    assert 'mesh_asset_gate_failures_total{asset="sales.orders",domain="sales"} 0.0' in body
    assert 'mesh_replication_lag_seconds{asset="sales.orders"}' in body
    assert 'mesh_open_incidents{domain="sales"} 0.0' in body


def test_a_scrape_of_a_damaged_state_database_says_so_in_mesh_metrics_up(example_root: Path) -> None:
    loaded = load_mesh(example_root)
    materialize("sales.orders", mesh=loaded)
    server, thread = serve_metrics(loaded, 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        healthy = httpx.get(url, timeout=30)
        for part in (example_root / ".mesh/state").glob("mesh.sqlite*"):
            part.write_bytes(b"not a database" * 100)
        damaged = httpx.get(url, timeout=30)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert healthy.status_code == 200 and "mesh_metrics_up 1.0" in healthy.text
    assert damaged.status_code == 200 and "mesh_metrics_up 0.0" in damaged.text
    assert "mesh_asset_freshness_state" not in damaged.text


def test_the_in_process_demo_ends_with_the_ops_status_of_every_asset(example_root: Path) -> None:
    code, out, err = mesh(example_root, "demo", "--in-process", "--scale", "2000")
    assert code == 0, err
    tail = out[out.index("Operations"):]
    assert "ops status: 18 of 18 assets fresh" in tail
    assert all(key in tail for key in ("sales.orders", "finance.monthly_revenue", "marketing.audience"))
    for command in TRY:  # what the summary suggests trying next runs as printed (`mesh read` needs --as)
        assert " ".join(command) in " ".join(out.split())
        code, _, err = mesh(example_root, *command)
        assert code == 0, (command, err)


def test_serve_metrics_serves_until_stopped(example_root: Path) -> None:
    import os
    import re
    import subprocess

    from tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if k != "MESH_ROOT"} | {"PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([str(REPO / ".venv/bin/mesh"), "ops", "serve-metrics", "--port", "0", "--root",
                               str(example_root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once it listens
        match = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        assert match, line + (server.stderr.read() if server.stderr and server.poll() is not None else "")
        body = httpx.get(match.group(0), timeout=60).text
        assert 'mesh_asset_freshness_state{asset="sales.orders",domain="sales",state="unknown"} 1.0' in body
        assert "# TYPE mesh_asset_runs_total counter" in body
    finally:
        server.terminate()
        server.wait(timeout=30)
