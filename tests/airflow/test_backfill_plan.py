"""How ``mesh backfill --on airflow`` splits a backfill between Airflow backfills, DAG runs with a
partition key, and partitions that follow from their inputs' events (no Airflow needed)."""

from __future__ import annotations

import pytest

from assets.errors import MeshError
from governance.compiled import write_compiled_mesh
from governance.wiring import load_mesh
from meshctl.airflow_backfill import plan_backfill
from tests.conftest import copy_example_mesh

WEEK = tuple(f"2026-11-{d}" for d in range(16, 23))


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = copy_example_mesh(tmp_path_factory.mktemp("plan") / "mesh")
    write_compiled_mesh(root)
    return load_mesh(root)


def test_days_are_an_airflow_backfill_and_their_weeks_follow_even_unselected(mesh) -> None:  # type: ignore[no-untyped-def]
    plan = plan_backfill(mesh, ["sales.daily_orders"], WEEK[0], WEEK[-1])
    assert plan.how == {"sales.daily_orders": "backfill", "sales.weekly_orders": "follows"}
    assert plan.partitions == {"sales.daily_orders": WEEK, "sales.weekly_orders": ("2026-11-16-W47",)}


def test_a_week_only_partly_in_the_range_is_not_planned(mesh) -> None:  # type: ignore[no-untyped-def]
    plan = plan_backfill(mesh, ["sales.daily_orders"], "2026-11-18", "2026-11-24")
    assert plan.partitions["sales.weekly_orders"] == ()
    assert plan.total == 7


def test_the_week_selected_alone_is_run_by_partition_key(mesh) -> None:  # type: ignore[no-untyped-def]
    plan = plan_backfill(mesh, ["sales.weekly_orders"], WEEK[0], WEEK[-1])
    assert plan.how == {"sales.weekly_orders": "runs"}


def test_an_unpartitioned_asset_is_refused_with_the_fix(mesh) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MeshError, match="sales.orders is not partitioned") as caught:
        plan_backfill(mesh, ["sales.orders"], WEEK[0], WEEK[-1])
    assert "mesh materialize" in str(caught.value.fix)


def test_a_selected_week_runs_when_the_range_touches_it_as_in_process(mesh) -> None:  # type: ignore[no-untyped-def]
    from assets.backfill import plan

    in_process = {n.partition for n in plan(mesh, "sales.weekly_orders", first="2026-11-24", last="2026-11-25").nodes}
    on_airflow = plan_backfill(mesh, ["sales.weekly_orders"], "2026-11-24", "2026-11-25")
    assert set(on_airflow.partitions["sales.weekly_orders"]) == in_process == {"2026-11-23-W48"}


def test_a_range_holding_no_partition_is_refused_as_the_in_process_backfill_refuses_it(mesh) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MeshError, match=r"no asset of sales.daily_orders has a partition 2026-01-01 .. 2026-01-10") \
            as caught:
        plan_backfill(mesh, ["sales.daily_orders"], "2026-01-01", "2026-01-10")  # before its partitions start
    assert "mesh list" in caught.value.fix


def test_the_cli_refuses_an_unpartitioned_selection_on_airflow_before_asking_airflow(mesh) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from meshctl.cli import app

    result = CliRunner().invoke(app, ["backfill", "sales.orders", "--from", WEEK[0], "--to", WEEK[-1], "--on", "airflow",
                                      "--root", str(mesh.root), "--port", "1"])
    assert result.exit_code == 1
    assert "sales.orders is not partitioned" in result.output


@pytest.mark.parametrize(("first", "last"), [("9999-12-31", "9999-12-31"), ("9999-12-30", "9999-12-31"),
                                             ("\x00", "2026-11-22"), ("2026-11-16", "9" * 5000),
                                             ("2026-11-22", "2026-11-16"), ("0001-01-01", "9999-12-31")])
def test_hostile_bounds_are_a_plan_or_one_mesh_error(mesh, first: str, last: str) -> None:  # type: ignore[no-untyped-def]
    try:
        plan = plan_backfill(mesh, ["sales.daily_orders"], first, last)
    except MeshError as refused:
        assert refused.fix and len(str(refused)) < 600
    else:
        assert plan.partitions["sales.daily_orders"][-1] == "9999-12-31"
