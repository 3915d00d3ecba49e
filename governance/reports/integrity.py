"""Integrity: the audit chain verified, the signed tree head a report covers, the records of
its period; and the check, later, that the log still holds exactly those records."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governance.audit import AuditLog
from governance.audit.lines import GENESIS, decode_line
from governance.audit.log import signed_by
from governance.audit.merkle import CompactRange
from governance.reports.records import Entry, Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class Integrity(Entry):
    """``verified``: what ``mesh audit verify`` says; ``tree_head``: the signed head (size,
    Merkle root, key, signature) of every record the report read; ``covered``: the records of
    the period as ``[seq, hash]``."""

    verified: bool
    problem: str | None
    warnings: tuple[str, ...]
    tree_head: Mapping[str, Any]
    covered: tuple[tuple[int, str], ...]


def integrity(log: AuditLog, head: Mapping[str, Any], evidence: Evidence) -> Integrity:
    report = log.verify()
    return Integrity(verified=report.ok, problem=report.problem, warnings=report.warnings, tree_head=dict(head),
                     covered=tuple((r.seq, r.hash) for r in evidence.in_period()))


def recheck(log: AuditLog, head: Mapping[str, Any], covered: Sequence[Sequence[Any]]) -> list[str]:
    """What differs between the log now and what a report covered: its tree head's signature,
    each record's hash and chain, the records the report lists, the Merkle root. Empty if nothing."""
    public = log.trusted_key()
    if not signed_by(public, head):
        return [f"the report's tree head ({head.get('size')} records) is not signed by the audit key"]
    size = int(head["size"])
    listed = {int(seq): str(digest) for seq, digest in covered}
    problems: list[str] = []
    tree, prev, count = CompactRange(), GENESIS, 0
    with log.storage.open() as fh:
        for line in fh:
            if count == size:
                break
            try:
                body, stored = decode_line(line)
                actual = hashlib.sha256(body).hexdigest()
            except ValueError:
                problems.append(f"record {count} is no longer a valid audit record")
                break
            if actual != stored:
                problems.append(f"record {count} was altered: its content no longer hashes to its stored hash")
            elif f'"prev":"{prev}"'.encode() not in body:
                problems.append(f"record {count} no longer follows record {count - 1} in the hash chain "
                                "(a record was inserted, removed or rewritten)")
            if count in listed and listed[count] != actual:
                problems.append(f"record {count} differs from the one the report covers "
                                f"(hash {listed[count][:12]}... then, {actual[:12]}... now)")
            tree.append(bytes.fromhex(stored) if len(stored) == 64 else b"")
            prev, count = stored, count + 1
            if len(problems) >= 5:
                break
    if count < size and not problems:
        problems.append(f"the audit log was truncated: it holds {count} records, the report covers {size} "
                        f"(records {count} to {size - 1} are gone)")
    elif not problems and tree.root().hex() != head["root"]:
        problems.append(f"the Merkle root of the first {size} records differs from the report's signed tree head")
    return problems
