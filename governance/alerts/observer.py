"""Runs that raise alerts: a run that failed (``run_failed``) or was stopped at its gate
(``gate_failed``, with the quarantine report's summary) fires a signal; the next run of the
asset that succeeds recovers both, and a ``run_died`` of it (the monitor's: a run whose worker
died, which healing runs again). Both runners call :func:`assets.step.run_asset`,
which tells this observer, so in-process runs and Airflow tasks alert alike.

A partitioned asset's run alerts about its partition: the subject is ``key/partition``, so a
failed day stays one open incident until that day publishes, whatever other days do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.partition_reads import input_label
from assets.ports import RunEnded, RunStarted
from assets.results import Status
from governance.alerts.signals import Recovery, Signal, SignalKind
from governance.alerts.sink import AlertSink

#: The incidents of an asset (a partition) that its next successful run ends.
RECOVERED_BY_A_GOOD_RUN: tuple[SignalKind, ...] = ("run_failed", "gate_failed", "run_died")


@dataclass(frozen=True, slots=True)
class AlertObserver:
    """Turns the end of each run into signals for ``sink``."""

    sink: AlertSink

    def run_started(self, run: RunStarted) -> None:
        """Nothing to alert on: a run's start changes no incident (its end fires or recovers)."""

    def run_ended(self, run: RunEnded) -> None:
        result, domain = run.result, run.key.split(".", 1)[0]
        subject = input_label(run.key, run.partition)
        base: dict[str, Any] = {"run_id": run.run_id, "runner": run.source,
                                **({"partition": run.partition} if run.partition is not None else {})}
        if result.status is Status.ERROR:
            error = (result.error or "unknown error").strip().splitlines()[0][:300]
            self.sink.fire(Signal(kind="run_failed", subject=subject, domain=domain, severity="critical",
                                  summary=f"{subject} failed: {error}", at=run.ended_at,
                                  details={**base, "error": error}))
        elif result.status is Status.GATE_FAILED:
            gate = result.gate
            checks = [f"{f.column}: {f.check} ({f.rows} rows)" for f in (gate.failures if gate else ())]
            rows = f"{gate.failed_rows} of {gate.rows} rows failed" if gate else "the gate failed"
            self.sink.fire(Signal(
                kind="gate_failed", subject=subject, domain=domain, severity="critical",
                summary=f"{subject} stopped at its gate: {len(checks)} check(s) failed, {rows}; the last good "
                        "version stays current",
                at=run.ended_at,
                details={**base, "failed_checks": checks, "rows": gate.rows if gate else None,
                         "failed_rows": gate.failed_rows if gate else None, "quarantine": result.quarantine}))
        elif result.ok:  # published, or unchanged: the run succeeded either way
            version = result.manifest.version if result.manifest else "?"
            summary = f"{subject} {'published' if result.published else 'unchanged at'} version {version}"
            self.sink.recover_all([Recovery(kind=kind, subject=subject, at=run.ended_at, summary=summary)
                                   for kind in RECOVERED_BY_A_GOOD_RUN])
