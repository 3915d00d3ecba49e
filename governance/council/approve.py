"""``mesh policy approve``: sign the trust sections of ``mesh.toml`` as a council member.

The signer must hold ``approve_policy`` in the trust the mesh runs on (the last approved one;
before the first approval, the file's own), with the key that trust registers. When the valid
signatures reach that trust's ``[council] quorum`` the change is approved and takes effect.
Each signature is audited (``trust_signed``) and each approval too (``trust_approved``, with
the whole approved line, so the approvals file can be rebuilt from the log: :mod:`.recovery`).
The audit record comes before the file: a crash between them leaves an approval the log holds
and the file lacks, which ``mesh policy recover`` writes back. An approval that changes
``[state]`` is recorded in the log of the ``[state]`` it puts in effect (a new database first
imports the folder's log, as on any first use): that log, where the mesh acts from then on,
holds every approval, and a new host finds the first one there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from assets.errors import MeshError
from assets.mesh import STATE_DIR
from governance.audit import AuditEvent, AuditLog
from governance.council.anchor import TRUST_APPROVED, log_of, remember
from governance.council.approvals import (
    TrustApproval,
    approval_payload,
    write_approvals,
)
from governance.council.chain import signers_of
from governance.council.standing import trust_standing
from governance.identity.actor import Actor
from governance.identity.approvals import Signer
from governance.identity.authorization import identity_details, require
from governance.identity.keys import verify_text
from governance.policy import APPROVE_POLICY, MeshPolicy, load_policy, trust_in
from governance.policy.editing import mesh_toml_lock
from governance.policy.roles import approvers_with

#: The audit action of one council member's signature over a change of trust.
TRUST_SIGNED = "trust_signed"


class CouncilError(MeshError):
    """A change of trust could not be signed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustApprovalResult:
    """What a signature did: the digest signed, who has validly signed it, the quorum, whether
    it is now approved, and the changes it approves."""

    digest: str
    signers: frozenset[str]
    quorum: int
    approved: bool
    changes: tuple[str, ...]


def approve_trust(policy: MeshPolicy, audit: AuditLog, *, actor: Actor, signer: Signer) -> TrustApprovalResult:
    """Add ``actor``'s signature (made by ``signer`` with their held key) to the trust sections
    of the ``mesh.toml`` ``policy`` was loaded from."""
    with mesh_toml_lock(policy.path):
        standing = trust_standing(load_policy(policy.path), lambda _: audit)
        target = "mesh.toml trust"
        if standing.status == "approved":
            raise CouncilError(f"nothing to approve: the roles, people, owners, identity settings and [state] of "
                               f"{policy.path} are the ones the council approved ({standing.digest})",
                               fix="edit [people], [roles], a domain's owners, [identity], [council] or [state] first")
        governing = standing.chain.head or trust_in(standing.written)
        require(standing.policy, audit, actor, APPROVE_POLICY, action="trust_approve", target=target)
        _refuse_a_locked_council(standing.written, target)
        previous = standing.chain.head_digest
        pending = standing.pending or TrustApproval(digest=standing.digest, previous=previous,
                                                    snapshot=standing.snapshot)
        payload = approval_payload(policy.settings.name, standing.digest, previous)
        signature = signer.sign(actor.id, payload)
        person = governing.people.get(actor.id)
        if person is None or not verify_text(person.public_key, payload, signature):
            raise CouncilError(f"the key that signed for '{actor.id}' is not the one the approved roles and people "
                               "register for them", where=target,
                               fix=f"sign with the key registered in [people.\"{actor.id}\"] when the council last "
                                   "approved (MESH_IDENTITY)")
        updated = pending.signed(actor.id, signature)
        signers = signers_of(standing.written, governing, updated)
        quorum = governing.council.quorum
        approved = len(signers) >= quorum
        changes = tuple(standing.changes()) if previous else ("first approval",)
        details = {"digest": standing.digest, "previous": previous, "signed": len(signers), "quorum": quorum,
                   "changes": list(changes)[:50], **identity_details(actor)}
        moves = approved and standing.written.state != standing.policy.state
        (log_of(standing.written) if moves else audit).append_many([
            AuditEvent(actor=actor.id, action=TRUST_SIGNED, target=target, outcome="signed", source="governance",
                       details=details),
            *([AuditEvent(actor=actor.id, action=TRUST_APPROVED, target=target, outcome="approved",
                          source="governance", details={**details, "signers": sorted(signers),
                                                        "approval": json.loads(updated.line())})]
              if approved else [])])
        write_approvals(policy.root, [*standing.chain.approved, updated])
        if approved:
            remember(policy.root / STATE_DIR, [*(a.digest for a in standing.chain.approved), standing.digest])
    return TrustApprovalResult(digest=standing.digest, signers=signers, quorum=quorum, approved=approved,
                               changes=changes)


def _refuse_a_locked_council(written: MeshPolicy, target: str) -> None:
    """A change of trust that leaves fewer holders of ``approve_policy`` with a registered key
    than its own quorum could never be followed by another approval: the council would lock
    itself out for good (only a restore of the files could undo it). Refused before anyone signs."""
    holders = sorted(e for e in approvers_with(written, APPROVE_POLICY) if e in written.people)
    quorum = written.council.quorum
    if len(holders) < quorum:
        raise CouncilError(f"this change leaves {len(holders)} holder(s) of approve_policy with a key in [people] "
                           f"({', '.join(holders) or 'none'}) but a quorum of {quorum}: once approved, no later "
                           "change of people, roles or owners could ever be approved", where=target,
                           fix="keep at least as many members with approve_policy, registered in [people], as "
                               "[council] quorum (or lower the quorum in the same change)")

