"""Change management: every change of ``mesh.toml`` and every contract version published in
the period, from the audit log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from governance.audit.policy_changes import POLICY_CHANGED
from governance.council import TRUST_APPROVED
from governance.reports.access_review import AuditedEvent, cite
from governance.reports.records import Entry, Evidence
from governance.reports.sod import POLICY_COMMANDS

#: Audited commands that write ``mesh.toml`` (a ``policy_changed`` record follows each).
_EDITS = (*POLICY_COMMANDS, "grant_approve")


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyChange(Entry):
    """A new digest of ``mesh.toml``: which tables changed, and the audited commands since the
    previous digest that explain it, or the council's approval of a change of trust alone (none:
    the file was edited by hand)."""

    seq: int
    at: str
    digest: str
    previous: str | None
    tables_changed: tuple[str, ...]
    made_by: tuple[str, ...]

    @property
    def attributed(self) -> bool:
        return bool(self.made_by) or self.previous is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractPublication(Entry):
    """A version published under a contract version its asset had not published before."""

    seq: int
    at: str
    key: str
    version: str
    contract_version: str
    previous: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeManagement(Entry):
    policy_changes: tuple[PolicyChange, ...]
    policy_commands: tuple[AuditedEvent, ...]
    contract_versions: tuple[ContractPublication, ...]
    unattributed: int


def _council_approvals(evidence: Evidence) -> dict[str, str]:
    """Each trust digest the council approved (up to the report's tree head, so a change made
    in the period and approved after it counts), with the record that cites the approval."""
    found: dict[str, str] = {}
    for r in evidence.records:
        digest = r.details.get("digest")
        if r.action == TRUST_APPROVED and r.outcome == "approved" and isinstance(digest, str):
            signers = r.details.get("signers")
            who = ", ".join(str(s) for s in signers) if isinstance(signers, list) and signers else r.actor
            found.setdefault(digest, f"{who}: the council approved trust {digest[:23]} (record {r.seq})")
    return found


def _approved_by_council(before: Mapping[str, Any], now: Mapping[str, Any], approvals: Mapping[str, str]) -> tuple[str, ...]:
    """The council's approval that explains a change no command made: only its trust changed
    (people, roles, owners, identity, council; everything else as before) to a snapshot the
    council approved. A change that also edited other tables stays a change by hand."""
    trust, others = now.get("trust"), now.get("others")
    if not isinstance(trust, str) or not isinstance(others, str) or others != before.get("others") \
            or trust == before.get("trust") or trust not in approvals:
        return ()
    return (approvals[trust],)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def change_management(evidence: Evidence, contract_of: Callable[[str, str], str | None]) -> ChangeManagement:
    """``contract_of(key, version)`` reads a contract version from the store, for records older
    than the audit field."""
    changes: list[PolicyChange] = []
    sections: dict[str, str] = {}
    since: list[str] = []
    approvals = _council_approvals(evidence)
    last: dict[str, Any] = {}
    for r in evidence.records:
        if r.action in _EDITS and r.outcome != "denied":
            since.append(f"{r.actor}: {r.action} {r.target} (record {r.seq})")
        if r.action != POLICY_CHANGED:
            continue
        listed = r.details.get("sections")
        now = {str(k): v for k, v in listed.items()} if isinstance(listed, Mapping) else {}
        changed = tuple(sorted(k for k in set(now) | set(sections) if now.get(k) != sections.get(k)))
        if evidence.period.contains(r.at):
            made_by = tuple(since) or _approved_by_council(last, r.details, approvals)
            changes.append(PolicyChange(seq=r.seq, at=r.at, digest=str(r.details.get("digest")),
                                        previous=_text(r.details.get("previous")),
                                        tables_changed=changed if sections else tuple(sorted(now)),
                                        made_by=made_by))
        sections, since, last = now, [], dict(r.details)
    commands = tuple(cite(r) for r in evidence.in_period(*_EDITS) if r.outcome != "denied")
    seen: dict[str, str] = {}
    published = []
    for r in evidence.of("materialize"):
        if r.outcome != "materialized" or not r.details.get("version"):
            continue
        version = str(r.details["version"])
        contract = r.details.get("contract_version") or contract_of(r.target, version) or "unknown"
        before = seen.get(r.target)
        if before != contract and evidence.period.contains(r.at):
            published.append(ContractPublication(seq=r.seq, at=r.at, key=r.target, version=version,
                                                 contract_version=str(contract), previous=before))
        seen[r.target] = str(contract)
    return ChangeManagement(policy_changes=tuple(changes), policy_commands=commands,
                            contract_versions=tuple(published),
                            unattributed=sum(not c.attributed for c in changes))
