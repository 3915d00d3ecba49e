"""Access review: who can read what, under which grant or role, approved by whom, expiring
when; the grants approved in the period; the reads denied in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.access.policy import missing_approvals
from governance.access.revocations import revocation_of
from governance.identity.approvals import approval_status
from governance.policy import MeshPolicy
from governance.reports.records import Entry, Evidence

#: Role permissions that let people read data.
_READS = ("read_all", "read:", "decrypt:")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessEntry(Entry):
    """One standing right to read: ``who`` (a person, or a domain's owners) reads ``reads``
    ``via`` a grant, a role or ownership; ``approved_by`` the signed approvals that verify."""

    who: str
    reads: str
    via: str
    approved_by: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    expires: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditedEvent(Entry):
    """An audit record the report cites: its number, time, who, what and the outcome."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeniedRead(AuditedEvent):
    """A denied read the report cites, and how many refusals its record stands for (the web app
    writes an unproven caller's repeated refusals as one summary record with their ``count``)."""

    count: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessReview(Entry):
    """``trust_approvals``: the council's signatures over people, roles and owners in the period
    (``mesh policy approve``), each saying what it changed and whether it reached the quorum."""

    entries: tuple[AccessEntry, ...]
    approvals: tuple[AuditedEvent, ...]
    denied_reads: tuple[DeniedRead, ...]
    trust_approvals: tuple[AuditedEvent, ...] = ()


def _what(permission: str) -> str:
    if permission == "read_all":
        return "every domain"
    kind, _, name = permission.partition(":")
    return f"domain {name}" if kind == "read" else f"plaintext of {name} columns"


def standing_access(policy: MeshPolicy, today: dt.date) -> list[AccessEntry]:
    """Every standing right to read data that ``mesh.toml`` gives, as of ``today``."""
    entries = [AccessEntry(who=owner, reads=f"domain {d.name}", via=f"owner of domain {d.name}")
               for d in policy.active_domains.values() for owner in d.owners]
    for role in policy.roles.values():
        for permission in role.permissions:
            if permission.startswith(_READS):
                entries += [AccessEntry(who=member, reads=_what(permission), via=f"role {role.name} ({permission})")
                            for member in role.members]
    for grant in policy.grants:
        signed, invalid = approval_status(policy, grant)
        owners = policy.domains[grant.consumer].owners if grant.consumer in policy.domains else ()
        entries.append(AccessEntry(
            who=f"domain {grant.consumer} ({', '.join(owners)})", reads=grant.product,
            via=f"grant {grant.id}: {grant.purpose}", approved_by=tuple(sorted(signed)), unverified=tuple(sorted(invalid)),
            expires=grant.expires.isoformat() if grant.expires else None,
            active=not grant.is_expired(today) and not missing_approvals(policy, grant)
            and revocation_of(policy, grant) is None))
    return entries


def cite(record: object, detail: str = "") -> AuditedEvent:
    from governance.audit import AuditRecord

    assert isinstance(record, AuditRecord)
    return AuditedEvent(seq=record.seq, at=record.at, actor=record.actor, action=record.action,
                        target=record.target, outcome=record.outcome, detail=detail)


def access_review(policy: MeshPolicy, evidence: Evidence, today: dt.date) -> AccessReview:
    approvals = tuple(cite(r, f"grant {r.details.get('grant')} for {r.details.get('consumer')}")
                      for r in evidence.in_period("grant_approve") if r.outcome != "denied")
    denied = tuple(DeniedRead(**cite(r, str(r.details.get("reason", ""))).to_dict(), count=_count(r.details))
                   for r in evidence.in_period("read") if r.outcome == "denied")
    trust = tuple(cite(r, _trust_detail(r.details)) for r in evidence.in_period("trust_signed"))
    return AccessReview(entries=tuple(standing_access(policy, today)), approvals=approvals, denied_reads=denied,
                        trust_approvals=trust)


def _trust_detail(details: Mapping[str, Any]) -> str:
    changes = details.get("changes")
    what = "; ".join(str(c) for c in changes) if isinstance(changes, list) else ""
    return f"{details.get('signed')} of {details.get('quorum')} signature(s): {what}"


def _count(details: object) -> int:
    """The refusals a denied read's record stands for: its ``count``, else one."""
    count = details.get("count", 1) if isinstance(details, Mapping) else 1
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
