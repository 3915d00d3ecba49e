"""Change management: every change of ``mesh.toml`` and every contract version published in
the period, from the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from governance.audit.policy_changes import POLICY_CHANGED
from governance.reports.access_review import AuditedEvent, cite
from governance.reports.records import Entry, Evidence
from governance.reports.sod import POLICY_COMMANDS

#: Audited commands that write ``mesh.toml`` (a ``policy_changed`` record follows each).
_EDITS = (*POLICY_COMMANDS, "grant_approve")


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyChange(Entry):
    """A new digest of ``mesh.toml``: which tables changed, and the audited commands since the
    previous digest that explain it (none: the file was edited by hand)."""

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


def change_management(evidence: Evidence, contract_of: Callable[[str, str], str | None]) -> ChangeManagement:
    """``contract_of(key, version)`` reads a contract version from the store, for records older
    than the audit field."""
    changes: list[PolicyChange] = []
    sections: dict[str, str] = {}
    since: list[str] = []
    for r in evidence.records:
        if r.action in _EDITS and r.outcome != "denied":
            since.append(f"{r.actor}: {r.action} {r.target} (record {r.seq})")
        if r.action != POLICY_CHANGED:
            continue
        now = dict(r.details.get("sections") or {})
        changed = tuple(sorted(k for k in set(now) | set(sections) if now.get(k) != sections.get(k)))
        if evidence.period.contains(r.at):
            changes.append(PolicyChange(seq=r.seq, at=r.at, digest=str(r.details.get("digest")),
                                        previous=r.details.get("previous"),
                                        tables_changed=changed if sections else tuple(sorted(now)),
                                        made_by=tuple(since)))
        sections, since = now, []
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
