"""Acknowledging what a deliberate restore took out of the audit log.

``mesh dr restore`` brings back the audit log as the backup held it; the records written after
that backup are gone, and the witness still holds the heads that covered them, so ``mesh audit
verify`` reports them deleted. A holder of ``operate_dr`` acknowledges that loss with their own
key (:mod:`governance.audit.acknowledgments`); verification then names it and passes.
"""

from __future__ import annotations

from collections.abc import Callable

from assets.mesh import Mesh
from governance.audit import AuditLog
from governance.audit.acknowledgments import Acknowledgment
from governance.identity import Actor
from governance.identity.authorization import require


def acknowledge_audit_loss(mesh: Mesh, audit: AuditLog, *, actor: Actor, reason: str,
                           sign: Callable[[bytes], str]) -> Acknowledgment:
    """Acknowledge, as ``actor`` (a holder of ``operate_dr``, whose held key ``sign`` uses), every
    witnessed head the local audit log no longer matches. Raises
    :class:`~governance.identity.authorization.PermissionDeniedError`, or
    :class:`~governance.audit.AuditError` when nothing is lost or the log is damaged otherwise."""
    require(mesh.policy, audit, actor, "operate_dr", action="audit_acknowledge_loss", target="audit")
    return audit.acknowledge_loss(actor.id, reason, sign)
