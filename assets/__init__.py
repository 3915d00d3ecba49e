"""The asset framework: declare data products, build their graph, run and publish them.

Declaring (no side effects)::

    from assets import asset

Running, in-process, the same step that each Airflow task runs, on a mesh that the governance
layer loaded and wired (``governance.wiring.load_mesh()``)::

    from assets import materialize
    result = materialize("sales.*", mesh=mesh)

The framework depends only on the small interfaces of :mod:`assets.ports`.

Importing the package imports none of its modules (nor polars or pandera): each name below
loads its module when first used, so that Airflow's parser, which reads only the compiled mesh
(:mod:`assets.compiled`), does not pay for the engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assets.check_failure import CheckFailure
    from assets.definition import AssetContext, AssetDefinition, AssetSpec, asset
    from assets.engine import materialize
    from assets.errors import (
        AccessError,
        ConfigError,
        ContractViolation,
        CycleError,
        DefinitionError,
        DuplicateAssetError,
        GraphError,
        MeshError,
        PartitionKeyError,
        QuotaExceededError,
        SelectionError,
        StorageError,
        UndeclaredDomainError,
        UnknownInputError,
    )
    from assets.gate import GateReport, run_gate
    from assets.graph import AssetGraph
    from assets.mesh import Mesh, Regions
    from assets.observe import observe
    from assets.partition_mapping import (
        PartitionEdge,
        downstream_partitions,
        identity,
        rollup,
        upstream_partitions,
        whole,
        window,
    )
    from assets.partitions import (
        MultiPartitions,
        StaticPartitions,
        TimePartitions,
        daily,
        hourly,
        monthly,
        multi,
        static,
        weekly,
    )
    from assets.ports import (
        Admission,
        AuditEvent,
        AuditSink,
        FailedRuns,
        InputAuthorizer,
        LineageSink,
        ProtectedFrame,
        Protector,
        RunEnded,
        RunObserver,
        RunStarted,
        Services,
    )
    from assets.results import AssetResult, RunResult, Status
    from assets.run_id import new_run_id
    from assets.sources import source_asset
    from assets.stale_runs import materialize_stale
    from assets.staleness import Staleness
    from assets.step import run_asset
    from assets.storage import Manifest, StorageRoot, VersionStore

#: Each public name, by the module that defines it. The imports above (for type checkers) and
#: ``__all__`` name the same; tests/assets/test_package.py checks it.
_EXPORTS = {
    "assets.definition": ("AssetContext", "AssetDefinition", "AssetSpec", "asset"),
    "assets.engine": ("materialize",),
    "assets.run_id": ("new_run_id",),
    "assets.errors": ("AccessError", "ConfigError", "ContractViolation", "CycleError", "DefinitionError",
                      "DuplicateAssetError", "GraphError", "MeshError", "PartitionKeyError", "QuotaExceededError", "SelectionError",
                      "StorageError", "UndeclaredDomainError", "UnknownInputError"),
    "assets.check_failure": ("CheckFailure",),
    "assets.gate": ("GateReport", "run_gate"),
    "assets.graph": ("AssetGraph",),
    "assets.mesh": ("Mesh", "Regions"),
    "assets.partition_mapping": ("PartitionEdge", "downstream_partitions", "identity", "rollup", "upstream_partitions",
                                 "whole", "window"),
    "assets.partitions": ("MultiPartitions", "StaticPartitions", "TimePartitions", "daily", "hourly", "monthly",
                          "multi", "static", "weekly"),
    "assets.observe": ("observe",),
    "assets.ports": ("Admission", "AuditEvent", "AuditSink", "FailedRuns", "InputAuthorizer", "LineageSink",
                     "ProtectedFrame",
                     "Protector", "RunEnded", "RunObserver", "RunStarted", "Services"),
    "assets.results": ("AssetResult", "RunResult", "Status"),
    "assets.sources": ("source_asset",),
    "assets.staleness": ("Staleness",),
    "assets.stale_runs": ("materialize_stale",),
    "assets.step": ("run_asset",),
    "assets.storage": ("Manifest", "StorageRoot", "VersionStore"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "AccessError",
    "Admission",
    "AssetContext",
    "AssetDefinition",
    "AssetGraph",
    "AssetResult",
    "AssetSpec",
    "AuditEvent",
    "AuditSink",
    "CheckFailure",
    "ConfigError",
    "ContractViolation",
    "CycleError",
    "DefinitionError",
    "DuplicateAssetError",
    "FailedRuns",
    "GateReport",
    "GraphError",
    "InputAuthorizer",
    "LineageSink",
    "Manifest",
    "Mesh",
    "MeshError",
    "MultiPartitions",
    "PartitionEdge",
    "PartitionKeyError",
    "ProtectedFrame",
    "Protector",
    "QuotaExceededError",
    "Regions",
    "RunEnded",
    "RunObserver",
    "RunResult",
    "RunStarted",
    "SelectionError",
    "Services",
    "Staleness",
    "StaticPartitions",
    "Status",
    "StorageError",
    "StorageRoot",
    "TimePartitions",
    "UndeclaredDomainError",
    "UnknownInputError",
    "VersionStore",
    "asset",
    "daily",
    "downstream_partitions",
    "hourly",
    "identity",
    "materialize",
    "materialize_stale",
    "monthly",
    "multi",
    "new_run_id",
    "observe",
    "rollup",
    "run_asset",
    "run_gate",
    "source_asset",
    "static",
    "upstream_partitions",
    "weekly",
    "whole",
    "window",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'assets' has no attribute '{name}'")
    value = getattr(import_module(_MODULE_OF[name]), name)
    globals()[name] = value  # looked up once
    return value
