"""Key-encryption keys (KEKs) behind one small provider interface, and the keyring built on it.

Plug-in contract: a key provider has a ``kind`` and four methods: ``active_kek_id()``,
``wrap(key, aad)``, ``unwrap(wrapped, aad)`` and ``rotate()`` (and ``retire(kek_id)``). Data keys
never leave the process unwrapped; a KMS implements the same methods with its own API.
:class:`LocalKeyProvider` keeps KEKs as owner-only files (AES-256-GCM wrapping).

The :class:`Keyring` holds the data keys: one deterministic tokenization key per
classification (AES-SIV, 512 bits) and a fresh AES-256-GCM key per published version, each
stored wrapped by the active KEK. Errors name key ids, never key bytes.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from assets.atomic import atomic_write
from governance.keys import KeyError_, LocalKeyStore


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under KEK ``kek_id`` (base64 fields, safe to store and log)."""

    kek_id: str
    nonce: str
    ciphertext: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> WrappedKey:
        """Raises ``TypeError`` unless ``data`` holds exactly the three fields, as strings."""
        if not isinstance(data, dict) or not all(isinstance(data.get(f), str) for f in ("kek_id", "nonce", "ciphertext")):
            raise TypeError("a wrapped key is an object of the strings kek_id, nonce and ciphertext")
        return cls(**data)


class KeyProvider(Protocol):
    kind: ClassVar[str]

    def active_kek_id(self) -> str: ...
    def wrap(self, key: bytes, aad: bytes) -> WrappedKey: ...
    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes: ...
    def rotate(self) -> str: ...
    def retire(self, kek_id: str) -> None: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True, slots=True)
class LocalKeyProvider:
    """KEKs as 256-bit owner-only files ``kek-<id>.key``; ``kek.active`` names the active one."""

    store: LocalKeyStore
    kind: ClassVar[str] = "local"

    def active_kek_id(self) -> str:
        pointer = self.store.folder / "kek.active"
        if not pointer.exists():
            return self.rotate()
        return pointer.read_text().strip()

    def rotate(self) -> str:
        kek_id = secrets.token_hex(6)
        self.store.create_secret(f"kek-{kek_id}.key", AESGCM.generate_key(bit_length=256))
        atomic_write(self.store.folder / "kek.active", kek_id.encode(), mode=0o600)
        return kek_id

    def retire(self, kek_id: str) -> None:
        if kek_id == self.active_kek_id():
            raise KeyError_(f"KEK {kek_id} is the active key", where="mesh keys retire",
                            fix="rotate first (mesh keys rotate), then retire the old key")
        (self.store.folder / f"kek-{kek_id}.key").unlink(missing_ok=True)

    def wrap(self, key: bytes, aad: bytes) -> WrappedKey:
        kek_id = self.active_kek_id()
        nonce = os.urandom(12)
        return WrappedKey(kek_id, _b64(nonce), _b64(AESGCM(self._kek(kek_id)).encrypt(nonce, key, aad)))

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        kek = self._kek(wrapped.kek_id)
        try:
            return AESGCM(kek).decrypt(base64.b64decode(wrapped.nonce), base64.b64decode(wrapped.ciphertext), aad)
        except (InvalidTag, ValueError):  # ValueError: the wrapped key's base64 or nonce is corrupt
            raise KeyError_(f"data key does not unwrap with KEK {wrapped.kek_id} (wrong key or tampered)",
                            where="key provider", fix="restore the right key file from backup") from None

    def _kek(self, kek_id: str) -> bytes:
        name = f"kek-{kek_id}.key"
        kek = self.store.read_secret(name)
        if len(kek) != 32:
            raise KeyError_(f"KEK file '{name}' holds {len(kek)} bytes, not a 256-bit key (truncated or overwritten)",
                            where=str(self.store.folder / name),
                            fix="restore the file from your backup of the keys (mesh dr restore)")
        return kek


@dataclass(frozen=True, slots=True)
class Keyring:
    """Data keys of the mesh, wrapped by the provider's KEK."""

    provider: KeyProvider
    folder: Path

    def tokenization_key(self, classification: str) -> bytes:
        """The AES-SIV key of a classification: one per mesh, so tokens join across assets."""
        path = self.folder / f"tokenize-{classification}.json"
        aad = f"tokenize:{classification}".encode()
        if not path.exists():
            wrapped = self.provider.wrap(secrets.token_bytes(64), aad)
            # the first writer wins; a concurrent one reads the winner's key
            atomic_write(path, json.dumps(wrapped.to_dict()).encode(), mode=0o600, exclusive=True)
        try:
            wrapped = WrappedKey.from_dict(json.loads(path.read_bytes()))
        except (ValueError, TypeError) as exc:  # not JSON, or not the fields of a wrapped key
            raise KeyError_(f"the tokenization key of '{classification}' is unreadable ({type(exc).__name__}: "
                            f"{str(exc)[:120]})", where=str(path),
                            fix="restore the file from your backup of the keys (mesh dr restore); a new key "
                                "would make every stored token unreadable") from None
        return self.provider.unwrap(wrapped, aad)

    def wrapped_tokenization_keys(self) -> list[Path]:
        return sorted(self.folder.glob("tokenize-*.json")) if self.folder.exists() else []
