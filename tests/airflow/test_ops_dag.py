"""The Airflow side of operations calls the same monitor as the commands, on the compiled mesh."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest

from governance.airflow.ops_dag import deadline_missed, evaluate_now
from governance.compiled import write_compiled_mesh
from governance.ops.monitor import mesh_view
from governance.ops.runs import run_records
from governance.wiring import load_mesh, load_policy_mesh

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def test_the_ops_dag_and_a_missed_deadline_signal_what_the_command_sees(
        example_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_compiled_mesh(example_root)
    records = run_records(load_policy_mesh(example_root))
    records.started("sales.orders", "scheduled__00", "airflow", T0)
    records.ended("sales.orders", "scheduled__00", "airflow", T0, T0 + dt.timedelta(minutes=3), "materialized",
                  version="v1")
    at = T0 + dt.timedelta(hours=2, minutes=45)  # due 01:00 + 1 h lag, 30 min grace: breached
    with caplog.at_level(logging.WARNING, logger="mesh.ops"):
        lines = evaluate_now(example_root, clock=lambda: at)
    assert any(line.startswith("signal freshness_breach sales.orders") for line in lines)
    assert "freshness_breach sales.orders" in caplog.text
    assert evaluate_now(example_root, clock=lambda: at) == [], "each change is signalled once"
    expected = mesh_view(load_mesh(example_root)).statuses(at)["sales.orders"]
    assert expected.state == "breached", "the in-process view agrees"
    assert asyncio.run(deadline_missed(None, mesh_root=str(example_root), key="sales.orders")) is not None
