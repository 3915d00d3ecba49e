"""RFC 6962 Merkle tree heads, computed incrementally.

Leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``. A
:class:`CompactRange` keeps the roots of the perfect subtrees that cover the leaves so far
(largest first); the tree head of all leaves folds them from the right, which matches RFC 6962's
split at the largest power of two below the size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
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
        self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, digest: bytes) -> None:
        """Append a leaf whose hash (``leaf_hash`` of its data) is already known."""
        height = 0
        while self.peaks and self.peaks[-1][0] == height:
            _, left = self.peaks.pop()
            digest = node_hash(left, digest)
            height += 1
        self.peaks.append((height, digest))
        self.size += 1

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.peaks))

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


# -- proofs (RFC 9162 §2.1.3-2.1.4) ---------------------------------------------------------------
def _largest_power_below(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1): RFC 9162's split point ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (already ``leaf_hash``-ed)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _largest_power_below(len(hashes))
    return node_hash(subtree_hash(hashes[:k]), subtree_hash(hashes[k:]))


def inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path (RFC 9162 §2.1.3.1) of leaf ``index`` in the tree of ``hashes`` (leaf hashes)."""
    if not 0 <= index < len(hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(hashes)}")
    if len(hashes) == 1:
        return []
    k = _largest_power_below(len(hashes))
    if index < k:
        return [*inclusion_proof(hashes[:k], index), subtree_hash(hashes[k:])]
    return [*inclusion_proof(hashes[k:], index - k), subtree_hash(hashes[:k])]


def consistency_proof(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof (RFC 9162 §2.1.4.1) between the tree of the first ``old_size``
    leaf hashes and the tree of all ``hashes``."""
    if not 0 < old_size <= len(hashes):
        raise ValueError(f"no consistency proof from size {old_size} to {len(hashes)}")
    return _subproof(hashes, old_size, True)


def _subproof(hashes: Sequence[bytes], m: int, whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [subtree_hash(hashes)]
    k = _largest_power_below(n)
    if m <= k:
        return [*_subproof(hashes[:k], m, whole), subtree_hash(hashes[k:])]
    return [*_subproof(hashes[k:], m - k, False), subtree_hash(hashes[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from leaf hash ``leaf`` (RFC 9162 §2.1.3.2); raises
    ``ValueError`` when the proof has the wrong shape."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the inclusion proof is too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    try:
        return root_from_inclusion(index, size, leaf, proof) == root
    except ValueError:
        return False


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``old_size`` with ``old_root`` is a prefix of the tree
    of ``new_size`` with ``new_root`` (RFC 9162 §2.1.4.2)."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
