"""Access between domains and for people: visibility, grants, roles; checked when the graph is
built and again when data is read."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from assets.emails import normalize_email

from governance.access.policy import (
    AccessDecision,
    AccessDeniedError,
    active_grant,
    domain_may_read,
    missing_approvals,
    user_may_read,
)
from governance.identity import Actor
from governance.identity.authorization import (
    PermissionDeniedError,
    authenticate,
    identity_details,
    require,
)
from governance.policy.roles import permissions_of
from governance.services import governed

if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet

    from assets.graph import AssetGraph
    from assets.mesh import Mesh
    from assets.storage.manifest import Manifest
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
        raise AccessDeniedError.listing(denied, where="asset inputs",
                                fix="make the input public, get an approved grant in mesh.toml, or remove the input")


def read_asset(mesh: Mesh, key: str, *, actor: Actor, version: str | None = None, partition: str | None = None,
               first: str | None = None, last: str | None = None) -> pl.LazyFrame:
    """Read an asset as the authenticated ``actor``: allowed or denied by policy, and audited
    either way.

    A partitioned asset gives one ``partition``, the partitions from ``first`` to ``last``, or
    all its current partitions, as one frame (each partition's current version).

    Protected columns come back in plaintext only for the classifications the user may
    decrypt (``decrypt:<classification>``); otherwise as tokens, or ``[redacted]``. A version
    stored in plaintext before a column was classified is read as today's contract classifies it.
    """
    from governance.audit import AuditEvent

    user = actor.id
    decision = user_may_read(mesh.policy, user, mesh.graph[key].spec, dt.date.today())
    governed(mesh).audit.append(AuditEvent(
        actor=user, action="read", target=key, outcome="allowed" if decision.allowed else "denied", source="api",
        where=f"region:{mesh.active_region}",
        details={"reason": decision.reason, "version": version, **identity_details(actor),
                 **({"partitions": _asked(partition, first, last)} if (partition or first or last) else {})}))
    if not decision.allowed:
        raise AccessDeniedError(f"'{user}' may not read '{key}': {decision.reason}", where=f"read {key}",
                                fix=how_to_read(mesh, key, user))
    store = mesh.store()
    if mesh.graph[key].spec.partitions is not None or partition or first or last:
        return _read_partitions(mesh, key, user, version=version, partition=partition, first=first, last=last)
    manifest = store.manifest(key, version) if version is not None else store.require_current(key)
    return _as_user_sees(mesh, key, manifest, store.scan(key, manifest.version), permissions_of(mesh.policy, user))


def _as_user_sees(mesh: Mesh, key: str, manifest: Manifest, frame: pl.LazyFrame,
                  permissions: AbstractSet[str]) -> pl.LazyFrame:
    """A stored version as a reader with ``permissions`` sees it: protected columns decrypted or
    not, and columns classified since the version was made redacted (never more than today's read)."""
    from governance.protection import classified_columns, redact_plaintext_now_classified, unprotect

    if manifest.protection:
        store = mesh.store()
        folder = store.root.uri_of(store.data_path(key, manifest.version, manifest.partition))
        frame = unprotect(frame.collect(), manifest.protection, manifest.data_key, governed(mesh).keyring, key=key,
                          permissions=permissions, folder=folder.rsplit("/", 1)[0]).lazy()
    classified = classified_columns(mesh.graph[key].spec.contract)
    if classified.keys() - manifest.protection.keys():
        frame = redact_plaintext_now_classified(frame, manifest.protection, classified, mesh.policy,
                                                permissions=permissions)
    return frame


def how_to_read(mesh: Mesh, key: str, user: str) -> str:
    """The fix of a refused read (or subscription): grants open assets to domains, so a person who
    owns none needs a role; a private asset is read by its own domain alone."""
    spec = mesh.graph[key].spec
    owned = sorted(d.name for d in mesh.policy.domains.values() if normalize_email(user) in d.owners)
    if spec.visibility == "private":
        return "act as an owner of its domain: a private asset is read by its own domain alone, and no grant opens it"
    if not owned:
        return (f"ask the council for a role with read:{spec.domain} (or read_all) in mesh.toml [roles]: grants "
                "open assets to domains, and you own none")
    return (f"ask domain '{spec.domain}' for a grant to your domain (mesh access request {key} --consumer "
            f"{owned[0]} --purpose ... --as {user}), or the council for a role with read:{spec.domain}")


def _asked(partition: str | None, first: str | None, last: str | None) -> str:
    return partition if partition else f"{first or 'first'}..{last or 'last'}"


def _read_partitions(mesh: Mesh, key: str, user: str, *, version: str | None, partition: str | None,
                     first: str | None, last: str | None) -> pl.LazyFrame:
    """The current versions of the partitions asked for, unprotected as ``user`` may see them."""
    from assets.errors import PartitionKeyError
    from assets.partition_reads import scan_manifests, scan_partitions

    partitions = mesh.graph[key].spec.partitions
    store = mesh.store()
    if partitions is None:
        raise PartitionKeyError(f"'{key}' is not partitioned", where=f"read {key}",
                                fix="read it without --partition, --from or --to")
    if version is not None and partition is None:
        raise PartitionKeyError(f"a version of '{key}' is a version of one partition", where=f"read {key}",
                                fix="pass --partition with --version")
    if partition is not None:
        keys: list[str] | None = [partitions.validate(partition)]
    elif first is not None or last is not None:
        present = store.partitions(key)
        low = first if first is not None else (present[0] if present else partitions.keys()[0])
        high = last if last is not None else (present[-1] if present else low)
        keys = list(partitions.keys_between(low, high))
    else:
        keys = None
    if version is not None and keys:
        manifests = [store.manifest(key, version, keys[0])]
    else:
        _, manifests = scan_partitions(store, key, keys)
    permissions = permissions_of(mesh.policy, user)
    frames = [_as_user_sees(mesh, key, manifest, scan_manifests(store, [manifest]), permissions)
              for manifest in manifests]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")


__all__ = ["AccessDecision", "AccessDeniedError", "PermissionDeniedError", "active_grant", "authenticate",
           "check_graph_access", "domain_may_read", "how_to_read", "missing_approvals", "permissions_of", "read_asset", "require",
           "user_may_read"]
