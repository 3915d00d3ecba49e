"""The tamper-evident audit log of every data operation and policy decision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assets.errors import MeshError
from governance.audit.acknowledgments import Acknowledgers
from governance.audit.log import (
    AuditError,
    AuditEvent,
    AuditLog,
    AuditRecord,
    key_fingerprint,
)
from governance.audit.records import parse_record
from governance.audit.storage import LogStorage
from governance.audit.verification import VerifyReport
from governance.audit.witness import FileWitness, RegionWitness, Witness, Witnesses
from governance.keys import LocalKeyStore

if TYPE_CHECKING:
    from assets.mesh import Mesh
    from governance.state import StateDatabase

#: Key file (under the mesh's key folder) that signs audit checkpoints.
SIGNING_KEY = "audit.ed25519.pem"


def audit_log_at(state_dir: Path, *, pinned: str | None = None, witnesses: Witnesses | None = None,
                 acknowledgers: Acknowledgers | None = None, database: StateDatabase | None = None) -> AuditLog:
    """The audit log of the mesh whose state folder is ``state_dir`` (``<root>/.mesh``), trusting
    only the key whose fingerprint is ``pinned``; its signing key is loaded when first needed.
    The log is kept in ``database`` when given (``[state] url``; the audit folder is imported into
    it once), else in the folder ``<state_dir>/audit``."""
    storage: Path | LogStorage = state_dir / "audit"
    if database is not None:
        from governance.audit.database import (
            DatabaseLogStorage,  # SQLAlchemy only for a mesh that needs it
        )

        storage = DatabaseLogStorage(database, state_dir / "audit")
    return AuditLog(storage, lambda: LocalKeyStore(state_dir / "keys").signing_key(SIGNING_KEY),
                    pinned=pinned, witnesses=witnesses or Witnesses(), acknowledgers=acknowledgers)


def held_signing_key(state_dir: Path) -> Ed25519PrivateKey | None:
    """The audit signing key of the mesh whose state folder is ``state_dir`` if this host holds
    it; ``None`` when it does not, or cannot read it (never created here, unlike the log's own
    signer: a host without the key only reads)."""
    keys = LocalKeyStore(state_dir / "keys")
    if not keys.exists(SIGNING_KEY):
        return None
    try:
        return keys.signing_key(SIGNING_KEY)
    except (MeshError, OSError):
        return None


def mesh_witnesses(mesh: Mesh) -> Witnesses:
    """Signed heads go to the standby region's storage; verification reads every region's
    witness and the newest backup's heads."""

    def targets() -> list[RegionWitness]:
        standby = mesh.standby_region
        return [RegionWitness(standby, mesh.store(standby).root)] if standby else []

    def sources() -> list[Witness]:
        found: list[Witness] = [RegionWitness(name, mesh.store(name).root) for name in mesh.regions.storage]
        backups = sorted((mesh.state_dir / "backups").glob("*/audit/checkpoints.jsonl"))
        if backups:
            found.append(FileWitness(f"backup {backups[-1].parent.parent.name}", backups[-1]))
        return found

    return Witnesses(targets=targets, sources=sources)


def witness_protection(mesh: Mesh) -> dict[str, str]:
    """How each region that receives the log's signed heads keeps them: write-once (its bucket's
    Object Lock retention), or rewritable by whoever holds the mesh's credentials."""
    found = {}
    for witness in mesh_witnesses(mesh).targets():
        try:
            retention = witness.write_once()
        except OSError as exc:
            found[witness.name] = f"unknown: its storage did not answer ({type(exc).__name__})"
            continue
        if retention is None:
            found[witness.name] = ("rewritable with the mesh's own credentials (put the region in a bucket with S3 "
                                   "Object Lock in compliance mode to keep the heads out of reach)")
        elif not retention.binding:
            found[witness.name] = (f"write-once ({retention}), but an account allowed to bypass governance "
                                   "retention can remove heads: use compliance mode")
        else:
            found[witness.name] = f"write-once ({retention})"
    return found


__all__ = ["SIGNING_KEY", "AuditError", "AuditEvent", "AuditLog", "AuditRecord", "VerifyReport", "audit_log_at",
           "held_signing_key", "key_fingerprint", "mesh_witnesses", "parse_record", "witness_protection"]
