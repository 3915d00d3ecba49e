"""Protection at rest: tokenization and encryption of classified columns, keys wrapped by a KEK."""

from __future__ import annotations

from governance.protection.columns import (
    REDACTED,
    Protected,
    classified_columns,
    protect,
    redact_plaintext_now_classified,
    tokenize,
    unprotect,
)
from governance.protection.keys import (
    KeyProvider,
    Keyring,
    LocalKeyProvider,
    WrappedKey,
)

__all__ = ["REDACTED", "KeyProvider", "Keyring", "LocalKeyProvider", "Protected", "WrappedKey",
           "classified_columns", "protect", "redact_plaintext_now_classified", "tokenize", "unprotect"]
