"""The audit log as people use it: reading it, proving a record and sealing it need ``read_audit``.

Verification (``mesh audit verify``) needs no permission: anyone may check the evidence.
Reading records, which name who did what, and signing a tree head are the council's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assets.ports import AuditEvent
from governance.audit.log import AuditLog, AuditRecord
from governance.audit.proofs import build_proof
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.policy import MeshPolicy


def query_audit(policy: MeshPolicy, log: AuditLog, actor: Actor, *, who: str | None = None,
                target: str | None = None, action: str | None = None,
                since: dt.datetime | None = None) -> list[AuditRecord]:
    """Records matching every given filter, for ``actor`` holding ``read_audit``; the query is
    itself audited."""
    require(policy, log, actor, "read_audit", action="audit_query", target="audit")
    found = log.query(actor=who, target=target, action=action, since=since)
    log.append(AuditEvent(actor=actor.id, action="audit_query", target="audit", outcome="allowed", source="cli",
                          details={"filters": {"actor": who, "target": target, "action": action,
                                               "since": since.isoformat() if since else None},
                                   "records": len(found), **identity_details(actor)}))
    return found


def checkpoint_audit(policy: MeshPolicy, log: AuditLog, actor: Actor) -> dict[str, Any]:
    """Sign the tree head of every record so far, for ``actor`` holding ``read_audit``."""
    require(policy, log, actor, "read_audit", action="audit_checkpoint", target="audit")
    log.append(AuditEvent(actor=actor.id, action="audit_checkpoint", target="audit", outcome="signed", source="cli",
                          details=identity_details(actor)))
    return log.checkpoint()


def prove_record(policy: MeshPolicy, log: AuditLog, actor: Actor, seq: int) -> dict[str, Any]:
    """The inclusion proof of record ``seq`` (:func:`~governance.audit.proofs.build_proof`), for
    ``actor`` holding ``read_audit``: a refusal is audited and raises
    :class:`~governance.identity.authorization.PermissionDeniedError`; the proof is audited,
    with how ``actor`` proved who they are, before it is built."""
    require(policy, log, actor, "read_audit", action="audit_prove", target="audit")
    log.append(AuditEvent(actor=actor.id, action="audit_prove", target="audit", outcome="allowed",
                          source="governance", details={"seq": seq, **identity_details(actor)}))
    return build_proof(log, seq)
