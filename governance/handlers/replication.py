"""The ``replication`` handler: copies each update to the standby region, verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from assets.events import AssetUpdate
from assets.mesh import Mesh
from governance.audit import AuditLog
from governance.replication import Replicator


@dataclass(frozen=True)
class ReplicationHandler:
    """Catches the standby region up on the updated asset (every version newer than its
    ``CURRENT``, in order), and re-checks the replica of the updated version, so a replay
    repairs a corrupt copy. ``mesh dr replicate`` sweeps every version.

    An unreachable standby fails the handler (and its governance task); the data run has
    already succeeded, the lag shows in ``mesh dr status`` and the next update catches up.
    """

    mesh: Mesh
    audit: AuditLog
    kind: ClassVar[str] = "replication"

    def handle(self, update: AssetUpdate) -> str:
        replicator = Replicator.for_mesh(self.mesh, self.audit, actor=f"service:replication:{update.domain}")
        if replicator is None:
            return "the mesh has one region: nothing to replicate"
        return replicator.replicate(update.key, verify=[update.version], full=False,
                                    partition=update.partition).describe()
