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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from assets.atomic import atomic_write
from assets.errors import MeshError


class KeyError_(MeshError):
    """A key is missing, unreadable, or too widely readable."""


#: Larger than any key file the mesh writes (a PEM key, a wrapped data key: under 1 KiB); a
#: larger one is damaged and is not read into memory.
MAX_KEY_FILE_BYTES = 64 * 1024


def ed25519_private_key(pem: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key of an unencrypted PEM file's bytes; ``ValueError`` saying what
    else they are: not PEM, encrypted with a passphrase, a key of another algorithm or of a
    curve the cryptography library does not read (which it reports with other exceptions)."""
    key = _loaded(lambda raw: serialization.load_pem_private_key(raw, password=None), pem, "private")
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"not an Ed25519 key ({_kind(key, 'PrivateKey')})")
    return key


def ed25519_public_key(pem: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key of a PEM file's bytes; ``ValueError`` saying what else they are."""
    key = _loaded(serialization.load_pem_public_key, pem, "public")
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 key ({_kind(key, 'PublicKey')})")
    return key


def _loaded(load: Callable[[bytes], object], pem: bytes, which: str) -> object:
    """The key ``load`` reads from ``pem``; its failures, whatever their class, as one ``ValueError``."""
    try:
        return load(pem)
    except TypeError:  # "Password was not given but private key is encrypted"
        raise ValueError("encrypted with a passphrase (the mesh reads unencrypted, "
                         "owner-only key files)") from None
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"not an Ed25519 key ({exc})") from None
    except ValueError:
        raise ValueError(f"not a PEM {which} key (damaged)") from None


def _kind(key: object, suffix: str) -> str:
    """``an RSA key``, ``an EC key``: the algorithm of a key of another kind, as its class names it."""
    return f"an {type(key).__name__.removesuffix(suffix).lstrip('_') or 'other'} key"


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
            st = path.stat()  # a link is followed: a secrets mount links its files
        except FileNotFoundError:
            raise KeyError_(f"key '{name}' does not exist", where=str(path),
                            fix="restore it from your backup (mesh dr restore), or create the keys again") from None
        _require_key_file(name, path, st)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyError_(f"key file '{name}' is readable by group or others (mode {oct(st.st_mode & 0o777)})",
                            where=str(path), fix=f"chmod 600 {path}, and rotate the key if it may have leaked")
        _refuse_shared(path.parent, f"the folder of key '{name}'")
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as fh:  # a FIFO: no wait
            _require_key_file(name, path, os.fstat(fh.fileno()))  # it may have been swapped since
            return fh.read(MAX_KEY_FILE_BYTES + 1)

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
            return ed25519_private_key(self.read_secret(name))
        except ValueError as exc:
            raise KeyError_(f"key file '{name}' is {exc}", where=str(self._path(name)),
                            fix="restore it from your backup (mesh dr restore); a replaced key no longer matches "
                                "what mesh.toml pins") from None


def _require_key_file(name: str, path: Path, st: os.stat_result) -> None:
    """Refuse (:class:`KeyError_`) a key file that is not a regular file of a key file's size: a
    folder, a FIFO (read, it would block) or a device (it would never end), or a huge file."""
    if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_KEY_FILE_BYTES:
        return
    what = (f"is {st.st_size:,} bytes, more than any key file" if stat.S_ISREG(st.st_mode)
            else "is not a regular file (a folder, a FIFO or a device)")
    raise KeyError_(f"key file '{name}' {what}", where=str(path),
                    fix="move it away and restore the key file from your backup (mesh dr restore)")


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
