"""A partitioned asset's Airflow schedule: Airflow 3.3's partitioned asset scheduling.

Reads only the compiled mesh and ``airflow.sdk`` (no polars, no domain code). The mesh's
partition keys are Airflow partition keys (:data:`assets.partitions.KEY_FORMATS`), so:

- A partitioned asset none of whose inputs is read by partition (a root, or one reading its
  inputs whole) is scheduled by time: ``CronPartitionTimetable`` (one run per hour, day, ISO week
  or month, ``run_offset=-1``: the run at the end of a partition makes that partition, whose key
  is formatted with the unit's key format). Static and two-dimension partitions have no clock:
  ``PartitionedAtRuntime``, runs are made with a ``partition_key`` (``mesh backfill --on
  airflow``, the REST API, the UI).
- Otherwise ``PartitionedAssetTimetable`` on the inputs read by partition, each with the Airflow
  partition mapper of its declared mapping (:func:`airflow_mapper`): an input partition's Asset
  event runs the partitions of this asset it maps to. Inputs read whole do not schedule it
  (Airflow 3.3 queues a partition-aware DAG only on events that carry a partition key).

Mappings and what Airflow does with them:

- ``identity``: ``IdentityMapper`` (same key; also for two-dimension keys, whose parts are equal).
- ``rollup``: ``RollupMapper(StartOf<Unit>Mapper(input_format=<input's key format>,
  output_format=<asset's>), <Unit>Window())`` for hours into days, days into weeks and days
  into months: the roll-up partition runs once, when every finer partition of it has arrived.
- ``window(N)``: Airflow 3.3's windows are calendar periods, not sliding ones, so partition ``k``
  runs on input partition ``k``'s event (``IdentityMapper``) and reads the last N input
  partitions from storage. A late re-publication of an older input partition does not re-run the
  later windows that include it by itself: ``mesh backfill`` of those partitions does.
- Rolling hours up into weeks or months, or rolling up a two-dimension input, has no Airflow
  window: such an asset is scheduled like a root (:class:`PartitionedAtRuntime`) and its
  partitions are made by ``mesh backfill --on airflow`` (:func:`natively_scheduled` says which).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import (
    AssetAll,
    AssetAny,
    CronPartitionTimetable,
    DayWindow,
    IdentityMapper,
    MonthWindow,
    PartitionedAssetTimetable,
    PartitionedAtRuntime,
    RollupMapper,
    StartOfDayMapper,
    StartOfMonthMapper,
    StartOfWeekMapper,
    WeekWindow,
)

from assets.compiled import CompiledAsset, CompiledMesh
from assets.partition_mapping import PartitionEdge, Rollup, Window
from assets.partitions import CRONS, KEY_FORMATS, TimePartitions

#: The mapper/window that roll one unit up into another.
_ROLLUPS: dict[tuple[str, str], tuple[type[Any], type[Any]]] = {
    ("hour", "day"): (StartOfDayMapper, DayWindow),
    ("day", "week"): (StartOfWeekMapper, WeekWindow),
    ("day", "month"): (StartOfMonthMapper, MonthWindow),
}


def is_partitioned(spec: CompiledAsset) -> bool:
    return spec.partitions is not None


def airflow_mapper(edge: PartitionEdge) -> Any:
    """The Airflow partition mapper of one input edge read by partition, or ``None`` if Airflow
    has none for it (see the module's docstring)."""
    mapping = edge.mapping
    if isinstance(mapping, Rollup):
        up, down = edge.upstream, edge.downstream
        if not (isinstance(up, TimePartitions) and isinstance(down, TimePartitions)):
            return None
        native = _ROLLUPS.get((up.unit, down.unit))
        if native is None:
            return None
        mapper, window = native
        return RollupMapper(upstream_mapper=mapper(input_format=KEY_FORMATS[up.unit],
                                                   output_format=KEY_FORMATS[down.unit]), window=window())
    if isinstance(mapping, Window):  # sliding windows are not Airflow's: run on the newest partition
        return IdentityMapper()
    return IdentityMapper()


def partition_inputs(mesh: CompiledMesh, spec: CompiledAsset) -> list[tuple[str, PartitionEdge]]:
    """The inputs of ``spec`` read by partition (not whole), each with its edge."""
    found = []
    for read in spec.inputs:
        edge = mesh.partition_edge(spec.key, read.param)
        if not edge.reads_whole:
            found.append((read.key, edge))
    return found


def natively_scheduled(mesh: CompiledMesh, spec: CompiledAsset) -> bool:
    """Whether Airflow's partition mappers run this asset's partitions from its inputs' events."""
    return all(airflow_mapper(edge) is not None for _, edge in partition_inputs(mesh, spec))


def partitioned_schedule(mesh: CompiledMesh, spec: CompiledAsset, asset_of: Any) -> Any:
    """The timetable of a partitioned asset's DAG; ``asset_of(key)`` is the Airflow Asset of an
    input as this asset's domain hears it."""
    reads = partition_inputs(mesh, spec)
    if reads and natively_scheduled(mesh, spec):
        assets = {key: asset_of(key) for key, _ in reads}
        mappers = {assets[key]: airflow_mapper(edge) for key, edge in reads}
        condition = next(iter(assets.values())) if len(assets) == 1 else (
            AssetAll(*assets.values()) if spec.trigger == "all" else AssetAny(*assets.values()))
        return PartitionedAssetTimetable(assets=condition, partition_mapper_config=mappers,
                                         default_partition_mapper=IdentityMapper())
    partitions = spec.partitions_definition()
    if isinstance(partitions, TimePartitions) and not reads:
        cron = spec.schedule if spec.schedule and not spec.schedule.startswith("@") else CRONS[partitions.unit]
        return CronPartitionTimetable(cron, timezone="UTC", run_offset=-1, key_format=KEY_FORMATS[partitions.unit])
    return PartitionedAtRuntime()

