"""One simulated month: the example mesh's schedules replayed on a manual clock, with faults.

:func:`simulate` copies the mesh to a folder (:mod:`.sandbox`), loads it with a
:class:`~governance.ops.clock.ManualClock` (its runs, records and retries' back-off all on that
clock: a retry's wait advances it, never waits), wraps every asset's function in the
:class:`~.faults.FaultInjector`, publishes everything once, then for each tick of the schedule
(:mod:`.schedule`): draws the tick's storage and notifier faults, runs the due roots and their
downstream with the real engine (gate, storage, replication), checks the mesh
(:func:`governance.ops.checks.check_mesh`: freshness, predicted breaches, replica lag, alerts
into the outbox) and, with self-healing on, runs the runbook as ``service:healing`` (with the
simulation's run parameters) every ``heal_every`` (the ops DAG's 5 minutes): while a tick runs
(between two of its runs, as the ops DAG runs beside the asset DAGs), after it, and between
ticks while something waits for it (a failed gate's re-run, a run whose worker died); after a
pass that changed something the mesh is checked again. While a slow run goes on, the monitor
checks every ``watch_every`` (as the ops DAG would). A killed worker leaves its run open (its
record ``running``, its worker gone); the tick goes on in a new worker without what depends on
that run.

Self-healing off means no runbook and no retries of transient failures (``retries=0``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assets.engine import materialize
from assets.errors import ConfigError
from assets.mesh import Mesh
from assets.ports import Services
from assets.results import AssetResult
from governance.alerts.incidents import Incident
from governance.alerts.signals import Recovery, Signal
from governance.ops.clock import ManualClock, with_clock
from governance.ops.report import Report
from governance.ops.simulation.faults import FaultInjector, FaultRates, WorkerKilled
from governance.ops.simulation.sandbox import NOTIFIER, sandbox_copy
from governance.ops.simulation.schedule import ticks, with_partition_schedules
from governance.runs.records import DIED_AFTER, RunRecorder, run_records, workers_of
from governance.runs.workers import Workers

#: The longest simulation (days).
MAX_DAYS = 366
#: How often the runbook passes, as the ops DAG runs it (``mesh_ops``, every 5 minutes).
HEAL_EVERY = dt.timedelta(minutes=5)
#: How many web leads the file dropped for the example's observed source holds.
LEADS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What to simulate: ``days`` from ``start`` (a UTC time), faults drawn with ``seed`` at
    ``rates``, ``scale`` orders per run, self-healing on or off; the monitor looks every
    ``watch_every`` during a slow run."""

    days: float
    seed: int
    start: dt.datetime
    rates: FaultRates = field(default_factory=FaultRates)
    scale: int = 200
    healing: bool = True
    watch_every: dt.timedelta = dt.timedelta(minutes=15)
    heal_every: dt.timedelta = HEAL_EVERY

    def __post_init__(self) -> None:
        if not 0 < self.days <= MAX_DAYS:
            raise ConfigError(f"cannot simulate {self.days} days", where="mesh ops simulate --days",
                              fix=f"give a number of days from 1 to {MAX_DAYS}")
        if self.scale < 1:
            raise ConfigError(f"scale {self.scale} is not a number of orders", where="mesh ops simulate --scale",
                              fix="give a positive number, e.g. 200")
        if self.start.tzinfo is None:
            raise ConfigError("the simulation's start has no time zone", where="Settings.start",
                              fix="give a UTC time, e.g. dt.datetime(2026, 1, 1, tzinfo=dt.UTC)")
        if self.watch_every <= dt.timedelta(0) or self.heal_every <= dt.timedelta(0):
            raise ConfigError("watch_every and heal_every must be positive", where="Settings",
                              fix="e.g. 15 and 5 minutes")

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(days=self.days)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one simulation produced: the operating report of ``[start, end)``, every freshness
    change the monitor signalled (in order), the alert incidents and alerts sent, what was
    injected, what self-healing did, how long it took on this machine, and how many runs whose
    worker died were still open at the end (``died_open``: never closed nor run again), and each
    source that went bad (asset, from, corrected at)."""

    settings: Settings
    report: Report
    changes: tuple[Signal | Recovery, ...]
    incidents: tuple[Incident, ...]
    alerts_sent: int
    alerts_pending: int
    injected: dict[str, int]
    healed: dict[str, int]
    ticks: int
    runs: int
    wall_seconds: float
    folder: Path
    died_open: int = 0
    bad_episodes: tuple[tuple[str, dt.datetime, dt.datetime], ...] = ()


def start_of_next_day(now: dt.datetime) -> dt.datetime:
    """Midnight (UTC) after ``now``: where a simulated month starts by default."""
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def simulate(source: Path, settings: Settings, folder: Path) -> Outcome:
    """Simulate the mesh at ``source`` in a copy under ``folder`` (see the module docstring)."""
    from governance.example_drops import EXAMPLE_SOURCE, drop_leads
    from governance.healing import heal
    from governance.ops.checks import check_mesh
    from governance.ops.monitor import mesh_view
    from governance.services import governed
    from governance.wiring import load_mesh

    began = time.perf_counter()
    root = sandbox_copy(source, folder)
    clock = ManualClock(settings.start)
    changes: list[Signal | Recovery] = []
    injector = FaultInjector(rates=settings.rates, seed=settings.seed, clock=clock,
                             watch_every=settings.watch_every)
    loaded = load_mesh(root)
    mesh = _with_workers(with_clock(_faulty(loaded, injector, retries=None if settings.healing else 0), clock,
                                    clock.sleep), injector.workers)
    notifier = getattr(governed(mesh).alerts.notifiers.get(NOTIFIER), "path", None)

    def look(now: dt.datetime) -> None:
        changes.extend(check_mesh(mesh, now).changes)

    injector.watcher = look
    params = {"scale": settings.scale, "seed": settings.seed}
    drop_leads(mesh, settings.start, LEADS, settled=True)  # its observed source's file has arrived
    healed: Counter[str] = Counter()
    next_pass = [settings.start]

    def heal_pass() -> bool:
        """One pass of the runbook now; whether it changed something. A worker killed under
        the runbook ends the pass (the next one finds its run)."""
        next_pass[0] = clock() + settings.heal_every
        try:
            done = heal(mesh, clock(), params=params)
        except WorkerKilled:
            return True
        healed.update({k: v for k, v in done.counts.to_dict().items() if v})
        return any(a.outcome in ("healed", "failed") for a in done.actions)

    def during(result: AssetResult) -> None:
        """While a tick runs, the ops DAG's runbook passes every ``heal_every`` (on Airflow it
        runs beside the asset DAGs, not after them)."""
        if settings.healing and clock() >= next_pass[0] and heal_pass():
            look(clock())

    def run(selection: str) -> int:
        """Run ``selection`` (a tick, or everything once); a killed worker's run stays open and
        the rest goes on in a new worker, without what depends on the run that died."""
        remaining, done, count = mesh.select(selection), set[str](), 0

        def ran(result: AssetResult) -> None:
            done.add(result.key)
            during(result)

        while remaining:
            try:
                return count + len(materialize(" ".join(remaining), mesh=mesh, params=params, max_workers=1,
                                               on_result=ran).results)
            except WorkerKilled as killed:
                lost = {killed.key, *mesh.graph.descendants(killed.key)}
                count += len(done) + 1
                remaining = [k for k in remaining if k not in done and k not in lost]
                done.clear()
        return count

    runs = run("*")
    look(clock())
    count = 0

    def between(until: dt.datetime) -> None:
        """The runbook's passes before ``until`` (the ops DAG runs it every ``heal_every``): while
        something waits for it (a failed gate's re-run, a run whose worker died), else skipped (a
        pass that finds nothing changes nothing)."""
        while settings.healing and next_pass[0] < until and _waiting(mesh, clock()):
            clock.set(max(clock(), next_pass[0]))
            if heal_pass():
                look(clock())

    for tick in ticks(with_partition_schedules(mesh_view(mesh).assets, mesh.graph), settings.start,
                      settings.end - dt.timedelta(microseconds=1)):
        count += 1
        between(tick.at)
        if clock() < tick.at:
            clock.set(tick.at)
        injector.between_ticks(mesh, notifier)
        if EXAMPLE_SOURCE in tick.roots:  # the web team's file of the day arrives
            drop_leads(mesh, tick.at, LEADS, settled=True)
        keys = mesh.select(tick.selection)
        injector.plan(keys)
        runs += run(tick.selection)
        look(clock())
        if settings.healing and heal_pass():
            look(clock())  # the ops DAG evaluates again minutes later: what was healed is seen then
    between(settings.end)
    if clock() < settings.end:
        clock.set(settings.end)
    if notifier is not None:
        injector.end_outage(notifier)
    look(clock())
    sink = governed(mesh).alerts
    report = mesh_view(mesh).report(settings.start, clock(), mesh.policy.ops)
    left = run_records(mesh).unfinished(DIED_AFTER, clock(), injector.workers.alive)
    return Outcome(settings=settings, report=report, changes=tuple(changes),
                   incidents=tuple(sink.incidents(everything=True)), alerts_sent=sink.sent(),
                   alerts_pending=len(sink.pending()), injected=dict(injector.injected), healed=dict(healed),
                   ticks=count, runs=runs, wall_seconds=time.perf_counter() - began, folder=root,
                   died_open=len(left), bad_episodes=tuple(injector.bad_episodes))


def _waiting(mesh: Mesh, now: dt.datetime) -> bool:
    """Whether something waits for the runbook: an asset whose gate failed has a re-run still
    to come (one whose re-runs are used up waits for its next scheduled run, and a pass meanwhile
    would find nothing to do), or a run's worker is gone (it will be closed and run again)."""
    from governance.healing.gate_failures import FailedGates

    return (_gate_waiting(mesh) and any(f.facts.get("due") for f in FailedGates().find(mesh, now))) \
        or bool(run_records(mesh).unfinished(DIED_AFTER, now, workers_of(mesh).alive))


def _gate_waiting(mesh: Mesh) -> bool:
    """Whether the latest run of some asset failed its gate (the runbook will run it again)."""
    from governance.runs.records import run_records

    return any(r.status == "gate_failed" for r in run_records(mesh).latest().ended.values())


def _with_workers(mesh: Mesh, workers: Workers) -> Mesh:
    """``mesh`` whose run records name ``workers``' workers (and whose runbook asks them)."""
    base = mesh.wiring

    def wiring(m: Mesh) -> Services:
        services = base(m)
        observers = tuple(dataclasses.replace(o, workers=workers) if isinstance(o, RunRecorder) else o
                          for o in services.observers)
        return dataclasses.replace(services, observers=observers)

    return dataclasses.replace(mesh, wiring=wiring)


def _faulty(mesh: Mesh, injector: FaultInjector, retries: int | None) -> Mesh:
    """``mesh`` whose assets run through ``injector`` (and, with ``retries``, retry that often)."""
    definitions = injector.wrap(mesh.graph.assets)
    if retries is not None:
        definitions = {k: dataclasses.replace(d, spec=dataclasses.replace(d.spec, retries=retries))
                       for k, d in definitions.items()}
    return dataclasses.replace(mesh, graph=dataclasses.replace(mesh.graph, assets=definitions))
