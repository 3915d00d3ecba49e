"""The ``lineage`` handler: the OpenLineage COMPLETE event of each published version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from assets.events import AssetUpdate
from assets.mesh import Mesh
from governance.audit import AuditEvent, AuditLog
from governance.services import governed


@dataclass(frozen=True)
class LineageHandler:
    """Emits the COMPLETE event of the update's run (the run's START came from the step).

    A replayed update emits nothing new (the outbox knows the event). A lineage backend that
    is down does not fail the handler: the event is kept for re-sending, and the miss is
    audited and shown by ``mesh lineage --status``.
    """

    mesh: Mesh
    audit: AuditLog
    kind: ClassVar[str] = "lineage"

    def handle(self, update: AssetUpdate) -> str:
        lineage = governed(self.mesh).lineage
        if not lineage.settings.enabled:
            return "lineage is off ([lineage] transport = \"none\")"
        manifest = self.mesh.store().manifest(update.key, update.version, update.partition)
        delivery = lineage.completed(manifest)
        if delivery.error:
            self.audit.append(AuditEvent(
                actor=f"service:lineage:{update.domain}", action="lineage_delivery", target=update.key,
                outcome="deferred", source=update.source,
                details={"version": update.version, "pending": delivery.pending, "error": delivery.error}))
        what = "COMPLETE emitted" if delivery.new else "COMPLETE already emitted"
        return f"{update.key}@{update.version}: {what} to {lineage.settings.namespace}; {delivery.describe()}"
