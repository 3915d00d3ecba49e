"""Rollback: point an asset's ``CURRENT`` in the active region back at an older version.

``CURRENT`` otherwise only moves forward (a publish of an older version never wins over a
newer one); going back is this explicit act, by an owner of the asset's domain or a holder of
``operate_dr``, audited with both versions. The version rolled back to must verify against its
manifest. Replication mirrors it to the standby; the next publish moves forward again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.mesh import Mesh
from governance.access.authorization import identity_details, require
from governance.audit import AuditEvent, AuditLog
from governance.identity import Actor


@dataclass(frozen=True, slots=True)
class RollbackReport:
    """The asset, the version it was on and the one it is on now, in which region."""

    key: str
    region: str
    previous: str | None
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "region": self.region, "from": self.previous, "to": self.version}


def rollback(mesh: Mesh, key: str, version: str, audit: AuditLog, *, actor: Actor) -> RollbackReport:
    """Make ``version`` of ``key`` current in the active region, even if older (see the module
    docstring). Raises :class:`~governance.access.authorization.PermissionDeniedError` or
    :class:`~assets.errors.StorageError` (unknown or corrupt version), leaving ``CURRENT`` as it was."""
    require(mesh.policy, audit, actor, "operate_dr", action="rollback", target=key, owners_of=key.split(".", 1)[0])
    store, region = mesh.store(), mesh.active_region
    manifest = store.manifest(key, version)
    store.check(manifest)  # never roll back to data that would not be served
    previous = store.current_version(key)
    store.set_current(key, version, allow_backward=True)
    report = RollbackReport(key, region, previous, version)
    audit.append(AuditEvent(actor=actor.id, action="rollback", target=key, outcome="rolled back", source="governance",
                            where=f"region:{region}", details={**report.to_dict(), **identity_details(actor)}))
    return report
