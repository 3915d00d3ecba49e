"""Data quality and resilience: gate failures and quarantines per domain, the age of every
key, and disaster recovery (backups, drills, the RTO and RPO measured).

Evidence of an operation is only a record of it having happened (:data:`DONE`): a refused,
failed or odd record of the same action is an attempt, reported apart, never as evidence."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.audit import SIGNING_KEY, AuditRecord
from governance.reports.records import Entry, Evidence
from governance.services import governed

_log = logging.getLogger(__name__)

#: The outcomes of an audit record that say the operation happened, per action (a drill that
#: found a problem happened; a refused failover did not).
DONE: dict[str, frozenset[str]] = {
    "dr_backup": frozenset({"written"}), "dr_restore": frozenset({"restored"}),
    "dr_drill": frozenset({"ok", "failed"}), "failover": frozenset({"switched"}),
    "failback": frozenset({"switched"}), "key_rotate": frozenset({"started", "incomplete", "completed"}),
}


def happened(record: AuditRecord) -> bool:
    """Whether ``record`` is evidence of its operation (see :data:`DONE`), not an attempt."""
    return record.outcome in DONE.get(record.action, frozenset())


def _scalar(value: object) -> object:
    """A detail as the report shows it: a number, text, a flag or None; anything else as text."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def briefs(records: Iterable[AuditRecord], keys: tuple[str, ...]) -> tuple[dict[str, object], ...]:
    """Each record as a report row: where and what it was, and every one of ``keys`` of its
    details (None when it has none), so a row always has the same fields whatever the log holds."""
    return tuple({"seq": r.seq, "at": str(r.at), "action": str(r.action), "outcome": str(r.outcome),
                  "target": str(r.target), **{k: _scalar(r.details.get(k)) for k in keys}} for r in records)


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainQuality(Entry):
    domain: str
    runs: int = 0
    published: int = 0
    gate_failures: int = 0
    errors: int = 0
    quarantines: tuple[str, ...] = ()
    failed_checks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyAge(Entry):
    """A key and how old it is: ``created`` from the audit log (its rotation) or its file."""

    key: str
    kind: str
    active: bool
    created: str | None
    age_days: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DrEvidence(Entry):
    """Backups, restores, drills and failovers in the period that happened, the attempts that
    did not (refused, denied, failed), and the RPO measured now."""

    backups: tuple[dict[str, object], ...]
    drills: tuple[dict[str, object], ...]
    failovers: tuple[dict[str, object], ...]
    restores: tuple[dict[str, object], ...]
    attempts: tuple[dict[str, object], ...]
    standby: str | None
    rpo_versions_now: int | None
    rpo_seconds_now: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Quality(Entry):
    domains: tuple[DomainQuality, ...]
    keys: tuple[KeyAge, ...]
    dr: DrEvidence


def domain_quality(domains: list[str], evidence: Evidence) -> tuple[DomainQuality, ...]:
    counts = {d: {"runs": 0, "published": 0, "gate_failures": 0, "errors": 0} for d in domains}
    quarantines: dict[str, list[str]] = {d: [] for d in domains}
    checks: dict[str, set[str]] = {d: set() for d in domains}
    for r in evidence.in_period("materialize"):
        domain = r.target.split(".", 1)[0]
        c = counts.setdefault(domain, {"runs": 0, "published": 0, "gate_failures": 0, "errors": 0})
        c["runs"] += 1
        if r.outcome == "materialized":
            c["published"] += 1
        elif r.outcome == "gate_failed":
            c["gate_failures"] += 1
            quarantines.setdefault(domain, []).append(str(r.details.get("quarantine") or f"{r.target} (record {r.seq})"))
            failed = r.details.get("failed_checks")
            checks.setdefault(domain, set()).update(f"{r.target} {check}"
                                                    for check in (failed if isinstance(failed, list) else ()))
        elif r.outcome == "error":
            c["errors"] += 1
    return tuple(DomainQuality(domain=d, **c, quarantines=tuple(quarantines.get(d, ())),
                               failed_checks=tuple(sorted(checks.get(d, ())))) for d, c in sorted(counts.items()))


def _file_time(path: Path) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) if path.is_file() else None


def key_ages(mesh: Mesh, evidence: Evidence, now: dt.datetime) -> tuple[KeyAge, ...]:
    """Each key-encryption key and the audit signing key, with its age in days."""
    keyring = governed(mesh).keyring
    rotated: dict[str, str] = {}
    for r in evidence.of("key_rotate"):
        if happened(r) and r.target.startswith("kek:"):
            rotated.setdefault(r.target[4:], r.at)
    provider = keyring.provider
    ids = provider.kek_ids()
    active = provider.active_kek_id() if ids else None  # a local provider makes a key when it has none
    found = []
    folder = mesh.state_dir / "keys"
    for kek in ids:
        created = dt.datetime.fromisoformat(rotated[kek]) if kek in rotated else _file_time(folder / f"kek-{kek}.key")
        found.append(KeyAge(key=f"kek:{kek}", kind="key-encryption key", active=kek == active,
                            created=created.isoformat() if created else None,
                            age_days=round((now - created).total_seconds() / 86400, 1) if created else None))
    signing = _file_time(folder / SIGNING_KEY)
    found.append(KeyAge(key="audit signing key", kind="Ed25519 (audit tree heads, reports)", active=True,
                        created=signing.isoformat() if signing else None,
                        age_days=round((now - signing).total_seconds() / 86400, 1) if signing else None))
    return tuple(found)


def dr_evidence(mesh: Mesh, evidence: Evidence) -> DrEvidence:
    from governance.dr import dr_status

    records = list(evidence.in_period("dr_backup", "dr_restore", "dr_drill", "failover", "failback"))

    def done(*actions: str, keys: tuple[str, ...]) -> tuple[dict[str, object], ...]:
        return briefs((r for r in records if r.action in actions and happened(r)), keys)

    backups = done("dr_backup", keys=("files", "manifests", "audit_records"))
    restores = done("dr_restore", keys=("restored",))
    drills = done("dr_drill", keys=("rto_seconds", "recovery_seconds", "rpo_versions", "rpo_seconds",
                                    "lost_beyond_rpo", "ok"))
    failovers = done("failover", "failback", keys=("from", "to", "rto_seconds"))
    attempts = briefs((r for r in records if not happened(r)), ("reason", "error"))
    try:
        status = dr_status(mesh)
        rpo: tuple[int | None, float | None] = (status.rpo_versions, round(status.rpo_seconds, 3))
    except (MeshError, OSError) as exc:  # an unreachable region: said in the report, not fatal
        _log.warning("the RPO could not be measured: %s", exc)
        rpo = (None, None)
    return DrEvidence(backups=backups, drills=drills, failovers=failovers, restores=restores, attempts=attempts,
                      standby=mesh.standby_region,
                      rpo_versions_now=rpo[0], rpo_seconds_now=rpo[1])
