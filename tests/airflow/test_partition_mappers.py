"""The Airflow partition mapper of each mapping, as the scheduler runs it (the SDK mapper encoded
and decoded like a serialized DAG's), agrees with the mesh's own mapping: an input partition's
event runs the partitions :func:`assets.partition_mapping.downstream_partitions` names, and a
roll-up waits for exactly the partitions :func:`upstream_partitions` names."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import IdentityMapper, RollupMapper
from airflow.serialization.decoders import decode_partition_mapper
from airflow.serialization.encoders import encode_partition_mapper

from assets.airflow.partitioned import airflow_mapper
from assets.partition_mapping import (
    PartitionEdge,
    downstream_partitions,
    identity,
    rollup,
    upstream_partitions,
    window,
)
from assets.partitions import daily, hourly, monthly, multi, static, weekly

DAYS = daily(start="2026-01-01")


def scheduler_side(mapper: Any) -> Any:
    """The mapper as the scheduler holds it: through the serialized DAG's encoding."""
    return decode_partition_mapper(encode_partition_mapper(mapper))


@pytest.mark.parametrize(("edge", "keys"), [
    pytest.param(PartitionEdge.of(identity(), DAYS, DAYS), ["2026-01-01", "2026-02-28"], id="identity-daily"),
    pytest.param(PartitionEdge.of(None, static(["eu", "us"]), static(["eu", "us"])), ["eu", "us"], id="identity-static"),
    pytest.param(PartitionEdge.of(None, multi(date=DAYS, region=static(["eu"])), multi(date=DAYS, region=static(["eu"]))),
                 ["2026-01-03+eu"], id="identity-multi"),
    pytest.param(PartitionEdge.of(rollup(), DAYS, weekly(start="2026-01-05")), ["2026-01-05", "2026-01-11", "2026-01-12"],
                 id="days-into-weeks"),
    pytest.param(PartitionEdge.of(rollup(), DAYS, monthly(start="2026-01")), ["2026-01-31", "2026-02-01"],
                 id="days-into-months"),
    pytest.param(PartitionEdge.of(rollup(), hourly(start="2026-01-01T00"), DAYS), ["2026-01-02T00", "2026-01-02T23"],
                 id="hours-into-days"),
])
def test_an_input_partition_runs_the_partitions_the_mesh_maps_it_to(edge: PartitionEdge, keys: list[str]) -> None:
    mapper = scheduler_side(airflow_mapper(edge))
    for key in keys:
        mapped = mapper.to_downstream(key)
        assert ((mapped,) if isinstance(mapped, str) else tuple(mapped)) == downstream_partitions(edge, key), key


@pytest.mark.parametrize(("edge", "down"), [
    pytest.param(PartitionEdge.of(rollup(), DAYS, weekly(start="2026-01-05")), "2026-01-12-W03", id="week"),
    pytest.param(PartitionEdge.of(rollup(), DAYS, monthly(start="2026-01")), "2026-02", id="month"),
    pytest.param(PartitionEdge.of(rollup(), hourly(start="2026-01-01T00"), DAYS), "2026-01-02", id="day"),
])
def test_a_rollup_waits_for_every_partition_it_reads(edge: PartitionEdge, down: str) -> None:
    mapper = scheduler_side(airflow_mapper(edge))
    assert isinstance(airflow_mapper(edge), RollupMapper) and mapper.is_rollup
    assert mapper.to_upstream(down) == frozenset(upstream_partitions(edge, down) or ())


def test_a_window_runs_the_newest_partition_of_it_and_unmapped_rollups_have_no_airflow_mapper() -> None:
    assert isinstance(airflow_mapper(PartitionEdge.of(window(days=7), DAYS, DAYS)), IdentityMapper)
    assert airflow_mapper(PartitionEdge.of(rollup(), hourly(start="2026-01-01T00"), weekly(start="2026-01-05"))) is None
