"""The text forms of Ed25519 public keys and signatures kept in ``mesh.toml``, as text only:

- public key: ``ed25519:<base64 of the raw 32 bytes>``
- signature: ``ed25519:<base64 of the raw 64 bytes>``

The policy validates these forms when it loads; :mod:`governance.identity.keys` builds keys
and verifies signatures from them.
"""

from __future__ import annotations

import base64
import binascii

PREFIX = "ed25519:"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def decoded_key_text(text: object, size: int) -> bytes | None:
    """The raw ``size`` bytes of an ``ed25519:<base64>`` text, or None for anything else."""
    if not isinstance(text, str) or not text.startswith(PREFIX) or not text.isascii():
        return None
    try:
        raw = base64.b64decode(text[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def is_public_key_text(text: object) -> bool:
    """Whether ``text`` is ``ed25519:<base64 of 32 bytes>``."""
    return decoded_key_text(text, PUBLIC_KEY_BYTES) is not None


def is_signature_text(text: object) -> bool:
    """Whether ``text`` is ``ed25519:<base64 of 64 bytes>``."""
    return decoded_key_text(text, SIGNATURE_BYTES) is not None
