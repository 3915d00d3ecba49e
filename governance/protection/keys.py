"""Key-encryption keys (KEKs) behind one small provider interface, and the keyring built on it.

Plug-in contract: a key provider has a ``kind`` and the methods ``active_kek_id()``,
``kek_ids()`` (every KEK it holds), ``wrap(key, aad)``, ``unwrap(wrapped, aad)``, ``rotate()``
and ``retire(kek_id)`` (which raises :class:`KeyError_` for a KEK it does not hold). Data keys
never leave the process unwrapped; a KMS implements the same methods with its own API.
:class:`LocalKeyProvider` keeps KEKs as owner-only files (AES-256-GCM wrapping).

The :class:`Keyring` holds the data keys: one deterministic tokenization key per
classification (AES-SIV, 512 bits) and a fresh AES-256-GCM key per published version, each
stored wrapped by the active KEK. Errors name key ids, never key bytes.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from assets.atomic import atomic_write
from governance.keys import KeyError_, LocalKeyStore
from governance.protection.key_lock import KeyLock
from assets.stored_json import load_json

#: A KEK id: what :meth:`LocalKeyProvider.rotate` makes (``secrets.token_hex(6)``).
_KEK_ID = re.compile(r"[0-9a-f]{12}")


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
    def kek_ids(self) -> list[str]: ...
    def wrap(self, key: bytes, aad: bytes) -> WrappedKey: ...
    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes: ...
    def rotate(self) -> str: ...
    def retire(self, kek_id: str) -> None: ...


def unknown_kek(kek_id: str, known: list[str], *, where: str) -> KeyError_:
    """The error for a KEK id the provider does not hold, naming the ones it does."""
    close = difflib.get_close_matches(kek_id, known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}? " if close else ""
    return KeyError_(f"there is no KEK '{kek_id}' (known: {', '.join(known) or 'none'})", where=where,
                     fix=f"{hint}list the KEKs with `mesh keys status`")


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
            if known := self.kek_ids():  # KEKs without a pointer: lost, not new; a fresh KEK would hide that
                raise KeyError_(f"kek.active is missing, yet {len(known)} KEK(s) exist ({', '.join(known)})",
                                where=str(pointer), fix=f"write the active KEK's id into it (the newest, "
                                                        f"{known[-1]}, if unsure) or restore it with mesh dr restore")
            return self.rotate()
        try:
            kek_id = pointer.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyError_(f"kek.active is unreadable: {exc}", where=str(pointer),
                            fix="restore it with mesh dr restore, or write the active KEK's id into it") from None
        if not _KEK_ID.fullmatch(kek_id):
            raise KeyError_(f"kek.active does not hold a KEK id ({kek_id[:40]!r})", where=str(pointer),
                            fix="write the active KEK's id into it (12 hex digits, as in kek-<id>.key), or restore "
                                "it with mesh dr restore")
        return kek_id

    def rotate(self) -> str:
        kek_id = secrets.token_hex(6)
        self.store.create_secret(f"kek-{kek_id}.key", AESGCM.generate_key(bit_length=256))
        atomic_write(self.store.folder / "kek.active", kek_id.encode(), mode=0o600)
        return kek_id

    def kek_ids(self) -> list[str]:
        folder = self.store.folder
        return sorted(p.name[4:-4] for p in folder.glob("kek-*.key")) if folder.exists() else []

    def retire(self, kek_id: str) -> None:
        if kek_id == self.active_kek_id():
            raise KeyError_(f"KEK {kek_id} is the active key", where="mesh keys retire",
                            fix="rotate first (mesh keys rotate), then retire the old key")
        path = self.store.folder / f"kek-{kek_id}.key"
        if kek_id not in self.kek_ids():
            raise unknown_kek(kek_id, self.kek_ids(), where=str(path))
        path.unlink()

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


def _never(_classification: str) -> bool:
    return False


def fingerprint(key: bytes) -> str:
    """A short, stable id of a key's bytes (safe to store and log: it reveals nothing of the key)."""
    return hashlib.sha256(b"mesh key fingerprint\0" + key).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Keyring:
    """Data keys of the mesh, wrapped by the provider's KEK.

    A tokenization key is created only for a classification no data was ever tokenized with:
    its fingerprint is recorded beside it (``tokenize-<class>.fingerprint``) when it is made,
    and ``tokenized_before(classification)`` tells whether stored data says it was used. A
    missing key is then an error naming the file and the fix, never silently replaced: a new key
    could neither reverse the old tokens nor join them with new ones.
    """

    provider: KeyProvider
    folder: Path
    tokenized_before: Callable[[str], bool] = field(default=_never, repr=False, compare=False)

    @property
    def lock(self) -> KeyLock:
        """Shared by publishers while their wrapped keys are in flight, exclusive for rotation
        and retirement (:mod:`governance.protection.key_lock`)."""
        return KeyLock(self.folder.parent / "keys.lock")

    def tokenization_key(self, classification: str) -> bytes:
        """The AES-SIV key of a classification: one per mesh, so tokens join across assets."""
        path = self.folder / f"tokenize-{classification}.json"
        if not path.exists():
            self._create_tokenization_key(classification, path)
        key = self.provider.unwrap(self._read_wrapped(classification, path), _tokenize_aad(classification))
        recorded, actual = self.folder / f"tokenize-{classification}.fingerprint", fingerprint(key)
        if not recorded.exists():  # recorded on first use (also for keys made before fingerprints were kept)
            atomic_write(recorded, actual.encode(), mode=0o600, exclusive=True)
        if (expected := recorded.read_text().strip()) != actual:
            raise KeyError_(f"tokenization key '{path.name}' is not the key data was tokenized with (fingerprint "
                            f"{actual}, recorded {expected} in {recorded.name})", where=str(path),
                            fix="restore the key from a backup with `mesh dr restore`; the file was replaced")
        return key

    def fingerprint_of(self, path: Path) -> str:
        """The fingerprint of the tokenization key stored (wrapped) in ``path``."""
        classification = path.name.removeprefix("tokenize-").removesuffix(".json")
        return fingerprint(self.provider.unwrap(self._read_wrapped(classification, path),
                                                _tokenize_aad(classification)))

    @staticmethod
    def _read_wrapped(classification: str, path: Path) -> WrappedKey:
        try:
            return WrappedKey.from_dict(load_json(path.read_bytes()))
        except (ValueError, TypeError) as exc:  # not JSON, or not the fields of a wrapped key
            raise KeyError_(f"the tokenization key of '{classification}' is unreadable ({type(exc).__name__}: "
                            f"{str(exc)[:120]})", where=str(path),
                            fix="restore the file from your backup of the keys (mesh dr restore); a new key "
                                "would make every stored token unreadable") from None

    def wrapped_tokenization_keys(self) -> list[Path]:
        return sorted(self.folder.glob("tokenize-*.json")) if self.folder.exists() else []

    def _create_tokenization_key(self, classification: str, path: Path) -> None:
        if (self.folder / f"tokenize-{classification}.fingerprint").exists() or self.tokenized_before(classification):
            raise KeyError_(f"tokenization key '{path.name}' is missing, but data was tokenized with classification "
                            f"'{classification}': a new key could neither reverse nor join its tokens", where=str(path),
                            fix="restore the key with `mesh dr restore` (every backup holds it, wrapped); "
                                "it is never created again")
        wrapped = self.provider.wrap(secrets.token_bytes(64), _tokenize_aad(classification))
        # the first writer wins; a concurrent one reads the winner's key
        atomic_write(path, json.dumps(wrapped.to_dict()).encode(), mode=0o600, exclusive=True)


def dek_aad(asset: str) -> bytes:
    """The associated data the wrapped data key of ``asset``'s versions is bound to."""
    return f"dek:{asset}".encode()


def _tokenize_aad(classification: str) -> bytes:
    return f"tokenize:{classification}".encode()
