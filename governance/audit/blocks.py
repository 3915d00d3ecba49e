"""Byte-level anchoring of the audit log: a Merkle tree over the log file's 1 MiB blocks.

Every signed tree head carries, besides the Merkle root of the records, ``bytes`` (the log's
length when it was signed) and ``blocks``: the RFC 6962 Merkle root over the file's 1 MiB blocks
up to ``bytes``, the last one partial. Any byte changed, cut or added inside what a head covers
changes that root.

The writer keeps the complete blocks as a compact range (:func:`extend`), so signing a head costs
at most one 1 MiB read (:func:`blocks_root`). The verifier checks every head in one pass over the
file (:func:`prefix_digests`): whole-block hashing runs at C speed and releases the GIL, so the
blocks hash on every core. That is what lets ``mesh audit verify`` check a million records in a
fraction of a second instead of hashing each record in Python.

Every function reads "the log's bytes" (:class:`~governance.audit.storage.LogBytes`): a file,
mapped into memory, or the lines a database holds, read in order; the roots are the same.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from governance.audit.merkle import CompactRange
from governance.audit.storage import FileBytes, LogBytes

BLOCK = 1 << 20


def extend(blocks: CompactRange, log: LogBytes, size: int) -> None:
    """Add to ``blocks`` the blocks of ``log`` that are complete within its first ``size`` bytes."""
    if (blocks.size + 1) * BLOCK > size:
        return
    with log.open() as fh:
        while (blocks.size + 1) * BLOCK <= size:
            fh.seek(blocks.size * BLOCK)
            blocks.append(_read(fh, BLOCK))


def blocks_root(blocks: CompactRange, log: LogBytes, size: int) -> bytes:
    """The blocks root of the first ``size`` bytes of ``log``, given its complete blocks."""
    start = blocks.size * BLOCK
    if start >= size:
        return blocks.root()
    with log.open() as fh:
        fh.seek(start)
        tail = _read(fh, size - start)
    partial = blocks.copy()
    partial.append(tail)
    return partial.root()


def _read(fh: BinaryIO, count: int) -> bytes:
    """Exactly ``count`` bytes (fewer only at the end): a reader may return less per call."""
    parts, left = [], count
    while left:
        part = fh.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class _Block:
    leaf: bytes | None  # the leaf hash of the whole block; None when the file ends inside it
    cuts: tuple[tuple[int, bytes], ...]  # (offset, leaf hash of the block's bytes before it)


def _hash_block(data: memoryview | bytes, start: int, cuts: Sequence[int]) -> _Block:
    """Hash the block whose bytes are ``data`` (at offset ``start`` of the log), and its
    prefixes ending at ``cuts``."""
    digest, position, found = hashlib.sha256(b"\x00"), 0, []
    for cut in cuts:
        digest.update(data[position:cut - start])  # large updates release the GIL: blocks hash in parallel
        position = cut - start
        found.append((cut, digest.copy().digest()))
    digest.update(data[position:])
    leaf = digest.digest() if len(data) == BLOCK else None
    if isinstance(data, memoryview):
        data.release()
    return _Block(leaf, tuple(found))


def prefix_digests(log: LogBytes | Path, lengths: Sequence[int], *, workers: int | None = None) -> dict[int, bytes]:
    """The blocks root of the first ``length`` bytes of ``log`` for each of ``lengths`` (each at
    most the log's size), in one pass over it, its blocks hashed in parallel."""
    source = FileBytes(log) if isinstance(log, Path) else log
    size = source.size()
    wanted = sorted(set(lengths))
    if any(not 0 <= length <= size for length in wanted):
        raise ValueError(f"a prefix longer than the log ({size} bytes) was asked for")
    found = {0: CompactRange().root()} if 0 in wanted else {}
    if size == 0:
        return found
    count = -(-size // BLOCK)
    cuts: list[list[int]] = [[] for _ in range(count)]
    for length in wanted:
        if length and length % BLOCK:
            cuts[length // BLOCK].append(length)
    threads = workers or min(8, len(os.sched_getaffinity(0)))
    blocks: list[_Block] = []
    with source.open() as fh, _blocks_of(fh, size) as datas, ThreadPoolExecutor(max_workers=threads) as pool:
        running: deque[Future[_Block]] = deque()
        for index, data in enumerate(datas):
            running.append(pool.submit(_hash_block, data, index * BLOCK, cuts[index]))
            if len(running) >= 4 * threads:  # a bounded window: a log read from a database is not all in memory
                blocks.append(running.popleft().result())
        blocks += [future.result() for future in running]
    whole = CompactRange()
    for index, block in enumerate(blocks):
        for cut, leaf in block.cuts:
            partial = whole.copy()
            partial.append_leaf_hash(leaf)
            found[cut] = partial.root()
        if block.leaf is not None:
            whole.append_leaf_hash(block.leaf)
            if (index + 1) * BLOCK in wanted:
                found[(index + 1) * BLOCK] = whole.root()
    return found


@contextmanager
def _blocks_of(fh: BinaryIO, size: int) -> Iterator[Iterator[memoryview | bytes]]:
    """The blocks of the first ``size`` bytes of ``fh``: views of the mapped file when it is
    one (no copy; the mapping is closed when the block ends), else read in order."""
    try:
        fileno: int | None = fh.fileno()
    except (OSError, io.UnsupportedOperation):
        fileno = None
    if fileno is None:
        yield (_read(fh, min(BLOCK, size - start)) for start in range(0, size, BLOCK))
        return
    with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            yield (view[start:min(start + BLOCK, size)] for start in range(0, size, BLOCK))
        finally:
            view.release()
