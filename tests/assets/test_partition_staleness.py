"""Staleness per partition: each partition of a partitioned asset is stale on its own (its code,
contract, or the input partitions it reads changed), `mesh list` says which, and
`mesh materialize --stale` runs exactly the stale partitions and what they feed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assets import Status
from assets.backfill import backfill
from assets.staleness import partition_staleness, staleness, summary
from assets.step import run_asset
from governance.wiring import load_mesh
from meshctl.cli import app

DAYS = ["2026-11-16", "2026-11-17", "2026-11-18"]  # a Monday: all three in the week of 2026-11-16
WEEK = "2026-11-16-W47"


def _backfilled(root: Path):
    mesh = load_mesh(root)
    assert backfill("sales.daily_orders+", mesh=mesh, first=DAYS[0], last=DAYS[-1]).ok
    return mesh


def test_a_backfilled_range_is_up_to_date_partition_by_partition(example_root: Path) -> None:
    mesh = _backfilled(example_root)
    assert [s.key for s in partition_staleness(mesh, "sales.daily_orders")] == [f"sales.daily_orders/{d}" for d in DAYS]
    assert not any(s.stale for s in partition_staleness(mesh, "sales.daily_orders"))
    assert not summary(mesh, "sales.weekly_orders").stale
    assert staleness(mesh, "sales.daily_orders", "2026-11-19").reasons == ("never materialized",)


def test_a_new_version_of_one_day_makes_only_its_week_stale(example_root: Path) -> None:
    mesh = _backfilled(example_root)
    again = run_asset(mesh, "sales.daily_orders", run_id="reseeded", params={"seed": 99}, partition=DAYS[1])
    assert again.status is Status.MATERIALIZED
    assert not any(s.stale for s in partition_staleness(mesh, "sales.daily_orders"))
    week = staleness(mesh, "sales.weekly_orders", WEEK)
    assert week.reasons == (f"input sales.daily_orders/{DAYS[1]} has a newer version",)
    assert summary(mesh, "sales.weekly_orders").reasons == (
        f"1 of 1 partitions stale ({WEEK}: input sales.daily_orders/{DAYS[1]} has a newer version)",)


def test_a_day_published_after_its_week_rolled_up_makes_the_week_stale(example_root: Path) -> None:
    mesh = _backfilled(example_root)
    assert run_asset(mesh, "sales.daily_orders", run_id="late-day", partition="2026-11-19").status is Status.MATERIALIZED
    assert staleness(mesh, "sales.weekly_orders", WEEK).reasons == (
        "input sales.daily_orders/2026-11-19 was not read by the current version",)


def test_a_partitioned_asset_with_no_partition_is_stale_as_a_whole(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert summary(mesh, "sales.daily_orders").reasons == ("no partition published",)


def test_list_and_materialize_stale_run_exactly_the_stale_partitions(example_root: Path) -> None:
    _backfilled(example_root)
    path = example_root / "domains" / "sales" / "assets.py"
    old = '"""The web shop\'s orders of one day'
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, '"""(Edited.) The web shop\'s orders of one day', 1))
    mesh = load_mesh(example_root)
    assert [s.reasons for s in partition_staleness(mesh, "sales.daily_orders")] == [("code changed",)] * 3

    listed = CliRunner().invoke(app, ["list", "sales.daily_orders", "--json", "--root", str(example_root)])
    assert listed.exit_code == 0, listed.stderr
    row = json.loads(listed.stdout)[0]
    assert row["stale"] and row["stale_reasons"][0].startswith("3 of 3 partitions stale (2026-11-16: code changed;")

    before = {d: mesh.store().current_version("sales.daily_orders", d) for d in DAYS}
    done = CliRunner().invoke(app, ["materialize", "--stale", "sales.daily_orders+", "--json", "--root", str(example_root)])
    assert done.exit_code == 0, done.stdout + done.stderr
    ran = {(a["key"], a.get("partition")): a["status"] for a in json.loads(done.stdout)["assets"]}
    assert ran == {**{("sales.daily_orders", d): "materialized" for d in DAYS},
                   ("sales.weekly_orders", WEEK): "materialized"}
    assert all(mesh.store().current_version("sales.daily_orders", d) != before[d] for d in DAYS)
    assert not summary(mesh, "sales.daily_orders").stale and not summary(mesh, "sales.weekly_orders").stale

    again = CliRunner().invoke(app, ["materialize", "--stale", "sales.daily_orders+", "--root", str(example_root)])
    assert again.exit_code == 0 and "nothing is stale" in again.stdout


def test_stale_refuses_a_partition_with_the_fix(example_root: Path) -> None:
    done = CliRunner().invoke(app, ["materialize", "--stale", "--partition", DAYS[0], "--root", str(example_root)])
    assert done.exit_code != 0 and "leave out --partition" in done.stdout + done.stderr
