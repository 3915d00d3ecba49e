"""Protection at rest: tokenization and encryption of classified columns, keys wrapped by a KEK."""

from __future__ import annotations

from pathlib import Path

from governance.keys import LocalKeyStore
from governance.protection.columns import (
    REDACTED,
    Protected,
    classified_columns,
    protect,
    tokenize,
    unprotect,
)
from governance.protection.keys import KeyProvider, Keyring, LocalKeyProvider, WrappedKey


def keyring_at(state_dir: Path) -> Keyring:
    """The keyring of the mesh whose state folder is ``state_dir``: local KEK files by default."""
    keys = state_dir / "keys"
    return Keyring(LocalKeyProvider(LocalKeyStore(keys)), keys / "data")


__all__ = ["REDACTED", "KeyProvider", "Keyring", "LocalKeyProvider", "Protected", "WrappedKey",
           "classified_columns", "keyring_at", "protect", "tokenize", "unprotect"]
