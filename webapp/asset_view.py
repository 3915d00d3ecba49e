"""What an asset's page shows: its spec, contract, versions, quality history, lineage up and
down, and who consumes it under which grant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from assets.errors import MeshError
from assets.mesh import Mesh
from assets.staleness import summary
from governance.access.policy import missing_approvals, user_may_read
from governance.access.revocations import revocation_of
from governance.ops.clip import clip
from governance.services import governed
from governance.subscriptions.observer import deprecation_text
from webapp.overview import RunIndex, RunRecord
from webapp.problems import public_text

_T = TypeVar("_T")

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
    #: What could not be read where the versions are stored (a damaged manifest or pointer), one line
    #: each, its paths relative to the mesh (as the read API's errors).
    problems: tuple[str, ...]
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
    problems: list[str] = []

    def readable(read: Callable[[], _T], default: _T) -> _T:
        """What ``read`` returns, or ``default`` with its error kept for the page (a damaged version)."""
        try:
            return read()
        except (MeshError, OSError) as exc:
            problems.append(clip(public_text(str(exc) if isinstance(exc, OSError) else exc.what, mesh.root), 300))
            return default

    if spec.partitions is None:
        listed: list[str] = readable(lambda: store.versions(key)[-LISTED:][::-1], [])
        manifests = [m for v in listed if (m := readable(partial(store.manifest, key, v), None)) is not None]
        current = readable(lambda: store.current_version(key), None)
    else:  # each partition's current version, the newest partitions first
        published: list[str] = readable(lambda: store.partitions(key), [])
        manifests = [m for p in published[-LISTED:][::-1] if (m := readable(partial(store.current, key, p), None))]
        current = f"{len(published)} partition(s) published, each with its own current version" if published else None
    contract = dict(manifests[0].schema) if manifests else {
        name: str(column.dtype) for name, column in spec.contract.to_schema().columns.items()}
    audit = governed(mesh).audit
    runs = tuple(replace(r, error=public_text(r.error, mesh.root)) if r.error else r  # an asset's error names files
                 for r in (index or RunIndex()).update(audit).runs_of(audit, key))
    downstream = tuple(sorted(mesh.graph.descendants(key) - {key}))
    readers: dict[str, list[str]] = {}
    for other in mesh.graph.downstream(key):
        readers.setdefault(mesh.graph[other].spec.domain, []).append(other)
    grants = [g for g in mesh.policy.grants if g.product == key]
    consumers = tuple(Consumer(domain=d, assets=tuple(sorted(a)), grant=next(
        (_grant(mesh, g, today) for g in grants if g.consumer == d), None)) for d, a in sorted(readers.items()))
    people = sorted(set(mesh.policy.people) | {m for r in mesh.policy.roles.values() for m in r.members})
    stale = readable(lambda: summary(mesh, key), None)  # a partitioned asset: whether any partition is stale
    return AssetView(
        key=key,
        spec={"domain": spec.domain, "owners": ", ".join(spec.owners), "visibility": spec.visibility,
              "contract version": spec.contract_version, "schedule": spec.schedule_text or ("its drop's new files" if spec.drop is not None else "by hand"),
              **({"partitions": spec.partitions.describe()} if spec.partitions is not None else {}),
              "freshness": str(spec.freshness) if spec.freshness else "not declared",
              "description": spec.description, "tags": ", ".join(f"{k}={v}" for k, v in spec.tags.items()),
              "stale": "unknown: its current version cannot be read" if stale is None
              else "yes: " + "; ".join(stale.reasons) if stale.stale else "no",
              **({"deprecated": deprecation_text(spec)} if spec.deprecated is not None else {})},
        contract=contract,
        versions=tuple({"version": m.version, "rows": m.rows, "bytes": m.bytes, "produced_at": m.produced_at,
                        "run_id": m.run_id, "contract_version": m.contract_version, "partition": m.partition}
                       for m in manifests),
        current=current, problems=tuple(dict.fromkeys(problems)), runs=runs,
        upstream=tuple(sorted(mesh.graph.ancestors(key) - {key})), downstream=downstream,
        consumers=consumers, grants=tuple(_grant(mesh, g, today) for g in grants),
        readers=tuple(p for p in people if user_may_read(mesh.policy, p, spec, today).allowed))


def _grant(mesh: Mesh, grant: Any, today: dt.date) -> dict[str, Any]:
    missing = missing_approvals(mesh.policy, grant)
    expired = grant.expires is not None and grant.expires < today
    revoked = revocation_of(mesh.policy, grant)
    return {"consumer": grant.consumer, "purpose": grant.purpose, "approved_by": ", ".join(grant.approved_by),
            "expires": grant.expires.isoformat() if grant.expires else "never",
            "state": str(revoked) if revoked is not None else "expired" if expired else ("missing approvals: " + ", ".join(missing) if missing else "active")}
