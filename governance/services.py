"""The services governance builds for a mesh, and the one way governance code reaches them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assets.errors import ConfigError
from assets.mesh import Mesh
from assets.ports import Services

if TYPE_CHECKING:  # only types: importing the lineage client costs about 0.5 s of DAG parsing
    from governance.alerts import AlertSink
    from governance.audit import AuditLog
    from governance.history import RunHistory
    from governance.lineage.emitter import Lineage
    from governance.protection import Keyring


@dataclass(frozen=True, kw_only=True)
class GovernedServices(Services):
    """The framework's services as governance built them, with the concrete types governance
    code needs (the audit log to query, the keyring to rotate, the lineage emitter, the run
    history, the alert sink)."""

    audit: AuditLog
    lineage: Lineage
    keyring: Keyring
    history: RunHistory
    alerts: AlertSink


def governed(mesh: Mesh) -> GovernedServices:
    """The governance services of a mesh built by :func:`load_mesh`."""
    services = mesh.services
    if not isinstance(services, GovernedServices):
        raise ConfigError("this mesh was not loaded by governance.wiring.load_mesh", where="Mesh.services",
                          fix="load the mesh with governance.load_mesh(path)")
    return services
