"""The default key provider: key files in a local folder, readable by their owner only.

Keys are created on first use with mode 0600 in a 0700 folder. A key file that group or others
can read is refused (its key may have leaked), and so is one in a folder they can write (they
could swap it for their own), naming the file and the fix. Errors name key
ids and files, never key material.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from assets.atomic import atomic_write
from assets.errors import MeshError


class KeyError_(MeshError):
    """A key is missing, unreadable, or too widely readable."""


@dataclass(frozen=True, slots=True)
class LocalKeyStore:
    """Key files under ``folder`` (``.mesh/keys`` by default)."""

    folder: Path

    def _path(self, name: str) -> Path:
        return self.folder / name

    def read_secret(self, name: str) -> bytes:
        """The bytes of key file ``name``; refuses files others can read."""
        path = self._path(name)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyError_(f"key '{name}' does not exist", where=str(path),
                            fix="restore it from your backup (mesh dr restore), or create the keys again") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyError_(f"key file '{name}' is readable by group or others (mode {oct(mode & 0o777)})",
                            where=str(path), fix=f"chmod 600 {path}, and rotate the key if it may have leaked")
        _refuse_shared(path.parent, f"the folder of key '{name}'")
        return path.read_bytes()

    def create_secret(self, name: str, data: bytes) -> bool:
        """Write a new key file, owner-only, complete or not at all; never overwrites.

        Returns ``False`` when the file already exists (another process created it first).
        """
        self._make_folder()
        return atomic_write(self._path(name), data, mode=0o600, exclusive=True)

    def _make_folder(self) -> None:
        """Create the key folder owner-only; a folder that was there keeps its mode (it may be
        shared, like /tmp) and is refused if group or others can write it."""
        try:
            self.folder.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            _refuse_shared(self.folder, "the key folder")
        else:
            os.chmod(self.folder, 0o700)  # mkdir's mode is masked by the umask

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def signing_key(self, name: str) -> Ed25519PrivateKey:
        """An Ed25519 signing key, created on first use."""
        if not self.exists(name):
            key = Ed25519PrivateKey.generate()
            self.create_secret(name, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        try:
            loaded = serialization.load_pem_private_key(self.read_secret(name), password=None)
        except (ValueError, TypeError):
            raise KeyError_(f"key file '{name}' is not a PEM private key (damaged)", where=str(self._path(name)),
                            fix="restore it from your backup (mesh dr restore); a replaced key no longer matches "
                                "what mesh.toml pins") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyError_(f"key '{name}' is not an Ed25519 key", where=str(self._path(name)),
                            fix="move it away; a new key is created on next use")
        return loaded


def _refuse_shared(folder: Path, what: str) -> None:
    """Refuse (:class:`KeyError_`) a key folder group or others may write: whoever may write there
    may swap a key for their own."""
    mode = folder.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyError_(f"{what} is writable by group or others (mode {oct(mode & 0o7777)})", where=str(folder),
                        fix=f"keep keys in a folder of your own (for identities: export MESH_IDENTITY=~/.mesh-identity), "
                            f"or chmod 700 {folder} if it is yours alone; check that its keys are yours")


def public_key_id(key: Ed25519PublicKey) -> str:
    """A short, stable id of a public key (safe to log)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
