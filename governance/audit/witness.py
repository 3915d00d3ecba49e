"""Witnesses of the audit log: append-only copies of its signed tree heads kept where the local
writer cannot silently rewrite them (another region's storage, a backup).

In a folder, a witness holds ``_witness/audit/heads.jsonl`` under a region's
:class:`StorageRoot`: one signed tree head (the checkpoint JSON) a line, only ever appended. In a
bucket, which has no append, each head is written once as its own object,
``_witness/audit/heads.d/<size>-<root>-<digest>.json`` (a ``heads.jsonl`` written there by an
earlier version is still read). ``mesh audit verify`` checks the local log against every head
any witness saw, so a log that was deleted, cut or rewritten after a head was witnessed no longer
matches it.

A bucket's witness is read from every stored version of its objects: a deleted object leaves a
delete marker, and its versions stay. With S3 Object Lock in compliance mode on that bucket, no
one (the mesh's own credentials included) can remove a version before its retention ends, so a
writer that restarts the log cannot take back what was witnessed: the evidence is out of its
reach. :meth:`RegionWitness.write_once` says whether the bucket promises that. A head object whose
name gives the size and root of a head the local log holds (and verification checked) is not
read: a verification reads only what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assets.storage import StorageRoot
from assets.storage.object_lock import (
    Retention,
    object_lock_retention,
    read_version,
    stored_objects,
)
from assets.stored_json import load_json

HEADS = ("_witness", "audit", "heads.jsonl")
#: In a bucket: each head as its own object, never rewritten.
HEAD_OBJECTS = ("_witness", "audit", "heads.d")
ACKNOWLEDGED = ("_witness", "audit", "acknowledged.jsonl")


class Witness(Protocol):
    """Somewhere signed tree heads are kept apart from the log."""

    @property
    def name(self) -> str:
        """Where it is, as messages name it (a region, a backup)."""
        ...

    def heads(self, known: Mapping[tuple[int, str], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The signed tree heads it holds, oldest first (lines it cannot parse are skipped).
        ``known`` maps (size, root) to heads already checked; one of those may stand for a
        stored head that makes the same claim, without reading it."""
        ...

    def acknowledgments(self) -> bytes:
        """The acknowledged-loss lines it holds."""
        ...


def _line(head: dict[str, Any]) -> bytes:
    return json.dumps(head, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()[:32]


def _named(name: str) -> tuple[int, str, str]:
    """``(size, root, digest)`` from a head object's name; a name not made by
    :meth:`RegionWitness.record` gives nothing that matches (so its content is read)."""
    parts = name.removesuffix(".json").split("-")
    if len(parts) == 3 and parts[0].isdigit():
        return int(parts[0]), parts[1], parts[2]
    return -1, "", name


def _parse(raw: bytes) -> list[dict[str, Any]]:
    heads = []
    for line in raw.splitlines():
        try:
            head = load_json(line)
        except ValueError:
            continue  # a torn last line of an interrupted append
        if isinstance(head, dict) and isinstance(head.get("size"), int):
            heads.append(head)
    return heads


@dataclass(frozen=True)
class RegionWitness:
    """The tree heads held in region ``name``'s storage."""

    name: str
    root: StorageRoot

    @property
    def path(self) -> str:
        return self.root.path(*HEADS)

    def heads(self, known: Mapping[tuple[int, str], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The heads of ``heads.jsonl`` and, in a bucket, of every stored version of the head
        objects (see the module docstring), ordered by size."""
        found = {_digest(_line(head)): head for head in
                 (_parse(self.root.read_bytes(self.path)) if self.root.exists(self.path) else [])}
        if not self.root.is_local:
            for path, version in stored_objects(self.root, self.root.path(*HEAD_OBJECTS)):
                size, root, digest = _named(path.rsplit("/", 1)[-1])
                if digest in found:
                    continue
                if known and (claim := known.get((size, root))) is not None:
                    found[digest] = claim
                    continue
                for head in _parse(read_version(self.root, path, version)):
                    found.setdefault(_digest(_line(head)), head)
        return sorted(found.values(), key=lambda head: head["size"])

    def record(self, head: dict[str, Any]) -> None:
        """Keep one signed tree head: appended to ``heads.jsonl`` in a folder, its own object in a bucket."""
        line = _line(head)
        if self.root.is_local:
            self._append(self.path, line)
        else:
            name = f"{head['size']:016d}-{head.get('root', '')}-{_digest(line)}.json"
            self.root.write_atomic(self.root.path(*HEAD_OBJECTS, name), line)

    def write_once(self) -> Retention | None:
        """The Object Lock retention that keeps this witness's head objects from being deleted or
        overwritten (see the module docstring), or None: a folder, or a bucket without one."""
        return object_lock_retention(self.root)

    def acknowledgments(self) -> bytes:
        """The acknowledged-loss lines this witness holds (see :mod:`governance.audit.acknowledgments`)."""
        path = self.root.path(*ACKNOWLEDGED)
        return self.root.read_bytes(path) if self.root.exists(path) else b""

    def acknowledge(self, line: bytes) -> None:
        """Append one acknowledged-loss line."""
        self._append(self.root.path(*ACKNOWLEDGED), line)

    def _append(self, path: str, line: bytes) -> None:
        """An append on a local folder. An object store has no append: the object is rewritten
        with the old lines kept, conditionally on the version read (:meth:`StorageRoot.update`),
        so of writers appending at once (workers sealing the log) none drops another's line."""
        self.root.makedirs(path.rsplit("/", 1)[0])
        if self.root.is_local:
            with open(path, "ab") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            self.root.update(path, lambda old: (old or b"") + line)


@dataclass(frozen=True)
class FileWitness:
    """The signed tree heads in a ``checkpoints.jsonl`` kept apart from the log (a backup's)."""

    name: str
    file: Path

    def heads(self, known: Mapping[tuple[int, str], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        try:
            return _parse(self.file.read_bytes())
        except OSError:
            return []

    def acknowledgments(self) -> bytes:
        return b""  # a backup holds heads only


@dataclass(frozen=True)
class Witnesses:
    """Where a log's tree heads go when signed (``targets``) and every witness ``verify`` reads
    (``sources``); both are asked each time, since the standby region changes on failover."""

    targets: Callable[[], Sequence[RegionWitness]] = tuple
    sources: Callable[[], Sequence[Witness]] = tuple


NO_WITNESSES = Witnesses()
