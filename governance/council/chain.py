"""Verify the council's approvals: each snapshot of trust is approved by the council of the
snapshot before it (the first by its own council), with at least that council's quorum of
valid signatures, and names the digest of the snapshot before it.

So a line written by someone who edited ``mesh.toml`` and the approvals file, but holds no
council key, approves nothing: the signatures are checked with the keys the *previous*
approved snapshot registered, never with keys the edited file claims.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from assets.errors import ConfigError
from governance.council.approvals import TrustApproval, approval_payload, approvals_path
from governance.identity.keys import verify_text
from governance.policy import APPROVE_POLICY, MeshPolicy, PolicyErrors, Trust, read_trust
from governance.policy.roles import approvers_with


@dataclass(frozen=True, slots=True, kw_only=True)
class Chain:
    """The verified approvals: ``approved`` in order, the ``head`` trust the mesh runs on (none
    before the first approval), and a ``pending`` change still collecting signatures."""

    approved: tuple[TrustApproval, ...] = ()
    head: Trust | None = None
    pending: TrustApproval | None = None
    pending_signers: frozenset[str] = field(default_factory=frozenset)

    @property
    def head_digest(self) -> str | None:
        return self.approved[-1].digest if self.approved else None


def signers_of(policy: MeshPolicy, governing: Trust, approval: TrustApproval) -> frozenset[str]:
    """Who, among ``governing``'s ``approve_policy`` holders, validly signed ``approval``."""
    holders = approvers_with(dataclasses.replace(policy, roles=governing.roles), APPROVE_POLICY)
    payload = approval_payload(policy.settings.name, approval.digest, approval.previous)
    return frozenset(email for email, signature in approval.signatures.items()
                     if email in holders and email in governing.people
                     and verify_text(governing.people[email].public_key, payload, signature))


def verify_chain(policy: MeshPolicy, approvals: Sequence[TrustApproval]) -> Chain:
    """Check every approval against the council before it; :class:`ConfigError` names the first
    line that does not hold (a broken link, too few valid signatures before the last line)."""
    where = approvals_path(policy.root)
    fix = ("rebuild it from the audit log: `mesh policy recover --as EMAIL` (a holder of approve_policy); a change "
           "of trust is approved only by `mesh policy approve --as EMAIL`")
    governing: Trust | None = None
    approved: list[TrustApproval] = []
    for n, approval in enumerate(approvals, 1):
        expected = approved[-1].digest if approved else None
        if approval.previous != expected:
            raise ConfigError(f"line {n} follows {approval.previous or 'nothing'}, not the approval before it "
                              f"({expected or 'nothing'})", where=f"{where}:{n}", fix=fix)
        try:
            trust = read_trust(policy.path, approval.snapshot)
        except PolicyErrors as exc:  # written by hand: the council's `mesh policy approve` signs only valid trust
            problems = "; ".join(f"{p.where}: {p.what}" if p.where else p.what for p in exc.problems[:3]) \
                + ("; ..." if len(exc.problems) > 3 else "")
            raise ConfigError(f"line {n} holds people, roles or owners that are not valid ({problems})",
                              where=f"{where}:{n}", fix=fix) from None
        signers = signers_of(policy, governing or trust, approval)
        if len(signers) >= (governing or trust).council.quorum:
            approved.append(approval)
            governing = trust
        elif n == len(approvals):
            return Chain(approved=tuple(approved), head=governing, pending=approval, pending_signers=signers)
        else:
            raise ConfigError(f"line {n} has {len(signers)} valid signature(s) of the council's "
                              f"{(governing or trust).council.quorum}, yet an approval follows it",
                              where=f"{where}:{n}", fix=fix)
    return Chain(approved=tuple(approved), head=governing)
