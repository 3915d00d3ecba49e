"""The ``policy`` handler: federated governance checks on every published version.

Global policies, enforced by each domain's own governance run: the stored bytes match the
manifest's checksum; every column the contract classifies is protected as ``mesh.toml``
says; the region holding it is within the domain's residency; the contract version is the
one the code declares. The outcome of each check is audited; a failed check fails the
handler (and so the governance task) with the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from assets.events import AssetUpdate
from assets.mesh import Mesh
from governance.audit import AuditEvent, AuditLog
from governance.protection import classified_columns
from governance.retention import ResidencyError, check_residency


class PolicyViolationError(RuntimeError):
    """A published version breaks a global policy."""


@dataclass(frozen=True)
class PolicyCheckHandler:
    mesh: Mesh
    audit: AuditLog
    kind: ClassVar[str] = "policy"

    def handle(self, update: AssetUpdate) -> str:
        problems = self.problems(update)
        self.audit.append(AuditEvent(
            actor=f"service:governance:{update.domain}", action="policy_check", target=update.key,
            outcome="passed" if not problems else "violated", source=update.source,
            where=f"region:{self.mesh.active_region}", details={"version": update.version, "problems": problems}))
        if problems:
            raise PolicyViolationError(f"{update.key}@{update.version}: " + "; ".join(problems))
        return f"{update.key}@{update.version}: checksum, protection, residency and contract version comply"

    def problems(self, update: AssetUpdate) -> list[str]:
        store = self.mesh.store()
        manifest = store.manifest(update.key, update.version, update.partition)
        found = []
        if not store.verify(manifest):
            found.append("stored data does not match the manifest checksum")
        if update.key in self.mesh.graph:
            spec = self.mesh.graph[update.key].spec
            for column, classification in classified_columns(spec.contract).items():
                rule = self.mesh.policy.classifications.get(classification)
                wanted = f"{rule.protection}:{classification}" if rule else None
                if rule and rule.protection != "none" and manifest.protection.get(column) != wanted:
                    found.append(f"column '{column}' ({classification}) is stored as "
                                 f"{manifest.protection.get(column, 'plaintext')}, policy says {wanted}")
            if manifest.contract_version != spec.contract_version:
                found.append(f"published under contract {manifest.contract_version}, code declares "
                             f"{spec.contract_version}")
        try:
            check_residency(self.mesh.policy, update.key, self.mesh.active_region)
        except ResidencyError as exc:
            found.append(exc.args[0])
        return found
