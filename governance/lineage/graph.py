"""Lineage of one asset across domains, with versions, and the impact of changing it.

Upstream: every asset it reads, transitively, with the version its current version read and
whether that input has moved on since (``stale``). Of a partitioned asset, the versions are
those of a partition: the one asked for or the newest, and the partitions it reads and feeds. Downstream: every asset that reads it,
transitively, with the version each read. Impact: the downstream assets grouped by domain,
with their owners, and the domains granted access to any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.errors import AssetNotMaterializedError, PartitionKeyError
from assets.mesh import Mesh
from assets.partition_mapping import downstream_partitions
from assets.partition_reads import split_label
from assets.storage import Manifest


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One asset in the lineage of another, ``depth`` steps away.

    ``current`` is this asset's current version; of a partitioned asset, that of ``partition``
    (upstream: the newest partition ``via`` read; downstream: the newest partition fed by the
    partition of ``via`` shown; otherwise its newest partition). ``read`` is a version of the
    upstream side of the edge to ``via`` (upstream, of this asset, read by ``via``; downstream,
    of ``via``, read by this asset): of a partitioned upstream side, that of its partition shown
    if read, else of the newest of the ``read_partitions``. ``stale``: a version read is no longer the current version of what it
    was read from (upstream: this input moved on since; downstream: this asset reads an older
    version of ``via``).
    """

    key: str
    depth: int
    via: str
    current: str | None
    read: str | None = None
    stale: bool = False
    partition: str | None = None
    read_partitions: tuple[str, ...] = ()

    @property
    def domain(self) -> str:
        return self.key.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "domain": self.domain, "depth": self.depth, "via": self.via,
                "current": self.current, "partition": self.partition, "read": self.read,
                "read_partitions": list(self.read_partitions), "stale": self.stale}


@dataclass(frozen=True, slots=True)
class AssetLineage:
    """The lineage of ``key``: its current version (of ``partition``, for a partitioned asset:
    the one named, or its newest), what it reads and what reads it."""

    key: str
    current: str | None
    upstream: tuple[LineageNode, ...]
    downstream: tuple[LineageNode, ...]
    partition: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "current": self.current, "partition": self.partition,
                "upstream": [n.to_dict() for n in self.upstream],
                "downstream": [n.to_dict() for n in self.downstream]}


@dataclass(frozen=True, slots=True)
class Impact:
    """What a change to ``key`` reaches: assets, their domains and owners, granted consumers."""

    key: str
    assets: tuple[str, ...]
    owners: dict[str, tuple[str, ...]]
    grantees: tuple[str, ...]

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(sorted({k.split(".", 1)[0] for k in self.assets}))

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "assets": list(self.assets), "domains": list(self.domains),
                "owners": {d: list(o) for d, o in self.owners.items()}, "grantees": list(self.grantees)}


def lineage_of(mesh: Mesh, key: str, partition: str | None = None) -> AssetLineage:
    """Upstream and downstream of ``key``, breadth first, with versions from the active region.
    Of a partitioned ``key``, the versions of ``partition`` (its newest when None) and of the
    partitions it reads and feeds; a ``partition`` of an unpartitioned asset, malformed or
    unpublished is refused with the fix."""
    store = mesh.store()
    shown: dict[str, Manifest | None] = {key: _focal(mesh, key, partition)}

    def reads(child: str, parent: str) -> list[tuple[str | None, str]]:
        """The partitions of ``parent`` (None: unpartitioned) and versions the shown version of ``child`` read."""
        manifest = shown.get(child)
        labels = manifest.input_versions if manifest else {}
        found = [(split_label(label)[1], version) for label, version in labels.items() if split_label(label)[0] == parent]
        return sorted(found, key=lambda pair: pair[0] or "")

    def current_of(asset: str, part: str | None) -> str | None:
        """The current version of partition ``part`` of ``asset`` (the shown one, not read again)."""
        own = shown.get(asset)
        return own.version if own is not None and own.partition == part else store.current_version(asset, part)

    def nodes(upstream: bool) -> tuple[LineageNode, ...]:
        found = []
        for nxt, depth, via in mesh.graph.walk((key,), upstream=upstream).steps():
            if upstream:  # the newest partition of nxt that via read; then what via read of it
                shown[nxt] = _shown(mesh, nxt, [p for p, _ in reads(via, nxt) if p is not None])
                read = reads(via, nxt)
            else:  # the newest partition of nxt that the shown partition of via feeds; what it read of via
                shown[nxt] = _shown(mesh, nxt, _fed(mesh, nxt, via, shown.get(via)))
                read = reads(nxt, via)
            cur, parent = shown[nxt], (nxt if upstream else via)
            source = shown.get(parent)
            version = next((v for p, v in read if source and p == source.partition), read[-1][1] if read else None)
            found.append(LineageNode(
                nxt, depth, via, cur.version if cur else None, version,
                any(current_of(parent, p) not in (None, v) for p, v in read),
                cur.partition if cur else None, tuple(p for p, _ in read if p is not None)))
        return tuple(found)

    up, down = nodes(upstream=True), nodes(upstream=False)
    own = shown[key]
    return AssetLineage(key, own.version if own else None, up, down,
                        own.partition if own else partition)


def _partitioned(mesh: Mesh, key: str) -> bool:
    return key in mesh.graph and mesh.graph[key].spec.partitions is not None


def _shown(mesh: Mesh, key: str, wanted: list[str]) -> Manifest | None:
    """The version of ``key`` lineage shows: its current one; of a partitioned asset, that of
    the newest of the ``wanted`` partitions that is published, else of its newest partition."""
    if key not in mesh.graph:
        return None
    store = mesh.store()
    if not _partitioned(mesh, key):
        return store.current(key)
    published = set(store.partitions(key)) if wanted else set()
    chosen = max((p for p in wanted if p in published), default=None)
    return store.current(key, chosen) if chosen else store.newest_current(key, partitioned=True)


def _fed(mesh: Mesh, reader: str, via: str, shown: Manifest | None) -> list[str]:
    """The partitions of ``reader`` that the shown partition of its input ``via`` feeds."""
    if shown is None or shown.partition is None or not _partitioned(mesh, reader):
        return []
    spec = mesh.graph[reader].spec
    return [p for param, upstream in spec.inputs.items() if upstream == via
            for p in downstream_partitions(mesh.graph.edge(reader, param), shown.partition) if p is not None]


def _focal(mesh: Mesh, key: str, partition: str | None) -> Manifest | None:
    """The shown version of the asset whose lineage is asked for (see :func:`lineage_of`)."""
    spec = mesh.graph[key].spec
    if partition is None:
        return _shown(mesh, key, [])
    if spec.partitions is None:
        raise PartitionKeyError(f"'{key}' is not partitioned, so it has no partition '{partition[:64]}'", where=key,
                                fix=f"leave out --partition: mesh lineage {key}")
    manifest = mesh.store().current(key, spec.partitions.validate(partition))
    if manifest is None:
        raise AssetNotMaterializedError(f"'{key}' has no published partition '{partition}'", where=f"{key}/{partition}",
                                        fix=f"materialize it (mesh materialize {key} --partition {partition}), or "
                                            f"name a published one (mesh list {key})")
    return manifest


def impact_of(mesh: Mesh, key: str) -> Impact:
    """Every asset downstream of ``key``, with the owners to tell, by domain."""
    assets = tuple(mesh.graph.walk((key,), upstream=False))  # breadth first; no version is read
    owners: dict[str, tuple[str, ...]] = {}
    for k in assets:
        domain = k.split(".", 1)[0]
        spec_owners = mesh.graph[k].spec.owners if k in mesh.graph else ()
        policy = mesh.policy.domains.get(domain)
        owners[domain] = tuple(dict.fromkeys((*owners.get(domain, ()), *spec_owners,
                                              *(policy.owners if policy else ()))))
    products = {key, *assets}
    grantees = tuple(sorted({g.consumer for g in mesh.policy.grants if g.product in products}))
    return Impact(key, assets, owners, grantees)
