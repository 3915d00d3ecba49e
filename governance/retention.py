"""Retention and residency: how long versions are kept, and where a domain's data may live.

Retention removes versions older than their domain's retention (``[retention]``), never a
current version (of an asset, or of each partition of a partitioned asset), and audits each
removal. Residency is enforced where data is written: a
region's store refuses a version of a domain whose ``residency`` excludes the region's
jurisdiction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from assets.errors import MeshError
from assets.mesh import Mesh
from assets.storage import VersionStore
from assets.storage.layout import CURRENT_FILE, VERSION_NAME
from governance.audit import AuditEvent, AuditLog
from governance.policy import MeshPolicy
from assets.stored_json import load_json


class ResidencyError(MeshError):
    """Data of a domain would be stored outside its residency."""


class QuotaError(MeshError):
    """A domain would go over its storage quota."""


def admit_version(policy: MeshPolicy, store: VersionStore, region: str, key: str, size: int | None) -> None:
    """The region store's gate for new versions: residency first, then the storage quota."""
    check_residency(policy, key, region)
    domain = policy.domains.get(key.split(".", 1)[0])
    if size is None or domain is None or domain.max_storage_bytes is None:
        return
    used = store.storage_bytes(domain.name)
    if used + size > domain.max_storage_bytes:
        raise QuotaError(f"'{key}' needs {size:,} bytes; domain '{domain.name}' stores {used:,} of its "
                         f"max_storage_bytes {domain.max_storage_bytes:,} in region '{region}'",
                         where=f"mesh.toml [domains.{domain.name}].max_storage_bytes",
                         fix="remove old versions (mesh retention apply) or ask the council for a larger quota")


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
    """A version past its retention (``partition``: of which partition of a partitioned asset)."""

    region: str
    key: str
    version: str
    produced_at: str
    partition: str | None = None

    @property
    def label(self) -> str:
        """``sales.orders@<version>``, or ``sales.daily_orders/2026-01-05@<version>``."""
        return f"{self.key}{'/' + self.partition if self.partition else ''}@{self.version}"


def apply_retention(mesh: Mesh, audit: AuditLog, *, now: dt.datetime | None = None,
                    dry_run: bool = False) -> list[Removal]:
    """Remove every non-current version past its retention, in every region."""
    now = now or dt.datetime.now(dt.UTC)
    removals = []
    for region in mesh.policy.regions:
        store = mesh.store(region)
        for key in mesh.graph:
            limit = now - dt.timedelta(days=mesh.policy.retention.days_for(key.split(".", 1)[0]))
            parts = store.partitions(key) if mesh.graph[key].spec.partitions is not None else []
            for partition in (None, *parts):
                current = store.current_version(key, partition)
                for version in store.versions(key, partition):
                    manifest = store.manifest(key, version, partition)
                    if version == current or dt.datetime.fromisoformat(manifest.produced_at) >= limit:
                        continue
                    removals.append(Removal(region, key, version, manifest.produced_at, partition))
                    if not dry_run:
                        store.remove_version(key, version, partition)
                        _audit_removal(audit, removals[-1])
        removals += _expire_archives(mesh, audit, region, now, dry_run)
    return removals


def _expire_archives(mesh: Mesh, audit: AuditLog, region: str, now: dt.datetime, dry_run: bool) -> list[Removal]:
    """Versions of retired domains (``_archive/<domain>-<when>/<asset>/[<partition>/]<version>``)
    expire too, the last one included."""
    root = mesh.store(region).root
    removals = []
    for folder in root.listdir(root.path("_archive")):
        domain = folder.rsplit("-", 1)[0]
        limit = now - dt.timedelta(days=mesh.policy.retention.days_for(domain))
        for asset in root.listdir(root.path("_archive", folder)):
            key = f"{domain}.{asset}"
            for name in root.listdir(root.path("_archive", folder, asset)):
                if name.startswith(".") or name == CURRENT_FILE:
                    continue
                places: list[tuple[tuple[str, ...], str, str | None]]
                if VERSION_NAME.fullmatch(name):
                    places = [((folder, asset), name, None)]
                else:  # a partition's folder of a partitioned asset
                    places = [((folder, asset, name), v, name)
                              for v in root.listdir(root.path("_archive", folder, asset, name))]
                for parent, version, partition in places:
                    manifest_path = root.path("_archive", *parent, version, "manifest.json")
                    if version.startswith(".") or not root.exists(manifest_path):
                        continue
                    produced = load_json(root.read_bytes(manifest_path))["produced_at"]
                    if dt.datetime.fromisoformat(produced) >= limit:
                        continue
                    removals.append(Removal(region, key, version, produced, partition))
                    if not dry_run:
                        root.remove(root.path("_archive", *parent, version))
                        _audit_removal(audit, removals[-1])
    return removals


def _audit_removal(audit: AuditLog, removal: Removal) -> None:
    partition = {"partition": removal.partition} if removal.partition is not None else {}
    audit.append(AuditEvent(actor="service:retention", action="retention_remove", target=removal.key,
                            outcome="removed", source="cli", where=f"region:{removal.region}",
                            details={"version": removal.version, "produced_at": removal.produced_at, **partition}))
