"""Access between domains and for people: visibility, grants, roles; checked when the graph is
built and again when data is read."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from governance.access.authorization import (
    PermissionDeniedError,
    authenticate,
    identity_details,
    require,
)
from governance.access.policy import (
    AccessDecision,
    AccessDeniedError,
    active_grant,
    domain_may_read,
    missing_approvals,
    permissions_of,
    user_may_read,
)
from governance.identity import Actor
from governance.services import governed

if TYPE_CHECKING:
    from assets.graph import AssetGraph
    from assets.mesh import Mesh
    from governance.policy import MeshPolicy


def check_graph_access(graph: AssetGraph, policy: MeshPolicy, today: dt.date | None = None) -> None:
    """Refuse every input an asset may not read, naming the policy of each."""
    today = today or dt.date.today()
    denied = []
    for key in graph:
        spec = graph[key].spec
        for upstream in dict.fromkeys(spec.inputs.values()):
            if upstream in graph:
                decision = domain_may_read(policy, spec.domain, graph[upstream].spec, today)
                if not decision.allowed:
                    denied.append(f"'{key}' ({spec.source}) may not read '{upstream}': {decision.reason}")
    if denied:
        raise AccessDeniedError(" ".join(denied), where="asset inputs",
                                fix="make the input public, get an approved grant in mesh.toml, or remove the input")


def read_asset(mesh: Mesh, key: str, *, actor: Actor, version: str | None = None) -> pl.LazyFrame:
    """Read an asset as the authenticated ``actor``: allowed or denied by policy, and audited
    either way.

    Protected columns come back in plaintext only for the classifications the user may
    decrypt (``decrypt:<classification>``); otherwise as tokens, or ``[redacted]``.
    """
    from governance.audit import AuditEvent
    from governance.protection import unprotect

    user = actor.id
    decision = user_may_read(mesh.policy, user, mesh.graph[key].spec, dt.date.today())
    governed(mesh).audit.append(AuditEvent(
        actor=user, action="read", target=key, outcome="allowed" if decision.allowed else "denied", source="api",
        where=f"region:{mesh.active_region}",
        details={"reason": decision.reason, "version": version, **identity_details(actor)}))
    if not decision.allowed:
        raise AccessDeniedError(f"'{user}' may not read '{key}': {decision.reason}", where=f"read {key}",
                                fix="ask the owning domain for a grant (mesh access request) or a role")
    store = mesh.store()
    manifest = store.manifest(key, version) if version else store.require_current(key)
    frame = store.scan(key, manifest.version)
    if not manifest.protection:
        return frame
    folder = store.root.uri_of(store.data_path(key, manifest.version)).rsplit("/", 1)[0]
    return unprotect(frame.collect(), manifest.protection, manifest.data_key, governed(mesh).keyring, key=key,
                     permissions=permissions_of(mesh.policy, user), folder=folder).lazy()


__all__ = ["AccessDecision", "AccessDeniedError", "PermissionDeniedError", "active_grant", "authenticate",
           "check_graph_access", "domain_may_read", "missing_approvals", "permissions_of", "read_asset", "require",
           "user_may_read"]
