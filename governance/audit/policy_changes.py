"""Changes to ``mesh.toml`` in the audit log: a ``policy_changed`` record whenever the mesh is
opened with a file whose digest differs from the last one recorded.

Commands that edit ``mesh.toml`` (grant requests and approvals, domain creation) audit their
own action; an edit by hand is audited by nothing else. So each time a command opens the mesh
(:func:`record_policy_change`), the file's SHA-256 is compared with the last recorded one (kept
in ``<state>/state/policy.digest``, or, when that is missing, the last ``policy_changed``
record) and a new digest is recorded with one digest per top-level table, so a report can name
which tables changed between two records, and the digest of its trust (the one the council
approves) beside a digest of the rest, so a hand edit of trust the council later approved is
reported as approved.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tomllib
from pathlib import Path
from typing import Any

from assets.atomic import atomic_write
from assets.named_files import read_named_file
from assets.ports import AuditEvent
from governance.audit.lines import canonical
from governance.audit.log import AuditLog, AuditRecord
from governance.policy import MeshPolicy
from governance.policy.trust import TRUST_SECTIONS, snapshot_of
from governance.policy.trust import digest_of as trust_digest

#: The audit action of a recorded change of ``mesh.toml``.
POLICY_CHANGED = "policy_changed"
_MARKER = Path("state") / "policy.digest"
#: The most bytes of the marker read: it holds one digest.
MAX_MARKER_BYTES = 4096


def digest_of(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def section_digests(raw: bytes) -> dict[str, str]:
    """One digest per top-level table of ``mesh.toml``'s text ``raw`` (its content, not its layout)."""
    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    return {name: digest_of(canonical({"v": value}))[:23] for name, value in sorted(data.items())}


def trust_digests(raw: bytes) -> dict[str, str]:
    """``trust``: the digest the council approves (``governance.policy.trust``) of ``mesh.toml``'s
    text ``raw``; ``others``: a digest of everything else, so a report can tell a change of trust
    alone (which the council's approval explains) from one that also edited other tables."""
    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    trust = snapshot_of(data)
    others = {k: v for k, v in data.items() if k not in TRUST_SECTIONS and k not in trust}
    if isinstance(others.get("domains"), dict):
        others["domains"] = {name: {k: v for k, v in table.items() if k != "owners"} if isinstance(table, dict)
                             else table for name, table in others["domains"].items()}
    return {"trust": trust_digest(trust), "others": digest_of(canonical({"v": others}))}


def _marked(marker: Path) -> str | None:
    """The digest the marker holds; ``None`` when it is missing, empty or no file the mesh wrote
    (a FIFO, a folder, a device, more than :data:`MAX_MARKER_BYTES`), which is then rewritten."""
    try:
        return read_named_file(marker, MAX_MARKER_BYTES).decode().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def last_recorded(log: AuditLog) -> str | None:
    """The digest of ``mesh.toml`` the last ``policy_changed`` record holds, if any."""
    last = None
    for record in log.records():
        if record.action == POLICY_CHANGED:
            last = record.details.get("digest")
    return last


def record_policy_change(policy: MeshPolicy, log: AuditLog, state_dir: Path) -> AuditRecord | None:
    """Audit ``mesh.toml`` if its digest is not the last recorded one; the new record, or ``None``.
    Processes of one host take turns (a lock beside the marker), so a change is recorded once."""
    raw = policy.path.read_bytes()
    digest = digest_of(raw)
    marker = state_dir / _MARKER
    if _marked(marker) == digest:
        return None  # the usual case, without a lock
    marker.parent.mkdir(parents=True, exist_ok=True)
    # read and write, as the audit log's lock: a FIFO put there neither blocks nor fails as unseekable
    lock = os.open(marker.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        last = _marked(marker) or last_recorded(log)
        record = None
        if last != digest:
            record = log.append(AuditEvent(
                actor="service:governance", action=POLICY_CHANGED, target="mesh.toml",
                outcome="changed" if last else "first_recorded", source="policy",
                details={"digest": digest, "previous": last, "bytes": len(raw), "sections": section_digests(raw),
                         **trust_digests(raw)}))
        atomic_write(marker, digest.encode())
        return record
    finally:
        os.close(lock)
