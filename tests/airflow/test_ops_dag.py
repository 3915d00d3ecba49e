"""The Airflow side of operations calls the same monitor as the commands, on the compiled mesh."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from governance.airflow.ops_dag import deadline_missed, evaluate_now
from governance.compiled import write_compiled_mesh
from governance.ops.monitor import mesh_view
from governance.runs.records import run_records
from governance.services import governed
from governance.wiring import load_mesh, load_policy_mesh

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def test_the_ops_dag_and_a_missed_deadline_signal_what_the_command_sees(
        example_root: Path) -> None:
    write_compiled_mesh(example_root)
    records = run_records(load_policy_mesh(example_root))
    records.started("sales.orders", "scheduled__00", "airflow", T0)
    records.ended("sales.orders", "scheduled__00", "airflow", T0, T0 + dt.timedelta(minutes=3), "materialized",
                  version="v1")
    at = T0 + dt.timedelta(hours=2, minutes=45)  # due 01:00 + 1 h lag, 30 min grace: breached
    lines = evaluate_now(example_root, clock=lambda: at)
    assert any(line.startswith("signal freshness_breach sales.orders") for line in lines)
    incidents = governed(load_policy_mesh(example_root)).alerts.incidents()
    assert ("freshness_breach", "sales.orders") in {(i.kind, i.subject) for i in incidents}, "alerted"
    assert evaluate_now(example_root, clock=lambda: at) == [], "each change is signalled once"
    expected = mesh_view(load_mesh(example_root)).statuses(at)["sales.orders"]
    assert expected.state == "breached", "the in-process view agrees"
    assert deadline_missed(None, mesh_root=str(example_root), key="sales.orders") is not None


def test_a_missed_deadline_runs_on_the_executor_as_airflow_calls_it(example_root: Path) -> None:
    """The Deadline Alert's callback is a ``SyncCallback``: the scheduler queues it to the DAG's
    team executor, whose callback supervisor imports it by path and calls it with its kwargs and
    the context. Called here by that same function of Airflow's, it signals the breach."""
    import structlog
    from airflow.sdk.execution_time.callback_supervisor import execute_callback

    from governance.airflow.ops_dag import deadline_alert
    from governance.compiled import current_compiled_mesh
    from governance.policy import load_policy

    write_compiled_mesh(example_root)
    [orders] = [a for a in current_compiled_mesh(example_root).assets_of("sales") if a.key == "sales.orders"]
    alert = deadline_alert(orders, load_policy(example_root).ops, str(example_root))
    assert alert is not None and type(alert.callback).__name__ == "SyncCallback"
    now = dt.datetime.now(dt.UTC)
    records = run_records(load_policy_mesh(example_root))
    records.started("sales.orders", "scheduled__01", "airflow", now - dt.timedelta(hours=3))
    records.ended("sales.orders", "scheduled__01", "airflow", now - dt.timedelta(hours=3),
                  now - dt.timedelta(hours=2, minutes=57), "materialized", version="v1")  # due 2 h ago, past its grace
    ok, error = execute_callback(alert.callback.path, {**alert.callback.kwargs, "context": {"dag_run": None}},
                                 dag_rel_path=Path("sales.py"), bundle_path=None, log=structlog.get_logger())
    assert (ok, error) == (True, None)
    incidents = governed(load_policy_mesh(example_root)).alerts.incidents()
    assert ("freshness_breach", "sales.orders") in {(i.kind, i.subject) for i in incidents}
