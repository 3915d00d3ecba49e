"""Checking the audit log against its signed tree heads, two ways.

- :func:`check_bytes` (the default): every signed head, local or witnessed, names the log's
  length when it was signed and the Merkle root of its 1 MiB blocks
  (:mod:`governance.audit.blocks`). One pass of whole-block hashing checks that the log still
  holds exactly those bytes, under every head at once; only the records
  after the newest head, which no signature covers yet, are checked one by one (hash and
  chain). Heads written before blocks were signed make it step aside.
- :func:`check_records` (``mesh audit verify --full``, and wherever the bytes differ): every
  record's hash and chain, and the Merkle root of the records under every head. It names the
  first record that was changed, inserted or removed.

Both need the same facts: the log's bytes (a file, or the lines the state database holds:
:class:`~governance.audit.storage.LogBytes`), the signed heads (already checked against the
pinned key), and what the head cache says was written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from governance.audit.blocks import prefix_digests
from governance.audit.lines import GENESIS, decode_line
from governance.audit.merkle import CompactRange
from governance.audit.records import parse_record
from governance.audit.storage import LogBytes


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :meth:`AuditLog.verify`: ``problem`` names the first bad record;
    ``warnings`` what the check could not anchor on (no pinned key, no witness); ``method`` how
    the signed records were checked (``bytes``: block roots; ``records``: every record)."""

    records: int
    checkpoints: int
    problem: str | None = None
    witnessed: int = 0
    warnings: tuple[str, ...] = ()
    method: str = "records"
    acknowledged: tuple[str, ...] = ()  # losses the council acknowledged, said but not failed
    #: How to mend a ``problem`` that is a file of the log the check could not read (it names
    #: that file); ``None`` for tampering found in the records, whose fix is a restore.
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a verification checks the log's bytes against."""

    log: LogBytes
    checkpoints: Sequence[Mapping[str, Any]]  # the local signed heads, oldest first
    witnessed: Sequence[tuple[str, Mapping[str, Any]]]  # (witness name, signed head)
    written: int | None  # the record count head.json holds, if readable
    warnings: tuple[str, ...] = field(default=())

    @property
    def most_witnessed(self) -> int:
        return max((head["size"] for _, head in self.witnessed), default=0)


class _Broken(Exception):
    """A record that is not what the chain says it must be."""


def _chain_fields(body: bytes) -> tuple[int, str]:
    """``seq`` and ``prev`` of a canonical body, without parsing it all. With sorted keys they
    are the last keys but for strings (``source``, ``target``, ``where``), whose values JSON
    escapes, so the last occurrence of each key pattern is the top-level one."""
    at = body.rindex(b'"prev":"') + 8
    seq_at = body.rindex(b',"seq":') + 7
    return int(body[seq_at:body.index(b",", seq_at)]), body[at:at + 64].decode()


def _check_line(line: bytes, line_no: int, count: int, prev: str, *, unsigned: bool) -> str:
    """The stored hash of record ``count`` at ``line_no``, checked against its body and the
    chain; raises :class:`_Broken` naming what is wrong. An ``unsigned`` record (no signed head
    covers it yet) is also read, field by field (:func:`parse_record`): a line edited by hand and
    hashed again chains on, yet every report would refuse it. A signed one is not: the log made it
    from a checked :class:`~governance.audit.records.AuditRecord`, and the head's root covers its bytes."""
    try:
        body, stored = decode_line(line)
        seq, previous = _chain_fields(body)
    except ValueError:
        raise _Broken(f"record at line {line_no} is not a valid audit record") from None
    if seq != count or previous != prev:
        raise _Broken(f"the chain breaks at line {line_no} (record {seq}): expected record {count} after "
                      f"{prev[:12]}; a record was inserted, deleted or reordered there")
    if hashlib.sha256(body).hexdigest() != stored:
        raise _Broken(f"record {count} at line {line_no} was modified (its hash does not match)")
    if unsigned:
        try:
            parse_record(line)
        except ValueError:
            raise _Broken(f"record {count} at line {line_no} is not a valid audit record (not JSON)") from None
        except TypeError as exc:
            raise _Broken(f"record {count} at line {line_no} is not a valid audit record ({exc})") from None
    return stored


def check_records(evidence: Evidence) -> VerifyReport:
    """Every record's hash and chain, and the records' Merkle root under every signed head."""
    checkpoints, most, warnings = evidence.checkpoints, evidence.most_witnessed, evidence.warnings
    pending = sorted(((cp["size"], i, cp["root"]) for i, cp in enumerate(checkpoints)), reverse=True)
    seen = sorted(((h["size"], name, h["root"]) for name, h in evidence.witnessed), reverse=True)

    def mismatch(count: int, tree: CompactRange) -> str | None:
        while seen and seen[-1][0] == count:
            _, name, root = seen.pop()
            if tree.root().hex() != root:
                return (f"the witness in {name} saw a different log: its signed head of {count} records does "
                        f"not match the local log's first {count}; records before {count} were rewritten")
        while pending and pending[-1][0] == count:
            _, i, root = pending.pop()
            if tree.root().hex() != root:
                return f"records before {count} do not match signed checkpoint {i}"
        return None

    signed = max((size for size, _, _ in (*pending, *seen)), default=0)
    tree = CompactRange()
    prev, count = GENESIS, 0
    with evidence.log.open() as fh:
        for line_no, line in enumerate(fh, start=1):
            if problem := mismatch(count, tree):
                return VerifyReport(count, len(checkpoints), problem, most, warnings)
            try:
                stored = _check_line(line, line_no, count, prev, unsigned=count >= signed)
            except _Broken as broken:
                return VerifyReport(count, 0, str(broken))
            tree.append(bytes.fromhex(stored))
            prev, count = stored, count + 1
    if problem := mismatch(count, tree):
        return VerifyReport(count, len(checkpoints), problem, most, warnings)
    return _complete(evidence, count, pending, seen) or VerifyReport(count, len(checkpoints), None, most, warnings)


def _complete(evidence: Evidence, count: int, pending: Sequence[tuple[int, int, str]],
              seen: Sequence[tuple[int, str, str]]) -> VerifyReport | None:
    """The report when heads or ``head.json`` name more records than the log holds."""
    checkpoints, most, warnings = evidence.checkpoints, evidence.most_witnessed, evidence.warnings
    if seen:
        size, name, _ = seen[0]  # the newest head a witness saw: all that is missing, not the first of it
        return VerifyReport(count, len(checkpoints), f"the witness in {name} saw {size} records; the local log has "
                            f"{count}: records {count} to {size - 1} were deleted", most, warnings)
    if pending:
        size, i, _ = pending[-1]
        return VerifyReport(count, i, f"the log was truncated: checkpoint {i} covers {size} records, "
                                      f"the log has {count}; the first missing record is {count}")
    if evidence.written is not None and evidence.written > count:
        return VerifyReport(count, len(checkpoints), f"the log was truncated: {evidence.written} records were "
                                                     f"written, {count} remain; the first missing is {count}")
    return None


def check_bytes(evidence: Evidence) -> tuple[VerifyReport | None, str | None]:
    """The report when the log holds exactly the bytes and records every signed head covers and
    its unsigned tail chains on; otherwise ``(None, finding)``, ``finding`` saying what differs
    (``None`` when a head predates block roots), for :func:`check_records` to name precisely."""
    heads = [(f"signed checkpoint {i}", cp) for i, cp in enumerate(evidence.checkpoints)]
    heads += [(f"the witness in {name}'s head", head) for name, head in evidence.witnessed]
    if any(not isinstance(head.get("bytes"), int) or not isinstance(head.get("blocks"), str) for _, head in heads):
        return None, None
    log = evidence.log
    size = log.size()
    for label, head in heads:
        if head["bytes"] > size:
            return None, f"{label} covers {head['bytes']} bytes; the log has {size}"
    roots = prefix_digests(log, [head["bytes"] for _, head in heads])
    for label, head in heads:
        if roots[head["bytes"]].hex() != head["blocks"]:
            return None, (f"the log's first {head['bytes']} bytes are not what {label} of {head['size']} records "
                          "signed: they were changed")
    newest = max((head for _, head in heads), key=lambda head: head["bytes"], default=None)
    start, count = (newest["bytes"], newest["size"]) if newest else (0, 0)
    try:
        records = count + _check_tail(log, start, count, size)
    except _Broken as broken:
        return None, str(broken)
    if evidence.written is not None and evidence.written > records:
        return None, f"head.json says {evidence.written} records were written; the log has {records}"
    return VerifyReport(records, len(evidence.checkpoints), None, evidence.most_witnessed, evidence.warnings,
                        method="bytes"), None


def _check_tail(log: LogBytes, start: int, count: int, size: int) -> int:
    """Check the records after byte ``start`` (record ``count`` on), which no head signed yet;
    returns how many there are."""
    if start == size:
        return 0
    checked = 0
    with log.open() as fh:
        prev = _hash_of_line_before(fh, start) if start else GENESIS
        fh.seek(start)
        for line in fh:
            prev = _check_line(line, count + checked + 1, count + checked, prev, unsigned=True)
            checked += 1
    return checked


def _hash_of_line_before(fh: Any, end: int) -> str:
    """The stored hash of the line that ends at byte ``end``."""
    window = 4096
    while True:
        begin = max(0, end - window)
        fh.seek(begin)
        chunk = fh.read(end - begin)
        cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
        if cut >= 0 or begin == 0:
            try:
                return decode_line(chunk[cut + 1:])[1]
            except ValueError:
                raise _Broken(f"the record that ends at byte {end} is not a valid audit record") from None
        window *= 4
