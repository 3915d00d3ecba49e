"""The governance council's policies: ``mesh.toml`` as typed, validated objects."""

from governance.policy.loader import PolicyErrors, find_mesh_file, load_policy
from governance.policy.model import (
    IDENTITY_PROVIDERS,
    JURISDICTIONS,
    PROTECTIONS,
    AuditSettings,
    Classification,
    DomainPolicy,
    Grant,
    IdentitySettings,
    KeysPolicy,
    LineagePolicy,
    MeshPolicy,
    MeshSettings,
    Person,
    Region,
    Retention,
    Role,
)

__all__ = [
    "IDENTITY_PROVIDERS",
    "JURISDICTIONS",
    "PROTECTIONS",
    "AuditSettings",
    "Classification",
    "DomainPolicy",
    "Grant",
    "IdentitySettings",
    "KeysPolicy",
    "LineagePolicy",
    "MeshPolicy",
    "MeshSettings",
    "Person",
    "PolicyErrors",
    "Region",
    "Retention",
    "Role",
    "find_mesh_file",
    "load_policy",
]
