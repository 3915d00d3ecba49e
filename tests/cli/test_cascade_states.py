"""What `mesh up --run` says of the assets that do not run in a cascade: *skipped* when
something upstream failed, *idle* when nothing new reached them (no failure)."""

from __future__ import annotations

from assets.mesh import Mesh
from meshctl.airflow_cascade import UNCHANGED, not_running


def _states(mesh: Mesh, **given: str) -> dict[str, str | None]:
    keys = {k for k in mesh.graph if mesh.graph[k].spec.partitions is None}
    return {k: given.get(k.replace(".", "__")) for k in mesh.graph.sorted(keys)}


def test_downstream_of_a_failed_run_is_skipped_and_of_unchanged_inputs_idle(example_mesh: Mesh) -> None:
    states = _states(example_mesh, finance__fx_rates="failed", customers__customers=UNCHANGED,
                     sales__orders="success", marketing__campaigns="success")
    skipped, idle = not_running(example_mesh, states)
    assert skipped == {"finance.revenue", "finance.monthly_revenue", "marketing.campaign_performance"}
    assert idle == {"customers.customer_segments"}  # its only input published nothing new
    # sales.customer_orders reads orders (new) and customers (unchanged): it runs, and so does marketing.audience
    assert "sales.customer_orders" not in skipped | idle and "marketing.audience" not in skipped | idle


def test_idle_spreads_to_what_only_idle_assets_feed(example_mesh: Mesh) -> None:
    states = _states(example_mesh, sales__orders=UNCHANGED, customers__customers=UNCHANGED)
    skipped, idle = not_running(example_mesh, states)
    assert not skipped
    assert {"sales.daily_sales", "sales.customer_orders", "marketing.audience"} <= idle


def test_an_asset_fed_by_a_skipped_and_an_unchanged_input_is_skipped(example_mesh: Mesh) -> None:
    states = _states(example_mesh, sales__orders="failed", finance__fx_rates=UNCHANGED, marketing__campaigns=UNCHANGED)
    skipped, idle = not_running(example_mesh, states)
    assert "marketing.campaign_performance" in skipped and "marketing.campaign_performance" not in idle


def test_a_triggered_asset_runs_whatever_its_inputs(example_mesh: Mesh) -> None:
    states = _states(example_mesh, sales__orders=UNCHANGED)
    assert "sales.daily_sales" in not_running(example_mesh, states)[1]
    assert "sales.daily_sales" not in not_running(example_mesh, states, triggered={"sales.daily_sales"})[1]


def test_an_asset_that_has_a_run_is_neither_skipped_nor_idle(example_mesh: Mesh) -> None:
    states = _states(example_mesh, finance__fx_rates="failed", finance__revenue="success",
                     customers__customers=UNCHANGED, customers__customer_segments="running")
    skipped, idle = not_running(example_mesh, states)
    assert "finance.revenue" not in skipped and "customers.customer_segments" not in idle
    assert "finance.monthly_revenue" not in skipped, "it follows finance.revenue, which ran"


def test_without_runs_everything_downstream_of_a_failure_is_skipped(example_mesh: Mesh) -> None:
    states = _states(example_mesh, finance__fx_rates="failed")
    skipped, _ = not_running(example_mesh, states)
    partitioned = {k for k in example_mesh.graph if example_mesh.graph[k].spec.partitions is not None}
    assert skipped == example_mesh.graph.descendants("finance.fx_rates") - partitioned
