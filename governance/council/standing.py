"""Which trust the mesh runs on: the file's, the council's last approved, or none approved yet.

Before the council's first approval the mesh runs on ``mesh.toml`` as written (and ``mesh
check`` says so). After it, a change of the trust sections takes effect only once approved:
until then :func:`trust_standing` gives the policy with the last approved trust, and lists
what is pending.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from assets.mesh import STATE_DIR
from governance.audit import AuditLog
from governance.council.anchor import check_anchor
from governance.council.approvals import TrustApproval, read_approvals
from governance.council.chain import Chain, verify_chain
from governance.policy import (
    TRUST_SECTIONS,
    MeshPolicy,
    digest_of,
    trust_snapshot,
    with_trust,
)

Status = Literal["unapproved", "approved", "pending"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustStanding:
    """``policy``: the policy to act on; ``written``: ``mesh.toml`` as written; ``snapshot`` and
    ``digest``: its trust sections; ``chain``: the verified approvals."""

    policy: MeshPolicy
    written: MeshPolicy
    snapshot: Mapping[str, Any]
    digest: str
    chain: Chain

    @property
    def status(self) -> Status:
        if not self.chain.approved:
            return "unapproved"
        return "approved" if self.chain.head_digest == self.digest else "pending"

    @property
    def pending(self) -> TrustApproval | None:
        """The change collecting signatures, if it is the file's current trust."""
        pending = self.chain.pending
        return pending if pending is not None and pending.digest == self.digest else None

    def finding(self) -> str | None:
        """A warning for ``mesh check`` while the file's trust is not the approved one."""
        quorum = (self.chain.head or self.written).council.quorum
        if self.status == "unapproved":
            return (f"{self.written.path.name}: people, roles and owners are not approved by the council, so whoever "
                    "can edit the file decides who may do what. Fix: a holder of approve_policy runs "
                    f"`mesh policy approve --as EMAIL` (quorum {quorum})")
        if self.status == "pending":
            return (f"{self.written.path.name}: changes of trust not in effect until approved "
                    f"({'; '.join(self.changes())}). Fix: {quorum} holder(s) of approve_policy run "
                    "`mesh policy approve --as EMAIL` (`mesh policy status` shows who signed)")
        return None

    def changes(self) -> list[str]:
        """What the file's trust changes against the approved one, e.g. ``people: +x@acme.example``."""
        if not self.chain.approved:
            return []
        return describe_changes(self.chain.approved[-1].snapshot, self.snapshot)


def trust_standing(written: MeshPolicy, open_log: Callable[[], AuditLog]) -> TrustStanding:
    """The trust ``written`` (``mesh.toml`` as loaded) may act on. Raises
    :class:`~assets.errors.ConfigError` when the approvals are not the council's."""
    chain = verify_chain(written, read_approvals(written.root))
    check_anchor(written.root / STATE_DIR, [a.digest for a in chain.approved], open_log)
    snapshot = trust_snapshot(written)
    digest = digest_of(snapshot)
    policy = written if chain.head is None or chain.head_digest == digest else with_trust(written, chain.head)
    return TrustStanding(policy=policy, written=written, snapshot=snapshot, digest=digest, chain=chain)


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One line per section that differs: entries added (+), removed (-) or changed (~)."""
    lines = []
    for section in (*TRUST_SECTIONS, "owners"):
        old, new = before.get(section) or {}, after.get(section) or {}
        if old == new:
            continue
        if section in ("identity", "council") or not isinstance(old, dict) or not isinstance(new, dict):
            lines.append(f"{section}: changed")
            continue
        marks = [f"+{k}" for k in new if k not in old] + [f"-{k}" for k in old if k not in new] \
            + [f"~{k}" for k in new if k in old and new[k] != old[k]]
        lines.append(f"{section}: {', '.join(sorted(marks, key=lambda m: m[1:]))}")
    return lines
