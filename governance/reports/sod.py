"""Segregation of duties: who requested and approved the same grant, who changed a policy and
approved what it governs, and who holds permissions ``[sod]`` declares incompatible."""

from __future__ import annotations

from dataclasses import dataclass

from governance.policy import MeshPolicy
from governance.policy.roles import permissions_of
from governance.reports.records import Entry, Evidence

#: Audited commands that change the policy, by a person.
POLICY_COMMANDS = ("grant_request", "grant_revoke", "domain_create", "domain_retire", "audit_pin")


@dataclass(frozen=True, slots=True, kw_only=True)
class SodFinding(Entry):
    """``kind``: ``self_approval``, ``changed_and_approved`` or ``incompatible_permissions``;
    ``records`` the audit records that show it."""

    kind: str
    who: str
    detail: str
    rule: str | None = None
    records: tuple[int, ...] = ()


def _governs(changed: str, approved: str) -> bool:
    """Whether an approval of ``approved`` (an asset) is about what a change of ``changed`` touched."""
    return approved == changed or approved.startswith(changed + ".") or approved.split(".", 1)[0] == changed


def sod_findings(policy: MeshPolicy, evidence: Evidence) -> tuple[SodFinding, ...]:
    findings: list[SodFinding] = []
    requested: dict[str, tuple[str, int | None]] = {g.id: (g.requested_by, None) for g in policy.grants
                                                      if g.requested_by}
    for r in evidence.of("grant_request"):
        requested[str(r.details.get("grant"))] = (r.actor, r.seq)
    changes = [r for r in evidence.of(*POLICY_COMMANDS) if r.outcome != "denied" and "@" in r.actor]
    for r in evidence.in_period("grant_approve"):
        grant = str(r.details.get("grant"))
        requester, request_seq = requested.get(grant, ("", None))
        if r.actor == requester:
            refused = r.outcome == "denied"
            findings.append(SodFinding(
                kind="self_approval", who=r.actor,
                detail=f"{'tried to approve (refused)' if refused else 'approved'} grant {grant} on {r.target} "
                       f"that they requested themselves",
                records=tuple(s for s in (request_seq, r.seq) if s is not None)))
            continue
        if r.outcome == "denied":
            continue
        for change in changes:
            if change.actor == r.actor and change.seq < r.seq and _governs(change.target, r.target):
                findings.append(SodFinding(
                    kind="changed_and_approved", who=r.actor,
                    detail=f"made the policy change {change.action} on {change.target} (record {change.seq}) and "
                           f"approved grant {grant} on {r.target}", records=(change.seq, r.seq)))
                break
    people = sorted({m for role in policy.roles.values() for m in role.members})
    for rule in policy.sod.rules:
        for person in people:
            held = permissions_of(policy, person)
            if set(rule.incompatible) <= held:
                roles = sorted(role.name for role in policy.roles.values()
                               if person in role.members and set(role.permissions) & set(rule.incompatible))
                findings.append(SodFinding(
                    kind="incompatible_permissions", who=person, rule=rule.name,
                    detail=f"holds {', '.join(rule.incompatible)} (roles {', '.join(roles)})"
                           + (f": {rule.reason}" if rule.reason else "")))
    return tuple(findings)
