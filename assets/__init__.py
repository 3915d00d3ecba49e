"""The asset framework: declare data products, build their graph, run and publish them.

Declaring (no side effects)::

    from assets import asset

Running, in-process, the same step that each Airflow task runs::

    from assets import materialize
    result = materialize("sales.*")
"""

from assets.definition import AssetContext, AssetDefinition, AssetSpec, asset
from assets.engine import materialize, new_run_id
from assets.errors import (
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
from assets.mesh import Mesh
from assets.results import AssetResult, RunResult, Status
from assets.step import run_asset
from assets.storage import Manifest, StorageRoot, VersionStore

__all__ = [
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
