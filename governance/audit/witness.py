"""Witnesses of the audit log: append-only copies of its signed tree heads kept where the local
writer cannot silently rewrite them (another region's storage, a backup).

A witness holds ``_witness/audit/heads.jsonl`` under a region's :class:`StorageRoot`: one signed
tree head (the checkpoint JSON) a line, only ever appended. ``mesh audit verify`` checks the local
log against the newest head any witness saw, so a log that was deleted, cut or rewritten after
that head was witnessed no longer matches it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assets.storage import StorageRoot

HEADS = ("_witness", "audit", "heads.jsonl")
ACKNOWLEDGED = ("_witness", "audit", "acknowledged.jsonl")


class Witness(Protocol):
    """Somewhere signed tree heads are kept apart from the log."""

    @property
    def name(self) -> str:
        """Where it is, as messages name it (a region, a backup)."""
        ...

    def heads(self) -> list[dict[str, Any]]:
        """The signed tree heads it holds, oldest first (lines it cannot parse are skipped)."""
        ...

    def acknowledgments(self) -> bytes:
        """The acknowledged-loss lines it holds."""
        ...


def _parse(raw: bytes) -> list[dict[str, Any]]:
    heads = []
    for line in raw.splitlines():
        try:
            head = json.loads(line)
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

    def heads(self) -> list[dict[str, Any]]:
        return _parse(self.root.read_bytes(self.path)) if self.root.exists(self.path) else []

    def record(self, head: dict[str, Any]) -> None:
        """Append one signed tree head."""
        self._append(self.path, json.dumps(head, sort_keys=True, separators=(",", ":")).encode() + b"\n")

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

    def heads(self) -> list[dict[str, Any]]:
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
