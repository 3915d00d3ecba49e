"""Rollback: point an asset's ``CURRENT`` in the active region back at an older version.

``CURRENT`` otherwise only moves forward (a publish of an older version never wins over a
newer one); going back is this explicit act, by an owner of the asset's domain or a holder of
``operate_dr``, audited with both versions. The version rolled back to must verify against its
manifest (a version that does not is refused, naming its data file and the version to choose
instead); without a version, the newest version older than the current one that verifies is
chosen. The standby region is brought to the same ``CURRENT`` at once (a rollback publishes
nothing, so no update handler would replicate it, and a failover would serve the version rolled
back from); a standby that cannot be reached is reported, and `mesh dr replicate` catches it up.
The next publish moves forward again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from assets.errors import MeshError, StorageError
from assets.mesh import Mesh
from assets.storage import VersionStore
from assets.storage.layout import asset_dir
from governance.audit import AuditEvent, AuditLog
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.replication import Replicator


@dataclass(frozen=True, slots=True)
class RollbackReport:
    """The asset, the version it was on and the one it is on now, in which region."""

    key: str
    region: str
    previous: str | None
    version: str
    partition: str | None = None
    #: What the standby region was brought to (its replication's description), or why it was not.
    mirrored: str | None = None
    not_mirrored: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "region": self.region, "from": self.previous, "to": self.version,
                **({"partition": self.partition} if self.partition is not None else {}),
                "mirrored": self.mirrored, **({"not_mirrored": self.not_mirrored} if self.not_mirrored else {})}


class RollbackRefusedError(StorageError):
    """The version asked for cannot become current: its data does not verify, or there is none to go back to."""


def rollback(mesh: Mesh, key: str, version: str | None, audit: AuditLog, *, actor: Actor,
             why: str = "by hand", partition: str | None = None) -> RollbackReport:
    """Make ``version`` of ``key`` (of its ``partition``, for a partitioned asset) current in the
    active region, even if older; ``None``: the newest older version that verifies (see the
    module docstring). ``why`` goes into the audit record. Raises
    :class:`~governance.identity.authorization.PermissionDeniedError`,
    :class:`~assets.errors.StorageError` (unknown version) or :class:`RollbackRefusedError`,
    leaving ``CURRENT`` as it was."""
    require(mesh.policy, audit, actor, "operate_dr", action="rollback", target=key, owners_of=key.split(".", 1)[0])
    return move_back(mesh, key, version, audit, actor=actor, why=why, partition=partition)


def move_back(mesh: Mesh, key: str, version: str | None, audit: AuditLog, *, actor: Actor,
              why: str, partition: str | None = None) -> RollbackReport:
    """:func:`rollback` once the actor's permission was checked: by :func:`rollback` for a
    person, by the self-healing runbook for itself (:mod:`governance.healing`)."""
    _check_partition(mesh, key, partition)
    store, region = mesh.store(), mesh.active_region
    label, flag = (f"{key}/{partition}", f" --partition {partition}") if partition is not None else (key, "")
    previous = store.current_version(key, partition)
    if version is None:
        version = last_good_version(store, key, before=previous, partition=partition)
        if version is None:
            raise RollbackRefusedError(
                f"'{label}' has no version older than {previous or 'its current one'} whose data verifies",
                where=store.root.uri_of(store.root.path(asset_dir(key, partition))),
                fix=f"materialize it again (mesh materialize {key}{flag}), or restore a backup (mesh dr restore)")
    manifest = store.manifest(key, version, partition)
    if not store.verify(manifest):  # never roll back to data that would not be served
        better = last_good_version(store, key, before=previous, partition=partition)
        raise RollbackRefusedError(
            f"version '{version}' of '{label}' does not match its manifest's checksum, so it cannot become current",
            where=store.root.uri_of(store.data_path(key, version, partition)),
            fix=(f"roll back to {better}, the newest older version that verifies (mesh rollback {key}{flag} --to "
                 f"{better}), or leave out --to to choose it" if better else
                 f"no older version verifies: materialize it again (mesh materialize {key}{flag}) or restore a "
                 "backup (mesh dr restore)"))
    store.set_current(key, version, partition, allow_backward=True)
    report = RollbackReport(key, region, previous, version, partition)
    _recorded(store, audit, report, AuditEvent(
        actor=actor.id, action="rollback", target=key, outcome="rolled back", source="governance",
        where=f"region:{region}", details={**report.to_dict(), "why": why, **identity_details(actor)}))
    return _mirrored(mesh, audit, report)


def _recorded(store: VersionStore, audit: AuditLog, report: RollbackReport, event: AuditEvent) -> None:
    """Write ``event``, the rollback's audit record; if it cannot be written, ``CURRENT`` is put
    back at the version it was on (as a failover puts its pointers back), so that no rollback
    takes effect unaudited, and :class:`RollbackRefusedError` says so with the audit log's fix."""
    try:
        audit.append(event)
    except (MeshError, OSError) as exc:
        label = report.key if report.partition is None else f"{report.key}/{report.partition}"
        why, where = (exc.what, exc.where) if isinstance(exc, MeshError) else (str(exc), "")
        fix = (exc.fix if isinstance(exc, MeshError) and exc.fix else
               "make the audit log writable and run the command again")
        try:
            store.reset_current(report.key, report.previous, report.partition, only_from=report.version)
        except MeshError as failed:
            raise RollbackRefusedError(
                f"the rollback of '{label}' to {report.version} could not be audited ({why}) nor undone ({failed}): "
                "it took effect without an audit record", where=where,
                fix=f"{fix} (mesh rollback {report.key} --to {report.version}), so that it is recorded") from exc
        raise RollbackRefusedError(
            f"the rollback of '{label}' to {report.version} was undone, as its audit record could not be written "
            f"({why}); CURRENT names {report.previous or 'no version'} again", where=where,
            fix=fix) from exc


def _mirrored(mesh: Mesh, audit: AuditLog, report: RollbackReport) -> RollbackReport:
    """``report`` once the standby region's ``CURRENT`` was brought to the rolled-back version."""

    replicator = Replicator.for_mesh(mesh, audit)
    if replicator is None:
        return report
    try:
        done = replicator.replicate(report.key, partition=report.partition).describe()
    except (MeshError, OSError) as exc:  # the rollback stands; `mesh dr replicate` catches the standby up
        return replace(report, not_mirrored=f"the standby {replicator.target} still serves the older version "
                                             f"({type(exc).__name__}: {exc}). Fix: run `mesh dr replicate`")
    return replace(report, mirrored=done)


def last_good_version(store: VersionStore, key: str, *, before: str | None,
                      partition: str | None = None) -> str | None:
    """The newest version of ``key`` (of ``partition``) older than ``before`` (all, if ``None``)
    whose data matches its manifest, hashed now; ``None`` if none does."""
    for version in reversed(store.versions(key, partition)):
        if (before is None or version < before) and store.verify(store.manifest(key, version, partition)):
            return version
    return None


def _check_partition(mesh: Mesh, key: str, partition: str | None) -> None:
    """A partitioned asset rolls back one of its partitions, named; an unpartitioned one none.
    Told from storage, so that a rollback needs no domain code (a broken module cannot block it)."""
    store = mesh.store()
    if partition is None:
        if store.current_version(key) is None and (published := store.partitions(key)):
            raise RollbackRefusedError(f"'{key}' is partitioned: each of its partitions rolls back on its own",
                                       where=key, fix=f"name one: mesh rollback {key} --partition {published[-1]} "
                                       f"(its published partitions: mesh list {key})")
    elif partition not in store.partitions(key):
        raise RollbackRefusedError(f"'{key}' has no published partition '{partition[:64]}'", where=key,
                                   fix=f"choose a published partition (mesh list {key}), or leave out --partition "
                                   "for an asset that is not partitioned")
