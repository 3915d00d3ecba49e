"""Enroll the people of an example mesh, as each of them would by hand.

For the demo and the tests: every person ``mesh.toml`` names (domain owners, role members,
approvers) who has no ``[people]`` entry gets a key pair in the identity folder and their public
key registered (``mesh identity create`` + the council's edit), then every approval listed in
``approved_by`` that has no signature is signed with the approver's held key (``mesh access
approve ID --as EMAIL``); a grant without an id or a nonce gets them written first, as that
command writes them. Running it again changes nothing. A person registered with a key this
folder does not hold is skipped and reported; an existing signature is never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import tomlkit

from governance.identity.approvals import sign_approval
from governance.identity.local import LocalIdentity, create_identity, held_public_key
from governance.identity.people import register_people
from governance.policy.model import new_grant_nonce


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrollment:
    """What :func:`enroll_people` did: people registered, approvals signed, and what it skipped."""

    registered: tuple[str, ...] = ()
    signed: tuple[tuple[int, str], ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)


def enroll_people(root: Path | str, folder: Path | None = None) -> Enrollment:
    """Register a key of every unregistered person of the mesh at ``root`` and sign every
    unsigned approval, with keys held in ``folder`` (default: the identity folder)."""
    from governance.policy import load_policy
    from governance.policy.editing import edit_mesh_toml

    policy = load_policy(root)
    named = [*(o for d in policy.domains.values() for o in d.owners),
             *(m for r in policy.roles.values() for m in r.members),
             *(a for g in policy.grants for a in g.approved_by)]
    keys: dict[str, str] = {}
    for email in dict.fromkeys(named):
        if email not in policy.people:
            keys[email] = held_public_key(email, folder) or create_identity(email, folder)
    if keys:
        register_people(policy.path, keys)
        policy = load_policy(root)

    signer = LocalIdentity(people={e: p.public_key for e, p in policy.people.items()}, folder=folder)
    skipped: dict[str, str] = {}
    signatures: dict[int, dict[str, str]] = {}
    nonces: dict[int, str] = {}
    for grant in policy.grants:
        for approver in grant.approved_by:
            if approver in grant.signatures or approver in skipped:
                continue
            if held_public_key(approver, folder) != policy.people[approver].public_key:
                skipped[approver] = "registered with a key this identity folder does not hold"
                continue
            if not grant.nonce:
                grant = replace(grant, nonce=new_grant_nonce())
                nonces[grant.index] = grant.nonce
            signatures.setdefault(grant.index, {})[approver] = sign_approval(
                signer, approver, policy.settings.name, grant)
    if signatures:
        ids = {g.index: g.id for g in policy.grants}
        with edit_mesh_toml(policy.path) as doc:
            for index, signed in signatures.items():
                entry = doc["grants"][index]
                if "id" not in entry:
                    entry["id"] = ids[index]
                if index in nonces:
                    entry["nonce"] = nonces[index]
                table = entry.get("signatures")
                if table is None:
                    table = tomlkit.inline_table()
                    entry["signatures"] = table
                table.update(signed)
    return Enrollment(registered=tuple(keys), skipped=skipped,
                      signed=tuple((i, e) for i, signed in signatures.items() for e in signed))
