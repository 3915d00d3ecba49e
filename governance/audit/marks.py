"""Signed scan marks: what a scan of the audit log's first bytes found, so that the next scan
reads only the records appended since.

A reader that derives something from every record of some actions (the revoked grants,
:mod:`governance.access.revocations`) scans the log, then keeps a mark: the offset ``X`` where
the scan stopped (the end of a line), the hash of the record whose line ends there, and what it
found in ``log[:X]`` (JSON of the reader's own shape), signed with the audit log's Ed25519 key.
The next reader trusts the mark only if

- its signature verifies with the audit key: on a mesh that pins one
  (``[audit].key_fingerprint``), the key with that fingerprint (the public key stored beside the
  log, or the signing key this host holds); on a mesh that pins none, the signing key this host
  holds (the public key stored beside the log could be anyone's); and
- the log still holds a line ending at ``X`` whose record has the mark's hash (only a window
  before ``X`` is read). Records are hash-chained, so that hash stands for every record before.

It then starts from what the mark found and scans ``log[X:]`` only. A missing mark, or one that
fails either test, means a scan of the whole log; one that fails is logged as a warning naming it
and ``mesh audit verify``. Whoever can edit where marks are kept (the audit folder, the state
database) but does not hold the audit signing key cannot make a mark that drops what the log
records, and an older mark put back is still a true one: the scan from its ``X`` finds what came
after. A host that does not hold the signing key writes no marks.

Marks are kept beside the log (:meth:`~governance.audit.storage.LogStorage.save_mark`):
``<name>.mark.json`` in the audit folder, or the row ``mark:<name>`` of ``audit_meta`` in the
state database. The signed payload starts with a label of its own, so a mark's signature never
passes for a signed tree head's, nor a head's for a mark's.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from assets.errors import MeshError
from assets.stored_json import load_json
from governance.audit.lines import GENESIS, canonical, decode_line
from governance.audit.log import AuditLog, key_fingerprint
from governance.audit.storage import AuditError, FileLogStorage, LogBytes, mark_file
from governance.keys.local import ed25519_public_key, public_key_id

_log = logging.getLogger(__name__)
#: What the signed payload of a mark starts with (a tree head's is canonical JSON: ``{``).
_LABEL = b"mesh audit scan mark v1\n"
#: The bytes read before an offset at first to find the line ending there (doubled until found).
_WINDOW = 4096
#: The largest window read back for the last line: more than any record (a sparse 10 GB file
#: without a newline is no log the mesh wrote, and is not read into memory).
_MOST_WINDOW = 256 << 20
_HASH = re.compile(r"[0-9a-f]{64}")


class _NoLineEnds(ValueError):
    """No line of the log starts and ends in the largest window read back."""


__all__ = ["MarkKeys", "ScanMark", "log_end", "mark_keys", "mark_where", "read_mark", "write_mark"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanMark:
    """What the scan ``name`` found (``found``, JSON) in the log's first ``offset`` bytes, whose
    last line is that of the record with hash ``hash``."""

    name: str
    offset: int
    hash: str
    found: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkKeys:
    """The key marks are verified with and the key they are signed with; ``None`` where this host
    has none it may trust (no mark is then trusted, or written)."""

    verify: Ed25519PublicKey | None
    sign: Ed25519PrivateKey | None


def mark_keys(log: AuditLog, signer: Ed25519PrivateKey | None) -> MarkKeys:
    """The keys for the marks of ``log`` on a host that holds the audit signing key ``signer``
    (``None`` when it holds none). With a pinned fingerprint (``log.pinned``), a key counts only if
    it has it; without, only ``signer`` counts (the stored public key could be anyone's)."""
    if log.pinned is None:
        return MarkKeys(verify=signer.public_key() if signer is not None else None, sign=signer)
    held = signer if signer is not None and key_fingerprint(signer.public_key()) == log.pinned else None
    if held is not None:
        return MarkKeys(verify=held.public_key(), sign=held)
    stored = _stored_key(log)
    return MarkKeys(verify=stored if stored is not None and key_fingerprint(stored) == log.pinned else None, sign=None)


def read_mark(log: AuditLog, name: str, key: Ed25519PublicKey | None) -> ScanMark | None:
    """The mark ``name`` of ``log`` if it may be trusted: signed with ``key``, and the log still
    holds the line it names. ``None`` otherwise (no mark, no key, or a mark that fails: a warning
    says which)."""
    where = mark_where(log, name)
    try:
        raw = log.storage.mark(name)
    except (MeshError, OSError) as exc:
        _log.warning("the audit scan mark %s could not be read (%s): the whole audit log is scanned", where,
                     str(exc).split("\n")[0])
        return None
    if raw is None or key is None:
        return None
    parsed = _parsed(raw, name)
    if parsed is None:
        _warn(where, "is not a scan mark (damaged)")
        return None
    mark, signature = parsed
    try:
        key.verify(signature, _payload(mark))
    except InvalidSignature:
        _warn(where, "does not carry a valid signature of the audit key: it was changed or forged")
        return None
    if _record_hash_ending_at(log.storage, mark.offset) != mark.hash:
        _warn(where, f"names the record ending at byte {mark.offset} of the audit log, which the log no longer holds "
                     "there: the log was cut, replaced or rewritten")
        return None
    return mark


def write_mark(log: AuditLog, mark: ScanMark, signer: Ed25519PrivateKey) -> bool:
    """Sign ``mark`` with ``signer`` and keep it beside ``log``, replacing the mark of its name.
    Returns whether it was written: a failure is a warning, never an error (the mark only saves
    a later reader time)."""
    data = canonical({**_body(mark), "key_id": public_key_id(signer.public_key()),
                      "signature": signer.sign(_payload(mark)).hex()})
    try:
        log.storage.save_mark(mark.name, data)
    except (MeshError, OSError) as exc:
        _log.warning("the audit scan mark %s was not written (%s): the next reader scans more of the audit log",
                     mark_where(log, mark.name), str(exc).split("\n")[0])
        return False
    return True


def log_end(log: AuditLog) -> tuple[int, str | None]:
    """Where the last whole line of ``log`` ends, and the hash of its record (``None`` when that
    line is not a record: no mark can end there); ``(0, GENESIS)`` for an empty log."""
    try:
        last = _last_line(log.storage, log.storage.size())
    except _NoLineEnds as exc:
        where = str(log.storage.path) if isinstance(log.storage, FileLogStorage) else log.where
        raise AuditError(f"{exc}: that is no record the mesh wrote", where=where,
                         fix="run `mesh audit verify`, restore the audit folder from the last backup (mesh dr restore) "
                             "and investigate who changed it") from None
    if last is None:
        return 0, GENESIS
    end, line = last
    return end, _record_hash(line)


def mark_where(log: AuditLog, name: str) -> str:
    """Names the mark ``name`` of ``log`` in messages: its file, or its row."""
    if isinstance(log.storage, FileLogStorage):
        return str(log.storage.folder / mark_file(name))
    return f"{log.where} (audit_meta row mark:{name})"


def _warn(where: str, problem: str) -> None:
    _log.warning("the audit scan mark %s %s; the whole audit log is scanned instead. Fix: run `mesh audit verify` "
                 "and investigate who changed it (the mark is written again by the next long scan)", where, problem)


def _body(mark: ScanMark) -> dict[str, Any]:
    return {"name": mark.name, "offset": mark.offset, "hash": mark.hash, "found": dict(mark.found)}


def _payload(mark: ScanMark) -> bytes:
    """The bytes a mark's signature is over."""
    return _LABEL + canonical(_body(mark))


def _parsed(raw: bytes, name: str) -> tuple[ScanMark, bytes] | None:
    """The mark stored as ``raw`` and its signature, or ``None`` if it is not a mark named ``name``."""
    try:
        data = load_json(raw)
        if not isinstance(data, dict) or data.get("name") != name:
            return None
        offset, digest, found, signature = data["offset"], data["hash"], data["found"], data["signature"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 or not isinstance(found, dict) \
                or not isinstance(digest, str) or not _HASH.fullmatch(digest) or not isinstance(signature, str):
            return None
        return ScanMark(name=name, offset=offset, hash=digest, found=found), bytes.fromhex(signature)
    except (ValueError, KeyError):
        return None


def _record_hash(line: bytes) -> str | None:
    """The hash of the record on ``line`` if the line holds it rightly (its body hashes to it)."""
    try:
        body, stored = decode_line(line)
    except ValueError:
        return None
    return stored if hashlib.sha256(body).hexdigest() == stored else None


def _record_hash_ending_at(data: LogBytes, offset: int) -> str | None:
    """The hash of the record whose line ends exactly at byte ``offset`` of ``data``, if one does
    (:data:`GENESIS` at offset 0, the start of the chain)."""
    if offset == 0:
        return GENESIS
    if offset > data.size():  # never a seek there: beyond what a file offset holds it raises
        return None
    try:
        last = _last_line(data, offset)
    except _NoLineEnds:  # no record ends there: the mark is not of this log
        return None
    return _record_hash(last[1]) if last is not None and last[0] == offset else None


def _last_line(data: LogBytes, end: int) -> tuple[int, bytes] | None:
    """The last whole line of ``data[:end]``: where it ends and its bytes; ``None`` if there is
    none (or ``data`` is shorter than ``end``). Reads a window before ``end``, doubled until it
    holds the line's start, up to :data:`_MOST_WINDOW` (beyond, :class:`_NoLineEnds`: not read into
    memory)."""
    window = _WINDOW
    with data.open() as fh:
        while True:
            if window > _MOST_WINDOW:
                raise _NoLineEnds(f"no two lines end in the {_MOST_WINDOW:,} bytes of the audit log before byte {end:,}")
            low = max(0, end - window)
            fh.seek(low)
            chunk = fh.read(end - low)
            if len(chunk) < end - low:
                return None
            stop = chunk.rfind(b"\n") + 1
            begin = chunk.rfind(b"\n", 0, stop - 1) + 1 if stop else 0
            if stop and (begin or low == 0):
                return low + stop, chunk[begin:stop]
            if low == 0:
                return None
            window *= 2


def _stored_key(log: AuditLog) -> Ed25519PublicKey | None:
    """The public key stored beside the log, or ``None`` (missing, unreadable, not Ed25519)."""
    try:
        pem = log.storage.public_key()
        return ed25519_public_key(pem) if pem is not None else None
    except (MeshError, OSError, ValueError):
        return None
