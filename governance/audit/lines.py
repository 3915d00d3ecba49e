"""The audit log's line format: a record's canonical JSON with its own hash as the last key.

The canonical JSON has sorted keys and no spaces; the record's ``hash`` is the SHA-256 of it.
The line is that JSON with ``"hash"`` appended as the last key, so verifying hashes the line's own
bytes without parsing it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: The ``prev`` of the first record.
GENESIS = "0" * 64
_HASH_FIELD = b',"hash":"'


def canonical(data: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces: the bytes that are hashed and signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def encode_line(body: Mapping[str, Any]) -> tuple[bytes, str]:
    """The log line of a record body, and the record's hash."""
    encoded = canonical(body)
    digest = hashlib.sha256(encoded).hexdigest()
    return encoded[:-1] + _HASH_FIELD + digest.encode() + b'"}\n', digest


def decode_line(line: bytes) -> tuple[bytes, str]:
    """The canonical body bytes and the stored hash of a log line; ``ValueError`` if it has none."""
    body, sep, tail = line.rstrip(b"\n").rpartition(_HASH_FIELD)
    if not sep or not tail.endswith(b'"}'):
        raise ValueError("no hash field")
    return body + b"}", tail[:-2].decode()
