"""RFC 6962 Merkle tree heads, computed incrementally.

Leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``. A
:class:`CompactRange` keeps the roots of the perfect subtrees that cover the leaves so far
(largest first); the tree head of all leaves folds them from the right, which matches RFC 6962's
split at the largest power of two below the size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


@dataclass
class CompactRange:
    """The perfect-subtree roots covering ``size`` leaves: ``(height, hash)``, largest first."""

    size: int = 0
    peaks: list[tuple[int, bytes]] = field(default_factory=list)

    def append(self, data: bytes) -> None:
        height, digest = 0, leaf_hash(data)
        while self.peaks and self.peaks[-1][0] == height:
            _, left = self.peaks.pop()
            digest = node_hash(left, digest)
            height += 1
        self.peaks.append((height, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        digest = self.peaks[-1][1]
        for _, left in reversed(self.peaks[:-1]):
            digest = node_hash(left, digest)
        return digest

    def to_dict(self) -> dict[str, object]:
        return {"size": self.size, "peaks": [[h, d.hex()] for h, d in self.peaks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompactRange:
        peaks = [(int(h), bytes.fromhex(d)) for h, d in data["peaks"]]
        return cls(size=int(data["size"]), peaks=peaks)


def tree_head(leaves: Iterable[bytes]) -> bytes:
    """The RFC 6962 Merkle tree head of ``leaves``."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()
