"""The figures of a simulation: the operating report's (SLA compliance, availability, MTTR,
MTBF, incidents; :func:`governance.ops.report.build_report`, not computed again here), the
alerts, what self-healing did, and how well breaches were predicted.

Prediction is scored on the monitor's own signals, in the order it sent them:

- a **breach** is a ``freshness_breach`` signal of an asset that was not already overdue (a
  ``late`` that turns ``breached`` is the same breach);
- a ``predicted_breach`` signal is a **true positive** when a breach of the same asset follows
  within :data:`HORIZON` (precision: their share of the predictions);
- a breach was **caught** when a prediction of the same asset came within :data:`HORIZON`
  before it (recall: their share of the breaches); its **lead time** is the breach's time minus
  the earliest such prediction's.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from governance.alerts.signals import Recovery, Signal
from governance.ops.simulation.run import Outcome

#: How long after a prediction its breach may come and still count.
HORIZON = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictionScore:
    """Predictions and breaches of one simulation, matched within ``horizon``."""

    predictions: int
    true_positives: int
    breaches: int
    caught: int
    lead_times: tuple[dt.timedelta, ...]
    breached: tuple[str, ...]

    @property
    def precision(self) -> float | None:
        return 100 * self.true_positives / self.predictions if self.predictions else None

    @property
    def recall(self) -> float | None:
        return 100 * self.caught / self.breaches if self.breaches else None

    def lead_minutes(self, q: str) -> float | None:
        """The ``min``, ``median`` or ``max`` lead time, in minutes."""
        if not self.lead_times:
            return None
        minutes = [t.total_seconds() / 60 for t in self.lead_times]
        if q == "min":
            return min(minutes)
        return max(minutes) if q == "max" else float(statistics.median(minutes))

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 1)
        return {"predictions": self.predictions, "true_positives": self.true_positives, "breaches": self.breaches,
                "caught": self.caught, "precision_percent": r(self.precision), "recall_percent": r(self.recall),
                "lead_minutes": {q: r(self.lead_minutes(q)) for q in ("min", "median", "max")},
                "breached_assets": list(self.breached)}


def score_predictions(changes: Iterable[Signal | Recovery], horizon: dt.timedelta = HORIZON) -> PredictionScore:
    """Match the ``predicted_breach`` signals of ``changes`` with the breaches that followed."""
    predictions: list[Signal] = []
    breaches: list[Signal] = []
    overdue: set[str] = set()
    for change in changes:
        if change.kind == "freshness_breach":
            if isinstance(change, Recovery):
                overdue.discard(change.subject)
            elif change.subject not in overdue:
                overdue.add(change.subject)
                breaches.append(change)
        elif change.kind == "predicted_breach" and isinstance(change, Signal):
            predictions.append(change)

    def within(p: Signal, b: Signal) -> bool:
        return p.subject == b.subject and p.at <= b.at <= p.at + horizon

    leads = []
    for b in breaches:
        before = [p.at for p in predictions if within(p, b)]
        if before:
            leads.append(b.at - min(before))
    return PredictionScore(predictions=len(predictions),
                           true_positives=sum(any(within(p, b) for b in breaches) for p in predictions),
                           breaches=len(breaches), caught=len(leads), lead_times=tuple(leads),
                           breached=tuple(sorted({b.subject for b in breaches})))


def figures(outcome: Outcome) -> dict[str, Any]:
    """Everything one simulation measured, as plain data (what ``--json`` prints)."""
    mesh = outcome.report.mesh.to_dict()
    kinds = Counter(i.kind for i in outcome.incidents)
    unresolved = Counter(i.kind for i in outcome.incidents if i.state != "resolved")
    s = outcome.settings
    return {"healing": s.healing, "days": s.days, "seed": s.seed, "scale": s.scale,
            "start": s.start.isoformat(), "end": s.end.isoformat(), "rates": s.rates.to_dict(),
            "ticks": outcome.ticks, "runs": outcome.runs, "wall_seconds": round(outcome.wall_seconds, 1),
            "sla_percent": mesh["sla_percent"], "availability_percent": mesh["availability_percent"],
            "mttr_minutes": mesh["mttr_minutes"], "mtbf_hours": mesh["mtbf_hours"],
            "incidents": mesh["incidents"], "open_incidents": mesh["open_incidents"],
            "targets": mesh["targets"], "met": mesh["met"],
            "alerts": {"sent": outcome.alerts_sent, "pending": outcome.alerts_pending,
                       "incidents_by_kind": dict(sorted(kinds.items())),
                       "unresolved_by_kind": dict(sorted(unresolved.items())),
                       "subjects_by_kind": {k: sorted({i.subject for i in outcome.incidents if i.kind == k})
                                            for k in sorted(kinds)}},
            "mttr_by_cause": mttr_by_cause(outcome), "killed_runs_left_open": outcome.died_open,
            "prediction": score_predictions(outcome.changes).to_dict(),
            "injected": dict(sorted(outcome.injected.items())), "self_healing": dict(sorted(outcome.healed.items())),
            "run_incidents": [i.to_dict() for i in outcome.report.incidents]}


#: What each incident cause of the report is in the simulation's faults.
FAULT_OF_CAUSE = {"run error": "transient", "bad data": "bad data", "unreadable input": "corrupt file",
                  "killed run": "killed run"}


def mttr_by_cause(outcome: Outcome) -> dict[str, dict[str, Any]]:
    """The MTTR of each fault: the report's incidents (failed run to next good version) by cause
    (:meth:`~governance.ops.report.Report.by_cause`), and for a lost replica, which fails no
    run, its replica-lag alert incidents from opened to resolved (``None``: none closed)."""
    found = {FAULT_OF_CAUSE[cause]: figures for cause, figures in outcome.report.by_cause().items()}
    lags = [i for i in outcome.incidents if i.kind == "replica_lag"]
    closed = [(dt.datetime.fromisoformat(i.resolved_at) - dt.datetime.fromisoformat(i.opened_at)).total_seconds() / 60
              for i in lags if i.resolved_at]
    found["lost replica"] = {"incidents": len(lags), "open": len(lags) - len(closed),
                             "mttr_minutes": round(sum(closed) / len(closed), 3) if closed else None,
                             "max_minutes": round(max(closed), 3) if closed else None}
    floors = bad_data_floors(outcome)
    found["bad data"]["source_bad_minutes"] = round(sum(floors) / len(floors), 3) if floors else None
    return found


def bad_data_floors(outcome: Outcome) -> list[float]:
    """For each closed bad-data incident, how long after it opened its source was corrected
    (minutes): no run can publish good data before then, so it is the floor of that incident's
    time to repair, whatever the runbook does."""
    floors = []
    for incident in outcome.report.incidents:
        if incident.cause != "bad data" or incident.closed is None:
            continue
        fixed = [until for key, since, until in outcome.bad_episodes
                 if key == incident.key and since <= incident.opened <= until + dt.timedelta(minutes=5)]
        if fixed:
            floors.append(max(0.0, (max(fixed) - incident.opened).total_seconds() / 60))
    return floors


#: The rows of the comparison table: label, key path in :func:`figures`, unit.
ROWS: Sequence[tuple[str, tuple[str, ...], str]] = (
    ("SLA compliance", ("sla_percent",), "%"),
    ("availability", ("availability_percent",), "%"),
    ("MTTR", ("mttr_minutes",), " min"),
    *((f"  MTTR, {fault}", ("mttr_by_cause", fault, "mttr_minutes"), " min")
      for fault in ("transient", "bad data", "corrupt file", "killed run", "lost replica")),
    ("  bad data: its source still bad (the floor)", ("mttr_by_cause", "bad data", "source_bad_minutes"), " min"),
    ("MTBF", ("mtbf_hours",), " h"),
    ("incidents (failed run to next good version)", ("incidents",), ""),
    ("  still open at the end", ("open_incidents",), ""),
    ("runs whose worker died, never closed", ("killed_runs_left_open",), ""),
    ("alerts sent", ("alerts", "sent"), ""),
    ("  alerts still waiting in the outbox", ("alerts", "pending"), ""),
    ("freshness breaches", ("prediction", "breaches"), ""),
    ("predicted breaches", ("prediction", "predictions"), ""),
    ("prediction precision", ("prediction", "precision_percent"), "%"),
    ("prediction recall", ("prediction", "recall_percent"), "%"),
    ("lead time, median", ("prediction", "lead_minutes", "median"), " min"),
    ("lead time, min", ("prediction", "lead_minutes", "min"), " min"),
)


def value_at(data: dict[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` in nested ``data`` (``None`` if absent)."""
    value: Any = data
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value
