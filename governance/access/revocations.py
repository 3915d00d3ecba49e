"""Revoked grants, kept in the state database so a revoked grant stays revoked.

``mesh access revoke`` removes a grant's entry from ``mesh.toml`` and records the grant here
(its id and nonce, when and by whom), in the same operation that audits it (``grant_revoke``).
A grant is its id and its nonce (both signed by its approvers,
:mod:`governance.identity.approvals`): an entry pasted back into ``mesh.toml``, or brought back by
``git revert``, is the revoked grant and grants nothing; and a revoked id is never a grant again,
whatever nonce an entry gives it, nor approved again. A grant requested anew has a new id and nonce.

The state database is not the only copy: every revocation is audited (``grant_revoke``, with the
grant's id and nonce) in the tamper-evident audit log, and the revoked set is the union of both.
A row deleted or edited by hand in ``revoked_grants`` (or the database deleted or replaced) does
not bring the grant back, and :func:`unrecorded_revocations` names what the database lacks for
``mesh check``; cutting the record from the audit log too is what ``mesh audit verify`` reports.

The revoked set is read once per policy object (a ``mesh.toml`` loaded again after a change is a
new object), when an access decision first needs it, and again when it is older than
:data:`REREAD_AFTER` seconds (so a revocation recorded by another process or host counts in a
long-running one within that time), never per row read: the table, and the audit log's
``grant_revoke`` lines (its bytes searched, only those lines parsed). The same scan reads the
``grant_request`` records, which say who asked for each grant (:func:`requester_of`): a requester
who edits ``requested_by`` in ``mesh.toml`` still cannot approve their own request. Recording a
revocation forgets what was read in this process.

The log grows forever, so a scan that read more than :data:`MARK_AFTER` bytes of it leaves a
signed scan mark (:mod:`governance.audit.marks`): where it stopped, the hash of the record there,
and the revocations and requesters found before, signed with the audit key. The next read starts
from a mark that verifies and still names a record of the log, and scans only what was appended
since; a mark that fails (edited, forged, the log cut or rewritten) is a warning and a scan of the
whole log. A mark is only ever a starting point for the audit log's half of the union: a row
deleted from ``revoked_grants`` is still found in the mark or the tail, and an older mark put
back still leads to the later records. For ``mesh check``, :func:`unrecorded_revocations` always
scans the whole log, so it names a revocation the table lacks even if a mark signed with a
stolen audit key left it out, and :func:`mark_omissions` names what such a mark leaves out.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from time import monotonic
from types import MappingProxyType
from typing import Any

from sqlalchemy import RowMapping, insert, select

from assets.mesh import STATE_DIR
from governance.audit import AuditLog, AuditRecord, held_signing_key
from governance.audit.marks import MarkKeys, ScanMark, log_end, mark_keys, mark_where, read_mark, write_mark
from governance.council.anchor import log_of
from governance.policy import Grant, MeshPolicy
from governance.state import state_database
from governance.state.rows import checked, require_texts, stored_time
from governance.state.schema import revoked_grants

_log = logging.getLogger(__name__)

#: How many policies' revoked sets are kept (a process holds a few policies at most).
_KEPT = 16
#: Seconds a revoked set read is used for: a revocation recorded elsewhere counts within this.
REREAD_AFTER = 30.0
#: A scan of more audit log bytes than this leaves a signed mark where it stopped.
MARK_AFTER = 1 << 20
#: The name of the revocations' scan mark (:mod:`governance.audit.marks`).
MARK = "revocations"
_LOCK = "revoked_grants"
#: The audit action of a revocation (``mesh access revoke``, ``mesh domain retire``).
GRANT_REVOKE = "grant_revoke"
#: The audit action of a grant request (``mesh access request``): its actor asked for the grant.
GRANT_REQUEST = "grant_request"


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """Grant ``grant_id`` with ``nonce`` was revoked by ``revoked_by`` at ``revoked_at`` (UTC)."""

    grant_id: str
    nonce: str
    product: str
    consumer: str
    revoked_at: str
    revoked_by: str

    def __str__(self) -> str:
        return f"grant {self.grant_id} was revoked by {self.revoked_by} at {self.revoked_at}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Revoked:
    """What was read for one policy: every revocation (the state database's, then the audit
    log's it lacks), those the audit log holds but the state database does not, and who asked
    for each grant ``mesh access request`` made (by id, from its ``grant_request`` record)."""

    revoked: Mapping[tuple[str, str], Revocation]
    by_id: Mapping[str, Revocation]
    unrecorded: tuple[Revocation, ...]
    requesters: Mapping[str, str]


_read: dict[int, tuple[MeshPolicy, _Revoked, float]] = {}
_read_lock = threading.Lock()


def revocations(policy: MeshPolicy) -> Mapping[tuple[str, str], Revocation]:
    """Every revoked grant of the mesh of ``policy``, by (id, nonce): those of its state
    database and of its audit log, read once for this policy object (and again once that read is
    :data:`REREAD_AFTER` seconds old)."""
    return _revoked(policy).revoked


def unrecorded_revocations(policy: MeshPolicy) -> tuple[Revocation, ...]:
    """The revocations the audit log holds but the state database's ``revoked_grants`` lacks: a
    row deleted or edited by hand, or the database deleted or replaced. They still count. Read
    from a scan of the whole audit log, whatever scan mark there is, which it leaves as it is (for
    ``mesh check``)."""
    return _read_revoked(policy, from_mark=False).unrecorded


def _revoked(policy: MeshPolicy) -> _Revoked:
    with _read_lock:
        found = _read.get(id(policy))
        if found is not None and found[0] is policy and monotonic() - found[2] < REREAD_AFTER:
            return found[1]
    at = monotonic()  # before reading: what is recorded meanwhile is read again when this expires
    read = _read_revoked(policy, from_mark=True)
    with _read_lock:
        _read.pop(id(policy), None)
        while len(_read) >= _KEPT:
            del _read[next(iter(_read))]
        _read[id(policy)] = (policy, read, at)  # the policy is kept with it: its id is not reused meanwhile
    return read


def _read_revoked(policy: MeshPolicy, *, from_mark: bool) -> _Revoked:
    """Read the revoked set of ``policy``'s mesh: the state database's rows and the audit log's
    records (from its scan mark when ``from_mark`` and it may be trusted)."""
    with state_database(policy).read() as conn:
        rows = conn.execute(select(revoked_grants)).mappings().all()
    recorded = {(r["id"], r["nonce"]): _revocation_of_row(r) for r in rows}
    audited, requesters = _audited(policy, from_mark=from_mark)
    revoked = {**audited, **recorded}
    by_id: dict[str, Revocation] = {}
    for revocation in sorted(revoked.values(), key=lambda r: r.revoked_at):
        by_id.setdefault(revocation.grant_id, revocation)
    return _Revoked(revoked=MappingProxyType(revoked), by_id=MappingProxyType(by_id),
                    unrecorded=tuple(r for key, r in audited.items() if key not in recorded),
                    requesters=MappingProxyType(requesters))


def _revocation_of_row(row: RowMapping) -> Revocation:
    """The revocation a row of ``revoked_grants`` records; :class:`StateError` naming it unless the
    row holds what the mesh writes (texts, a zoned time: revocations are ordered by it)."""
    with checked(f"the revocation of grant {str(row['id'])[:80]}", "the state database's revoked_grants table"):
        require_texts(row, ("id", "nonce", "product", "consumer", "revoked_at", "revoked_by"))
        stored_time(row["revoked_at"], "revoked_at")
    return Revocation(grant_id=row["id"], nonce=row["nonce"], product=row["product"], consumer=row["consumer"],
                      revoked_at=row["revoked_at"], revoked_by=row["revoked_by"])


def requester_of(policy: MeshPolicy, grant: Grant) -> str | None:
    """Who asked for ``grant``, as the audit log's ``grant_request`` record of its id says
    (``requested_by`` in ``mesh.toml`` can be edited; the record cannot, unnoticed); ``None`` for a
    grant no request made (written by hand)."""
    return _revoked(policy).requesters.get(grant.id)


def _audited(policy: MeshPolicy, *, from_mark: bool = True
             ) -> tuple[dict[tuple[str, str], Revocation], dict[str, str]]:
    """The revocations the audit log of the mesh of ``policy`` records (``grant_revoke`` records
    whose outcome is ``revoked``), by (id, nonce), the first of each, and the requester of each
    grant id (``grant_request`` records whose outcome is ``pending``), in one scan of the log:
    from its scan mark when ``from_mark`` and the mark may be trusted, else of all of it. With
    ``from_mark``, a scan of more than :data:`MARK_AFTER` bytes leaves a new mark, if this host
    holds the audit key; without (``mesh check``), the mark is left as it is, to be checked. A
    refused revocation or request (outcome ``denied``) counts for nothing."""
    log, keys = _log_and_keys(policy)
    mark = read_mark(log, MARK, keys.verify) if from_mark else None
    marked = _found_in(mark) if mark is not None else None
    if mark is not None and marked is None:
        _log.warning("the audit scan mark %s, validly signed, does not hold revocations and requesters as this "
                     "version writes them; the whole audit log is scanned instead. Fix: run `mesh audit verify`",
                     mark_where(log, MARK))
    end, last = log_end(log)
    start, (revoked, requesters) = (0, ({}, {})) if mark is None or marked is None or end < mark.offset \
        else (mark.offset, marked)
    _scan(log, start, end, revoked, requesters)
    if from_mark and keys.sign is not None and last is not None and end - start > MARK_AFTER:
        write_mark(log, ScanMark(name=MARK, offset=end, hash=last, found=_found(revoked, requesters)), keys.sign)
    return revoked, requesters


def _log_and_keys(policy: MeshPolicy) -> tuple[AuditLog, MarkKeys]:
    """The audit log of the mesh of ``policy``, and the keys of its scan marks on this host."""
    log = log_of(policy)
    return log, mark_keys(log, held_signing_key(policy.root / STATE_DIR))


def _scan(log: AuditLog, start: int, end: int, revoked: dict[tuple[str, str], Revocation],
          requesters: dict[str, str]) -> None:
    """Add to ``revoked`` and ``requesters`` what the log's bytes from ``start`` to ``end`` record
    (a revocation or request found before counts, not a later one of the same key)."""
    for record in log.records_of(GRANT_REVOKE, GRANT_REQUEST, start=start, end=end):
        if record.action == GRANT_REQUEST:
            grant = record.details.get("grant")
            if record.outcome == "pending" and isinstance(grant, str):
                requesters.setdefault(grant, record.actor)
        elif (revocation := _revocation_in(record)) is not None:
            revoked.setdefault((revocation.grant_id, revocation.nonce), revocation)


def mark_omissions(policy: MeshPolicy) -> list[str]:
    """One line per revocation or request the audit log records before the offset of its scan
    mark that the mark (trusted: signed with the audit key) leaves out or names otherwise, and per
    one the mark holds that the log does not record there (a made-up requester of a grant id
    would outrank the log's own later request record, which the self-approval check relies on),
    from a scan of those bytes (for ``mesh check``). Only a holder of
    the audit signing key can sign such a mark; access decisions start from it, so a revocation it
    leaves out counts only while ``revoked_grants`` holds it."""
    log, keys = _log_and_keys(policy)
    mark = read_mark(log, MARK, keys.verify)
    marked = _found_in(mark) if mark is not None else None
    if mark is None or marked is None:
        return []
    revoked: dict[tuple[str, str], Revocation] = {}
    requesters: dict[str, str] = {}
    _scan(log, 0, mark.offset, revoked, requesters)
    where = mark_where(log, MARK)
    fix = ("it was signed with the audit signing key by someone who holds it. Fix: delete the mark (the next read "
           "scans the whole log and writes it again), investigate who holds .mesh/keys/audit.ed25519.pem and have "
           "the council rotate it (`mesh audit pin --replace --as EMAIL`)")
    return [f"{where}: the signed scan mark of the revoked grants leaves out that {r}, which the audit log records "
            f"(grant_revoke, nonce {r.nonce}): {fix}" for key, r in revoked.items() if marked[0].get(key) != r] + \
        [f"{where}: the signed scan mark of the revoked grants does not say that {who} requested grant {grant}, as "
         f"the audit log records (grant_request): {fix}"
         for grant, who in requesters.items() if marked[1].get(grant) != who] + \
        [f"{where}: the signed scan mark of the revoked grants says that {r}, which the audit log does not record "
         f"before the mark (grant_revoke, nonce {r.nonce}): {fix}"
         for key, r in marked[0].items() if key not in revoked] + \
        [f"{where}: the signed scan mark of the revoked grants says that {who} requested grant {grant}, which the "
         f"audit log does not record before the mark (grant_request): {fix}"
         for grant, who in marked[1].items() if grant not in requesters]


_FIELDS = ("grant_id", "nonce", "product", "consumer", "revoked_at", "revoked_by")


def _found(revoked: Mapping[tuple[str, str], Revocation], requesters: Mapping[str, str]) -> dict[str, Any]:
    """What a scan found, as a scan mark holds it (JSON; in the order found: the first counts)."""
    return {"revoked": [[getattr(r, field) for field in _FIELDS] for r in revoked.values()],
            "requesters": dict(requesters)}


def _found_in(mark: ScanMark) -> tuple[dict[tuple[str, str], Revocation], dict[str, str]] | None:
    """The revocations and requesters ``mark`` holds, or ``None`` if it holds them in another shape."""
    rows, requesters = mark.found.get("revoked"), mark.found.get("requesters")
    if not isinstance(rows, list) or not isinstance(requesters, dict) or \
            not all(isinstance(k, str) and isinstance(v, str) for k, v in requesters.items()) or \
            not all(isinstance(row, list) and len(row) == len(_FIELDS) and all(isinstance(v, str) for v in row)
                    for row in rows):
        return None
    revoked: dict[tuple[str, str], Revocation] = {}
    for row in rows:
        revocation = Revocation(**dict(zip(_FIELDS, row, strict=True)))
        revoked.setdefault((revocation.grant_id, revocation.nonce), revocation)
    return revoked, dict(requesters)


def _revocation_in(record: AuditRecord) -> Revocation | None:
    """The revocation a ``grant_revoke`` record holds; ``None`` for a refusal."""
    details = record.details
    grant, nonce, consumer = details.get("grant"), details.get("nonce"), details.get("consumer")
    if record.outcome != "revoked" or not isinstance(grant, str) or not isinstance(nonce, str):
        return None
    at = details.get("revoked_at")  # `mesh domain retire` writes none: the record's time is when
    return Revocation(grant_id=grant, nonce=nonce, product=record.target,
                      consumer=consumer if isinstance(consumer, str) else "",
                      revoked_at=at if isinstance(at, str) else record.at, revoked_by=record.actor)


def revocation_of(policy: MeshPolicy, grant: Grant) -> Revocation | None:
    """The revocation of ``grant``'s id (the first, whatever nonce it had), or ``None`` if no grant
    with its id was ever revoked. A revoked id is never a grant again: its entry pasted back with
    another nonce (or none) and approved anew would otherwise be the revoked grant, active again
    under the id its approvers were told is revoked."""
    return revocation_of_id(policy, grant.id)


def revocation_of_id(policy: MeshPolicy, grant_id: str) -> Revocation | None:
    """The first revocation of a grant with id ``grant_id``, or ``None`` if none was revoked."""
    return _revoked(policy).by_id.get(grant_id)


def revoked_grants_by_id(policy: MeshPolicy) -> Mapping[str, Revocation]:
    """Every revoked grant id and its first revocation (for ``mesh access list``)."""
    return _revoked(policy).by_id


def revoked_ids(policy: MeshPolicy) -> frozenset[str]:
    """The ids of every revoked grant: a new grant never takes one."""
    return frozenset(_revoked(policy).by_id)


def record_revocation(policy: MeshPolicy, grant: Grant, *, by: str) -> Revocation:
    """Record that ``by`` revoked ``grant``; a grant revoked before keeps its first revocation."""
    [revocation] = record_revocations(policy, [grant], by=by)
    return revocation


def record_revocations(policy: MeshPolicy, grants: Iterable[Grant], *, by: str) -> list[Revocation]:
    """Record that ``by`` revoked each of ``grants``, in one transaction; each grant revoked
    before keeps its first revocation. Returns the revocations, in order."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    done: list[Revocation] = []
    with state_database(policy).write(lock=_LOCK) as conn:
        for grant in grants:
            row = conn.execute(select(revoked_grants).where(
                revoked_grants.c.id == grant.id, revoked_grants.c.nonce == grant.nonce)).mappings().first()
            if row is None:
                conn.execute(insert(revoked_grants).values(id=grant.id, nonce=grant.nonce, product=grant.product,
                                                           consumer=grant.consumer, revoked_at=now, revoked_by=by))
                done.append(Revocation(grant_id=grant.id, nonce=grant.nonce, product=grant.product,
                                       consumer=grant.consumer, revoked_at=now, revoked_by=by))
            else:
                done.append(_revocation_of_row(row))
    forget_revocations()
    return done


def forget_revocations() -> None:
    """Forget the revoked sets read in this process: the next access decision reads them again."""
    with _read_lock:
        _read.clear()
