"""Signed approvals of grants.

An approval is the approver's Ed25519 signature over the grant's content, kept in
``mesh.toml`` beside ``approved_by``::

    [[grants]]
    product = "customers.customers"
    consumer = "sales"
    purpose = "order attribution to customers"
    approved_by = ["customers-data@acme.example", "council@acme.example"]
    signatures = { "customers-data@acme.example" = "ed25519:...", "council@acme.example" = "ed25519:..." }
    expires = 2027-06-30

The signed payload is :func:`grant_payload`: canonical JSON (sorted keys, no spaces) of the
product, consumer, purpose and expiry, so a signature copied to another grant verifies nothing.
A name in ``approved_by`` counts only with a signature that verifies with that person's key
registered in ``[people]``.
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
PAYLOAD_TYPE = "acme-mesh/grant-approval/v1"


class Signer(Protocol):
    """Signs bytes with a person's held key (``LocalIdentity`` is one)."""

    def sign(self, email: str, payload: bytes) -> str: ...


def grant_payload(product: str, consumer: str, purpose: str, expires: dt.date | None) -> bytes:
    """The exact bytes an approver signs for a grant."""
    body = {"type": PAYLOAD_TYPE, "product": product, "consumer": consumer, "purpose": purpose,
            "expires": expires.isoformat() if expires is not None else None}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def payload_of(grant: Grant) -> bytes:
    return grant_payload(grant.product, grant.consumer, grant.purpose, grant.expires)


def sign_approval(signer: Signer, email: str, grant: Grant) -> str:
    """``email``'s signature over ``grant``, made with their held key."""
    return signer.sign(email, payload_of(grant))


def verify_approval(public_key: str, grant: Grant, signature: str) -> bool:
    """Whether ``signature`` is an approval of ``grant`` by the holder of ``public_key``."""
    return _verify(public_key, payload_of(grant), signature)


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
        elif not verify_approval(person.public_key, grant, signature):
            invalid[approver] = ("has a signature that does not verify over this grant with the approver's "
                                 "registered key (copied, altered or forged)")
        else:
            valid.add(approver)
    return frozenset(valid), invalid


def unverified_approvals(policy: MeshPolicy, grant: Grant) -> list[str]:
    """One line per name in ``approved_by`` that approves nothing, with the fix."""
    _, invalid = approval_status(policy, grant)
    return [f"the approval of '{who}' {why}; it approves nothing. "
            f"Fix: {who} runs `mesh access approve {grant.id} --as {who}`" for who, why in invalid.items()]
