"""Anchor the council's first approval in the audit log.

Signatures prove that each approval was made by the council before it, but the first one is
approved by its own council: someone who replaced ``mesh.approvals.jsonl`` with a chain of
their own, or deleted it to run on the file's unapproved trust, would hold a valid chain. The
audit log (hash-chained, its signed heads kept by the standby region's witness) records every
approval, so the first approved digest is looked up there and remembered on this host in
``<state>/state/council.json`` with the newest approval seen here (so a file put back from
before a later approval is refused); the log is read again only when that marker is missing
or names another first approval.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from assets.atomic import atomic_write
from assets.errors import ConfigError, MeshError
from assets.mesh import STATE_DIR
from assets.named_files import read_named_file
from assets.stored_json import load_json
from governance.audit import AuditLog, audit_log_at
from governance.policy import MeshPolicy
from governance.state import state_database

#: The audit action of a change of trust that reached the council's quorum.
TRUST_APPROVED = "trust_approved"
_MARKER = Path("state") / "council.json"
#: The most bytes of the marker read (two digests); a larger file, a FIFO or a folder reads as no
#: marker: the log is read instead, and the marker rewritten.
MAX_MARKER_BYTES = 64 * 1024
_FIX = ("rebuild it from the audit log, which holds every approval whole: `mesh policy recover --as EMAIL` (a holder "
        "of approve_policy), or restore it from version control")


def check_anchor(state_dir: Path, approved: Sequence[str], open_log: Callable[[], AuditLog]) -> None:
    """Return if ``approved`` (the approved digests of the approvals file, oldest first) starts
    with the first approval the audit log recorded and still holds the newest approval this
    host has seen; else :class:`ConfigError`."""
    seen = _read_marker(state_dir)
    genesis = approved[0] if approved else None
    where = str(state_dir.parent / "mesh.approvals.jsonl")
    if seen is not None and seen[0] is not None and seen[0] != genesis:
        # Whatever the log now says: [state] may name another database since this host saw it.
        raise ConfigError(f"this host acted on the council's approvals from {seen[0]}, but mesh.approvals.jsonl "
                          + (f"now starts at {genesis}" if genesis else "holds no approval"), where=where, fix=_FIX)
    if seen is None or seen[0] != genesis:
        try:
            recorded = first_approval(open_log())
        except (MeshError, OSError) as exc:
            if genesis is None:
                return  # cannot tell; the damaged log is reported by every command that appends
            why = exc.what if isinstance(exc, MeshError) else exc.strerror or type(exc).__name__
            raise ConfigError(f"cannot confirm the council's first approval {genesis}: the audit log cannot be read "
                              f"({why})", where=str(state_dir / "audit"),
                              fix="repair or restore the audit log (`mesh audit verify`, `mesh dr restore`)") from None
        if recorded != genesis:
            if genesis is None:
                raise ConfigError(f"the council approved this mesh's roles and people (first approval {recorded}, in "
                                  "the audit log), but mesh.approvals.jsonl holds no approval", where=where, fix=_FIX)
            raise ConfigError(f"the first approval in mesh.approvals.jsonl ({genesis}) is not the one this mesh's "
                              f"audit log recorded ({recorded or 'none'}): the file was replaced or comes from "
                              "another mesh", where=where, fix=_FIX)
        seen = None
    elif seen[1] is not None and seen[1] not in approved:
        raise ConfigError(f"mesh.approvals.jsonl no longer holds approval {seen[1]}, which this host acted on: an "
                          "older file was put back, undoing the council's later approvals",
                          where=where, fix=_FIX)
    if seen is None or (approved and seen[1] != approved[-1]):
        remember(state_dir, approved)


def log_of(policy: MeshPolicy) -> AuditLog:
    """The audit log ``policy``'s ``[state]`` names (the database's, else the folder's), opened
    as evidence: for the anchor, and for an approval that moves the log (:mod:`.approve`)."""
    return audit_log_at(policy.root / STATE_DIR, pinned=policy.audit.key_fingerprint,
                        database=state_database(policy) if policy.state.shared else None)


def remember(state_dir: Path, approved: Sequence[str]) -> None:
    """Write the marker; a read-only state folder only costs the next load a read of the log."""
    marker = {"genesis": approved[0], "head": approved[-1]} if approved else {"genesis": None, "head": None}
    try:
        (state_dir / _MARKER).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(state_dir / _MARKER, json.dumps(marker).encode())
    except OSError:
        pass


def acted_on_approvals(state_dir: Path) -> bool:
    """Whether this host has acted on an approval of the council (its marker names one)."""
    seen = _read_marker(state_dir)
    return seen is not None and seen[0] is not None


def _read_marker(state_dir: Path) -> tuple[str | None, str | None] | None:
    try:
        body = load_json(read_named_file(state_dir / _MARKER, MAX_MARKER_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    genesis, head = body.get("genesis"), body.get("head")
    if not all(v is None or isinstance(v, str) for v in (genesis, head)):
        return None
    return genesis, head


def first_approval(log: AuditLog) -> str | None:
    """The digest of the first approval the log recorded, if any."""
    for record in log.records():
        if record.action == TRUST_APPROVED and record.details.get("previous") is None:
            digest = record.details.get("digest")
            return digest if isinstance(digest, str) else None
    return None
