"""What an asset's page shows: its spec, contract, versions, quality history, lineage up and
down, and who consumes it under which grant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from assets.mesh import Mesh
from assets.staleness import summary
from governance.access.policy import missing_approvals, user_may_read
from governance.services import governed
from governance.subscriptions.observer import deprecation_text
from webapp.overview import RunIndex, RunRecord

#: How many versions and runs the page lists, newest first.
LISTED = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Consumer:
    """A domain that reads the asset, and the grant it reads under (if it needs one)."""

    domain: str
    assets: tuple[str, ...]
    grant: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetView:
    key: str
    spec: dict[str, Any]
    contract: dict[str, str]
    versions: tuple[dict[str, Any], ...]
    current: str | None
    runs: tuple[RunRecord, ...]
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    consumers: tuple[Consumer, ...]
    grants: tuple[dict[str, Any], ...]
    readers: tuple[str, ...]


def asset_view(mesh: Mesh, key: str, *, index: RunIndex | None = None, today: dt.date | None = None) -> AssetView:
    """The page of ``key`` (a key of ``mesh.graph``); ``index`` is the run index kept between
    calls (a new one reads the whole audit log)."""
    today = today or dt.date.today()
    spec = mesh.graph[key].spec
    store = mesh.store()
    if spec.partitions is None:
        manifests = [store.manifest(key, v) for v in store.versions(key)[-LISTED:][::-1]]
        current = store.current_version(key)
    else:  # each partition's current version, the newest partitions first
        published = store.partitions(key)
        manifests = [m for p in published[-LISTED:][::-1] if (m := store.current(key, p)) is not None]
        current = f"{len(published)} partition(s) published, each with its own current version" if published else None
    contract = dict(manifests[0].schema) if manifests else {
        name: str(column.dtype) for name, column in spec.contract.to_schema().columns.items()}
    audit = governed(mesh).audit
    runs = tuple((index or RunIndex()).update(audit).runs_of(audit, key))
    downstream = tuple(sorted(mesh.graph.descendants(key) - {key}))
    readers: dict[str, list[str]] = {}
    for other in mesh.graph.downstream(key):
        readers.setdefault(mesh.graph[other].spec.domain, []).append(other)
    grants = [g for g in mesh.policy.grants if g.product == key]
    consumers = tuple(Consumer(domain=d, assets=tuple(sorted(a)), grant=next(
        (_grant(mesh, g, today) for g in grants if g.consumer == d), None)) for d, a in sorted(readers.items()))
    people = sorted(set(mesh.policy.people) | {m for r in mesh.policy.roles.values() for m in r.members})
    stale = summary(mesh, key)  # a partitioned asset: whether any partition is stale
    return AssetView(
        key=key,
        spec={"domain": spec.domain, "owners": ", ".join(spec.owners), "visibility": spec.visibility,
              "contract version": spec.contract_version, "schedule": spec.schedule or "on its inputs",
              **({"partitions": spec.partitions.describe()} if spec.partitions is not None else {}),
              "freshness": str(spec.freshness) if spec.freshness else "not declared",
              "description": spec.description, "tags": ", ".join(f"{k}={v}" for k, v in spec.tags.items()),
              "stale": "yes: " + "; ".join(stale.reasons) if stale.stale else "no",
              **({"deprecated": deprecation_text(spec)} if spec.deprecated is not None else {})},
        contract=contract,
        versions=tuple({"version": m.version, "rows": m.rows, "bytes": m.bytes, "produced_at": m.produced_at,
                        "run_id": m.run_id, "contract_version": m.contract_version, "partition": m.partition}
                       for m in manifests),
        current=current, runs=runs, upstream=tuple(sorted(mesh.graph.ancestors(key) - {key})), downstream=downstream,
        consumers=consumers, grants=tuple(_grant(mesh, g, today) for g in grants),
        readers=tuple(p for p in people if user_may_read(mesh.policy, p, spec, today).allowed))


def _grant(mesh: Mesh, grant: Any, today: dt.date) -> dict[str, Any]:
    missing = missing_approvals(mesh.policy, grant)
    expired = grant.expires is not None and grant.expires < today
    return {"consumer": grant.consumer, "purpose": grant.purpose, "approved_by": ", ".join(grant.approved_by),
            "expires": grant.expires.isoformat() if grant.expires else "never",
            "state": "expired" if expired else ("missing approvals: " + ", ".join(missing) if missing else "active")}
