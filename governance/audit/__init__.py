"""The tamper-evident audit log of every data operation and policy decision."""

from __future__ import annotations

from pathlib import Path

from governance.audit.log import AuditEvent, AuditLog, AuditRecord, VerifyReport
from governance.keys import LocalKeyStore

#: Key file (under the mesh's key folder) that signs audit checkpoints.
SIGNING_KEY = "audit.ed25519.pem"


def audit_log_at(state_dir: Path) -> AuditLog:
    """The audit log of the mesh whose state folder is ``state_dir`` (``<root>/.mesh``)."""
    return AuditLog(state_dir / "audit", LocalKeyStore(state_dir / "keys").signing_key(SIGNING_KEY))


__all__ = ["SIGNING_KEY", "AuditEvent", "AuditLog", "AuditRecord", "VerifyReport", "audit_log_at"]
