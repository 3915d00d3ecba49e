"""The asset framework: declare data products, build their graph, run and publish them.

Declaring (no side effects)::

    from assets import asset

Running, in-process, the same step that each Airflow task runs, on a mesh that the governance
layer loaded and wired (``governance.wiring.load_mesh()``)::

    from assets import materialize
    result = materialize("sales.*", mesh=mesh)

The framework depends only on the small interfaces of :mod:`assets.ports`.
"""

from assets.definition import AssetContext, AssetDefinition, AssetSpec, asset
from assets.engine import materialize, new_run_id
from assets.errors import (
    AccessError,
    ConfigError,
    ContractViolation,
    CycleError,
    DefinitionError,
    DuplicateAssetError,
    GraphError,
    MeshError,
    QuotaExceededError,
    SelectionError,
    StorageError,
    UndeclaredDomainError,
    UnknownInputError,
)
from assets.gate import CheckFailure, GateReport, run_gate
from assets.graph import AssetGraph
from assets.mesh import Mesh, Regions
from assets.ports import (
    Admission,
    AuditEvent,
    AuditSink,
    InputAuthorizer,
    LineageSink,
    ProtectedFrame,
    Protector,
    Services,
)
from assets.results import AssetResult, RunResult, Status
from assets.step import run_asset
from assets.storage import Manifest, StorageRoot, VersionStore

__all__ = [
    "AccessError",
    "Admission",
    "AuditEvent",
    "AuditSink",
    "InputAuthorizer",
    "LineageSink",
    "ProtectedFrame",
    "Protector",
    "Regions",
    "Services",
    "AssetContext",
    "AssetDefinition",
    "AssetGraph",
    "AssetResult",
    "AssetSpec",
    "CheckFailure",
    "ConfigError",
    "ContractViolation",
    "CycleError",
    "DefinitionError",
    "DuplicateAssetError",
    "GateReport",
    "GraphError",
    "Manifest",
    "Mesh",
    "MeshError",
    "QuotaExceededError",
    "RunResult",
    "SelectionError",
    "Status",
    "StorageError",
    "StorageRoot",
    "UndeclaredDomainError",
    "UnknownInputError",
    "VersionStore",
    "asset",
    "materialize",
    "new_run_id",
    "run_asset",
    "run_gate",
]
