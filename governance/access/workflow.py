"""The grant approval workflow: request a grant, approve it, each step audited.

Both steps edit ``mesh.toml`` in place (comments and layout kept, via tomlkit) under an
exclusive lock, so the council's file stays the one source of truth. A request is a
``[[grants]]`` entry with ``requested_by`` and no approvals; an approval adds the approver. A
requester cannot approve their own request, and only an owner of the producing domain or a
holder of ``approve_grant`` may approve.
"""

from __future__ import annotations

import datetime as dt

import tomlkit

from assets.errors import MeshError, did_you_mean
from governance.access.authorization import Principal, identity_details, require
from governance.access.policy import approvers_with, missing_approvals
from governance.audit import AuditEvent, AuditLog
from governance.policy import MeshPolicy, load_policy
from governance.policy.editing import edit_mesh_toml


class GrantWorkflowError(MeshError):
    """A grant request or approval was refused."""


def request_grant(policy: MeshPolicy, audit: AuditLog, *, product: str, consumer: str, purpose: str,
                  requester: str, expires: dt.date) -> int:
    """Append a pending grant; returns its index in ``[[grants]]``."""
    if consumer not in policy.domains:
        raise GrantWorkflowError(f"consumer domain '{consumer}' is not declared", where="mesh access request",
                                 fix="name a domain of mesh.toml. " + did_you_mean(consumer, policy.domains))
    if requester not in policy.domains[consumer].owners:
        _refuse(audit, requester, "grant_request", product, f"'{requester}' is not an owner of '{consumer}'")
    if expires <= dt.date.today():
        raise GrantWorkflowError(f"expiry {expires} is not in the future", where="mesh access request",
                                 fix="pass --expires with a future date")
    with edit_mesh_toml(policy.path) as doc:
        grants = doc.setdefault("grants", tomlkit.aot())
        entry = tomlkit.table()
        entry.update({"product": product, "consumer": consumer, "purpose": purpose, "requested_by": requester,
                      "approved_by": [], "expires": expires})
        grants.append(entry)
        index = len(grants) - 1
    audit.append(AuditEvent(actor=requester, action="grant_request", target=product, outcome="pending",
                            source="cli", details={"consumer": consumer, "purpose": purpose, "grant": index}))
    return index


def approve_grant(policy: MeshPolicy, audit: AuditLog, *, index: int, approver: str) -> list[str]:
    """Add ``approver``'s approval to grant ``index``; returns what it still lacks."""
    if not 0 <= index < len(policy.grants):
        raise GrantWorkflowError(f"there is no grant {index}", where="mesh access approve",
                                 fix=f"list them with `mesh access list` (0 to {len(policy.grants) - 1})")
    grant = policy.grants[index]
    if approver == grant.requested_by:
        _refuse(audit, approver, "grant_approve", grant.product, "a requester cannot approve their own request")
    owners = set(policy.domains[grant.producer].owners)
    if approver not in owners | approvers_with(policy, "approve_grant"):
        _refuse(audit, approver, "grant_approve", grant.product,
                f"'{approver}' is neither an owner of '{grant.producer}' nor a holder of approve_grant")
    with edit_mesh_toml(policy.path) as doc:
        approvals = doc["grants"][index]["approved_by"]
        if approver not in approvals:
            approvals.append(approver)
    updated = load_policy(policy.path)
    missing = missing_approvals(updated, updated.grants[index])
    audit.append(AuditEvent(actor=approver, action="grant_approve", target=grant.product,
                            outcome="active" if not missing else "pending", source="cli",
                            details={"consumer": grant.consumer, "grant": index, "missing": missing}))
    return missing


def _refuse(audit: AuditLog, actor: str, action: str, target: str, reason: str) -> None:
    audit.append(AuditEvent(actor=actor, action=action, target=target, outcome="denied", source="cli",
                            details={"reason": reason}))
    raise GrantWorkflowError(f"refused: {reason}", where=f"{action} on {target}",
                             fix="ask someone who holds the right to do it")


def revoke_grant(policy: MeshPolicy, audit: AuditLog, *, index: int, actor: Principal) -> str:
    """Remove grant ``index`` from ``mesh.toml``; the consumer loses access at its next read.
    ``actor`` needs ``approve_grant`` or to own the producing domain. Returns the product."""
    if not 0 <= index < len(policy.grants):
        raise GrantWorkflowError(f"there is no grant {index}", where="mesh access revoke",
                                 fix=f"list them with `mesh access list` (0 to {len(policy.grants) - 1})")
    grant = policy.grants[index]
    require(policy, audit, actor, "approve_grant", action="grant_revoke", target=grant.product,
            owners_of=grant.producer)
    with edit_mesh_toml(policy.path) as doc:
        entry = doc["grants"][index]
        if (entry["product"], entry["consumer"]) != (grant.product, grant.consumer):
            raise GrantWorkflowError(f"grant {index} changed since mesh.toml was read", where="mesh access revoke",
                                     fix="run `mesh access list` and revoke again")
        del doc["grants"][index]
    audit.append(AuditEvent(actor=actor.id, action="grant_revoke", target=grant.product, outcome="revoked",
                            source="cli", details={"consumer": grant.consumer, "grant": index,
                                                   **identity_details(actor)}))
    return grant.product
