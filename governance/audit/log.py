"""The tamper-evident audit log: hash-chained records and signed Merkle checkpoints.

Files in the audit folder:

- ``audit.jsonl``: one record per line. Each record holds the NIST AU-3 fields (what:
  ``action``, when: ``at``, where: ``where``, source: ``source``, outcome: ``outcome``, who:
  ``actor``) plus its ``target`` and ``details``, the hash of the previous record (``prev``),
  and its own ``hash``: SHA-256 of the record's canonical JSON (sorted keys, no spaces)
  without ``hash``. The line is that canonical JSON with ``"hash"`` appended as the last key,
  so verifying hashes the line's own bytes.
- ``checkpoints.jsonl``: signed tree heads: the RFC 6962 Merkle root of the first
  ``size`` record hashes, signed with Ed25519.
- ``head.json``: the count, last hash and Merkle compact range, so an append is O(1).
- ``audit.ed25519.pub``: the pinned public key checkpoints must verify with.

Appends from several processes are serialised by an exclusive ``flock``; each batch is
written and ``fsync``-ed before the lock is released, so no record is lost and the chain
never forks.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from assets.atomic import atomic_write
from assets.ports import AuditEvent
from governance.audit.merkle import CompactRange
from governance.keys.local import public_key_id

GENESIS = "0" * 64
LOG, HEAD, CHECKPOINTS, LOCK, PUBLIC_KEY = "audit.jsonl", "head.json", "checkpoints.jsonl", "audit.lock", "audit.ed25519.pub"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    source: str
    where: str
    details: Mapping[str, Any]
    prev: str
    hash: str

    def body(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("hash")
        data["details"] = dict(self.details)
        return data


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :meth:`AuditLog.verify`: ``problem`` names the first bad record."""

    records: int
    checkpoints: int
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


_HASH_FIELD = b',"hash":"'


def encode_line(body: Mapping[str, Any]) -> tuple[bytes, str]:
    """The log line of a record body, and the record's hash."""
    canonical = _canonical(body)
    digest = hashlib.sha256(canonical).hexdigest()
    return canonical[:-1] + _HASH_FIELD + digest.encode() + b'"}\n', digest


def _chain_fields(body: bytes) -> tuple[int, str]:
    """``seq`` and ``prev`` of a canonical body, without parsing it all. With sorted keys they
    are the last keys but for strings (``source``, ``target``, ``where``), whose values JSON
    escapes, so the last occurrence of each key pattern is the top-level one."""
    at = body.rindex(b'"prev":"') + 8
    seq_at = body.rindex(b',"seq":') + 7
    return int(body[seq_at:body.index(b",", seq_at)]), body[at:at + 64].decode()


def _decode_line(line: bytes) -> tuple[bytes, str]:
    """The canonical body bytes and the stored hash of a log line."""
    body, sep, tail = line.rstrip(b"\n").rpartition(_HASH_FIELD)
    if not sep or not tail.endswith(b'"}'):
        raise ValueError("no hash field")
    return body + b"}", tail[:-2].decode()


class AuditLog:
    """Append, checkpoint, verify and query the audit log in ``folder``.

    ``signer`` signs checkpoints (every ``checkpoint_every`` records, and on demand).
    """

    def __init__(self, folder: Path, signer: Ed25519PrivateKey, *, checkpoint_every: int = 1000) -> None:
        self.folder = folder
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self._where = socket.gethostname()

    # -- appending ------------------------------------------------------------------------------
    def append(self, event: AuditEvent) -> AuditRecord:
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Chain and write ``events`` in one locked, fsync-ed batch."""
        with self._locked():
            head = self._head()
            lines, records = [], []
            for event in events:
                body = {"seq": head["count"], "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                        "actor": event.actor, "action": event.action, "target": event.target,
                        "outcome": event.outcome, "source": event.source, "where": event.where or self._where,
                        "details": dict(event.details), "prev": head["last"]}
                line, digest = encode_line(body)
                record = AuditRecord(**body, hash=digest)
                lines.append(line)
                head["range"].append(bytes.fromhex(record.hash))
                head["count"] += 1
                head["last"] = record.hash
                records.append(record)
            with open(self.folder / LOG, "ab") as fh:
                fh.write(b"".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
                head["bytes"] = fh.tell()
            due = head["count"] // self.checkpoint_every > (head["count"] - len(events)) // self.checkpoint_every
            if due:
                self._write_checkpoint(head)
            self._save_head(head)
        return records

    def checkpoint(self) -> dict[str, Any]:
        """Sign the tree head of every record so far."""
        with self._locked():
            return self._write_checkpoint(self._head())

    def snapshot(self, dest: Path) -> dict[str, Any]:
        """Copy the log into ``dest`` as of one instant (appends wait), ending in a fresh signed
        checkpoint, so the copy verifies on its own. Returns that checkpoint."""
        with self._locked():
            checkpoint = self._write_checkpoint(self._head())
            dest.mkdir(parents=True, exist_ok=True)
            for name in (LOG, CHECKPOINTS, PUBLIC_KEY):
                if (self.folder / name).exists():
                    shutil.copyfile(self.folder / name, dest / name)
            return checkpoint

    # -- reading --------------------------------------------------------------------------------
    def records(self) -> Iterator[AuditRecord]:
        path = self.folder / LOG
        if not path.exists():
            return
        with open(path, "rb") as fh:
            for line in fh:
                data = json.loads(line)
                yield AuditRecord(**data)

    def query(self, *, actor: str | None = None, target: str | None = None, action: str | None = None,
              since: dt.datetime | None = None) -> list[AuditRecord]:
        """Records matching every given filter (``target`` also matches a key prefix)."""
        found = []
        for r in self.records():
            if actor and r.actor != actor or action and r.action != action:
                continue
            if target and not (r.target == target or r.target.startswith(target + ".")):
                continue
            if since and dt.datetime.fromisoformat(r.at) < since:
                continue
            found.append(r)
        return found

    def verify(self) -> VerifyReport:
        """Check the chain, every checkpoint's signature and Merkle root, and the head."""
        checkpoints = self._checkpoints()
        public = self._pinned_key()
        for i, cp in enumerate(checkpoints):
            payload = _canonical({k: cp[k] for k in ("size", "root", "at", "key_id")})
            try:
                public.verify(bytes.fromhex(cp["signature"]), payload)
            except (InvalidSignature, ValueError):
                return VerifyReport(0, i, f"checkpoint {i} (size {cp['size']}) has an invalid signature")
        pending = sorted(((cp["size"], i, cp["root"]) for i, cp in enumerate(checkpoints)), reverse=True)
        tree = CompactRange()
        prev, count = GENESIS, 0
        path = self.folder / LOG
        with open(path, "rb") if path.exists() else open(os.devnull, "rb") as fh:
            for line_no, line in enumerate(fh, start=1):
                while pending and pending[-1][0] == count:
                    _, i, root = pending.pop()
                    if tree.root().hex() != root:
                        return VerifyReport(count, i, f"records before {count} do not match signed checkpoint {i}")
                try:
                    body, stored = _decode_line(line)
                    seq, previous = _chain_fields(body)
                except ValueError:
                    return VerifyReport(count, 0, f"record at line {line_no} is not a valid audit record")
                if seq != count or previous != prev:
                    return VerifyReport(count, 0, f"the chain breaks at line {line_no} (record {seq}): "
                                                  f"expected record {count} after {prev[:12]}; a record was "
                                                  "inserted, deleted or reordered there")
                if hashlib.sha256(body).hexdigest() != stored:
                    return VerifyReport(count, 0, f"record {count} at line {line_no} was modified (its hash does not "
                                                  "match)")
                tree.append(bytes.fromhex(stored))
                prev, count = stored, count + 1
        while pending and pending[-1][0] == count:
            _, i, root = pending.pop()
            if tree.root().hex() != root:
                return VerifyReport(count, i, f"records before {count} do not match signed checkpoint {i}")
        if pending:
            size, i, _ = pending[-1]
            return VerifyReport(count, i, f"the log was truncated: checkpoint {i} covers {size} records, "
                                          f"the log has {count}; the first missing record is {count}")
        head = self._read_head_file()
        if head is not None and head["count"] > count:
            return VerifyReport(count, len(checkpoints), f"the log was truncated: {head['count']} records were "
                                                         f"written, {count} remain; the first missing is {count}")
        return VerifyReport(count, len(checkpoints))

    # -- internals ------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / LOCK, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_head_file(self) -> dict[str, Any] | None:
        path = self.folder / HEAD
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        data["range"] = CompactRange.from_dict(data["range"])
        return data

    def _head(self) -> dict[str, Any]:
        """The head, rebuilt from the log if it does not describe the log's current size."""
        head = self._read_head_file()
        size = (self.folder / LOG).stat().st_size if (self.folder / LOG).exists() else 0
        if head is not None and head["bytes"] == size:
            return head
        rebuilt: dict[str, Any] = {"count": 0, "last": GENESIS, "range": CompactRange(), "bytes": size}
        for record in self.records():
            rebuilt["range"].append(bytes.fromhex(record.hash))
            rebuilt["count"] += 1
            rebuilt["last"] = record.hash
        return rebuilt

    def _save_head(self, head: dict[str, Any]) -> None:
        atomic_write(self.folder / HEAD, json.dumps({**head, "range": head["range"].to_dict()}).encode())

    def _write_checkpoint(self, head: dict[str, Any]) -> dict[str, Any]:
        public = self.signer.public_key()
        self._pin(public)
        body = {"size": head["count"], "root": head["range"].root().hex(),
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "key_id": public_key_id(public)}
        checkpoint = {**body, "signature": self.signer.sign(_canonical(body)).hex()}
        with open(self.folder / CHECKPOINTS, "ab") as fh:
            fh.write(_canonical(checkpoint) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        return checkpoint

    def _checkpoints(self) -> list[dict[str, Any]]:
        path = self.folder / CHECKPOINTS
        return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []

    def _pin(self, public: Ed25519PublicKey) -> None:
        path = self.folder / PUBLIC_KEY
        if not path.exists():
            path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))

    def _pinned_key(self) -> Ed25519PublicKey:
        path = self.folder / PUBLIC_KEY
        if not path.exists():
            return self.signer.public_key()
        key = serialization.load_pem_public_key(path.read_bytes())
        assert isinstance(key, Ed25519PublicKey)
        return key
