"""Partition mappings: which input partitions a partition reads, which partitions an input
partition feeds, and which mappings are refused between which partitions."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from assets import AssetContext, DefinitionError, asset
from assets.compiled import CompiledAsset, CompiledMesh, Fingerprint
from assets.graph import AssetGraph
from assets.partition_mapping import (
    PartitionEdge,
    downstream_partitions,
    identity,
    mapping_from_dict,
    partial_first_rollup,
    rollup,
    upstream_partitions,
    whole,
    window,
)
from assets.partitions import daily, hourly, monthly, multi, static, weekly

DAYS = daily("2026-01-01")
WEEKS = weekly("2025-12-29")
REGIONS = static(["eu", "us"])
DAYS_BY_REGION = multi(date=DAYS, region=REGIONS)


def test_identity_is_the_default_between_partitioned_assets() -> None:
    edge = PartitionEdge.of(None, DAYS, DAYS)
    assert edge.mapping == identity()
    assert upstream_partitions(edge, "2026-01-03") == ("2026-01-03",)
    assert downstream_partitions(edge, "2026-01-03") == ("2026-01-03",)


def test_a_window_reads_the_last_n_days_and_each_day_feeds_the_next_n() -> None:
    edge = PartitionEdge.of(window(days=3), DAYS, DAYS)
    assert upstream_partitions(edge, "2026-01-05") == ("2026-01-03", "2026-01-04", "2026-01-05")
    assert upstream_partitions(edge, "2026-01-02") == ("2026-01-01", "2026-01-02")  # clipped at the start
    assert downstream_partitions(edge, "2026-01-05") == ("2026-01-05", "2026-01-06", "2026-01-07")


def test_a_rollup_reads_all_days_of_its_week_or_month_and_a_day_feeds_exactly_one() -> None:
    weekly_edge = PartitionEdge.of(rollup(), DAYS, WEEKS)
    assert upstream_partitions(weekly_edge, "2026-01-05-W02") == tuple(f"2026-01-{d:02d}" for d in range(5, 12))
    assert upstream_partitions(weekly_edge, "2025-12-29-W01") == ("2026-01-01", "2026-01-02", "2026-01-03",
                                                                  "2026-01-04")  # the input starts mid-week
    assert downstream_partitions(weekly_edge, "2026-01-11") == ("2026-01-05-W02",)
    monthly_edge = PartitionEdge.of(rollup(), DAYS, monthly("2026-01"))
    assert len(upstream_partitions(monthly_edge, "2026-02") or ()) == 28
    assert downstream_partitions(monthly_edge, "2026-02-28") == ("2026-02",)
    hours = PartitionEdge.of(rollup(), hourly("2026-01-01T00"), DAYS)
    assert len(upstream_partitions(hours, "2026-01-02") or ()) == 24


def test_a_rollup_whose_input_starts_inside_its_first_partition_is_found() -> None:
    assert partial_first_rollup(PartitionEdge.of(rollup(), DAYS, WEEKS)) == ("2025-12-29-W01", 4, 7)
    assert partial_first_rollup(PartitionEdge.of(rollup(), DAYS, weekly("2026-01-05"))) is None
    assert partial_first_rollup(PartitionEdge.of(rollup(), daily("2026-01-15"), monthly("2026-01"))) == ("2026-01", 17, 31)
    assert partial_first_rollup(PartitionEdge.of(window(days=3), DAYS, DAYS)) is None
    assert partial_first_rollup(PartitionEdge.of(None, DAYS, DAYS)) is None


def test_whole_inputs_and_unpartitioned_readers() -> None:
    unpartitioned_input = PartitionEdge.of(None, None, DAYS)
    assert unpartitioned_input.reads_whole
    assert upstream_partitions(unpartitioned_input, "2026-01-02") is None
    assert downstream_partitions(unpartitioned_input, None) == ()
    all_partitions = PartitionEdge.of(None, DAYS, None)
    assert upstream_partitions(all_partitions, None) is None
    assert downstream_partitions(all_partitions, "2026-01-02") == (None,)


def test_two_dimensions_map_time_and_keep_the_static_key() -> None:
    per_region = PartitionEdge.of(window(days=2), DAYS_BY_REGION, DAYS_BY_REGION)
    assert upstream_partitions(per_region, "2026-01-03+eu") == ("2026-01-02+eu", "2026-01-03+eu")
    assert downstream_partitions(per_region, "2026-01-03+us") == ("2026-01-03+us", "2026-01-04+us")
    all_regions = PartitionEdge.of(None, DAYS_BY_REGION, DAYS)
    assert upstream_partitions(all_regions, "2026-01-03") == ("2026-01-03+eu", "2026-01-03+us")
    assert downstream_partitions(all_regions, "2026-01-03+us") == ("2026-01-03",)
    each_region = PartitionEdge.of(None, DAYS, DAYS_BY_REGION)
    assert upstream_partitions(each_region, "2026-01-03+us") == ("2026-01-03",)
    assert downstream_partitions(each_region, "2026-01-03") == ("2026-01-03+eu", "2026-01-03+us")


@pytest.mark.parametrize(("mapping", "upstream", "downstream", "fix"), [
    pytest.param(None, DAYS, WEEKS, "rollup()", id="days-into-weeks-need-a-rollup"),
    pytest.param(rollup(), WEEKS, monthly("2026-01"), "days into weeks/months", id="weeks-do-not-fill-months"),
    pytest.param(rollup(), DAYS, DAYS, "days into weeks/months", id="rollup-same-unit"),
    pytest.param(window(days=7), DAYS, WEEKS, "rollup()", id="window-across-units"),
    pytest.param(window(hours=3), DAYS, DAYS, "window(days=3)", id="window-unit-mismatch"),
    pytest.param(window(days=2), None, DAYS, "read whole", id="mapping-on-unpartitioned-input"),
    pytest.param(identity(), DAYS, None, "partitions=", id="mapping-on-unpartitioned-asset"),
    pytest.param(None, DAYS, REGIONS, "whole()", id="time-input-static-asset"),
    pytest.param(None, static(["eu"]), static(["eu", "apac"]), "static([...])", id="unknown-static-key"),
    pytest.param(rollup(), REGIONS, REGIONS, "identity() or whole()", id="rollup-of-static"),
])
def test_incompatible_mappings_are_refused(mapping, upstream, downstream, fix) -> None:
    with pytest.raises(DefinitionError) as caught:
        PartitionEdge.of(mapping, upstream, downstream, where="asset 'x.y' input 'z'")
    assert fix in caught.value.fix
    assert caught.value.where == "asset 'x.y' input 'z'"


def test_window_takes_one_positive_size() -> None:
    with pytest.raises(DefinitionError, match="exactly one size"):
        window(days=2, hours=3)
    with pytest.raises(DefinitionError, match="positive"):
        window(days=0)


def test_mappings_round_trip() -> None:
    for m in (identity(), window(days=7), window(last=2), rollup(), whole()):
        assert mapping_from_dict(m.to_dict()) == m


class Rows(pa.DataFrameModel):
    n: int


def _fn(name: str, *params: str):
    def fn(**kwargs: pl.LazyFrame) -> pl.DataFrame:
        return pl.DataFrame({"n": [1]})

    import inspect
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY) for p in params])
    fn.__name__ = name
    fn.__module__ = "domains.sales.assets"
    return fn


def _mesh_of_daily_and_weekly(weekly_ins):
    daily_orders = asset(contract=Rows, contract_version="1.0.0", partitions=DAYS)(_fn("daily_orders"))
    weekly_orders = asset(contract=Rows, contract_version="1.0.0", partitions=WEEKS,
                          ins=weekly_ins)(_fn("weekly_orders", "orders"))
    return daily_orders, weekly_orders


def test_asset_declares_partitions_and_a_mapping_in_ins() -> None:
    daily_orders, weekly_orders = _mesh_of_daily_and_weekly({"orders": rollup("sales.daily_orders")})
    assert weekly_orders.spec.partitions == WEEKS
    assert dict(weekly_orders.spec.inputs) == {"orders": "sales.daily_orders"}
    graph = AssetGraph.build([daily_orders, weekly_orders])
    assert graph.edge("sales.weekly_orders", "orders").mapping == rollup()


def test_the_graph_refuses_an_incompatible_edge_naming_the_asset_and_input() -> None:
    daily_orders, weekly_orders = _mesh_of_daily_and_weekly({"orders": "sales.daily_orders"})
    with pytest.raises(DefinitionError) as caught:
        AssetGraph.build([daily_orders, weekly_orders])
    assert "sales.weekly_orders" in caught.value.where and "'orders'" in caught.value.where
    assert "rollup()" in caught.value.fix


def test_a_mapping_on_an_unpartitioned_asset_is_refused_at_declaration() -> None:
    with pytest.raises(DefinitionError, match="has none"):
        asset(contract=Rows, contract_version="1.0.0", ins={"orders": window(days=2)})(_fn("x", "orders"))


def test_the_compiled_mesh_carries_partitions_and_mappings_without_polars() -> None:
    daily_orders, weekly_orders = _mesh_of_daily_and_weekly({"orders": rollup("sales.daily_orders")})
    compiled = {
        d.key: CompiledAsset.from_spec(d.spec, pool="p", access={k: "same domain" for k in d.spec.inputs.values()})
        for d in (daily_orders, weekly_orders)}
    from assets.compiled import CompiledDomain
    mesh = CompiledMesh(name="m", fingerprint=Fingerprint(files=(), version="0"),
                        domains={"sales": CompiledDomain(name="sales")}, assets=compiled)
    again = CompiledMesh.from_json(mesh.to_json(), "mesh.json")
    edge = again.partition_edge("sales.weekly_orders", "orders")
    assert edge.upstream == DAYS and edge.downstream == WEEKS and edge.mapping == rollup()
    assert downstream_partitions(edge, "2026-01-07") == ("2026-01-05-W02",)


def test_context_carries_the_partition() -> None:
    assert AssetContext(key="sales.daily_orders", run_id="r", partition="2026-01-02").partition == "2026-01-02"
