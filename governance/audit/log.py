"""The tamper-evident audit log: hash-chained records and signed Merkle checkpoints.

Files in the audit folder:

- ``audit.jsonl``: one record per line. Each record holds the NIST AU-3 fields (what:
  ``action``, when: ``at``, where: ``where``, source: ``source``, outcome: ``outcome``, who:
  ``actor``) plus its ``target`` and ``details``, the hash of the previous record (``prev``),
  and its own ``hash``: SHA-256 of the record's canonical JSON (sorted keys, no spaces)
  without ``hash``. The line is that canonical JSON with ``"hash"`` appended as the last key,
  so verifying hashes the line's own bytes.
- ``checkpoints.jsonl``: signed tree heads: the RFC 6962 Merkle root of the first
  ``size`` record hashes, and the log's length (``bytes``) and blocks root (``blocks``) then,
  signed with Ed25519.
- ``head.json``: the count, last hash, the Merkle compact range of the records and of the file's
  complete 1 MiB blocks (:mod:`governance.audit.blocks`), so an append is O(1). A cache:
  rebuilt from the log when missing, stale or unreadable.
- ``audit.ed25519.pub``: the public key checkpoints verify with, for offline checks. It is
  trusted only if its fingerprint is the one ``mesh.toml`` pins (``[audit].key_fingerprint``).
- ``torn-<time>.jsonl``: a torn final line a crash left (never covered by a signed head), set
  aside and recorded as an ``audit_torn_line`` record.
- ``<name>.mark.json``: a signed scan mark (:mod:`governance.audit.marks`): what a scan of the
  log's first bytes found (the revoked grants), so the next scan reads only what came after.

Appends from several processes are serialised by an exclusive ``flock``; each batch is one
``write`` that is ``fsync``-ed before the lock is released, and cut back if it fails (a full
disk), so no record is lost, none is torn and the chain never forks. That is the folder store
(:class:`~governance.audit.storage.FileLogStorage`); a mesh whose ``[state] url`` names a
database keeps the same records, byte for byte, in it (:mod:`governance.audit.database`),
appends serialised by the database. Every signed head also
goes to the witnesses (:mod:`governance.audit.witness`); :meth:`AuditLog.verify` checks the log
against every head they saw (:mod:`governance.audit.verification`), so deleting, cutting or
rewriting the log is reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from assets.errors import MeshError
from assets.ports import AuditEvent
from governance.audit import blocks
from governance.audit.acknowledgments import (
    Acknowledgers,
    Acknowledgment,
    acknowledged_heads,
    parse_all,
)
from governance.audit.blocks import prefix_digests
from governance.audit.lines import GENESIS, canonical, decode_line, encode_line
from governance.audit.merkle import CompactRange
from governance.audit.records import AuditRecord, parse_record
from governance.audit.storage import (
    CHECKPOINTS,
    HEAD,
    LOG,
    MAX_RECORD_BYTES,
    PUBLIC_KEY,
    AuditError,
    FileLogStorage,
    LogStorage,
    line_too_long,
)
from governance.audit.verification import (
    Evidence,
    VerifyReport,
    check_bytes,
    check_records,
)
from governance.audit.witness import NO_WITNESSES, RegionWitness, Witnesses
from governance.keys.local import ed25519_public_key, public_key_id
from assets.stored_json import load_json

_log = logging.getLogger(__name__)
__all__ = ["CHECKPOINTS", "HEAD", "LOG", "PUBLIC_KEY", "AuditError", "AuditLog", "AuditRecord", "key_fingerprint",
           "signed_by"]


def key_fingerprint(public: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw public key: what ``[audit].key_fingerprint`` pins."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class AuditLog:
    """Append, checkpoint, verify and query the audit log in ``storage`` (a folder, or a
    :class:`~governance.audit.storage.LogStorage` such as the state database).

    ``signer`` (a key, or a function that loads it when first needed) signs tree heads: every
    ``checkpoint_every`` records, when a command or run ends (:meth:`seal`), and on demand.
    ``pinned`` is the fingerprint of the only key :meth:`verify` trusts; ``witnesses`` where
    signed heads are also kept; ``acknowledgers`` who may acknowledge a loss
    (:mod:`governance.audit.acknowledgments`).
    """

    def __init__(self, storage: Path | LogStorage, signer: Ed25519PrivateKey | Callable[[], Ed25519PrivateKey], *,
                 checkpoint_every: int = 1000, pinned: str | None = None,
                 witnesses: Witnesses = NO_WITNESSES, acknowledgers: Acknowledgers | None = None) -> None:
        self.storage: LogStorage = FileLogStorage(storage) if isinstance(storage, Path) else storage
        self.acknowledgers = acknowledgers
        self._signer = signer
        self.checkpoint_every = checkpoint_every
        self.pinned = pinned
        self.witnesses = witnesses
        self._where = socket.gethostname()
        #: The head as last read or saved by this process, with its bytes: read again as the same
        #: bytes (no other writer since), it is not parsed again. Used under the writers' lock only.
        self._known_head: tuple[bytes, dict[str, Any]] | None = None

    @property
    def where(self) -> str:
        """Names the log in messages: its folder, or the state database."""
        return self.storage.where

    @property
    def records_where(self) -> str:
        """Names the records in messages: the ``audit.jsonl`` file, or the state database."""
        return self._named(LOG)

    @property
    def folder(self) -> Path:
        """The folder of a log kept in files."""
        if not isinstance(self.storage, FileLogStorage):
            raise AuditError("this audit log is kept in the state database, not in a folder", where=self.where,
                             fix="use `mesh audit verify` and `mesh audit query` to read it")
        return self.storage.folder

    @property
    def signer(self) -> Ed25519PrivateKey:
        if not isinstance(self._signer, Ed25519PrivateKey):
            self._signer = self._signer()
        return self._signer

    # -- appending ------------------------------------------------------------------------------
    def append(self, event: AuditEvent) -> AuditRecord:
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Chain and write ``events`` in one locked, fsync-ed batch: all of them or none."""
        with self._locked():
            return self._append(self._open_head(), events)

    def checkpoint(self) -> dict[str, Any]:
        """Sign the tree head of every record so far (and hand it to the witnesses)."""
        with self._locked():
            head = self._open_head()
            checkpoint = self._write_checkpoint(head)
            self._save_head(head)
            return checkpoint

    def seal(self) -> dict[str, Any] | None:
        """Sign the tree head if records were appended (or not yet witnessed) since the last
        one; called when a command or run ends. Returns the new head, or ``None``. Never raises
        for a damaged file (the run's data is already safe): it logs why, and the next seal or
        ``mesh audit verify`` says it again."""
        try:
            with self._locked():
                head = self._open_head()
                if head["signed"] == head["count"] and head["witnessed"] == head["count"]:
                    return None
                checkpoint = self._write_checkpoint(head)
                self._save_head(head)
                return checkpoint
        except (MeshError, OSError) as exc:
            _log.warning("the audit tree head was not signed: %s", exc)
            return None

    def snapshot(self, dest: Path) -> dict[str, Any]:
        """Copy the log into ``dest`` as of one instant (appends wait), ending in a fresh signed
        checkpoint, so the copy verifies on its own. Returns that checkpoint."""
        with self._locked():
            head = self._open_head()
            checkpoint = self._write_checkpoint(head)
            self._save_head(head)
            self.storage.export(dest)
            return checkpoint

    # -- reading --------------------------------------------------------------------------------
    def records(self) -> Iterator[AuditRecord]:
        """Every record, oldest first; :class:`AuditError` at a line that is not one."""
        with self.storage.open() as fh:
            for line_no, line in enumerate(fh, start=1):
                if line.endswith(b"\n"):  # a torn last line is set aside by the next append
                    try:
                        record = parse_record(line)
                    except (ValueError, TypeError):  # not JSON, not UTF-8, or not a record's fields
                        raise self.damaged_line(line_no) from None
                    yield record

    def records_of(self, *actions: str, start: int = 0, end: int | None = None) -> Iterator[AuditRecord]:
        """Every record of one of ``actions`` whose line lies in the log's bytes from ``start`` (0,
        or where a line ends) to ``end`` (the log's end by default), oldest first, without parsing
        the others: a line is canonical JSON with sorted keys, so a record's line starts with its
        ``action``, and those bytes are searched for those starts 1 MiB at a time (a scan costs
        about what reading the bytes does). :class:`AuditError` at a matching line that is not a
        record; a line cut by ``end`` or torn at the log's end is skipped, as :meth:`records` does."""
        markers = [b'\n{"action":' + json.dumps(action).encode() + b"," for action in actions]
        carry = b"\n"  # the first line starts after a virtual newline (the one ending the line before)
        before = start - 1  # where ``data`` starts in the log (its first byte is the newline ending the line before)
        left = -1 if end is None else max(0, end - start)  # bytes still to read; -1: up to the log's end
        with self.storage.open() as fh:
            fh.seek(start)
            while chunk := fh.read(1 << 20 if left < 0 else min(1 << 20, left)):
                if left >= 0:
                    left -= len(chunk)
                data = carry + chunk
                complete = data.rfind(b"\n") + 1
                for found in sorted(at for marker in markers for at in _starts(data, marker, complete)):
                    end_of_line = data.index(b"\n", found + 1)  # within the complete lines: it ends one
                    try:
                        record = parse_record(data[found + 1:end_of_line + 1])
                    except (ValueError, TypeError):
                        raise self.damaged_at(before + found + 1) from None
                    yield record
                before += complete - 1
                carry = data[complete - 1:]  # the last newline and the unfinished line after it
                if len(carry) > MAX_RECORD_BYTES + 1:  # no record is that long: never carried (and copied) further
                    raise line_too_long(self._named(LOG))

    def _line_at(self, offset: int) -> int:
        """The number of the line that starts at byte ``offset`` of the log (1 for the first)."""
        lines, read = 1, 0
        with self.storage.open() as fh:
            while read < offset and (chunk := fh.read(min(1 << 20, offset - read))):
                lines += chunk.count(b"\n")
                read += len(chunk)
        return lines

    def damaged_at(self, offset: int) -> AuditError:
        """The error for the line that starts at byte ``offset`` of the log (its number is counted
        only now, a megabyte at a time: the log may hold gigabytes)."""
        return self.damaged_line(self._line_at(offset))

    def damaged_line(self, line_no: int) -> AuditError:
        """The error for line ``line_no`` of the log, which is not a valid audit record."""
        return AuditError(f"line {line_no} of the audit log is not a valid audit record: the log was tampered with",
                          where=self._named(LOG), fix="run `mesh audit verify`, restore the audit folder from the "
                                                      "last backup (mesh dr restore) and investigate who changed it")

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

    def signed_heads(self) -> list[dict[str, Any]]:
        """The signed tree heads (lines that are not one are skipped)."""
        return self._checkpoints(strict=False)

    def leaf_hashes(self) -> list[bytes]:
        """The record hashes, in order: the leaves of the Merkle tree."""
        return [bytes.fromhex(r.hash) for r in self.records()]

    def trusted_key(self) -> Ed25519PublicKey:
        """The public key the log's heads verify with, refused unless it is the pinned one."""
        public = self._stored_key()
        if self.pinned is not None and key_fingerprint(public) != self.pinned:
            raise AuditError(f"the audit key has fingerprint {key_fingerprint(public)}, but mesh.toml pins "
                             f"[audit].key_fingerprint = {self.pinned}: the key or the signed heads were replaced",
                             where=self._named(PUBLIC_KEY),
                             fix="restore the audit folder from the last backup (mesh dr restore) and investigate; "
                                 "if the council rotated the audit key, pin the new one (mesh audit pin --replace)")
        return public

    def verify(self, *, full: bool = False) -> VerifyReport:
        """Check the log against every signed tree head (the local checkpoints and every head a
        witness saw) and the pinned key: by the heads' block roots, and the unsigned tail record
        by record; or, with ``full`` or when the bytes differ, every record's hash and chain and
        the records' Merkle roots, which names the first bad record."""
        warnings: list[str] = []
        try:
            if isinstance(self.storage, FileLogStorage) and self.storage.torn():
                self.append_many([])  # a crash's torn line: set aside and recorded, not tampering
            public = self.trusted_key()
            checkpoints = self._checkpoints()
        except MeshError as exc:  # a damaged file of the log, or the signing key
            what = exc.what.split("\n")[0]
            return VerifyReport(0, 0, f"{exc.where}: {what}" if exc.where else what, fix=exc.fix or None)
        if self.pinned is None:
            warnings.append("no audit key fingerprint is pinned ([audit].key_fingerprint in mesh.toml): the heads "
                            "were checked with the key stored next to the log, which a forger can replace. "
                            "Fix: run `mesh audit pin`")
        for i, cp in enumerate(checkpoints):
            if not signed_by(public, cp):
                return VerifyReport(0, i, f"checkpoint {i} (size {cp['size']}) has an invalid signature")
        witnessed, witness_problem = self._witnessed(public, warnings, known=checkpoints)
        if witness_problem:
            return VerifyReport(0, len(checkpoints), witness_problem)
        witnessed, acknowledged = self._unacknowledged(witnessed)
        report = self._check(checkpoints, witnessed, warnings, full=full)
        return dataclasses.replace(report, acknowledged=acknowledged) if acknowledged else report

    def acknowledge_loss(self, by: str, reason: str, sign: Callable[[bytes], str]) -> Acknowledgment:
        """Have ``by`` (whose key ``sign`` signs with) acknowledge every witnessed head the local
        log no longer matches (after a deliberate restore), so verification names the loss
        instead of failing on it. Refused when nothing differs, or when the log is damaged in
        another way too."""
        public = self.trusted_key()
        checkpoints = self._checkpoints()
        witnessed, problem = self._witnessed(public, [], known=checkpoints)
        if problem:
            raise AuditError(problem, where=self.where, fix="investigate: a loss is acknowledged only against "
                                                                  "heads the pinned key signed")
        witnessed, _ = self._unacknowledged(witnessed)
        lost = self._unmatched([head for _, head in witnessed])
        if not lost:
            raise AuditError("the log holds everything the witnesses saw: there is no loss to acknowledge",
                             where=self.where, fix="run `mesh audit verify` to see what, if anything, is wrong")
        rest = [(name, head) for name, head in witnessed if head not in lost]
        if not (report := self._check(checkpoints, rest, [], full=False)).ok:
            raise AuditError(f"the log has a problem beyond what the witnesses saw before a restore: {report.problem}",
                             where=self.where, fix="restore the audit folder from the last backup "
                                                          "(mesh dr restore) and investigate; acknowledge nothing")
        ack = Acknowledgment.make(lost, by, reason, sign)
        for witness in {w.name: w for w in [*self.witnesses.targets(), *self.witnesses.sources()]
                        if isinstance(w, RegionWitness)}.values():
            witness.acknowledge(ack.to_line())
        most = max(head["size"] for head in lost)
        self.append(AuditEvent(actor=by, action="audit_loss_acknowledged", target=LOG, outcome="acknowledged",
                               source="audit", details={"heads": len(lost), "witnessed_records": most,
                                                        "records_now": report.records, "reason": reason}))
        self.seal()
        return ack

    def _check(self, checkpoints: Sequence[dict[str, Any]], witnessed: Sequence[tuple[str, dict[str, Any]]],
               warnings: Sequence[str], *, full: bool) -> VerifyReport:
        written = self._read_head_file()
        evidence = Evidence(self.storage, checkpoints, witnessed, written["count"] if written else None,
                            tuple(warnings))
        finding = None
        if not full:
            report, finding = check_bytes(evidence)
            if report is not None:
                return report
        report = check_records(evidence)
        if report.ok and finding:  # the records add up, yet the bytes differ from what was signed
            return VerifyReport(report.records, report.checkpoints, finding, report.witnessed, report.warnings)
        return report

    def _unacknowledged(self, witnessed: list[tuple[str, dict[str, Any]]]
                        ) -> tuple[list[tuple[str, dict[str, Any]]], tuple[str, ...]]:
        """The witnessed heads no valid acknowledgment covers, and a line per acknowledged loss."""
        if self.acknowledgers is None:
            return witnessed, ()
        found = []
        for witness in self.witnesses.sources():
            try:
                found += parse_all(witness.acknowledgments())
            except Exception:  # noqa: BLE001 - an unreachable witness was already reported by _witnessed
                continue
        covered = acknowledged_heads(found, self.acknowledgers)
        if not covered:
            return witnessed, ()
        kept = [(name, head) for name, head in witnessed if canonical(head) not in covered]
        notes = {}
        for name, head in witnessed:
            if (ack := covered.get(canonical(head))) is not None:
                most = max(h["size"] for h in ack.heads)
                notes[id(ack)] = (f"{ack.by} acknowledged on {ack.at} that the log no longer holds what the "
                                  f"witness saw up to record {most - 1} ({ack.reason})")
        return kept, tuple(dict.fromkeys(notes.values()))

    def _unmatched(self, heads: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The heads the local log no longer matches: longer than it, or other bytes or records."""
        size = self.storage.size()
        by_blocks = [h for h in heads if isinstance(h.get("bytes"), int) and isinstance(h.get("blocks"), str)]
        roots = prefix_digests(self.storage, [h["bytes"] for h in by_blocks if h["bytes"] <= size])
        lost = [h for h in by_blocks if h["bytes"] > size or roots[h["bytes"]].hex() != h["blocks"]]
        older = [h for h in heads if h not in by_blocks]
        if older:
            leaves = self.leaf_hashes()
            tree, at = CompactRange(), {}
            wanted = {h["size"] for h in older}
            for i, leaf in enumerate([None, *leaves]):
                if leaf is not None:
                    tree.append(leaf)
                if i in wanted:
                    at[i] = tree.root().hex()
            lost += [h for h in older if at.get(h["size"]) != h["root"]]
        return lost

    # -- internals ------------------------------------------------------------------------------
    def _locked(self) -> AbstractContextManager[None]:
        return self.storage.locked()

    def _named(self, name: str) -> str:
        """Where a part of the log is, for a message: its file, or the state database."""
        return str(self.storage.folder / name) if isinstance(self.storage, FileLogStorage) else self.where

    def _append(self, head: dict[str, Any], events: Sequence[AuditEvent]) -> list[AuditRecord]:
        lines, records = [], []
        seq, prev = head["count"], head["last"]
        for event in events:
            body = {"seq": seq, "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                    "actor": event.actor, "action": event.action, "target": event.target,
                    "outcome": event.outcome, "source": event.source, "where": event.where or self._where,
                    "details": dict(event.details), "prev": prev}
            line, prev = encode_line(body)
            if len(line) > MAX_RECORD_BYTES:
                raise AuditError(f"the record of {event.action} on {event.target} would take {len(line):,} bytes, more "
                                 f"than the {MAX_RECORD_BYTES:,} an audit record may hold; nothing was recorded",
                                 where=self.where, fix="record less in its details (a count or a digest instead of "
                                                       "every item)")
            lines.append(line)
            records.append(AuditRecord(**body, hash=prev))
            seq += 1
        if not lines:
            return []
        head["bytes"] = self.storage.write([(line, r.hash) for line, r in zip(lines, records, strict=True)],
                                           records[0].seq)
        blocks.extend(head["blocks"], self.storage, head["bytes"])
        before = head["count"]
        for record in records:
            head["range"].append(bytes.fromhex(record.hash))
            head["count"] += 1
            head["last"] = record.hash
        if head["count"] // self.checkpoint_every > before // self.checkpoint_every:
            self._write_checkpoint(head)
        self._save_head(head)
        return records

    def _open_head(self) -> dict[str, Any]:
        """The head under the lock, after setting aside a torn final line a crash left."""
        torn = self.storage.cut_torn_tail(lambda: max((cp["size"] for cp in self._checkpoints(strict=False)),
                                                      default=0))
        head = self._head()
        if torn is not None:
            name, size, complete = torn
            self._append(head, [AuditEvent(actor="service:audit", action="audit_torn_line", target=LOG,
                                           outcome="set_aside", source="audit",
                                           details={"file": name, "bytes": size, "after_record": complete - 1})])
        return head

    def _read_head_file(self) -> dict[str, Any] | None:
        """``head.json``, or ``None`` when it is missing or unreadable (it is rebuilt)."""
        raw = self.storage.head()
        if raw is None:
            return None
        if self._known_head is not None and self._known_head[0] == raw:
            return _copy_head(self._known_head[1])
        try:
            data = load_json(raw)
            data["range"] = CompactRange.from_dict(data["range"])
            data["blocks"] = CompactRange.from_dict(data["blocks"])
            int(data["count"]), int(data["bytes"]), str(data["last"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        self._known_head = (raw, _copy_head(data))
        return data

    def _head(self) -> dict[str, Any]:
        """The head, rebuilt from the log if it does not describe the log's current size."""
        head = self._read_head_file()
        size = self.storage.size()
        if head is not None and head["bytes"] == size:
            head.setdefault("signed", -1)
            head.setdefault("witnessed", -1)
            return head
        signed = [cp["size"] for cp in self._checkpoints(strict=False)]
        rebuilt: dict[str, Any] = {"count": 0, "last": GENESIS, "range": CompactRange(), "blocks": CompactRange(),
                                   "bytes": size,
                                   "signed": signed[-1] if signed else 0, "witnessed": -1 if size else 0}
        with self.storage.open() as fh:
            for line_no, line in enumerate(fh, start=1):
                try:
                    _, stored = decode_line(line)
                    digest = bytes.fromhex(stored)
                except ValueError:
                    raise self.damaged_line(line_no) from None
                rebuilt["range"].append(digest)
                rebuilt["count"] += 1
                rebuilt["last"] = stored
        if size:
            blocks.extend(rebuilt["blocks"], self.storage, size)
        return rebuilt

    def _save_head(self, head: dict[str, Any]) -> None:
        data = json.dumps({**head, "range": head["range"].to_dict(), "blocks": head["blocks"].to_dict()}).encode()
        self._known_head = None  # until it is saved: a save that fails leaves nothing known
        self.storage.save_head(data)
        self._known_head = (data, _copy_head(head))

    def _write_checkpoint(self, head: dict[str, Any]) -> dict[str, Any]:
        public = self.signer.public_key()
        if self.pinned is not None and key_fingerprint(public) != self.pinned:  # never sign with a stranger
            raise AuditError(f"the audit signing key ({key_fingerprint(public)}) is not the one mesh.toml pins "
                             f"({self.pinned}): it was replaced, or lost and made anew; nothing is signed with it",
                             where=self.where,
                             fix="restore .mesh/keys/audit.ed25519.pem from a backup (mesh dr restore); if it is "
                                 "lost for good, a holder of rotate_keys pins the new one: `mesh audit pin --replace "
                                 "--as EMAIL`")
        self._pin(public)
        body = {"size": head["count"], "root": head["range"].root().hex(), "bytes": head["bytes"],
                "blocks": blocks.blocks_root(head["blocks"], self.storage, head["bytes"]).hex(),
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "key_id": public_key_id(public)}
        checkpoint = {**body, "signature": self.signer.sign(canonical(body)).hex()}
        self.storage.add_checkpoint(canonical(checkpoint) + b"\n")
        head["signed"] = head["count"]
        witnessed = True
        for witness in self.witnesses.targets():
            try:
                witness.record(checkpoint)
            except Exception:  # an unreachable witness: the next seal or replication tries again
                witnessed = False
        head["witnessed"] = head["count"] if witnessed else -1
        return checkpoint

    def _checkpoints(self, *, strict: bool = True) -> list[dict[str, Any]]:
        """The signed heads; a line that is not one raises (``strict``) or is skipped."""
        raw = self.storage.checkpoints()
        found = []
        for line_no, line in enumerate(raw.splitlines(), start=1):
            try:
                cp = load_json(line)
                if not isinstance(cp, dict) or not isinstance(cp.get("size"), int) or \
                        not isinstance(cp.get("root"), str) or not isinstance(cp.get("signature"), str):
                    raise ValueError
                found.append(cp)
            except ValueError:
                if strict:
                    raise AuditError(f"line {line_no} of checkpoints.jsonl is not a signed tree head",
                                     where=self._named(CHECKPOINTS),
                                     fix="restore the audit folder from the last backup (mesh dr restore); "
                                         "the witness still holds the heads") from None
        return found

    def _witnessed(self, public: Ed25519PublicKey, warnings: list[str], *, known: Sequence[dict[str, Any]] = ()
                   ) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
        """Every head the witnesses saw, with the witness's name; or the problem with one. A head
        equal to one of ``known`` (already checked) is not checked again."""
        checked = {canonical(head) for head in known}
        claims = {(head["size"], head["root"]): head for head in known if "root" in head}
        found: list[tuple[str, dict[str, Any]]] = []
        witnesses = list(self.witnesses.sources())
        if not witnesses:
            warnings.append("no witness holds the tree heads (a mesh with one region and no backup): deleting or "
                            "cutting the whole log cannot be detected. Fix: add a secondary region")
        for witness in witnesses:
            try:
                heads = witness.heads(claims)
            except Exception as exc:  # unreachable: said, and the others still count
                warnings.append(f"the witness in {witness.name} could not be read ({type(exc).__name__})")
                continue
            for head in heads:
                if canonical(head) not in checked and not signed_by(public, head):
                    return found, (f"the witness in {witness.name} holds a tree head of {head.get('size')} records "
                                   "that the pinned key did not sign")
                found.append((witness.name, head))
        if witnesses and not found and self.storage.size():
            warnings.append(f"no witness ({', '.join(w.name for w in witnesses)}) holds a tree head, yet the log has "
                            "records: the witnesses were emptied or deleted (which would hide a cut or deleted log), "
                            "or no command has sealed the log since it was set up. Fix: investigate who changed "
                            "them; `mesh audit checkpoint` by a trusted operator witnesses the log again")
        return found, None

    def _stored_key(self) -> Ed25519PublicKey:
        pem = self.storage.public_key()
        if pem is None:
            return self.signer.public_key()
        try:
            return ed25519_public_key(pem)
        except ValueError as exc:
            raise AuditError(f"audit.ed25519.pub is not an Ed25519 public key (PEM): {exc}",
                             where=self._named(PUBLIC_KEY),
                             fix="delete it (it is written again from the signing key), or restore the audit "
                                 "folder from the last backup") from None

    def _pin(self, public: Ed25519PublicKey) -> None:
        self.storage.keep_public_key(public.public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))


def _starts(data: bytes, marker: bytes, end: int) -> Iterator[int]:
    """Every position of ``marker`` in ``data[:end]``."""
    found = data.find(marker, 0, end)
    while found != -1:
        yield found
        found = data.find(marker, found + 1, end)


def signed_by(public: Ed25519PublicKey, head: Mapping[str, Any]) -> bool:
    """Whether the signed tree head ``head`` carries a valid signature of ``public``."""
    try:
        signed = {k: head[k] for k in ("size", "root", "at", "key_id")}
        signed.update({k: head[k] for k in ("bytes", "blocks") if k in head})  # absent from older heads
        payload = canonical(signed)
        public.verify(bytes.fromhex(head["signature"]), payload)
        return True
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False


def _copy_head(head: dict[str, Any]) -> dict[str, Any]:
    """A head the caller may change (an append extends its ranges) without changing ``head``."""
    return {**head, "range": head["range"].copy(), "blocks": head["blocks"].copy()}
