"""Checksums of stored data files, written ``<algorithm>:<hex>``: the value names its algorithm.

New versions are checksummed with BLAKE3 (``blake3:<hex>``); versions published before carry
``sha256:<hex>`` and are still verified with SHA-256. A reader always hashes with the algorithm
a manifest names and never assumes one, so a store can hold both kinds for as long as it keeps
old versions, and a replica keeps its source's manifest (and algorithm) byte for byte.

Why BLAKE3: verification sits on every replication and every first read of a file. SHA-256
runs at about 1.3 GB/s per core here (with SHA extensions), slower than the kernel copies a
file (2 GB/s and more), so a verified copy could not come near a plain one; BLAKE3 runs at
about 3 to 4 GB/s per core, and both release the GIL, so copies on several threads hash on
several cores. A mesh older than BLAKE3 checksums reads a ``blake3:`` manifest as a mismatch and
refuses the data (it never serves it unverified): upgrade every reader before publishing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

import blake3

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "Hasher", "Readable", "UnknownChecksumAlgorithm", "algorithm_of",
           "checksum_of", "checksum_of_stream", "new_hasher"]


class Hasher(Protocol):
    """What hashing a stream needs: ``hashlib``'s objects and ``blake3`` both fit."""

    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


ALGORITHMS: dict[str, Callable[[], Hasher]] = {
    "blake3": lambda: blake3.blake3(max_threads=blake3.blake3.AUTO),  # large buffers on every core
    "sha256": hashlib.sha256,
}
#: The algorithm of the checksums written for new versions.
DEFAULT_ALGORITHM = "blake3"


class UnknownChecksumAlgorithm(ValueError):
    """A checksum names an algorithm this mesh does not know (callers say which file)."""


def algorithm_of(checksum: str) -> str:
    """The algorithm a ``<algorithm>:<hex>`` checksum was made with; raises
    :class:`UnknownChecksumAlgorithm` for one not in :data:`ALGORITHMS`."""
    algorithm = checksum.partition(":")[0]
    if algorithm not in ALGORITHMS:
        raise UnknownChecksumAlgorithm(f"checksum algorithm '{algorithm}' is not known (known: "
                                       f"{', '.join(sorted(ALGORITHMS))})")
    return algorithm


def new_hasher(algorithm: str) -> Hasher:
    """A fresh hasher for ``algorithm`` (a name in :data:`ALGORITHMS`)."""
    return ALGORITHMS[algorithm]()


def checksum_of(data: bytes | bytearray | memoryview, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """``<algorithm>:<hex>`` of bytes in memory."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"


class Readable(Protocol):
    """A file to read from: a local file or an object store's."""

    def readinto(self, buffer: bytearray, /) -> int | None: ...


def checksum_of_stream(fh: Readable, algorithm: str = DEFAULT_ALGORITHM, *, chunk: int = 4 * 1024 * 1024) -> str:
    """``<algorithm>:<hex>`` of what is left to read in ``fh`` (a local file or an object
    store's), read into one buffer of ``chunk`` bytes at a time. (Not mapped into memory: a file
    cut short while it is hashed must be an error, not a crash.)"""
    hasher = new_hasher(algorithm)
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    while count := fh.readinto(buffer):
        hasher.update(view[:count])
    return f"{algorithm}:{hasher.hexdigest()}"
