"""Replication lag per asset, as recovery point (RPO), and whether the standby is ready.

For each asset: the versions the active region holds that the standby lacks (what a loss of
the active region would lose now), how long ago the oldest of them was produced, and a state:
``in sync``, ``behind``, ``corrupt`` (with ``verify``: a version fails its checksum, in the
standby or in the active region, which would otherwise serve and replicate it),
``excluded`` (residency forbids the standby), ``not materialized``, ``unreachable``, or
``diverged``: the standby holds every version, but its ``CURRENT`` names another version than
the active region's (a manual change, say), so it is not the mirror a failover expects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from assets.mesh import Mesh
from assets.storage import VersionStore
from governance.replication import partitions_of
from governance.retention import ResidencyError, check_residency
from governance.services import governed

State = Literal["in sync", "behind", "corrupt", "diverged", "excluded", "not materialized", "unreachable"]


@dataclass(frozen=True, slots=True)
class AssetLag:
    """Replication state of one asset between the active and the standby region."""

    key: str
    state: State
    current: str | None = None
    missing: tuple[str, ...] = ()
    corrupt: tuple[str, ...] = ()
    corrupt_active: tuple[str, ...] = ()
    seconds_behind: float = 0.0
    detail: str = ""
    standby_current: str | None = None

    @property
    def versions_behind(self) -> int:
        return len(self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "state": self.state, "current": self.current, "versions_behind": self.versions_behind,
                "seconds_behind": round(self.seconds_behind, 3), "missing": list(self.missing),
                "corrupt": list(self.corrupt), "corrupt_active": list(self.corrupt_active), "detail": self.detail,
                "standby_current": self.standby_current}


@dataclass(frozen=True, slots=True)
class DrStatus:
    """The whole mesh: which region is active, which is standby, and each asset's lag."""

    active: str
    standby: str | None
    assets: tuple[AssetLag, ...]

    @property
    def rpo_versions(self) -> int:
        return sum(a.versions_behind for a in self.assets)

    @property
    def rpo_seconds(self) -> float:
        return max((a.seconds_behind for a in self.assets), default=0.0)

    @property
    def ready(self) -> bool:
        """Whether a failover now would lose nothing: every replicable asset is in sync."""
        return self.standby is not None and all(a.state in ("in sync", "excluded", "not materialized")
                                                for a in self.assets)

    def to_dict(self) -> dict[str, Any]:
        return {"active": self.active, "standby": self.standby, "ready": self.ready,
                "rpo_versions": self.rpo_versions, "rpo_seconds": round(self.rpo_seconds, 3),
                "assets": [a.to_dict() for a in self.assets]}


def protected_assets(mesh: Mesh) -> list[str]:
    """The assets disaster recovery covers: those of the loaded graph, and every asset the run
    history records as published. A mesh loaded without domain code (``load_policy_mesh``), as
    the DR commands load it, so a broken domain module cannot block a failover, covers them all."""
    return sorted(set(mesh.graph) | set(governed(mesh).history.published()))


def dr_status(mesh: Mesh, *, verify: bool = False, keys: Iterable[str] | None = None,
              now: dt.datetime | None = None) -> DrStatus:
    """The lag of every asset (or of ``keys``) from the active to the standby region.
    ``verify`` re-hashes every version in both regions against its manifest (slower; reads
    all the data)."""
    active, standby = mesh.active_region, mesh.standby_region
    now = now or dt.datetime.now(dt.UTC)
    keys = list(keys) if keys is not None else protected_assets(mesh)
    if standby is None:
        return DrStatus(active, None, tuple(AssetLag(k, "not materialized", detail="one region") for k in keys))
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="dr-status") as pool:
        each = [(k, p) for k in keys for p in _partitions_of(mesh.store(active), k)]
        lags = tuple(pool.map(lambda kp: asset_lag(mesh, kp[0], active, standby, verify=verify, now=now,
                                                   partition=kp[1]), each))
    return DrStatus(active, standby, lags)


def _partitions_of(store: VersionStore, key: str) -> list[str | None]:
    """The partitions of ``key`` in ``store`` (each has its own lag), as replication sweeps them
    (:func:`~governance.replication.partitions_of`), or ``[None]`` for an unpartitioned asset
    (or one whose region cannot be listed: :func:`asset_lag` says so)."""
    try:
        return partitions_of(store, key)
    except Exception:  # any storage failure: asset_lag reports the region unreachable
        return [None]


def asset_lag(mesh: Mesh, key: str, source_region: str, target_region: str, *, verify: bool = False,
              now: dt.datetime | None = None, partition: str | None = None) -> AssetLag:
    """The lag of one asset (of one ``partition`` of it: the lag's key is then
    ``<key>/<partition>``) from ``source_region`` to ``target_region``."""
    source, target = mesh.store(source_region), mesh.store(target_region)
    label = key if partition is None else f"{key}/{partition}"
    try:
        check_residency(mesh.policy, key, target_region)
    except ResidencyError as exc:
        return AssetLag(label, "excluded", detail=exc.args[0])
    try:
        versions = source.versions(key, partition)
        current = source.current_version(key, partition)
    except Exception as exc:  # any storage failure means the region cannot be read now
        return AssetLag(label, "unreachable", detail=f"{source_region}: {type(exc).__name__}: {exc}")
    if not versions:
        return AssetLag(label, "not materialized")
    try:
        bad = tuple(v for v in versions if not source.verify(source.manifest(key, v, partition))) if verify else ()
    except Exception as exc:  # as above
        return AssetLag(label, "unreachable", current=current, detail=f"{source_region}: {type(exc).__name__}: {exc}")
    try:
        missing = tuple(v for v in versions if not target.has_version(key, v, partition))
        corrupt = tuple(v for v in versions if v not in missing and not target.verify(target.manifest(key, v, partition))) \
            if verify else ()
    except Exception as exc:  # as above, for the standby
        return AssetLag(label, "unreachable", current=current, missing=tuple(versions),
                        seconds_behind=version_age(source, key, versions[0], now, partition),
                        detail=f"{target_region}: {type(exc).__name__}: {exc}")
    if corrupt or bad:
        detail = (f"{len(bad)} version(s) in the active region '{source_region}' fail their checksum and are not "
                  f"served (newest {bad[-1]}): copy them back from '{target_region}' (`mesh dr failover --to "
                  f"{target_region}`, then `mesh dr failback`, which re-copies every version verified), or roll back") if bad else ""
        return AssetLag(label, "corrupt", current=current, missing=missing, corrupt=corrupt, corrupt_active=bad,
                        seconds_behind=version_age(source, key, min(missing + corrupt + bad), now, partition), detail=detail)
    if missing:
        return AssetLag(label, "behind", current=current, missing=missing, seconds_behind=version_age(source, key, missing[0], now, partition))
    try:
        standby_current = target.current_version(key, partition)
    except Exception as exc:  # a damaged pointer is one the failover must replace too
        return AssetLag(label, "diverged", current=current, detail=f"the standby's CURRENT cannot be read ({exc}); "
                        f"`mesh dr replicate` points it at {current}, the active region's version")
    if standby_current != current:
        return AssetLag(label, "diverged", current=current, standby_current=standby_current,
                        detail=_diverged(key, partition, source_region, current, target_region, standby_current))
    return AssetLag(label, "in sync", current=current, standby_current=standby_current)


def _diverged(key: str, partition: str | None, active: str, current: str | None, standby: str,
              standby_current: str | None) -> str:
    """What a diverged standby serves against the active region, and the fix."""
    serves = f"serves {standby_current}" if standby_current else "has no CURRENT"
    text = (f"the standby '{standby}' {serves}, the active region '{active}' serves {current}: "
            f"`mesh dr replicate` points the standby back at {current}")
    if standby_current and current and standby_current < current:
        where = f" --partition {partition}" if partition else ""
        text += (f"; if {standby_current} is the version to serve, roll the active region back to it instead "
                 f"(`mesh rollback {key} --to {standby_current}{where}`)")
    return text


def version_age(store: VersionStore, key: str, version: str, now: dt.datetime | None, partition: str | None = None) -> float:
    """Seconds since ``version`` was produced: how much recent data a loss would take."""
    produced = dt.datetime.fromisoformat(store.manifest(key, version, partition).produced_at)
    return max(0.0, ((now or dt.datetime.now(dt.UTC)) - produced).total_seconds())

