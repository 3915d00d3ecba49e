"""What the framework needs from the layer above it, as small interfaces.

The framework runs assets; it does not decide who may read what, how columns are protected,
where evidence is kept or where lineage goes. Those are the governance layer's, which
implements these protocols and hands them to :class:`assets.mesh.Mesh` once, where the mesh is
loaded (``governance.wiring.load_mesh``). Nothing in ``assets/`` imports ``governance/``.

Plug-in contract, for each port:

- :class:`AuditSink`: ``append(event)`` records one :class:`AuditEvent`, durably, before it
  returns; it raises if it cannot. ``seal()``, called when a run ends, signs what was appended
  (cheap when nothing was); it never fails the run.
- :class:`Protector`: ``protect(key, contract, frame)`` returns the frame to store, with every
  classified column protected, and what was done (``protection``, ``data_key``);
  ``hold_keys()`` is a context held from ``protect`` until what it returned is stored, in which
  the keys it used stay valid (key rotation and retirement wait for it to end).
- :class:`InputAuthorizer`: ``authorize(consumer, producer)`` raises a
  :class:`~assets.errors.MeshError` when the asset ``consumer`` may not read ``producer`` today.
- :class:`LineageSink`: ``started``/``failed`` report a run of an asset, ``unchanged`` a run
  that ended publishing nothing (its output was the current version); they never raise.
  ``batched()`` is a context around a run of many assets or partitions, in which what they
  report may be delivered later, together; all of it is delivered (or kept to be) when it ends.
- :class:`Admission`: ``admit(region, key, size)`` raises before a version that breaks a
  residency or quota rule is written to ``region``.
- :class:`RunObserver`: ``run_started(run)`` hears every run of an asset begin (so a run that
  dies without a result can be found later), ``run_ended(run)`` every run end, whatever its
  outcome (run records, alerts), and a run that never began because what it reads did not
  materialize (``skipped``: heard ending only, its start and end the same moment); a failing
  observer is logged, and what it does never changes the run.
- ``together()``: a context in which the observers hear one run's start, or its end; what they
  record in it may be written at once (one transaction of the state database) when it ends.
- the update handlers (:class:`assets.events.UpdateHandler`) run after each publish.
- ``clock`` says what time it is, and ``sleep`` waits (between retries); a simulation gives its
  own of both.
- ``ready()`` is called before each run of an asset begins: it raises a
  :class:`~assets.errors.MeshError` when what keeps the records of runs cannot be used (an
  unreadable or emptied state database), so that nothing is published that the run history and
  alerts would not know of. Once a run has begun, an observer's failure only logs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pandera.polars as pa
import polars as pl

from assets.check_failure import CheckFailure
from assets.definition import AssetSpec

if TYPE_CHECKING:
    from assets.events import UpdateHandler
    from assets.results import AssetResult
    from assets.storage import Manifest


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """What happened, before the audit log chains it: who (``actor``), what (``action`` on
    ``target``), with which ``outcome``, through which ``source``, ``where``, and ``details``."""

    actor: str
    action: str
    target: str
    outcome: str
    source: str
    details: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""


class AuditSink(Protocol):
    """Keeps evidence of every operation. See the module docstring."""

    def append(self, event: AuditEvent) -> Any: ...

    def seal(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class ProtectedFrame:
    """A frame ready to store: ``protection`` maps column -> ``method:classification``;
    ``data_key`` is the wrapped key of encrypted columns, as the manifest keeps it."""

    frame: pl.DataFrame
    protection: Mapping[str, str]
    data_key: Mapping[str, Any] | None = None


class Protector(Protocol):
    """Protects the classified columns of an asset's output before anything is stored."""

    def protect(self, key: str, contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> ProtectedFrame: ...

    def hold_keys(self) -> AbstractContextManager[object]: ...


class InputAuthorizer(Protocol):
    """Decides, when an asset runs, whether it may read one of its inputs."""

    def authorize(self, consumer: AssetSpec, producer: AssetSpec) -> None: ...


class LineageSink(Protocol):
    """Hears that an asset's run started or failed (the COMPLETE event is a handler's)."""

    def started(self, key: str, run_id: str, *, partition: str | None = None) -> object: ...

    def failed(self, key: str, run_id: str, error: str, failures: Iterable[CheckFailure] = (), *,
               partition: str | None = None) -> object: ...

    def unchanged(self, key: str, run_id: str, current: Manifest) -> object: ...

    def batched(self) -> AbstractContextManager[object]: ...


class Admission(Protocol):
    """Refuses a version a region may not take (residency, storage quota)."""

    def admit(self, region: str, key: str, size: int | None) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEnded:
    """One run of one asset (one ``partition`` of a partitioned asset), as it ended: which
    runner (``source``) ran it, when, and its result."""

    key: str
    run_id: str
    source: str
    started_at: dt.datetime
    ended_at: dt.datetime
    result: AssetResult
    partition: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    """One run of one asset (one ``partition`` of a partitioned asset) began: which runner
    (``source``) runs it, and when."""

    key: str
    run_id: str
    source: str
    started_at: dt.datetime
    partition: str | None = None


class RunObserver(Protocol):
    """Hears every run of an asset begin and end, whatever its outcome. See the module docstring."""

    def run_started(self, run: RunStarted) -> None: ...

    def run_ended(self, run: RunEnded) -> None: ...


class FailedRuns(Protocol):
    """What the run history knows and the stored versions cannot tell: which partitions' last
    run failed. A resumed backfill runs them again even where an older good version is current."""

    def partitions_failed(self, keys: Collection[str]) -> Mapping[str, Collection[str]]:
        """Per asset of ``keys``, its partitions whose last ended run failed (error or gate)."""
        ...


def utc_now() -> dt.datetime:
    """The time now, in UTC: the clock of every mesh but a simulated one."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything the framework calls out to, built once per mesh by the layer above."""

    audit: AuditSink
    protector: Protector
    authorizer: InputAuthorizer
    lineage: LineageSink
    admission: Admission
    handlers: Sequence[UpdateHandler] = ()
    observers: Sequence[RunObserver] = ()
    #: ``None``: nothing is known of past runs, and a resumed backfill trusts the stored versions alone.
    failed_runs: FailedRuns | None = None
    together: Callable[[], AbstractContextManager[object]] = nullcontext
    clock: Callable[[], dt.datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    ready: Callable[[], object] = lambda: None  # noqa: E731 - services that keep no run records check nothing
