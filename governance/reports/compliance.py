"""The compliance report (SOX evidence) of a period: access review, segregation of duties,
change management, data quality and resilience, integrity. Every section is computed from the
audit log, ``mesh.toml`` and the stores; the report is signed with the audit log's key and
names the signed tree head it covers (:mod:`governance.reports.signing`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets.errors import MeshError
from assets.mesh import Mesh
from assets.ports import AuditEvent
from governance.audit.policy_changes import record_policy_change
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.reports.access_review import AccessReview, access_review
from governance.reports.changes import ChangeManagement, change_management
from governance.reports.integrity import Integrity, integrity
from governance.reports.period import Period
from governance.reports.quality import Quality, domain_quality, dr_evidence, key_ages
from governance.reports.records import Entry, Evidence
from governance.reports.sod import SodFinding, sod_findings
from governance.services import governed


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplianceReport(Entry):
    mesh: str
    period: Mapping[str, str]
    generated_at: str
    generated_by: str
    access: AccessReview
    sod: tuple[SodFinding, ...]
    changes: ChangeManagement
    quality: Quality
    integrity: Integrity

    def summary(self) -> dict[str, Any]:
        """The counts a reader looks at first."""
        return summary_of(self.to_dict())


def summary_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """The summary of a report's JSON (as signed), so a rendering can be recomputed from it."""
    access, changes, integrity = report["access"], report["changes"], report["integrity"]
    return {"access_entries": len(access["entries"]), "grants_approved": len(access["approvals"]),
            "reads_denied": sum(d.get("count", 1) for d in access["denied_reads"]), "sod_findings": len(report["sod"]),
            "policy_changes": len(changes["policy_changes"]), "unattributed_policy_changes": changes["unattributed"],
            "contract_versions": len(changes["contract_versions"]),
            "gate_failures": sum(d["gate_failures"] for d in report["quality"]["domains"]),
            "audit_verified": integrity["verified"], "records_covered": len(integrity["covered"]),
            "tree_head_size": integrity["tree_head"].get("size")}


def report_path(mesh: Mesh, period: Period, fmt: str) -> Path:
    """Where a report of ``period`` goes by default: ``<root>/.mesh/reports/compliance-<mesh>-<period>.<fmt>``."""
    return mesh.state_dir / "reports" / f"compliance-{mesh.policy.settings.name}-{period.label}.{fmt}"


def build_compliance_report(mesh: Mesh, period: Period, actor: Actor, *,
                            now: dt.datetime | None = None) -> ComplianceReport:
    """The report of ``period`` for ``actor`` (who needs ``read_audit``; the report is audited).
    A fresh tree head is signed first, so the report covers every record up to its own."""
    services = governed(mesh)
    log = services.audit
    require(mesh.policy, log, actor, "read_audit", action="report_compliance", target="audit")
    now = now or dt.datetime.now(dt.UTC)
    record_policy_change(mesh.policy, log, mesh.state_dir)
    log.append(AuditEvent(actor=actor.id, action="report_compliance", target="audit", outcome="allowed",
                          source="cli", details={"period": period.label, **identity_details(actor)}))
    head = log.checkpoint()
    records = [r for r in log.records() if r.seq < head["size"]]
    evidence = Evidence(records, period)
    store = mesh.store()

    def contract_of(key: str, version: str) -> str | None:
        try:
            return store.manifest(key, version).contract_version
        except MeshError:
            return None

    domains = list(mesh.policy.domains)
    return ComplianceReport(
        mesh=mesh.policy.settings.name, period=period.to_dict(), generated_at=now.isoformat(timespec="seconds"),
        generated_by=actor.id, access=access_review(mesh.policy, evidence, now.date()),
        sod=sod_findings(mesh.policy, evidence), changes=change_management(evidence, contract_of),
        quality=Quality(domains=domain_quality(domains, evidence), keys=key_ages(mesh, evidence, now),
                        dr=dr_evidence(mesh, evidence)),
        integrity=integrity(log, head, evidence))
