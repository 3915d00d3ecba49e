"""Retention and residency: how long versions are kept, and where a domain's data may live.

Retention removes versions older than their domain's retention (``[retention]``), never a
current version, and audits each removal. Residency is enforced where data is written: a
region's store refuses a version of a domain whose ``residency`` excludes the region's
jurisdiction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.audit import AuditEvent, AuditLog
from governance.policy import MeshPolicy


class ResidencyError(MeshError):
    """Data of a domain would be stored outside its residency."""


def check_residency(policy: MeshPolicy, key: str, region: str) -> None:
    domain = policy.domains.get(key.split(".", 1)[0])
    jurisdiction = policy.regions[region].jurisdiction
    if domain is not None and domain.residency and jurisdiction not in domain.residency:
        raise ResidencyError(
            f"'{key}' may not be stored in region '{region}' ({jurisdiction}): domain '{domain.name}' data must stay "
            f"in {list(domain.residency)}", where=f"mesh.toml [domains.{domain.name}].residency",
            fix="store it in a region of an allowed jurisdiction, or have the council change the residency")


@dataclass(frozen=True, slots=True)
class Removal:
    region: str
    key: str
    version: str
    produced_at: str


def apply_retention(mesh: Mesh, audit: AuditLog, *, now: dt.datetime | None = None,
                    dry_run: bool = False) -> list[Removal]:
    """Remove every non-current version past its retention, in every region."""
    now = now or dt.datetime.now(dt.UTC)
    removals = []
    for region in mesh.policy.regions:
        store = mesh.store(region)
        for key in mesh.graph:
            current = store.current_version(key)
            limit = now - dt.timedelta(days=mesh.policy.retention.days_for(key.split(".", 1)[0]))
            for version in store.versions(key):
                manifest = store.manifest(key, version)
                if version == current or dt.datetime.fromisoformat(manifest.produced_at) >= limit:
                    continue
                removals.append(Removal(region, key, version, manifest.produced_at))
                if not dry_run:
                    store.remove_version(key, version)
                    audit.append(AuditEvent(actor="service:retention", action="retention_remove", target=key,
                                            outcome="removed", source="cli", where=f"region:{region}",
                                            details={"version": version, "produced_at": manifest.produced_at}))
    return removals
