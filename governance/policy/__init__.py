"""The governance council's policies: ``mesh.toml`` as typed, validated objects."""

from governance.policy.loader import PolicyErrors, find_mesh_file, load_policy
from governance.policy.model import (
    JURISDICTIONS,
    PROTECTIONS,
    Classification,
    DomainPolicy,
    Grant,
    KeysPolicy,
    LineagePolicy,
    MeshPolicy,
    MeshSettings,
    Region,
    Retention,
    Role,
)

__all__ = [
    "JURISDICTIONS",
    "PROTECTIONS",
    "Classification",
    "DomainPolicy",
    "Grant",
    "KeysPolicy",
    "LineagePolicy",
    "MeshPolicy",
    "MeshSettings",
    "PolicyErrors",
    "Region",
    "Retention",
    "Role",
    "find_mesh_file",
    "load_policy",
]
