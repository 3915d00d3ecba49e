"""A loaded mesh: its layout (root, regions), the asset graph, and the services it runs with.

The framework does not read ``mesh.toml``: the layer above does, once, in
``governance.wiring.load_mesh``, and builds a :class:`Mesh` with the policy it loaded, the
graph of ``domains/`` and a factory of the :class:`~assets.ports.Services` (audit, protection,
access, lineage, admission, update handlers). The CLI, the tests and the Airflow DAG files all
start from that call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from assets.errors import ConfigError, MeshError
from assets.graph import AssetGraph
from assets.ports import Services
from assets.regions import FileSwitches, RegionSwitches
from assets.selection import select
from assets.storage import StorageRoot, VersionStore
from assets.storage.verified import verified_files_at

#: Folder under the mesh root for local state: run history, Airflow home, keys, lineage files.
STATE_DIR = ".mesh"
#: File under ``<STATE_DIR>/state`` remembering which data files were verified, across processes.
VERIFIED_READS = "verified-reads.jsonl"


@dataclass(frozen=True, kw_only=True)
class Regions:
    """Where versions are stored: each region's storage URL, and which is primary and secondary."""

    storage: Mapping[str, str]
    primary: str
    secondary: str | None = None

    def __post_init__(self) -> None:
        for name in (self.primary, self.secondary):
            if name is not None and name not in self.storage:
                raise ConfigError(f"region '{name}' has no storage", where=f"[regions.{name}]",
                                  fix=f'add [regions.{name}] with storage = ".mesh/regions/{name}"')


@dataclass(frozen=True, kw_only=True)
class Mesh:
    """One mesh: ``name``, ``root`` (the folder of ``mesh.toml``), ``regions``, the ``graph``,
    and ``services`` built on first use by ``wiring(self)``.

    ``policy`` is the upper layer's policy object, which the framework carries but never reads;
    ``errors`` holds domains that failed to load; ``switches`` keeps the switches of the active
    region (by default the file under the state folder).
    """

    name: str
    root: Path
    regions: Regions
    graph: AssetGraph = field(repr=False)
    wiring: Callable[[Mesh], Services] = field(repr=False)
    policy: Any = field(default=None, repr=False)
    errors: Mapping[str, MeshError] = field(default_factory=dict)
    switches: RegionSwitches | None = field(default=None, repr=False)

    @cached_property
    def services(self) -> Services:
        """The audit sink, protector, authorizer, lineage sink, admission and handlers."""
        return self.wiring(self)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def active_region(self) -> str:
        """The region that serves reads and takes new versions: the primary, or the region a
        failover switched to (read on each call, so a running process follows a switch)."""
        switch = self.region_switches.read()
        if switch is None or switch.region not in self.regions.storage:
            return self.regions.primary
        return switch.region

    @property
    def region_switches(self) -> RegionSwitches:
        """Where switches of the active region are read and written."""
        return self.switches if self.switches is not None else FileSwitches(self.state_dir)

    @property
    def standby_region(self) -> str | None:
        """The region new versions are replicated to: the secondary while the primary is active,
        the primary after a failover; ``None`` for a mesh with one region."""
        primary, secondary = self.regions.primary, self.regions.secondary
        if secondary is None:
            return None
        return secondary if self.active_region == primary else primary

    def store(self, region: str | None = None) -> VersionStore:
        """The version store of ``region`` (the active region by default)."""
        return self._stores[region or self.active_region]

    @cached_property
    def _stores(self) -> dict[str, VersionStore]:
        verified = verified_files_at(self.state_dir / "state" / VERIFIED_READS)
        return {name: VersionStore(StorageRoot(url), admit=partial(self._admit, name), verified=verified)
                for name, url in self.regions.storage.items()}

    def _admit(self, region: str, key: str, size: int | None) -> None:
        self.services.admission.admit(region, key, size)

    def select(self, selection: str) -> list[str]:
        """Keys named by a selection string, in topological order."""
        return select(self.graph, selection)
