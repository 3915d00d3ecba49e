"""An audit record: what one line of the log holds, each field of the type its readers expect.

A record cannot exist with a field of the wrong type: :class:`AuditRecord` checks them when it is
made, so a line edited by hand (``details`` a number, ``actor`` a list, ``at`` not a time) is
refused where it is read, as a line that is not JSON is, instead of failing later inside a report.
:func:`parse_record` is the one way a stored line becomes a record; it raises ``ValueError`` (not
JSON) or ``TypeError`` (a field missing, extra or of the wrong type), which every reader turns into
:meth:`~governance.audit.log.AuditLog.damaged_line`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from assets.stored_json import load_json

__all__ = ["AuditRecord", "parse_record"]

#: The fields that hold text (``at`` and the hashes are checked more closely).
_TEXT = ("actor", "action", "target", "outcome", "source", "where")
_HASH = re.compile(r"[0-9a-f]{64}")
#: ``at`` as the log writes it: an ISO 8601 date and time with its offset (reports compare and
#: slice it as text, so the extended form is required, not just anything ``fromisoformat`` takes).
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One record of the audit log (the fields are described in :mod:`governance.audit.log`).
    ``TypeError`` when a field is not of its type."""

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

    def __post_init__(self) -> None:
        if problem := _problem(self):
            raise TypeError(f"an audit record's {problem}")

    def body(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("hash")
        data["details"] = dict(self.details)
        return data


def _problem(record: AuditRecord) -> str | None:
    """What is wrong with ``record``'s fields, or ``None`` (read for every record: kept cheap)."""
    seq = record.seq
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "seq is not a record number"
    for name in _TEXT:
        if not isinstance(value := getattr(record, name), str):
            return f"{name} is {type(value).__name__}, not text"
    if not isinstance(record.details, Mapping):
        return f"details is {type(record.details).__name__}, not a mapping"
    for name in ("prev", "hash"):
        value = getattr(record, name)
        if not isinstance(value, str) or not _HASH.fullmatch(value):
            return f"{name} is not a SHA-256 hash in hex"
    at = record.at
    if not isinstance(at, str) or not _AT.fullmatch(at):
        return "at is not an ISO 8601 time with its offset"
    try:
        dt.datetime.fromisoformat(at)
    except ValueError:
        return "at is not a valid time"
    return None


def parse_record(line: bytes) -> AuditRecord:
    """The record a stored line holds; ``ValueError`` if it is not JSON (or not UTF-8),
    ``TypeError`` if it is not an object of exactly a record's fields, each of its type."""
    data = load_json(line)
    if not isinstance(data, dict):
        raise TypeError(f"an audit record is an object, not {type(data).__name__}")
    return AuditRecord(**data)
