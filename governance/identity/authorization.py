"""Who may perform which governance operation: checked inside each operation, deny by default.

Every operation that changes what others see or reads evidence calls :func:`require` with the
authenticated actor before it does anything: failover, failback and restore (``operate_dr``),
key rotation and retirement (``rotate_keys``), domain create and retire (``manage_domains``),
audit query and checkpoint (``read_audit``), grant approval and revocation (``approve_grant``,
or an owner of the producing domain). The CLI only authenticates; it decides nothing.

A permission is held through a role of ``mesh.toml`` ``[roles]``. Service identities
(``service:<domain>``) hold none. Every refusal names the person, the action and the fix,
and is audited.
"""

from __future__ import annotations

from assets.errors import AccessError
from assets.ports import AuditEvent, AuditSink
from governance.identity.actor import Actor
from governance.identity.errors import IdentityError
from governance.identity.provider import identity_provider
from governance.policy import MeshPolicy
from governance.policy.roles import approvers_with, permissions_of


class PermissionDeniedError(AccessError):
    """An actor lacks the permission an operation requires."""


def authenticate(policy: MeshPolicy, audit: AuditSink, claimed: str | None, *, action: str) -> Actor:
    """Prove who acts, with the provider ``[identity]`` chooses (``claimed``, from ``--as`` or
    ``MESH_USER``, only selects which of your keys acts). A failed proof is audited and raised."""
    try:
        return identity_provider(policy).authenticate(claimed)
    except IdentityError as exc:
        audit.append(AuditEvent(actor=(claimed or "unknown")[:200], action=action, target="identity",
                                outcome="denied", source="cli", details={"reason": exc.what[:500]}))
        raise


def identity_details(actor: Actor) -> dict[str, str]:
    """How the actor proved who they are, for the audit record's details."""
    return {"identity": actor.method, "evidence": actor.evidence}


def require(policy: MeshPolicy, audit: AuditSink, actor: Actor, permission: str, *, action: str,
            target: str, owners_of: str | None = None) -> None:
    """Return if ``actor`` holds ``permission`` (or, with ``owners_of``, owns that domain);
    otherwise audit the refusal and raise :class:`PermissionDeniedError`."""
    if permission in permissions_of(policy, actor.id):
        return
    domain = policy.domains.get(owners_of) if owners_of else None
    if domain is not None and actor.id in domain.owners:
        return
    holders = sorted(approvers_with(policy, permission))
    who_may = f"a holder of {permission}" + (f" or an owner of domain '{owners_of}'" if owners_of else "")
    reason = f"'{actor.id}' is not {who_may}"
    audit.append(AuditEvent(actor=actor.id, action=action, target=target, outcome="denied", source="governance",
                            details={"permission": permission, "reason": reason, **identity_details(actor)}))
    owners = sorted(domain.owners) if domain is not None else []
    who = holders + [o for o in owners if o not in holders]
    raise PermissionDeniedError(
        f"refused: {action} on {target} needs {who_may}, and {reason}", where=f"{action} on {target}",
        fix=(f"act as one of {', '.join(who)} (--as EMAIL), or " if who else "")
        + f"ask the council to give you a role with {permission} in mesh.toml [roles]")
