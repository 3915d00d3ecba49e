"""``mesh policy recover``: write ``mesh.approvals.jsonl`` back from the audit log.

Every approval that reached quorum is in the log whole (``trust_approved`` records), so a file
that was lost, replaced, or not written because a command stopped after auditing, is rebuilt
from them. The rebuilt chain is verified like any other before it is written; signatures
still collecting (not yet approved) are not in the log and are signed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assets.errors import ConfigError
from assets.mesh import STATE_DIR
from governance.audit import AuditEvent, AuditLog
from governance.council.anchor import TRUST_APPROVED, remember
from governance.council.approvals import TrustApproval, read_approvals, write_approvals
from governance.council.approve import CouncilError
from governance.council.chain import verify_chain
from governance.identity.authorization import authenticate, identity_details, require
from governance.policy import APPROVE_POLICY, MeshPolicy, load_policy, with_trust
from governance.policy.editing import mesh_toml_lock


def approvals_in_log(audit: AuditLog) -> list[TrustApproval]:
    """The approvals the log recorded, oldest first."""
    found = []
    for record in audit.records():
        if record.action == TRUST_APPROVED:
            approval = record.details.get("approval")
            if not isinstance(approval, Mapping):
                raise CouncilError(f"audit record {record.hash[:16]} of an approval lacks the approved line",
                                   where=f"{audit.where}", fix="restore mesh.approvals.jsonl from the last backup")
            found.append(_approval(approval, record.hash))
    return found


def log_disagreement(policy: MeshPolicy, audit: AuditLog) -> str | None:
    """Why ``mesh.approvals.jsonl`` is not the chain of approvals the log recorded, or ``None``
    when it is (for ``mesh audit verify --full``, which reads every record anyway)."""
    try:
        in_file = [a.digest for a in verify_chain(policy, read_approvals(policy.root)).approved]
    except ConfigError as exc:
        return str(exc)
    in_log = [a.digest for a in approvals_in_log(audit)]
    if in_file == in_log:
        return None
    return (f"mesh.approvals.jsonl holds {len(in_file)} approval(s) of people, roles and owners, the audit log "
            f"{len(in_log)}; they differ from approval {_first_difference(in_file, in_log) + 1} on. Fix: "
            "`mesh policy recover --as EMAIL` writes the file back from the log")


def _first_difference(a: list[str], b: list[str]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def recover_approvals(policy: MeshPolicy, audit: AuditLog, *, claimed: str | None) -> int:
    """Rewrite the approvals file from the log; returns how many approvals it holds. Who acts
    (``claimed`` selects the key) is proven with, and must hold ``approve_policy`` in, the last
    approved trust: never with the keys of the file being repaired."""
    with mesh_toml_lock(policy.path):
        written = load_policy(policy.path)
        chain = verify_chain(written, approvals_in_log(audit))
        if chain.head is None:
            raise CouncilError("the audit log holds no approval of the council", where=audit.where,
                               fix="approve the roles and people first: `mesh policy approve --as EMAIL`")
        approved = with_trust(written, chain.head)
        actor = authenticate(approved, audit, claimed, action="trust_recover")
        require(approved, audit, actor, APPROVE_POLICY, action="trust_recover", target="mesh.approvals.jsonl")
        write_approvals(policy.root, chain.approved)
        remember(policy.root / STATE_DIR, [a.digest for a in chain.approved])
        audit.append(AuditEvent(actor=actor.id, action="trust_recover", target="mesh.approvals.jsonl",
                                outcome="rewritten", source="governance",
                                details={"approvals": len(chain.approved), "head": chain.head_digest,
                                         **identity_details(actor)}))
    return len(chain.approved)


def _approval(body: Mapping[str, Any], record: str) -> TrustApproval:
    try:
        return TrustApproval(digest=body["digest"], previous=body["previous"], snapshot=body["snapshot"],
                             signatures=body["signatures"])
    except (KeyError, TypeError, ValueError):
        raise CouncilError(f"audit record {record[:16]} holds an approved line that cannot be read",
                           fix="restore mesh.approvals.jsonl from the last backup") from None
