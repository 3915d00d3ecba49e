"""Lineage of one asset across domains, with versions, and the impact of changing it.

Upstream: every asset it reads, transitively, with the version its current version read and
whether that input has moved on since (``stale``). Downstream: every asset that reads it,
transitively, with the version each read. Impact: the downstream assets grouped by domain,
with their owners, and the domains granted access to any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.mesh import Mesh
from assets.storage import Manifest


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One asset in the lineage of another, ``depth`` steps away.

    ``read`` is a version of the upstream side of the edge to ``via``: upstream, of this asset
    (read by ``via``'s current version); downstream, of ``via`` (read by this asset's current
    version). ``read_of_current`` is that upstream side's current version, so ``stale`` compares
    versions of one asset on both sides.
    """

    key: str
    depth: int
    via: str
    current: str | None
    read: str | None = None
    read_of_current: str | None = None

    @property
    def domain(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def stale(self) -> bool:
        """The version read is no longer the current version of the asset it was read from.

        Upstream: this input moved on since ``via`` read it. Downstream: this asset reads an
        older version of ``via`` than its current one.
        """
        return self.read is not None and self.read_of_current is not None and self.read != self.read_of_current

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "domain": self.domain, "depth": self.depth, "via": self.via,
                "current": self.current, "read": self.read, "stale": self.stale}


@dataclass(frozen=True, slots=True)
class AssetLineage:
    key: str
    current: str | None
    upstream: tuple[LineageNode, ...]
    downstream: tuple[LineageNode, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "current": self.current, "upstream": [n.to_dict() for n in self.upstream],
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


def lineage_of(mesh: Mesh, key: str) -> AssetLineage:
    """Upstream and downstream of ``key``, breadth first, with versions from the active region."""
    store = mesh.store()
    manifests: dict[str, Manifest | None] = {}

    def current(k: str) -> Manifest | None:
        if k not in manifests:
            manifests[k] = store.current(k) if k in mesh.graph else None
        return manifests[k]

    def nodes(upstream: bool) -> tuple[LineageNode, ...]:
        found = []
        for nxt, depth, via in mesh.graph.walk((key,), upstream=upstream).steps():
            cur = current(nxt)
            child, parent = (via, nxt) if upstream else (nxt, via)
            source = current(parent)
            found.append(LineageNode(nxt, depth, via, cur.version if cur else None, read(child, parent),
                                     source.version if source else None))
        return tuple(found)

    def read(child: str, parent: str) -> str | None:
        """The version of ``parent`` that the current version of ``child`` read."""
        manifest = current(child)
        return manifest.input_versions.get(parent) if manifest else None

    up, down = nodes(upstream=True), nodes(upstream=False)
    own = current(key)
    return AssetLineage(key, own.version if own else None, up, down)


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
