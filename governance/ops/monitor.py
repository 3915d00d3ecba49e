"""The operations monitor: evaluate the mesh at a moment, and signal what changed.

:func:`evaluate` computes every watched asset's state and prediction at ``now``, compares them
with the states last seen (kept in the state database, so whichever runner evaluates first
signals a change, once), and tells a :class:`~governance.alerts.signals.SignalSink`:

- ``freshness_breach`` when an asset turns ``late`` (warning) or ``breached`` (critical), and a
  recovery when it is fresh again;
- ``predicted_breach`` when its next version is expected past its deadline, and a recovery
  when that is no longer expected;
- ``run_died`` for a run that never ended and whose worker is gone (``alive``, see
  :mod:`governance.runs.workers`) or that started more than ``died_after`` ago (once per run).

The in-process commands (``mesh ops status``) and the Airflow ops DAG call the same function
(:func:`mesh_view` builds its input from a loaded mesh, :func:`compiled_view` from the
compiled mesh a DAG file reads).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select

from assets.compiled import read_compiled
from assets.errors import ConfigError
from assets.mesh import Mesh
from assets.partition_reads import input_label
from governance.alerts.signals import Recovery, Signal, SignalSink
from governance.ops.freshness import OVERDUE, AssetStatus, Facts, load_facts, statuses
from governance.ops.predict import WINDOW, Prediction, learn, predict
from governance.ops.report import Report, build_report
from governance.ops.watch import Watched, by_key, watched_of_compiled, watched_of_graph
from governance.policy.ops import OpsPolicy
from governance.runs.records import DIED_AFTER, Liveness, RunRecords, stamp
from governance.runs.workers import LOCAL
from governance.state import StateDatabase, state_database
from governance.state.schema import ops_states

#: How far back run durations are learnt from.
LEARN_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class OpsView:
    """What the monitor reads: the watched assets (topological order), the run records and the
    state database (run history, last states)."""

    assets: Sequence[Watched]
    database: StateDatabase

    @property
    def records(self) -> RunRecords:
        return RunRecords(self.database)

    def facts(self) -> Facts:
        return load_facts(self.records, self.database, [a.key for a in self.assets])

    def statuses(self, now: dt.datetime) -> dict[str, AssetStatus]:
        return statuses(self.assets, self.facts(), now)

    def report(self, since: dt.datetime, until: dt.datetime, ops: OpsPolicy) -> Report:
        """The operating report of ``[since, until)``."""
        return build_report(self.assets, self.records.ended_between(since, until), ops, since=since, until=until,
                            published_before=self.records.published_before(since))

    def predictions(self, now: dt.datetime, current: dict[str, AssetStatus]) -> dict[str, Prediction]:
        recent = self.records.latest_of_each(WINDOW + 1, status="materialized", since=now - LEARN_WINDOW, until=now)
        stats = learn(recent, by_key(self.assets))
        return predict(self.assets, current, stats, now)


def mesh_view(mesh: Mesh) -> OpsView:
    """The view of a loaded mesh (its graph may be empty for a policy-only mesh: then the
    compiled mesh is read)."""
    assets = watched_of_graph(mesh.graph, mesh.policy.ops)
    if not assets:
        compiled = read_compiled(mesh.root)
        if compiled is not None:
            assets = watched_of_compiled(compiled, mesh.policy.ops)
    return OpsView(assets, state_database(mesh.policy))


def compiled_view(root: Path) -> OpsView:
    """The view of the compiled mesh at ``root``, without importing any domain (the ops DAG)."""
    from governance.policy import load_policy
    from governance.wiring import acting_policy

    compiled = read_compiled(root)
    if compiled is None:
        raise ConfigError("the mesh is not compiled", where=str(root / ".mesh" / "compiled"),
                          fix="run `mesh compile` (or `mesh up`)")
    policy = acting_policy(load_policy(root))  # the approved [state]: an edit of it names no database yet
    return OpsView(watched_of_compiled(compiled, policy.ops), state_database(policy))


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """One evaluation: every status and prediction at ``at``, and what was signalled."""

    at: dt.datetime
    statuses: dict[str, AssetStatus]
    predictions: dict[str, Prediction]
    signals: list[Signal | Recovery] = field(default_factory=list)


def evaluate(view: OpsView, now: dt.datetime, sink: SignalSink | None = None, *,
             died_after: dt.timedelta = DIED_AFTER, alive: Liveness | None = LOCAL.alive) -> Evaluation:
    """Evaluate the mesh at ``now``; fire each change of state at ``sink`` (and record it)."""
    current = view.statuses(now)
    predicted = view.predictions(now, current)
    changes: list[Signal | Recovery] = []
    before = _last_states(view.database)
    new_rows: dict[str, tuple[str, bool]] = {}
    for key, status in current.items():
        was_state, was_predicted = before.get(key, ("unknown", False))
        is_predicted = predicted[key].breach if key in predicted else False
        changes.extend(_freshness_change(status, was_state))
        changes.extend(_prediction_change(status, predicted.get(key), was_predicted, is_predicted))
        if (status.state, is_predicted) != (was_state, was_predicted) or key not in before:
            new_rows[key] = (status.state, is_predicted)
    for dead in view.records.unfinished(died_after, now, alive):
        marker = f"run_died:{dead.key}:{dead.run_id}"[:255]
        if marker in before:  # signalled by an earlier evaluation
            continue
        new_rows[marker] = ("died", False)
        subject = input_label(dead.key, dead.partition)  # resolved by its next good run (AlertObserver)
        changes.append(Signal(kind="run_died", subject=subject, domain=dead.key.split(".", 1)[0], severity="critical",
                              summary=f"run {dead.run_id} of {subject} started {dead.started_at:%Y-%m-%d %H:%M} "
                                      f"and never ended (its worker died?)",
                              at=now, details={"run_id": dead.run_id, "started_at": dead.started_at.isoformat(),
                                               **({"partition": dead.partition} if dead.partition else {})}))
    _save_states(view.database, new_rows, now)
    if sink is not None:
        for change in changes:
            if isinstance(change, Signal):
                sink.fire(change)
            else:
                sink.recover(change)
    return Evaluation(at=now, statuses=current, predictions=predicted, signals=changes)


def _freshness_change(status: AssetStatus, was: str) -> list[Signal | Recovery]:
    if status.state in OVERDUE and status.state != was:
        deadline = f"{status.deadline:%Y-%m-%d %H:%M}" if status.deadline else "?"
        return [Signal(kind="freshness_breach", subject=status.key, domain=status.domain,
                       severity="critical" if status.state == "breached" else "warning",
                       summary=f"{status.key} is {status.state}: due {deadline}" + (
                           f"; {status.reason}" if status.reason else ""),
                       at=status.at, details={"state": status.state, "deadline": deadline, "reason": status.reason,
                                              "version": status.version})]
    if status.state == "fresh" and was in OVERDUE:
        return [Recovery(kind="freshness_breach", subject=status.key, at=status.at,
                         summary=f"{status.key} is fresh again (version {status.version})")]
    return []


def _prediction_change(status: AssetStatus, prediction: Prediction | None, was: bool,
                       now: bool) -> list[Signal | Recovery]:
    if now and not was and prediction is not None and prediction.expected and prediction.deadline:
        return [Signal(kind="predicted_breach", subject=status.key, domain=status.domain, severity="warning",
                       summary=f"{status.key} is expected at {prediction.expected:%Y-%m-%d %H:%M}, past its deadline "
                               f"{prediction.deadline:%Y-%m-%d %H:%M}: {prediction.reason}",
                       at=status.at, details=prediction.to_dict())]
    if was and not now:
        outcome = "breached as predicted" if status.state in OVERDUE else "no longer expected late"
        return [Recovery(kind="predicted_breach", subject=status.key, at=status.at,
                         summary=f"{status.key}: {outcome}")]
    return []


def _last_states(database: StateDatabase) -> dict[str, tuple[str, bool]]:
    with database.read() as conn:
        return {k: (s, bool(p)) for k, s, p in conn.execute(
            select(ops_states.c.key, ops_states.c.state, ops_states.c.predicted))}


def _save_states(database: StateDatabase, rows: dict[str, tuple[str, bool]], now: dt.datetime) -> None:
    if not rows:
        return
    with database.write(lock="ops_states", durable=False) as conn:
        conn.execute(delete(ops_states).where(ops_states.c.key.in_(list(rows))))
        conn.execute(ops_states.insert(), [{"key": k, "state": s, "predicted": p, "since": stamp(now)}
                                           for k, (s, p) in rows.items()])
