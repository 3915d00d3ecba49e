"""Conditions found by looking, not by a run: :func:`check_mesh` evaluates them and fires or
recovers each, then escalates and sends what is due. It also evaluates every asset's freshness,
predicted breach and dead runs (:func:`governance.ops.monitor.evaluate`) into the same sink, so
one call (``mesh ops check``, the ops DAG, a missed Deadline Alert) checks everything.

- ``audit_unverified``: the audit log does not verify (``mesh audit verify``), or the signed scan
  mark of the revoked grants leaves out what the log records (:func:`mark_omissions`);
- ``key_rotation_due``: the active key-encryption key is older than ``[alerts].key_rotation_days``
  (the local key provider: the age of its key file);
- ``replica_lag``: a domain's standby copy is further behind than its RPO target
  (``[alerts].rpo_minutes``), measured as ``mesh dr status`` does.

An incident of an asset removed from the mesh, which nothing would ever recover, is resolved
with the reason "asset removed from the mesh", audited (:mod:`governance.ops.removed`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from assets.mesh import Mesh
from governance.access.revocations import mark_omissions
from governance.alerts.signals import Recovery, Severity, Signal, SignalKind
from governance.alerts import Incident
from governance.ops.monitor import evaluate, mesh_view
from governance.ops.removed import REASON, resolve_removed
from governance.protection.keys import LocalKeyProvider
from governance.runs.records import workers_of
from governance.services import governed
from governance.state.outbox import Flushed


@dataclass(frozen=True, slots=True)
class Finding:
    """One condition checked: ``firing`` or ``ok``, for ``subject``."""

    kind: SignalKind
    subject: str
    firing: bool
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "state": "firing" if self.firing else "ok",
                "summary": self.summary}


@dataclass(frozen=True, slots=True)
class CheckReport:
    """One check: the conditions looked at, the freshness changes signalled, and the delivery
    (``delivery.sent``: every message delivered while the check ran, the alerts its signals sent
    at once included)."""

    findings: tuple[Finding, ...]
    delivery: Flushed
    changes: tuple[Signal | Recovery, ...] = ()
    #: The incidents resolved because their asset was removed from the mesh.
    removed: tuple[Incident, ...] = ()

    def change_lines(self) -> list[str]:
        """One line per freshness change signalled by this check, and per incident resolved
        because its asset was removed."""
        return [f"{'signal' if isinstance(c, Signal) else 'recovery'} {c.kind} {c.subject}: {c.summary}"
                for c in self.changes] + [f"resolved incident {i.id} {i.kind} {i.subject}: {REASON}"
                                           for i in self.removed]

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "changes": self.change_lines(),
                "sent": self.delivery.sent, "pending": self.delivery.pending, "last_error": self.delivery.error}


def check_mesh(mesh: Mesh, now: dt.datetime | None = None) -> CheckReport:
    """Check the audit log, the key ages and the replicas of ``mesh`` at ``now`` (the mesh's
    clock by default); fire a signal for each condition found, recover each that ended."""
    services = governed(mesh)
    now = now or services.clock()
    findings = [_audit(mesh), *_keys(mesh, now), *_replicas(mesh, now)]
    sink = services.alerts
    delivered = sink.sent()  # each signal sends at once, so the closing flush alone misses them
    for f in findings:
        domain = f.subject.split(":", 1)[1] if f.kind == "replica_lag" else None
        if f.firing:
            severity: Severity = "critical" if f.kind == "audit_unverified" else "warning"
            sink.fire(Signal(kind=f.kind, subject=f.subject, domain=domain, severity=severity, summary=f.summary,
                             at=now))
        else:
            sink.recover(Recovery(kind=f.kind, subject=f.subject, at=now, summary=f.summary))
    closed = resolve_removed(mesh, now)
    evaluation = evaluate(mesh_view(mesh), now, sink, alive=workers_of(mesh).alive)
    delivery = dataclasses.replace(sink.flush(now), sent=sink.sent() - delivered)
    return CheckReport(tuple(findings), delivery, tuple(evaluation.signals), tuple(closed))


def _audit(mesh: Mesh) -> Finding:
    report = governed(mesh).audit.verify()
    if not report.ok:
        return Finding("audit_unverified", "audit", True, f"the audit log does not verify: {report.problem}")
    # a scan mark that leaves out what the log records was signed by a holder of the audit key:
    # access decisions start from it, so it is evidence tampered with, as a cut log is
    omitted = mark_omissions(mesh.policy)
    if omitted:
        return Finding("audit_unverified", "audit", True, "; ".join(omitted))
    return Finding("audit_unverified", "audit", False, f"the audit log verifies ({report.records} records)")


def _keys(mesh: Mesh, now: dt.datetime) -> list[Finding]:
    services = governed(mesh)
    provider = services.keyring.provider
    days = mesh.policy.alerts.key_rotation_days
    found: list[Finding] = []
    if isinstance(provider, LocalKeyProvider) and (provider.store.folder / "kek.active").exists():
        active = provider.active_kek_id()
        path = provider.store.folder / f"kek-{active}.key"
        if path.exists():
            age = now - dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            due = age > dt.timedelta(days=days)
            found.append(Finding("key_rotation_due", f"kek:{active}", due,
                                 f"KEK {active} is {age.days} days old (rotate after {days}: mesh keys rotate)" if due
                                 else f"KEK {active} is {age.days} days old"))
        # a rotated-away key's incident ends with the rotation
        found.extend(Finding("key_rotation_due", i.subject, False, f"rotated: KEK {active} is active")
                     for i in services.alerts.incidents()
                     if i.kind == "key_rotation_due" and i.subject != f"kek:{active}")
    return found


def _replicas(mesh: Mesh, now: dt.datetime) -> list[Finding]:
    if mesh.standby_region is None:
        return []
    worst: dict[str, tuple[float, str]] = {}
    for key, behind in _behind(mesh, now):
        domain = key.split(".", 1)[0]
        if behind >= worst.get(domain, (-1.0, ""))[0]:
            worst[domain] = (behind, key)
    standby = mesh.standby_region
    alerts = mesh.policy.alerts
    found = []
    for domain, (seconds, key) in sorted(worst.items()):
        target = alerts.rpo_for(domain)
        late = seconds > target * 60
        found.append(Finding("replica_lag", f"replica:{domain}", late,
                             f"the standby {standby} is {seconds / 60:.1f} min behind on {key}, past the RPO "
                             f"target of {target:g} min" if late else
                             f"the standby {standby} is within the RPO target of {target:g} min"))
    return found


def _behind(mesh: Mesh, now: dt.datetime) -> list[tuple[str, float]]:
    """How far the standby is behind on each protected asset, and each partition of a
    partitioned one (seconds; 0 when in sync), as ``mesh dr status`` measures it. Read through
    the runbook's replica index (:mod:`governance.healing.replica_index`: a file status per
    replica, the folder listed again only when it changed, a manifest read only for the oldest
    version missing), so a check does not read every version's manifest and replica again as the
    history grows; an asset whose stores fail, through ``mesh dr status``."""
    from assets.partition_reads import input_label
    from governance.dr.status import dr_status, protected_assets, version_age
    from governance.healing.replica_index import INDEX
    from governance.replication import partitions_of
    from governance.retention import ResidencyError, check_residency

    standby = mesh.standby_region
    assert standby is not None
    source, target = mesh.store(), mesh.store(standby)
    found: list[tuple[str, float]] = []
    for key in protected_assets(mesh):
        try:
            check_residency(mesh.policy, key, standby)
        except ResidencyError:
            found.append((key, 0.0))
            continue
        try:
            each = []
            for partition in partitions_of(source, key):
                scan = INDEX.scan(source, target, key, partition)
                lacking = sorted(scan.missing + scan.corrupt)
                each.append((input_label(key, partition),
                             version_age(source, key, lacking[0], now, partition) if lacking else 0.0))
            found += each
        except Exception:  # any storage failure: measured in full, which says unreachable
            found.extend((lag.key, lag.seconds_behind if lag.state in _BEHIND else 0.0)
                         for lag in dr_status(mesh, keys=[key], now=now).assets)
    return found


#: The states of ``mesh dr status`` in which the standby is behind.
_BEHIND = ("behind", "corrupt", "unreachable")
