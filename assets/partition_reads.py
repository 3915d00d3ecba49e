"""Reading partitioned assets: one partition, a range, or all current partitions as one frame.

The step reads each input through :func:`read_input` (its partitions mapped by the input's
:class:`~assets.partition_mapping.PartitionEdge`); readers (``mesh read``, the access layer)
through :func:`scan_partitions`. Both concatenate the partitions' current versions in key order.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from assets.errors import AssetNotMaterializedError
from assets.partition_mapping import Identity, PartitionEdge, upstream_partitions
from assets.storage import Manifest, VersionStore


def input_label(key: str, partition: str | None) -> str:
    """How a manifest's ``input_versions`` names an input partition: ``sales.daily_orders/2026-01-05``
    (the key alone for an unpartitioned input)."""
    return f"{key}/{partition}" if partition is not None else key


def split_label(label: str) -> tuple[str, str | None]:
    """``(key, partition)`` of an :func:`input_label`."""
    key, _, partition = label.partition("/")
    return key, partition or None


def current_manifests(store: VersionStore, key: str, partitions: Iterable[str] | None = None) -> list[Manifest]:
    """The current manifests of ``partitions`` of ``key`` that have one (all current partitions
    when ``None``), in the order given."""
    keys = store.partitions(key) if partitions is None else partitions
    return [m for p in keys if (m := store.current(key, p)) is not None]


def scan_manifests(store: VersionStore, manifests: list[Manifest]) -> pl.LazyFrame:
    """The data of ``manifests`` (verified as read) as one frame, in order."""
    frames = [store.scan_manifest(m) for m in manifests]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")


def scan_partitions(store: VersionStore, key: str, partitions: Iterable[str] | None = None) -> tuple[pl.LazyFrame, list[Manifest]]:
    """The current versions of ``partitions`` of ``key`` (all current partitions when ``None``)
    as one frame, with the manifests read; raises when none of them has a version."""
    wanted = None if partitions is None else list(partitions)
    manifests = current_manifests(store, key, wanted)
    if not manifests:
        shown = "any partition" if wanted is None else _shown(wanted)
        raise AssetNotMaterializedError(f"'{key}' has no published version of {shown}", where=key,
                                        fix=f"materialize it first: `mesh backfill {key} --from <date> --to <date>`")
    return scan_manifests(store, manifests), manifests


def read_input(store: VersionStore, key: str, edge: PartitionEdge,
               partition: str | None) -> tuple[pl.LazyFrame, dict[str, str]]:
    """Input ``key`` as partition ``partition`` of its reader reads it: the input's current
    version (unpartitioned), its mapped partitions, or all its current partitions (read whole).

    The same partition (identity) must be published; of a window or a roll-up, the partitions
    published so far are read (at least one), so a week in progress reads its days so far.
    Returns the frame and the versions read, named by :func:`input_label`."""
    if edge.upstream is None:
        manifest = store.require_current(key)
        return store.scan_manifest(manifest), {key: manifest.version}
    wanted = upstream_partitions(edge, partition)
    manifests = current_manifests(store, key, wanted)
    if isinstance(edge.mapping, Identity) and wanted and len(manifests) < len(wanted):
        missing = [p for p in wanted if p not in {m.partition for m in manifests}]
        raise AssetNotMaterializedError(
            f"input '{key}' has no published partition {_shown(missing)}", where=f"{key}/{missing[0]}",
            fix=f"materialize it first: `mesh materialize {key} --partition {missing[0]}`")
    if not manifests:
        shown = "any partition" if wanted is None else _shown(list(wanted))
        raise AssetNotMaterializedError(f"input '{key}' has no published version of {shown}", where=key,
                                        fix=f"backfill it first: `mesh backfill {key} --from <date> --to <date>`")
    return scan_manifests(store, manifests), {input_label(key, m.partition): m.version for m in manifests}


def _shown(keys: list[str]) -> str:
    if not keys:
        return "the partitions it maps to (none in range)"
    return ", ".join(keys) if len(keys) <= 3 else f"{keys[0]} .. {keys[-1]} ({len(keys)} partitions)"
