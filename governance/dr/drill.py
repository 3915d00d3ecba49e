"""The recovery drill: lose the primary region of a throwaway copy of the mesh and recover.

Steps, each checked: materialize the copy; note the RPO ``mesh dr status`` reports; destroy the
primary region's folder; fail over to the secondary (timed: the RTO); check that every version
that passed its gate is readable and verified there, or was reported in the RPO; materialize
again on the new primary. The copy has its own keys and storage, so the drill never touches
the real mesh's data.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from assets.drops import Drop
from assets.mesh import Mesh
from governance.dr.failover import switch_region
from governance.dr.status import dr_status
from governance.services import governed
from governance.wiring import load_mesh


@dataclass(frozen=True, slots=True)
class DrillReport:
    """What the drill measured. ``ok`` when nothing was lost beyond the reported RPO and the
    mesh materialized again on the new primary."""

    workdir: Path
    failed_region: str
    new_region: str
    rto_seconds: float
    rpo_versions: int
    rpo_seconds: float
    published_versions: int
    verified_versions: int
    lost_beyond_rpo: tuple[str, ...] = ()
    rematerialized: bool = False
    recovery_seconds: float = 0.0
    steps: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.lost_beyond_rpo and self.rematerialized

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "workdir": str(self.workdir), "failed_region": self.failed_region,
                "new_region": self.new_region, "rto_seconds": round(self.rto_seconds, 3),
                "recovery_seconds": round(self.recovery_seconds, 3), "rpo_versions": self.rpo_versions,
                "rpo_seconds": round(self.rpo_seconds, 3), "published_versions": self.published_versions,
                "verified_versions": self.verified_versions, "lost_beyond_rpo": list(self.lost_beyond_rpo),
                "rematerialized": self.rematerialized, "steps": list(self.steps)}


def throwaway_copy(root: Path, workdir: Path, drops: Iterable[Drop] = ()) -> Path:
    """Copy ``mesh.toml`` and ``domains/`` of the mesh in ``root`` to ``workdir``, with every
    region a local folder there and the state in the copy's own SQLite file (no ``[state]``), so
    nothing done in the copy reaches the original's data, audit log or active region. The copy's
    audit log is signed by a key of its own: the original's pin is left out.

    The folders of ``drops`` inside the mesh (its observed sources' arrived files) are copied
    too, so the copy's sources observe what the original's would; other drops are read in place."""
    workdir.mkdir(parents=True, exist_ok=True)
    document = tomlkit.parse((root / "mesh.toml").read_text())
    for name, region in document.get("regions", {}).items():
        region["storage"] = f".mesh/regions/{name}"
    document.pop("state", None)
    audit = document.get("audit")
    if audit is not None:  # the copy's audit log is its own, signed by a key made for it
        audit.pop("key_fingerprint", None)
    (workdir / "mesh.toml").write_text(tomlkit.dumps(document))
    shutil.copytree(root / "domains", workdir / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    for drop in drops:
        folder = drop.folder_at(root)
        if not drop.on_s3 and not Path(drop.folder).is_absolute() and folder.is_dir():
            shutil.copytree(folder, drop.folder_at(workdir), dirs_exist_ok=True)
    return workdir


def drill(mesh: Mesh, *, workdir: Path | None = None, params: Mapping[str, Any] | None = None,
          keep: bool = False, lag: int = 0) -> DrillReport:
    """Run the drill on a throwaway copy of ``mesh`` (in ``workdir``, or a temporary folder).

    ``lag`` publishes that many more versions of a root asset without replicating them before
    the loss, so the drill also shows that what is lost is exactly what the RPO reported."""
    from assets.engine import (
        materialize,  # the engine imports governance handlers: import late
    )

    temporary = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="mesh-drill-"))
    try:
        drops = [drop for key in mesh.graph if (drop := mesh.graph[key].spec.drop) is not None]
        copy = load_mesh(throwaway_copy(mesh.root, workdir, drops))
        primary, secondary = copy.policy.settings.primary_region, copy.standby_region
        if secondary is None:
            raise ValueError("the mesh has one region; a drill needs a secondary_region in mesh.toml")
        steps = []
        first = materialize("*", mesh=copy, params=params)
        steps.append(f"materialized {len(first.results)} assets: {'ok' if first.ok else 'with failures'}")
        if lag:
            root_key = next(k for k in copy.graph if copy.graph[k].spec.is_root)
            unreplicated = [h for h in list(copy.services.handlers) if h.kind != "replication"]
            for _ in range(lag):
                materialize(root_key, mesh=copy, params=params, handlers=unreplicated)
            steps.append(f"published {lag} more version(s) of {root_key} without replicating them (the lag)")
        before = dr_status(copy)
        steps.append(f"reported RPO before the loss: {before.rpo_versions} version(s), {before.rpo_seconds:.1f} s")
        shutil.rmtree(copy.store(primary).root.root)
        steps.append(f"destroyed region {primary} ({copy.store(primary).root.root})")
        started = time.perf_counter()
        switched = switch_region(copy, secondary, governed(copy).audit, force=True, actor="service:dr-drill",
                            reason="drill failover")
        steps.append(f"failed over to {secondary} in {switched.rto_seconds:.3f} s")
        reported = {(a.key.split("/", 1)[0], v) for a in before.assets for v in a.missing + a.corrupt}  # key/partition
        published = governed(copy).history.published()
        store = copy.store()
        verified, lost = 0, []
        for key, versions in published.items():
            for version in versions:
                try:
                    partition = store.partition_of(key, version)
                    manifest = store.manifest(key, version, partition)
                    readable = store.verify(manifest) and store.scan_manifest(manifest).collect().height == manifest.rows
                except Exception:  # a missing or unreadable version is what this check looks for
                    readable = False
                if readable:
                    verified += 1
                elif (key, version) not in reported:
                    lost.append(f"{key}@{version}")
        steps.append(f"verified {verified} of {sum(map(len, published.values()))} published versions on {secondary}")
        again = materialize("*", mesh=copy, params=params)
        recovery = time.perf_counter() - started
        steps.append(f"materialized again on {secondary}: {'ok' if again.ok else 'FAILED'}")
        report = DrillReport(workdir=workdir, failed_region=primary, new_region=secondary,
                             rto_seconds=switched.rto_seconds, rpo_versions=before.rpo_versions,
                             rpo_seconds=before.rpo_seconds, published_versions=sum(map(len, published.values())),
                             verified_versions=verified, lost_beyond_rpo=tuple(lost), rematerialized=again.ok,
                             recovery_seconds=recovery, steps=tuple(steps))
        record_drill(mesh, report)
        return report
    finally:
        if temporary and not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def record_drill(mesh: Mesh, report: DrillReport) -> None:
    """Note the drill's measured RTO and RPO in ``mesh``'s audit log (action ``dr_drill``), where
    the dashboard and the compliance evidence find the last one."""
    from governance.audit import AuditEvent

    details = {k: v for k, v in report.to_dict().items() if k not in ("workdir", "steps")}
    governed(mesh).audit.append(AuditEvent(
        actor="service:dr-drill", action="dr_drill", target=f"region:{report.failed_region}",
        outcome="ok" if report.ok else "failed", source="governance", details=details))

