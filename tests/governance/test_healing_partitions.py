"""The self-healing runbook per partition: a partition whose gate failed is run again, that
partition only, after its back-off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from assets.backfill import plan, run_plan
from governance.healing import heal
from governance.healing.gate_failures import RERUN_AFTER
from governance.runs.records import run_records
from tests.assets.test_retries import waiting_on
from tests.conftest import person

PLATFORM = person("platform@acme.example")
DAYS = ["2026-11-16", "2026-11-17"]


def test_a_partition_whose_gate_failed_is_run_again_and_publishes_once_the_data_passes(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    run_plan(mesh, plan(mesh, "sales.daily_orders", first=DAYS[0], last=DAYS[1]), params={"bad_day": DAYS[1]})
    [failed] = [r for r in run_records(mesh).for_asset("sales.daily_orders") if r.status == "gate_failed"]
    assert failed.ended_at is not None and mesh.store().current_version("sales.daily_orders", DAYS[1]) is None
    first = mesh.store().current_version("sales.daily_orders", DAYS[0])

    [early] = [a for a in heal(mesh, failed.ended_at + RERUN_AFTER[0] - dt.timedelta(minutes=1), actor=PLATFORM).actions
               if a.remediation == "failed gate"]
    assert early.subject == f"sales.daily_orders/{DAYS[1]}" and early.outcome == "left", early
    assert "no version stays current" in early.action and "run again at" in early.action

    [action] = [a for a in heal(mesh, failed.ended_at + RERUN_AFTER[0] + dt.timedelta(minutes=1), actor=PLATFORM).actions
                if a.remediation == "failed gate"]
    assert action.outcome == "healed" and "passes its contract now" in (action.result or ""), action
    assert mesh.store().current_version("sales.daily_orders", DAYS[1]) is not None, "the day is published"
    assert mesh.store().current_version("sales.daily_orders", DAYS[0]) == first, "the other day is not run"
    later = failed.ended_at + RERUN_AFTER[0] + dt.timedelta(minutes=2)
    assert [a for a in heal(mesh, later, actor=PLATFORM).actions if a.remediation == "failed gate"] == []
