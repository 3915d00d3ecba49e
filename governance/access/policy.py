"""Who may read what: visibility, grants and roles, deny by default.

- ``public``: any domain, and any known person (a domain owner or a role member).
- ``restricted``: the producing domain, and consumer domains holding an *active* grant.
- ``private``: the producing domain only.

A grant is active when it is unexpired and carries the approvals its policy requires: an owner
of the producing domain and a holder of ``approve_grant`` (the council), neither of them the
person who requested it. An approval counts only if it is signed: the approver's signature over
this grant's content verifies with their key registered in ``[people]`` (a name in
``approved_by`` alone, or a signature copied from another grant, approves nothing). A revoked
grant (its id and nonce kept in the state database, :mod:`governance.access.revocations`) is
never active again, even if its entry is pasted back into ``mesh.toml``. People read
what their domains may read; ``read:<domain>`` and ``read_all`` role permissions add to that.
Every decision names the policy that made it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assets.emails import normalize_email
from assets.errors import AccessError
from governance.access.revocations import requester_of, revocation_of
from governance.policy import Grant, MeshPolicy
from governance.policy.roles import approvers_with, permissions_of

if TYPE_CHECKING:
    from assets.definition import AssetSpec


class AccessDeniedError(AccessError):
    """A read was refused by policy."""


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """``allowed`` or not, and the policy that decided it."""

    allowed: bool
    reason: str


def missing_approvals(policy: MeshPolicy, grant: Grant) -> list[str]:
    """What a grant still lacks before it is active (ignoring expiry). When something is
    missing, each name in ``approved_by`` without a valid signature is listed too, with the fix."""
    from governance.identity.approvals import approval_status, unverified_approvals

    signed, _ = approval_status(policy, grant)
    asked = requester_of(policy, grant)  # the audit log's requester: requested_by can be edited
    approvals = set(signed) - {grant.requested_by, asked}
    missing = []
    if asked is not None and asked != grant.requested_by:
        missing.append(f"requested_by = \"{asked}\" (the audit log records that {asked} requested grant {grant.id}; "
                       f"mesh.toml says '{grant.requested_by}': the entry was edited, and {asked}'s own approval "
                       "counts for nothing)")
    owners = set(policy.domains[grant.producer].owners) if grant.producer in policy.domains else set()
    if not approvals & owners:
        missing.append(f"an owner of domain '{grant.producer}' ({', '.join(sorted(owners)) or 'none declared'})")
    council = approvers_with(policy, "approve_grant")
    if not approvals & council:
        missing.append(f"a holder of approve_grant ({', '.join(sorted(council)) or 'no role has it'})")
    if missing:
        missing += unverified_approvals(policy, grant)
    return missing


def active_grant(policy: MeshPolicy, product: str, consumer: str, today: dt.date) -> Grant | None:
    """The grant that lets domain ``consumer`` read ``product`` today: unexpired, approved with
    valid signatures, and never revoked; ``None`` if there is none."""
    for grant in policy.grants:
        if grant.product == product and grant.consumer == consumer and not grant.is_expired(today) \
                and not missing_approvals(policy, grant) and revocation_of(policy, grant) is None:
            return grant
    return None


def domain_may_read(policy: MeshPolicy, consumer: str, spec: AssetSpec, today: dt.date) -> AccessDecision:
    """Whether assets of domain ``consumer`` may read the asset ``spec``."""
    if consumer == spec.domain:
        return AccessDecision(True, f"same domain '{consumer}'")
    if spec.visibility == "public":
        return AccessDecision(True, f"'{spec.key}' is public")
    if spec.visibility == "private":
        return AccessDecision(False, f"'{spec.key}' is private to domain '{spec.domain}'")
    grant = active_grant(policy, spec.key, consumer, today)
    if grant is not None:
        return AccessDecision(True, f"grant [[grants]][{grant.index}] ({grant.purpose})")
    return AccessDecision(False, _why_no_grant(policy, spec.key, consumer, today))


def user_may_read(policy: MeshPolicy, user: str, spec: AssetSpec, today: dt.date) -> AccessDecision:
    """Whether person ``user`` may read the asset ``spec``. Unknown people are denied."""
    user = normalize_email(user)
    domains = [d.name for d in policy.domains.values() if user in d.owners]
    permissions = permissions_of(policy, user)
    if "read_all" in permissions:
        return AccessDecision(True, "role permission read_all")
    if f"read:{spec.domain}" in permissions:
        return AccessDecision(True, f"role permission read:{spec.domain}")
    if not domains and not permissions:
        return AccessDecision(False, f"'{user}' is no domain owner and holds no role (deny by default)")
    decisions = [domain_may_read(policy, d, spec, today) for d in domains]
    for decision in decisions:
        if decision.allowed:
            return decision
    if spec.visibility == "public":
        return AccessDecision(True, f"'{spec.key}' is public")
    reasons = "; ".join(d.reason for d in decisions) or f"'{spec.key}' is {spec.visibility}"
    return AccessDecision(False, reasons)


def _why_no_grant(policy: MeshPolicy, product: str, consumer: str, today: dt.date) -> str:
    candidates = [g for g in policy.grants if g.product == product and g.consumer == consumer]
    if not candidates:
        return (f"'{product}' is restricted and no grant in mesh.toml lets domain '{consumer}' read it "
                f"(request one: mesh access request {product} --consumer {consumer} --purpose '...' --as EMAIL)")
    live = [g for g in candidates if revocation_of(policy, g) is None]
    if not live:
        grant = candidates[-1]
        return (f"grant [[grants]][{grant.index}] for '{consumer}': {revocation_of(policy, grant)}; its entry in "
                f"mesh.toml grants nothing (request a new one: mesh access request {product} --consumer {consumer} "
                "--purpose '...' --as EMAIL)")
    grant = live[-1]
    if grant.is_expired(today):
        return f"grant [[grants]][{grant.index}] for '{consumer}' expired on {grant.expires}"
    return f"grant [[grants]][{grant.index}] for '{consumer}' lacks approval by {' and '.join(missing_approvals(policy, grant))}"
