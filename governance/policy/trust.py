"""Trust: the parts of ``mesh.toml`` that say who is who and who may do what.

``[people]`` (who proves an identity with which key), ``[roles]`` (who holds which permission),
every domain's ``owners``, ``[identity]`` (how identities are proven), ``[council]`` (how
many must approve a change of these) and ``[state]`` (the database that holds the audit log and
the revoked grants). Whoever can edit the file could otherwise make themselves council, or
point ``[state]`` at a database of their own with an empty audit log and no revocations; so
once the council has approved a snapshot of these sections (``governance.council``), a change
takes effect only when approved in turn, and until then the mesh runs on the approved snapshot
(:func:`with_trust`).

A snapshot is the sections' values as read from TOML, so its digest is over content, not
layout: reordering keys or comments changes nothing. ``state`` is in a snapshot only when
``mesh.toml`` has a ``[state]`` table with keys (:data:`OPTIONAL_SECTIONS`): a mesh without one
keeps the digest, and so the approvals, it had before ``[state]`` was trust.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.policy.model import (
    CouncilSettings,
    IdentitySettings,
    MeshPolicy,
    Person,
    Role,
    StateSettings,
)
from governance.policy.roles import approvers_with

#: The top-level tables a snapshot holds whole; domain owners are held per domain.
TRUST_SECTIONS = ("people", "roles", "identity", "council")
#: Top-level tables a snapshot holds whole only when ``mesh.toml`` has them (and they hold a key):
#: absent, they are the default, and the snapshot's digest is the one it had before they were trust.
OPTIONAL_SECTIONS = ("state",)
#: The permission whose holders approve a change of trust.
APPROVE_POLICY = "approve_policy"

Snapshot = Mapping[str, Any]


def snapshot_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The trust sections of a parsed ``mesh.toml`` (``tomllib`` output), as a snapshot."""
    domains = raw.get("domains")
    owners = {name: table.get("owners") for name, table in domains.items() if isinstance(table, dict)} \
        if isinstance(domains, dict) else {}
    optional = {name: raw[name] for name in OPTIONAL_SECTIONS if raw.get(name)}
    return {**{name: raw.get(name, {}) for name in TRUST_SECTIONS}, **optional, "owners": owners}


def digest_of(snapshot: Snapshot) -> str:
    """The snapshot's SHA-256 over canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Trust:
    """A snapshot read into the policy's own types (``governance.policy.read_trust``); ``state``
    is the default (SQLite and files under ``.mesh``) when the snapshot holds none."""

    people: Mapping[str, Person]
    roles: Mapping[str, Role]
    identity: IdentitySettings
    council: CouncilSettings
    owners: Mapping[str, tuple[str, ...]]
    state: StateSettings


def trust_in(policy: MeshPolicy) -> Trust:
    """The trust ``policy`` runs on."""
    return Trust(people=policy.people, roles=policy.roles, identity=policy.identity, council=policy.council,
                 owners={name: d.owners for name, d in policy.domains.items()}, state=policy.state)


def with_trust(policy: MeshPolicy, trust: Trust) -> MeshPolicy:
    """``policy`` running on ``trust`` instead of its own trust sections. A domain the trust does
    not know (added since it was approved) is owned by the trust's ``approve_policy`` holders
    until the council approves its owners: nobody gains an owner's rights by editing the file.
    Its state database is the trust's: an edited ``[state]`` does not move the audit log, the
    run history or the revoked grants until the council approves it."""
    council = approvers_with(dataclasses.replace(policy, roles=trust.roles), APPROVE_POLICY)
    domains = {name: dataclasses.replace(d, owners=trust.owners.get(name) or tuple(sorted(council)))
               for name, d in policy.domains.items()}
    pending = {email: person for email, person in policy.people.items() if trust.people.get(email) != person}
    return dataclasses.replace(policy, people=trust.people, roles=trust.roles, identity=trust.identity,
                               council=trust.council, domains=domains, pending_people=pending, state=trust.state)
