"""Which trust the mesh runs on: the file's, the council's last approved, or none approved yet.

Before the council's first approval the mesh runs on ``mesh.toml`` as written (and ``mesh
check`` says so). After it, a change of the trust sections takes effect only once approved:
until then :func:`trust_standing` gives the policy with the last approved trust, and lists
what is pending. That includes ``[state]``: while a change of it is pending the mesh keeps its
audit log (where the council's first approval is anchored), run history and revoked grants in
the approved state database, and the anchor is looked up there, never in the one the edited
file names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from assets.errors import ConfigError
from assets.mesh import STATE_DIR
from governance.audit import AuditLog
from governance.council.anchor import check_anchor
from governance.council.approvals import TrustApproval, read_approvals
from governance.council.chain import Chain, verify_chain
from governance.policy import (
    OPTIONAL_SECTIONS,
    TRUST_SECTIONS,
    MeshPolicy,
    StateSettings,
    digest_of,
    trust_snapshot,
    with_trust,
)

Status = Literal["unapproved", "approved", "pending"]
#: The state a snapshot without ``[state]`` names, as ``mesh policy status`` prints it.
DEFAULT_STATE = "the default (.mesh/state/mesh.sqlite and the files under .mesh)"
_MAX_SHOWN = 200


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

    @property
    def state_pending(self) -> bool:
        """Whether ``[state]`` as written is not the approved one (the mesh acts on the approved)."""
        return self.policy.state != self.written.state

    @property
    def state_predates_trust(self) -> bool:
        """Whether the file has a ``[state]`` and the last approval holds none: either it was
        added since, or the approval was made before ``[state]`` was trust (an upgrade), which the
        files cannot tell apart; either way one approval of the council puts it in effect."""
        return state_predates_trust(self.chain, self.snapshot)

    def refuse_unapproved_state(self) -> None:
        """Raise :class:`~assets.errors.ConfigError` while ``mesh.toml`` names a ``[state]`` and the
        last approval names none. Acting on the default state instead would be right after an
        attack, but after an upgrade it would move a running mesh's audit log and run history to
        another database without anyone asking; the files cannot tell the two apart, so nothing
        acts until the council approves (or the file is put back). ``mesh policy status`` and
        ``mesh policy approve`` load the mesh with ``approving`` and are not stopped."""
        if self.state_predates_trust:
            raise unapproved_state_error(self.written, self.chain)

    def state_note(self) -> str | None:
        """What a pending change of ``[state]`` means now, for ``mesh check`` and ``mesh policy status``."""
        if not self.state_pending:
            return None
        if self.state_predates_trust:
            return (f"no approval names a [state], so until the council approves {describe_state(self.written.state)} "
                    "nothing but `mesh policy status` and `mesh policy approve` runs; a mesh that had [state] before "
                    "[state] became council-approved trust needs this one re-approval: its earlier approvals do not "
                    "cover [state]")
        return (f"until the council approves it the mesh keeps its audit log, run history and revoked grants in "
                f"the approved state database, {describe_state(self.policy.state)}, not in "
                f"{describe_state(self.written.state)}")

    def finding(self) -> str | None:
        """A warning for ``mesh check`` while the file's trust is not the approved one."""
        quorum = (self.chain.head or self.written).council.quorum
        if self.status == "unapproved":
            return (f"{self.written.path.name}: people, roles, owners and [state] are not approved by the council, so "
                    "whoever can edit the file decides who may do what. Fix: a holder of approve_policy runs "
                    f"`mesh policy approve --as EMAIL` (quorum {quorum})")
        if self.status == "pending":
            note = self.state_note()
            return (f"{self.written.path.name}: changes of trust not in effect until approved "
                    f"({'; '.join(self.changes())}){'; ' + note if note else ''}. Fix: {quorum} holder(s) of "
                    "approve_policy run `mesh policy approve --as EMAIL` (`mesh policy status` shows who signed)")
        return None

    def changes(self) -> list[str]:
        """What the file's trust changes against the approved one, e.g. ``people: +x@acme.example``."""
        if not self.chain.approved:
            return []
        return describe_changes(self.chain.approved[-1].snapshot, self.snapshot)


def state_predates_trust(chain: Chain, snapshot: Mapping[str, Any]) -> bool:
    """Whether ``snapshot`` (``mesh.toml``'s trust as written) has a ``[state]`` while the last
    approval of ``chain`` holds none (:attr:`TrustStanding.state_predates_trust`)."""
    head = chain.approved[-1].snapshot if chain.approved else None
    return head is not None and "state" not in head and "state" in snapshot


def unapproved_state_error(written: MeshPolicy, chain: Chain) -> ConfigError:
    """The error of a ``[state]`` the council never approved (:meth:`TrustStanding.refuse_unapproved_state`)."""
    quorum = (chain.head or written).council.quorum
    return ConfigError(
        f"mesh.toml names the state database {describe_state(written.state)}, which the council has not "
        "approved: its last approval names no [state] (the table was added since, or the approval predates "
        "[state] being council-approved trust), and the mesh acts on no state database the council has not "
        "approved, nor on another one than mesh.toml names", where=str(written.path),
        fix=f"{quorum} holder(s) of approve_policy run `mesh policy approve --as EMAIL` (`mesh policy status` "
            "shows the change and who signed), on a host that has acted on the approvals; or remove [state] "
            "from mesh.toml if nobody meant to add it")


def trust_standing(written: MeshPolicy, open_log: Callable[[MeshPolicy], AuditLog]) -> TrustStanding:
    """The trust ``written`` (``mesh.toml`` as loaded) may act on. ``open_log`` opens the audit
    log of the policy it is given: the one acted on, whose ``[state]`` is the approved one.
    Raises :class:`~assets.errors.ConfigError` when the approvals are not the council's."""
    chain = verify_chain(written, read_approvals(written.root))
    snapshot = trust_snapshot(written)
    digest = digest_of(snapshot)
    policy = written if chain.head is None or chain.head_digest == digest else with_trust(written, chain.head)
    try:
        check_anchor(written.root / STATE_DIR, [a.digest for a in chain.approved], lambda: open_log(policy))
    except ConfigError as exc:
        if policy.state == written.state:
            raise
        raise ConfigError(f"{exc.what}; that log is the one of the approved [state], "
                          f"{describe_state(policy.state)}, not of mesh.toml's {describe_state(written.state)}, "
                          "which the council has not approved", where=exc.where,
                          fix=f"if [state] is as the council wants it and this mesh had it before [state] became "
                              f"council-approved trust, {chain.head.council.quorum if chain.head else 1} holder(s) "
                              "of approve_policy run `mesh policy approve --as EMAIL` on a host that has acted on "
                              "the approvals (its .mesh/state/council.json remembers them), once; else put [state] "
                              f"back as approved. Otherwise: {exc.fix}") from None
    return TrustStanding(policy=policy, written=written, snapshot=snapshot, digest=digest, chain=chain)


def describe_state(state: StateSettings) -> str:
    """``[state]`` in a few words: its URL (never holding a password) or the default."""
    return _state_text({"url": state.url, "password_env": state.password_env})


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One line per section that differs: entries added (+), removed (-) or changed (~); for
    ``state``, the database before and after."""
    lines = []
    for section in (*TRUST_SECTIONS, *OPTIONAL_SECTIONS, "owners"):
        old, new = before.get(section) or {}, after.get(section) or {}
        if old == new:
            continue
        if section == "state":
            lines.append(f"state: {_state_text(old)} -> {_state_text(new)}")
            continue
        if section in ("identity", "council") or not isinstance(old, dict) or not isinstance(new, dict):
            lines.append(f"{section}: changed")
            continue
        marks = [f"+{k}" for k in new if k not in old] + [f"-{k}" for k in old if k not in new] \
            + [f"~{k}" for k in new if k in old and new[k] != old[k]]
        lines.append(f"{section}: {', '.join(sorted(marks, key=lambda m: m[1:]))}")
    return lines


def _state_text(table: object) -> str:
    """A ``[state]`` table in a few words, as :func:`describe_state` says it."""
    url = table.get("url") if isinstance(table, dict) else None
    if not isinstance(url, str):
        return DEFAULT_STATE
    env = table.get("password_env") if isinstance(table, dict) else None
    shown = url if len(url) <= _MAX_SHOWN else url[:_MAX_SHOWN] + "..."
    return shown + (f" (password in ${env})" if isinstance(env, str) else "")
