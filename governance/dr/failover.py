"""Failover to another region, and failback to the primary, each verified and audited.

A failover first verifies the replicas it is about to serve: for every asset, the newest
version the target region holds must match its checksum, and no version published since
(known from the active region if it can still be read, and from the run history, which lives
outside every region) may be missing. Otherwise it is refused with the list, unless forced,
which reports what is lost. Then every asset's ``CURRENT`` in the target points at the version
the active region serves, when that region can still be read and the target holds the version
verified (so a rollback stays rolled back), else at its newest verified version, and the active
region switches in one atomic write. The pointers move all or none: each new ``CURRENT`` is
written beside the old one before any is renamed into place (a full disk stops the failover
there), and a failure after that, the switch's own write included, puts the moved ones back. The time from the
start of the command to the switch is the recovery time (RTO), measured and audited.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from assets.atomic import Prepared, discard
from assets.disk_full import disk_full_reason, is_disk_full
from assets.errors import MeshError
from assets.mesh import Mesh
from assets.regions import RegionSwitch
from assets.storage import VersionStore
from governance.audit import AuditEvent, AuditLog
from governance.dr.status import protected_assets
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.replication import Replicator
from governance.retention import ResidencyError, check_residency
from governance.services import governed


class FailoverRefusedError(MeshError):
    """The target region cannot take over without losing data (or is not a region)."""


@dataclass(frozen=True, slots=True)
class Loss:
    """Versions of an asset that a failover leaves behind, and why."""

    key: str
    versions: tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {len(self.versions)} version(s) {self.reason} (newest {self.versions[-1]})"


@dataclass(frozen=True, slots=True)
class Checked:
    """How many assets a failover checked, and what it found: ``verified + excluded + empty``
    is ``assets`` (``empty``: not verified). An unpartitioned asset is verified when the target holds the version it
    will serve, verified; a partitioned one is checked partition by partition (each partition's
    ``CURRENT`` is mirrored by replication), and verified when every partition it holds is."""

    assets: int = 0
    verified: int = 0
    partitioned: int = 0
    partitions: int = 0
    excluded: int = 0
    empty: int = 0

    def describe(self) -> str:
        """``"18 assets checked: 18 verified (2 partitioned, 14 partitions verified one by one)"``."""
        text = f"{self.assets} assets checked: {self.verified} verified"
        if self.partitioned:
            text += f" ({self.partitioned} partitioned, {self.partitions} partitions verified one by one)"
        if self.excluded:
            text += f", {self.excluded} kept out of the region by residency"
        if self.empty:
            text += f", {self.empty} not verified (nothing to serve there, or a partition missing or corrupt)"
        return text

    def to_dict(self) -> dict[str, int]:
        return {"assets": self.assets, "verified": self.verified, "partitioned": self.partitioned,
                "partitions": self.partitions, "excluded": self.excluded, "empty": self.empty}


@dataclass(frozen=True, slots=True)
class FailoverReport:
    """What a failover or failback did, and how long it took."""

    from_region: str
    to_region: str
    rto_seconds: float
    checked: Checked
    lost: tuple[Loss, ...] = ()
    forced: bool = False
    caught_up: int = 0

    @property
    def verified(self) -> int:
        """The assets verified in the region now active (:class:`Checked`)."""
        return self.checked.verified

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_region, "to": self.to_region, "rto_seconds": round(self.rto_seconds, 3),
                "verified": self.verified, "checked": self.checked.to_dict(), "summary": self.checked.describe(),
                "forced": self.forced, "caught_up": self.caught_up,
                "lost": [{"key": x.key, "versions": list(x.versions), "reason": x.reason} for x in self.lost]}


def failover(mesh: Mesh, to: str, audit: AuditLog, *, actor: Actor, force: bool = False) -> FailoverReport:
    """Make ``to`` the active region after verifying its replicas (see the module docstring).
    ``actor`` needs the ``operate_dr`` permission."""
    require(mesh.policy, audit, actor, "operate_dr", action="failover", target=f"region:{to}")
    return switch_region(mesh, to, audit, force=force, actor=actor.id, details=identity_details(actor))


def switch_region(mesh: Mesh, to: str, audit: AuditLog, *, force: bool, actor: str, reason: str = "failover",
                  details: Mapping[str, Any] | None = None) -> FailoverReport:
    """The switch itself, after the caller checked the actor's right (a drill on its own copy
    of the mesh acts as its service identity)."""
    started = time.perf_counter()
    previous = mesh.active_region
    if to not in mesh.policy.regions:
        raise FailoverRefusedError(f"'{to}' is not a region", where=str(mesh.policy.path),
                                   fix=f"fail over to one of {', '.join(sorted(mesh.policy.regions))}")
    if to == previous:
        raise FailoverRefusedError(f"'{to}' is already the active region", where=str(mesh.policy.path),
                                   fix="see `mesh dr status`")
    serve, losses, checked = _check_replicas(mesh, previous, to)
    if losses and not force:
        audit.append(_event(actor, reason, to, "refused",
                            {"from": previous, "lost": [str(x) for x in losses], **(details or {})}))
        raise FailoverRefusedError(
            f"region '{to}' lacks data that passed its gate: " + "; ".join(map(str, losses)),
            where=f"region:{to}", fix="catch it up (`mesh dr status`, then let replication finish), "
                                      "or pass --force to accept losing exactly this")
    target = mesh.store(to)
    before = {key: target.current_version(key) for key in serve}
    moves = {key: version for key, version in serve.items() if before[key] != version}
    again = "mesh dr failback" if reason == "failback" else f"mesh dr failover --to {to}"
    try:
        _move_pointers(target, moves, before, to=to, previous=previous, again=again)
        try:
            mesh.region_switches.write(RegionSwitch.now(region=to, previous=previous, reason=reason))
        except BaseException as exc:
            _put_back(target, moves, before, exc)
            raise
    except (OSError, MeshError) as exc:
        audit.append(_event(actor, reason, to, "failed", {"from": previous, "error": str(exc), **(details or {})}))
        if isinstance(exc, MeshError):
            raise
        raise _stopped(exc, to=to, previous=previous, again=again, where=exc.filename or "") from exc
    report = FailoverReport(previous, to, time.perf_counter() - started, checked, tuple(losses), force)
    audit.append(_event(actor, reason, to, "switched", {**report.to_dict(), **(details or {})}))
    return report


def _move_pointers(target: VersionStore, moves: Mapping[str, str], before: Mapping[str, str | None], *, to: str,
                   previous: str, again: str) -> None:
    """Point every asset of ``moves`` at its version in ``target``, all or none: every new
    ``CURRENT`` is written beside the old one first (a full disk stops it there, before any
    moved), then each is renamed into place; a failure after that puts the moved ones back."""
    prepared: dict[str, Prepared | None] = {}
    try:
        for key, version in moves.items():
            prepared[key] = target.prepare_current(key, version)
    except OSError as exc:
        for ahead in prepared.values():
            if ahead is not None:
                discard(ahead)
        raise _stopped(exc, to=to, previous=previous, again=again, where=exc.filename or "") from exc
    moved: list[str] = []
    try:
        for key, version in moves.items():
            # may be older: newer ones are corrupt
            target.set_current(key, version, allow_backward=True, prepared=prepared.pop(key))
            moved.append(key)
    except BaseException as exc:
        for ahead in prepared.values():
            if ahead is not None:
                discard(ahead)
        _put_back(target, {k: moves[k] for k in moved}, before, exc)
        raise


def _put_back(target: VersionStore, moved: Mapping[str, str], before: Mapping[str, str | None],
              exc: BaseException) -> None:
    """Undo the pointer moves of a failover that cannot complete; a pointer that cannot be put
    back is named in a note on ``exc``."""
    stuck = []
    for key in moved:
        try:
            target.reset_current(key, before[key])
        except MeshError as failed:
            stuck.append(f"{key} (still at {moved[key]}, was {before[key]}: {failed})")
    if stuck:
        exc.add_note("CURRENT pointers that could not be put back: " + "; ".join(stuck))


def _stopped(exc: OSError, *, to: str, previous: str, again: str, where: str) -> FailoverRefusedError:
    """The error of a switch a write stopped: nothing moved, the active region unchanged."""
    why = disk_full_reason(exc) if is_disk_full(exc) else (exc.strerror or str(exc))
    place = os.path.dirname(where) if where else f"region '{to}'"
    fix = (f"free space on the disk that holds {place} (df), then run `{again}` again" if is_disk_full(exc)
           else f"make region '{to}' writable, then run `{again}` again")
    notes = "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))
    return FailoverRefusedError(f"the switch to '{to}' stopped: {why}; no CURRENT pointer was moved (or each was "
                                f"put back) and the active region is still '{previous}'{notes}",
                                where=where or f"region:{to}", fix=fix)


def failback(mesh: Mesh, audit: AuditLog, *, actor: Actor) -> FailoverReport:
    """Catch the primary up from the active region (every version, verified), then switch to it.
    ``actor`` needs the ``operate_dr`` permission."""
    started = time.perf_counter()
    primary, active = mesh.policy.settings.primary_region, mesh.active_region
    require(mesh.policy, audit, actor, "operate_dr", action="failback", target=f"region:{primary}")
    if active == primary:
        raise FailoverRefusedError(f"the primary region '{primary}' is already active", where=str(mesh.policy.path),
                                   fix="failback follows a failover; see `mesh dr status`")
    keys = protected_assets(mesh)
    results = Replicator(mesh, audit, active, primary, actor.id).replicate_many(keys, verify=True)
    failed = [f"{key}: {r}" for key, r in zip(keys, results, strict=True) if isinstance(r, Exception)]
    if failed:
        raise FailoverRefusedError(f"could not catch the primary '{primary}' up: " + "; ".join(failed),
                                   where=f"region:{primary}", fix="make the primary reachable, then run failback again")
    copied = sum(len(r.copies) for r in results if not isinstance(r, Exception))
    report = switch_region(mesh, primary, audit, force=False, actor=actor.id, reason="failback",
                           details=identity_details(actor))
    return FailoverReport(active, primary, time.perf_counter() - started, report.checked, report.lost,
                          caught_up=copied)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One asset's check: the version to serve (unpartitioned), or its partitions verified."""

    key: str
    serving: str | None
    loss: Loss | None
    partitions: int = 0
    verified_partitions: int = 0
    excluded: bool = False


def _check_replicas(mesh: Mesh, active: str, to: str) -> tuple[dict[str, str], list[Loss], Checked]:
    """For each asset, the newest verified version ``to`` can serve, what would be lost, and
    the counts of what was checked."""
    published = governed(mesh).history.published()

    def check(key: str) -> _Outcome:
        known = set(published.get(key, ()))
        try:
            check_residency(mesh.policy, key, to)
        except ResidencyError as exc:
            return _Outcome(key, None, Loss(key, tuple(sorted(known)), f"kept out of {to} by residency "
                                                                       f"({exc.args[0]})") if known else None,
                            excluded=True)
        target = mesh.store(to)
        partitions = _partitions(mesh, active, to, key)
        if partitions:  # each partition's CURRENT is mirrored by replication: only losses to report
            loss, verified = _partition_loss(mesh, active, to, key, partitions, known)
            return _Outcome(key, None, loss, partitions=len(partitions), verified_partitions=verified)
        served: str | None = None
        try:
            known |= set(mesh.store(active).versions(key))
            served = mesh.store(active).current_version(key)
        except Exception:  # the active region may be gone; the history still knows what was published
            pass
        held = target.versions(key)
        serving: str | None
        if served is not None and served in held and target.verify(target.manifest(key, served)):
            # what the active region serves, a rollback included; newer versions are kept, not served
            serving = served
            corrupt = tuple(v for v in held if v > served and not target.verify(target.manifest(key, v)))
        else:
            serving = next((v for v in reversed(held) if target.verify(target.manifest(key, v))), None)
            corrupt = tuple(v for v in held if serving is None or v > serving)
        newer = tuple(sorted(v for v in known - set(held) if serving is None or v > serving))
        if corrupt:
            return _Outcome(key, serving, Loss(key, tuple(sorted(set(corrupt + newer))), "corrupt or missing in " + to))
        if newer:
            return _Outcome(key, serving, Loss(key, newer, "not replicated to " + to))
        return _Outcome(key, serving, None)

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="failover") as pool:
        outcomes = list(pool.map(check, protected_assets(mesh)))
    serve = {o.key: o.serving for o in outcomes if o.serving is not None}
    partitioned = [o for o in outcomes if o.partitions]
    verified = len(serve) + sum(1 for o in partitioned if o.verified_partitions == o.partitions)
    excluded = sum(o.excluded for o in outcomes)
    checked = Checked(assets=len(outcomes), verified=verified, partitioned=len(partitioned),
                      partitions=sum(o.verified_partitions for o in partitioned), excluded=excluded,
                      empty=len(outcomes) - verified - excluded)
    return serve, [o.loss for o in outcomes if o.loss is not None], checked


def _partitions(mesh: Mesh, active: str, to: str, key: str) -> list[str]:
    """The partitions of ``key`` in either region (none: an unpartitioned asset)."""
    found = set(mesh.store(to).partitions(key))
    try:
        found |= set(mesh.store(active).partitions(key))
    except Exception:  # the active region may be gone
        pass
    return sorted(found)


def _partition_loss(mesh: Mesh, active: str, to: str, key: str, partitions: list[str],
                    known: set[str]) -> tuple[Loss | None, int]:
    """What a failover to ``to`` loses of a partitioned asset (versions of any partition it does
    not hold verified), and how many of its partitions ``to`` holds, every version verified."""
    target = mesh.store(to)
    held: dict[str, str] = {v: p for p in partitions for v in target.versions(key, p)}
    for p in partitions:
        try:
            known |= set(mesh.store(active).versions(key, p))
        except Exception:  # the active region may be gone; the history still knows what was published
            pass
    corrupt = tuple(v for v, p in held.items() if not target.verify(target.manifest(key, v, p)))
    verified = len({p for p in held.values()} - {held[v] for v in corrupt})
    newer = tuple(sorted(known - set(held)))
    if corrupt:
        return Loss(key, tuple(sorted(set(corrupt + newer))), "corrupt or missing in " + to), verified
    return (Loss(key, newer, "not replicated to " + to) if newer else None), verified


def _event(actor: str, action: str, to: str, outcome: str, details: Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(actor=actor, action=action, target=f"region:{to}", outcome=outcome, source="dr",
                      where=f"region:{to}", details=dict(details))
