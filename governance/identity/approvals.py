"""Signed approvals of grants.

An approval is the approver's Ed25519 signature over the grant's content, kept in
``mesh.toml`` beside ``approved_by``::

    [[grants]]
    id = "g-1a2b3c4d"
    nonce = "5f0e...(32 hex digits)"
    product = "customers.customers"
    consumer = "sales"
    purpose = "order attribution to customers"
    approved_by = ["customers-data@acme.example", "council@acme.example"]
    signatures = { "customers-data@acme.example" = "ed25519:...", "council@acme.example" = "ed25519:..." }
    expires = 2027-06-30

The signed payload is :func:`grant_payload` (version 2): canonical JSON (sorted keys, no spaces)
of the mesh's name (``[mesh].name``), the grant's id and nonce (random, written when the grant
is requested), its requester, product, consumer, purpose and expiry. So a signature copied to
another grant, to another grant id, or into another mesh whose people hold the same keys
verifies nothing, and a grant re-requested with the same content gets a new nonce: the old
grant's signatures (and its revocation, :mod:`governance.access.revocations`) stay its own.

Signatures of version 1 (product, consumer, purpose and expiry only) count for nothing; they are
recognised, so ``mesh check`` says so and names the fix (approve again). A name in
``approved_by`` counts only with a signature that verifies with that person's key registered
in ``[people]``.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from governance.identity.keys import verify_text

if TYPE_CHECKING:
    from governance.policy import Grant, MeshPolicy

#: Domain separation: a grant approval signature can never be mistaken for another signed message.
PAYLOAD_TYPE = "acme-mesh/grant-approval/v2"
#: The version of the payload signed now; the only one that approves.
PAYLOAD_VERSION = 2
#: The type of the first payload (no mesh, id or nonce): recognised to report, never accepted.
LEGACY_PAYLOAD_TYPE = "acme-mesh/grant-approval/v1"


class Signer(Protocol):
    """Signs bytes with a person's held key (``LocalIdentity`` is one)."""

    def sign(self, email: str, payload: bytes) -> str: ...


def _canonical(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def grant_payload(*, mesh: str, grant_id: str, nonce: str, requested_by: str, product: str, consumer: str,
                  purpose: str, expires: dt.date | None) -> bytes:
    """The exact bytes an approver signs for a grant (payload version 2)."""
    return _canonical({"type": PAYLOAD_TYPE, "version": PAYLOAD_VERSION, "mesh": mesh, "id": grant_id,
                       "nonce": nonce, "requested_by": requested_by, "product": product, "consumer": consumer,
                       "purpose": purpose, "expires": expires.isoformat() if expires is not None else None})


def payload_of(mesh: str, grant: Grant) -> bytes:
    """The payload of ``grant`` in the mesh named ``mesh`` (``[mesh].name``)."""
    return grant_payload(mesh=mesh, grant_id=grant.id, nonce=grant.nonce, requested_by=grant.requested_by,
                         product=grant.product, consumer=grant.consumer, purpose=grant.purpose,
                         expires=grant.expires)


def _legacy_payload(grant: Grant) -> bytes:
    """The version 1 payload, which named no mesh, id or nonce: only to recognise old signatures."""
    return _canonical({"type": LEGACY_PAYLOAD_TYPE, "product": grant.product, "consumer": grant.consumer,
                       "purpose": grant.purpose,
                       "expires": grant.expires.isoformat() if grant.expires is not None else None})


def sign_approval(signer: Signer, email: str, mesh: str, grant: Grant) -> str:
    """``email``'s signature over ``grant`` in the mesh named ``mesh``, made with their held key.
    The grant must have its nonce (``mesh access approve`` gives one to a grant without)."""
    if not grant.nonce:
        raise ValueError(f"grant {grant.id} has no nonce to sign")
    return signer.sign(email, payload_of(mesh, grant))


def verify_approval(public_key: str, mesh: str, grant: Grant, signature: str) -> bool:
    """Whether ``signature`` is an approval of ``grant`` in the mesh named ``mesh`` by the holder
    of ``public_key``. A grant without a nonce has no valid approval."""
    return bool(grant.nonce) and _verify(public_key, payload_of(mesh, grant), signature)


def is_legacy_approval(public_key: str, grant: Grant, signature: str) -> bool:
    """Whether ``signature`` is a version 1 approval of ``grant`` (valid once, counts for nothing now)."""
    return _verify(public_key, _legacy_payload(grant), signature)


@lru_cache(maxsize=1024)
def _verify(public_key: str, payload: bytes, signature: str) -> bool:
    return verify_text(public_key, payload, signature)


def approval_status(policy: MeshPolicy, grant: Grant) -> tuple[frozenset[str], dict[str, str]]:
    """The approvers of ``grant`` whose signatures verify, and why each other one does not count."""
    valid: set[str] = set()
    invalid: dict[str, str] = {}
    for approver in grant.approved_by:
        signature = grant.signatures.get(approver)
        person = policy.people.get(approver)
        if signature is None:
            invalid[approver] = "is not signed"
        elif person is None:
            invalid[approver] = "is signed, but the approver has no public key in mesh.toml [people]"
        elif verify_approval(person.public_key, policy.settings.name, grant, signature):
            valid.add(approver)
        elif is_legacy_approval(person.public_key, grant, signature):
            invalid[approver] = ("is signed in the old format (version 1, which names no mesh, grant id or nonce) "
                                 "that no longer counts")
        else:
            invalid[approver] = ("has a signature that does not verify over this grant in this mesh with the "
                                 "approver's registered key (copied, altered or forged)")
    return frozenset(valid), invalid


def unverified_approvals(policy: MeshPolicy, grant: Grant) -> list[str]:
    """One line per name in ``approved_by`` that approves nothing, with the fix."""
    _, invalid = approval_status(policy, grant)
    return [f"the approval of '{who}' {why}; it approves nothing. "
            f"Fix: {who} runs `mesh access approve {grant.id} --as {who}`" for who, why in invalid.items()]
