"""Revoked grants, kept in the state database so a revoked grant stays revoked.

``mesh access revoke`` removes a grant's entry from ``mesh.toml`` and records the grant here
(its id and nonce, when and by whom), in the same operation that audits it (``grant_revoke``).
A grant is its id and its nonce (both signed by its approvers,
:mod:`governance.identity.approvals`): an entry pasted back into ``mesh.toml``, or brought back by
``git revert``, is the revoked grant and grants nothing; a grant requested anew has a new nonce.

The revoked set is read once per policy object (a ``mesh.toml`` loaded again after a change is a
new object), when an access decision first needs it, never per row read; recording a revocation
forgets what was read in this process.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import insert, select

from governance.policy import Grant, MeshPolicy
from governance.state import state_database
from governance.state.schema import revoked_grants

#: How many policies' revoked sets are kept (a process holds a few policies at most).
_KEPT = 16
_LOCK = "revoked_grants"


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


_read: dict[int, tuple[MeshPolicy, Mapping[tuple[str, str], Revocation]]] = {}
_read_lock = threading.Lock()


def revocations(policy: MeshPolicy) -> Mapping[tuple[str, str], Revocation]:
    """Every revoked grant of the mesh of ``policy``, by (id, nonce): read from its state
    database once for this policy object."""
    with _read_lock:
        found = _read.get(id(policy))
        if found is not None and found[0] is policy:
            return found[1]
    with state_database(policy).read() as conn:
        rows = conn.execute(select(revoked_grants)).mappings().all()
    revoked = MappingProxyType({(r["id"], r["nonce"]): Revocation(
        grant_id=r["id"], nonce=r["nonce"], product=r["product"], consumer=r["consumer"],
        revoked_at=r["revoked_at"], revoked_by=r["revoked_by"]) for r in rows})
    with _read_lock:
        while len(_read) >= _KEPT:
            del _read[next(iter(_read))]
        _read[id(policy)] = (policy, revoked)  # the policy is kept with it: its id is not reused meanwhile
    return revoked


def revocation_of(policy: MeshPolicy, grant: Grant) -> Revocation | None:
    """The revocation of ``grant`` (its id and nonce), or ``None`` if it was never revoked."""
    return revocations(policy).get((grant.id, grant.nonce))


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
                done.append(Revocation(grant_id=row["id"], nonce=row["nonce"], product=row["product"],
                                       consumer=row["consumer"], revoked_at=row["revoked_at"],
                                       revoked_by=row["revoked_by"]))
    forget_revocations()
    return done


def forget_revocations() -> None:
    """Forget the revoked sets read in this process: the next access decision reads them again."""
    with _read_lock:
        _read.clear()
