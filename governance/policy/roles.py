"""Who holds which permission through the roles of ``mesh.toml`` ``[roles]``."""

from __future__ import annotations

from governance.policy.model import MeshPolicy


def approvers_with(policy: MeshPolicy, permission: str) -> set[str]:
    """The people holding ``permission`` through a role (normalised e-mails)."""
    return {m for role in policy.roles.values() if permission in role.permissions for m in role.members}


def permissions_of(policy: MeshPolicy, person: str) -> frozenset[str]:
    """The permissions ``person`` (a normalised e-mail) holds through the roles of ``mesh.toml``."""
    return frozenset(p for role in policy.roles.values() if person in role.members for p in role.permissions)
