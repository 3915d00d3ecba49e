"""Faults a simulation injects, and how often (:class:`FaultRates`), drawn from one seeded
random generator so a seed replays the same month.

Per run of an asset (decided when its tick is planned, :meth:`FaultInjector.plan`):

- ``transient``: the asset's function raises once (a source that answered 503); the next
  attempt of the same run succeeds, so the step's retries (self-healing) absorb it;
- ``slow``: the run takes :attr:`FaultRates.slow_minutes` instead of a few minutes (the clock
  advances while it runs, and the monitor looks on meanwhile);
- ``bad_data``: the asset's source goes bad: every run of the asset for the next
  :attr:`FaultRates.bad_data_minutes` (drawn; then the source is corrected) outputs a null where
  its contract forbids one, so the gate stops it and nothing is published. How long bad data
  persists is part of the model, not an artefact of the schedule: a run in that time (scheduled
  or a re-run of the runbook) fails its gate again, a run after it passes;
- ``killed``: the worker running it is killed part-way (:class:`WorkerKilled`): the run's record
  is left ``running``, with no end and no process behind it (:class:`SimulatedWorkers` says its
  worker is gone); the rest of the tick goes on in a new worker, without what depends on it.

Per tick of the schedule (:meth:`FaultInjector.between_ticks`):

- ``corrupt_file``: one byte of a current version's data file flips in the active region;
- ``lost_replica``: the standby region loses the folder of an asset's current version;
- ``notifier_outage``: the file notifier's path stops being writable for
  :attr:`FaultRates.outage_hours` (a folder stands where the file was).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from assets.definition import AssetDefinition
from assets.errors import ConfigError
from assets.mesh import Mesh
from governance.ops.clock import ManualClock

#: Per-run rates, then per-tick rates.
RUN_FAULTS = ("transient", "slow", "bad_data", "killed")
TICK_FAULTS = ("corrupt_file", "lost_replica", "notifier_outage")
#: How long a run takes without a fault (minutes, drawn uniformly).
NORMAL_MINUTES = (1.0, 4.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultRates:
    """How often each fault happens: per run of an asset (``transient``, ``slow``,
    ``bad_data``, ``killed``) or per tick of the schedule (``corrupt_file``, ``lost_replica``,
    ``notifier_outage``); each a probability between 0 and 1. A slow run lasts between the two
    ``slow_minutes``, a source gone bad is corrected between the two ``bad_data_minutes`` after
    it went bad, a notifier outage lasts between the two ``outage_hours``."""

    transient: float = 0.01
    slow: float = 0.003
    bad_data: float = 0.002
    killed: float = 0.001
    corrupt_file: float = 0.01
    lost_replica: float = 0.01
    notifier_outage: float = 0.005
    slow_minutes: tuple[float, float] = (60.0, 150.0)
    bad_data_minutes: tuple[float, float] = (10.0, 90.0)
    outage_hours: tuple[float, float] = (1.0, 6.0)

    def __post_init__(self) -> None:
        for name in (*RUN_FAULTS, *TICK_FAULTS):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                option = "--" + name.replace("_", "-")
                raise ConfigError(f"the fault rate '{name}' is {value!r}, not a probability between 0 and 1",
                                  where=f"FaultRates.{name} (the option {option} of mesh ops simulate)",
                                  fix=f"give {name} a number from 0 (never) to 1 (every time), e.g. 0.01")
        for name in ("slow_minutes", "bad_data_minutes", "outage_hours"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ConfigError(f"'{name}' is {(low, high)!r}: a range needs 0 < low <= high",
                                  where=f"FaultRates.{name}", fix=f"write {name}=(low, high), e.g. (1.0, 6.0)")

    @classmethod
    def none(cls) -> FaultRates:
        """No fault at all (a month as it should go)."""
        return cls(transient=0, slow=0, bad_data=0, killed=0, corrupt_file=0, lost_replica=0, notifier_outage=0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Called by a slow run each time the clock moved on (the monitor looking on meanwhile).
Watcher = Callable[[dt.datetime], None]


@dataclass(slots=True)
class _Plan:
    """What happens to one asset's next run: its duration and its faults."""

    minutes: float
    transient: bool = False
    bad_data: bool = False
    killed: bool = False


class TransientSourceError(ConnectionError):
    """The error a transient fault raises inside an asset's function."""


class WorkerKilled(BaseException):  # noqa: N818 - not an error a run can catch: its process is gone
    """The worker running ``key`` was killed: nothing of the run ends, not even its record."""

    def __init__(self, key: str) -> None:
        super().__init__(f"injected: the worker running {key} was killed")
        self.key = key


class SimulatedWorkers:
    """The simulation's workers (:class:`~governance.runs.workers.Workers`): one at a time,
    ``simulation:N``; :meth:`kill` ends the current one (its runs' records name a worker that is
    gone) and the next run starts in a new one."""

    PREFIX = "simulation:"

    def __init__(self) -> None:
        self.generation = 1

    def current(self) -> str:
        return f"{self.PREFIX}{self.generation}"

    def alive(self, worker: str) -> bool | None:
        return worker == self.current() if worker.startswith(self.PREFIX) else None

    def kill(self) -> None:
        self.generation += 1


@dataclass
class FaultInjector:
    """Draws the faults of ``rates`` with ``random.Random(seed)`` and applies them to ``mesh``
    timed by ``clock``; :attr:`injected` counts what it did."""

    rates: FaultRates
    seed: int
    clock: ManualClock
    watch_every: dt.timedelta = dt.timedelta(minutes=15)
    watcher: Watcher | None = None
    workers: SimulatedWorkers = field(default_factory=SimulatedWorkers)
    injected: Counter[str] = field(default_factory=Counter)
    #: Each source gone bad: its asset, when it went bad and when it was corrected.
    bad_episodes: list[tuple[str, dt.datetime, dt.datetime]] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _plans: dict[str, _Plan] = field(init=False, default_factory=dict)
    _bad_until: dict[str, dt.datetime] = field(init=False, default_factory=dict)
    _outage_until: dt.datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    # -- runs -------------------------------------------------------------------------------

    def wrap(self, definitions: Mapping[str, AssetDefinition]) -> dict[str, AssetDefinition]:
        """The definitions with each function run through the injector (same inputs, same
        ``context``; only what the plan of its run says is changed)."""
        return {k: dataclasses.replace(d, fn=self._wrapped(k, d)) for k, d in definitions.items()}

    def plan(self, keys: list[str]) -> None:
        """Draw the duration and faults of the next run of each of ``keys`` (in their order)."""
        r = self.rates
        for key in keys:
            slow = self._rng.random() < r.slow
            minutes = self._rng.uniform(*r.slow_minutes) if slow else self._rng.uniform(*NORMAL_MINUTES)
            plan = _Plan(minutes=minutes, transient=self._rng.random() < r.transient,
                         bad_data=self._rng.random() < r.bad_data)
            plan.killed = self._rng.random() < r.killed if r.killed else False
            if plan.bad_data:  # drawn in both runs alike, whatever the source's state
                bad_for = dt.timedelta(minutes=self._rng.uniform(*r.bad_data_minutes))
                if not self.source_bad(key):
                    self._bad_until[key] = self.clock() + bad_for
                    self.bad_episodes.append((key, self.clock(), self.clock() + bad_for))
                else:
                    plan.bad_data = False
            self.injected.update(name for name, on in (("slow", slow), ("transient", plan.transient),
                                                       ("bad_data", plan.bad_data), ("killed", plan.killed)) if on)
            self._plans[key] = plan

    def source_bad(self, key: str, at: dt.datetime | None = None) -> bool:
        """Whether the source of ``key`` is bad at ``at`` (now by default): gone bad and not
        corrected yet."""
        until = self._bad_until.get(key)
        return until is not None and (at or self.clock()) < until

    def _wrapped(self, key: str, definition: AssetDefinition) -> Any:
        fn = definition.fn

        def run(*arrived: Any, **inputs: Any) -> pl.DataFrame:  # an observed source gets its file's rows
            plan = self._plans.pop(key, None) or _Plan(minutes=NORMAL_MINUTES[0])
            if plan.transient:  # this attempt fails; a retry of the same run finds no fault left
                self._plans[key] = dataclasses.replace(plan, transient=False)
                raise TransientSourceError(f"injected: the source of {key} answered 503 Service Unavailable")
            bad = self.source_bad(key)  # what the source gives when the run reads it
            if plan.killed:  # part-way through, the worker dies with its run
                self._take(dt.timedelta(minutes=plan.minutes / 2))
                self.workers.kill()
                raise WorkerKilled(key)
            self._take(dt.timedelta(minutes=plan.minutes))
            value = fn(*arrived, **inputs)
            frame = value.collect() if isinstance(value, pl.LazyFrame) else value
            return _with_a_null(frame) if bad and isinstance(frame, pl.DataFrame) else frame

        run.__wrapped__ = fn  # type: ignore[attr-defined]
        run.__qualname__ = getattr(fn, "__qualname__", key)
        return run

    def _take(self, duration: dt.timedelta) -> None:
        """Let ``duration`` pass in the clock, telling the watcher every ``watch_every``."""
        end = self.clock() + duration
        while self.clock() < end:
            self.clock.set(min(end, self.clock() + self.watch_every))
            if self.watcher is not None and self.clock() < end:
                self.watcher(self.clock())

    # -- between ticks ----------------------------------------------------------------------

    def between_ticks(self, mesh: Mesh, notifier_path: Path | None) -> list[str]:
        """Draw and apply this tick's storage and notifier faults; what was done, one line each."""
        done: list[str] = []
        now = self.clock()
        if self._outage_until is not None and now >= self._outage_until and notifier_path is not None:
            done.append(self.end_outage(notifier_path))
        if self._rng.random() < self.rates.corrupt_file:
            done.extend(self._corrupt(mesh))
        if self._rng.random() < self.rates.lost_replica:
            done.extend(self._lose_replica(mesh))
        if self._rng.random() < self.rates.notifier_outage and notifier_path is not None \
                and self._outage_until is None:
            hours = self._rng.uniform(*self.rates.outage_hours)
            self._outage_until = now + dt.timedelta(hours=hours)
            _block(notifier_path)
            self.injected["notifier_outage"] += 1
            done.append(f"notifier outage: {notifier_path} unwritable for {hours:.1f} h")
        return done

    def end_outage(self, notifier_path: Path) -> str:
        """End a notifier outage (if one is on): the file is writable again."""
        if self._outage_until is None:
            return ""
        self._outage_until = None
        _unblock(notifier_path)
        return f"notifier back: {notifier_path} writable again"

    def _corrupt(self, mesh: Mesh) -> list[str]:
        store = mesh.store()
        candidates = [(k, m.version) for k in mesh.select("*") if (m := store.current(k)) is not None]
        if not candidates or not store.root.is_local:
            return []
        key, version = self._rng.choice(sorted(candidates))
        path = Path(store.data_path(key, version))
        data = bytearray(path.read_bytes())
        at = self._rng.randrange(len(data) // 4, max(len(data) // 4 + 1, 3 * len(data) // 4))
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))
        self.injected["corrupt_file"] += 1
        return [f"corrupted file: byte {at} of {key} {version} flipped"]

    def _lose_replica(self, mesh: Mesh) -> list[str]:
        standby = mesh.standby_region
        if standby is None:
            return []
        store = mesh.store(standby)
        candidates = [(k, m.version) for k in mesh.select("*") if (m := mesh.store().current(k)) is not None
                      and store.root.is_local and Path(store.data_path(k, m.version)).parent.exists()]
        if not candidates:
            return []
        key, version = self._rng.choice(sorted(candidates))
        shutil.rmtree(Path(store.data_path(key, version)).parent)
        self.injected["lost_replica"] += 1
        return [f"lost replica: {key} {version} deleted in {standby}"]


def _with_a_null(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its first column null in the first row (contracts forbid nulls by default)."""
    if frame.height == 0 or frame.width == 0:
        return frame
    column = frame.columns[0]
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(pl.when(first).then(None).otherwise(pl.col(column)).alias(column))


def _aside(path: Path) -> Path:
    return path.with_name(path.name + ".during-outage")


def _block(path: Path) -> None:
    """Make ``path`` unwritable for an appender, even for root: a folder stands in its place."""
    if path.exists():
        path.rename(_aside(path))
    path.mkdir(parents=True, exist_ok=True)


def _unblock(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    if _aside(path).exists():
        _aside(path).rename(path)
