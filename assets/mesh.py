"""A loaded mesh: the policies of ``mesh.toml``, the asset graph of ``domains/``, and storage.

:meth:`Mesh.load` is the one explicit call that reads configuration and imports user code; the
CLI, the tests and the Airflow DAG files all start from it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from assets.discovery import Discovery, discover
from assets.errors import MeshError
from assets.graph import AssetGraph
from assets.regions import read_switch
from assets.selection import select
from assets.storage import StorageRoot, VersionStore
from governance.policy import MeshPolicy, load_policy

#: Folder under the mesh root for local state: run history, Airflow home, keys, lineage files.
STATE_DIR = ".mesh"


@dataclass(frozen=True)
class Mesh:
    """Policies, graph and storage of one mesh. ``errors`` holds domains that failed to load."""

    policy: MeshPolicy
    graph: AssetGraph
    errors: Mapping[str, MeshError] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str | None = None, *, strict: bool = True,
             domains: Collection[str] | None = None) -> Mesh:
        """Load ``mesh.toml`` (found from ``path``, ``$MESH_ROOT`` or the working folder) and
        the domains beside it.

        With ``strict`` any domain that fails to load raises; without it, the failing domains
        are left out and reported in :attr:`errors`.

        ``domains`` loads only those domains (an Airflow DAG file loads its own) and the domains
        they read, whose assets are needed to check access; inputs of those are edges out of
        the graph, not errors. Access between domains is checked on every load.
        """
        from governance.access import check_graph_access  # governance imports assets: import late

        policy = load_policy(path)
        active = policy.active_domains
        found = discover(policy.root, active, domains, skip=set(policy.domains) - set(active))
        if domains is not None:  # also load the domains they read, to check access to their assets
            read = {k.split(".", 1)[0] for d in found.definitions for k in d.spec.inputs.values()} - set(domains)
            extra = discover(policy.root, active, read & set(active), fresh=False)
            found = Discovery(found.definitions + extra.definitions, found.domains + extra.domains,
                              {**extra.errors, **found.errors})
            domains = [*domains, *extra.domains]
        if strict and found.errors:
            raise next(iter(found.errors.values()))
        definitions = found.definitions
        if not strict and found.errors:
            # A loaded domain that reads a broken one cannot run either; leave it out too.
            broken = set(found.errors)
            definitions = tuple(d for d in definitions
                                if not any(k.split(".", 1)[0] in broken for k in d.spec.inputs.values()))
        external = frozenset(policy.domains) - frozenset(domains) if domains is not None else frozenset()
        graph = AssetGraph.build(definitions, {d.name: d.max_assets for d in policy.domains.values()}, external)
        check_graph_access(graph, policy)
        return cls(policy=policy, graph=graph, errors=dict(found.errors))

    @property
    def root(self) -> Path:
        return self.policy.root

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def active_region(self) -> str:
        """The region that serves reads and takes new versions: the primary, or the region a
        failover switched to (read on each call, so a running process follows a switch)."""
        switch = read_switch(self.state_dir)
        if switch is None or switch.region not in self.policy.regions:
            return self.policy.settings.primary_region
        return switch.region

    @property
    def standby_region(self) -> str | None:
        """The region new versions are replicated to: the secondary while the primary is active,
        the primary after a failover; ``None`` for a mesh with one region."""
        settings = self.policy.settings
        if settings.secondary_region is None:
            return None
        active = self.active_region
        return settings.secondary_region if active == settings.primary_region else settings.primary_region

    def store(self, region: str | None = None) -> VersionStore:
        """The version store of ``region`` (the active region by default)."""
        return self._stores[region or self.active_region]

    @cached_property
    def _stores(self) -> dict[str, VersionStore]:
        from governance.retention import admit_version

        stores = {}
        for name, region in self.policy.regions.items():
            store = VersionStore(StorageRoot(region.storage_url(self.root)))
            store.admit = lambda key, size, s=store, r=name: admit_version(self.policy, s, r, key, size)
            stores[name] = store
        return stores

    def select(self, selection: str) -> list[str]:
        """Keys named by a selection string, in topological order."""
        return select(self.graph, selection)
