"""Ed25519 public keys and signatures from their text forms in ``mesh.toml`` (the grammar of
those texts is :mod:`governance.policy.key_texts`).

Parsing never raises anything but :class:`IdentityError`, whatever the text.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from governance.identity.errors import IdentityError
from governance.policy.key_texts import (
    PREFIX,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    decoded_key_text,
    is_public_key_text,
    is_signature_text,
)

__all__ = ["PREFIX", "PUBLIC_KEY_BYTES", "SIGNATURE_BYTES", "fingerprint", "is_public_key_text", "is_signature_text",
           "parse_public_key", "public_key_text", "signature_text", "verify_text"]

def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The registered text form of a public key (of a private key: of its public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode()


def parse_public_key(text: object, *, where: str) -> Ed25519PublicKey:
    """The key of a ``public_key`` entry; refuses anything else, naming ``where``."""
    raw = decoded_key_text(text, PUBLIC_KEY_BYTES)
    if raw is None:
        raise IdentityError("the public key is not 'ed25519:<base64 of 32 bytes>'", where=where,
                            fix="register the line `mesh identity create` printed, unchanged")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise IdentityError("the public key is not a valid Ed25519 key", where=where,
                            fix="register the line `mesh identity create` printed, unchanged") from None


def fingerprint(public_key: str) -> str:
    """A short, stable id of a public key text (safe to log and to show)."""
    return "SHA256:" + hashlib.sha256(public_key.encode()).hexdigest()[:16]


def signature_text(signature: bytes) -> str:
    return PREFIX + base64.b64encode(signature).decode()


@lru_cache(maxsize=4096)
def verify_text(public_key: str, payload: bytes, signature: str) -> bool:
    """Whether ``signature`` (text form) signs ``payload`` with ``public_key`` (text form).
    Malformed keys or signatures verify nothing. Cached: every access decision checks the
    approvals of the grant it relies on, and the same signature verifies the same way."""
    raw = decoded_key_text(signature, SIGNATURE_BYTES)
    key = decoded_key_text(public_key, PUBLIC_KEY_BYTES)
    if raw is None or key is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(raw, payload)
    except (InvalidSignature, ValueError):
        return False
    return True
