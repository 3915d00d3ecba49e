"""One asset's step: read inputs, compute, gate, publish. The unit both runners call.

The in-process engine calls :func:`run_asset` for each asset of a selection; each Airflow task
calls it for its one asset. There is no other path to publish data.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from assets.arrivals import read_newest, unusable_arrival
from assets.check_failure import CheckFailure
from assets.contract_diff import check_published, describe
from assets.definition import CONTEXT_PARAM, AssetContext, AssetDefinition
from assets.errors import (
    AccessError,
    AssetNotMaterializedError,
    AssetOutputError,
    CorruptDataError,
    MeshError,
    StorageError,
)
from assets.events import Source
from assets.gate import run_gate
from assets.mesh import Mesh
from assets.partition_reads import read_input, split_label
from assets.ports import AuditEvent, AuditSink, ProtectedFrame, RunEnded, RunObserver, RunStarted
from assets.quarantine import Quarantine
from assets.results import AssetResult, Status
from assets.retrying import run_with_retries
from assets.secrets import SecretResolver, environment_resolver
from assets.staleness import code_version, content_checksum, unchanged
from assets.storage import PublishRequest, VersionStore

log = logging.getLogger(__name__)


def run_asset(mesh: Mesh, key: str, *, run_id: str, params: Mapping[str, Any] | None = None,
              source: Source = "engine", secrets: SecretResolver = environment_resolver,
              retries: int | None = None, skip_unchanged: bool | None = None,
              partition: str | None = None) -> AssetResult:
    """Materialize one asset (one ``partition`` of a partitioned asset) from the current versions of its inputs, and audit the outcome.

    Never raises for a failure of the asset itself: a gate failure or an error in the user's
    function comes back as the result's status, with nothing published. ``source`` says
    which runner called (``engine`` or ``airflow``); it is the audit record's actor. ``secrets``
    resolves the domain's secrets (Airflow Variables on Airflow). The audit record's actor is
    the domain's service identity, ``service:<domain>``.

    A transient failure is tried again up to ``retries`` times (the asset's ``retries`` by
    default; Airflow's operator passes 0, Airflow retrying its task), waiting with exponential
    back-off on the mesh's ``sleep``; each retry is audited (``retry``) with its error and wait.

    With ``skip_unchanged`` (the asset's ``skip_unchanged`` by default), an output identical to
    the current version's (same content before protection, contract version, code, inputs read
    and protection: :func:`assets.staleness.unchanged`) publishes nothing: the result is
    :attr:`Status.UNCHANGED` with the current manifest.

    A partitioned asset runs one ``partition`` at a time (required): its inputs arrive mapped
    (:func:`assets.partition_reads.read_input`), its function sees ``context.partition``, and its
    output is gated and published as that partition's version; the audit record and the lineage
    events name the partition.

    Nothing takes effect unaudited: when the run's audit record cannot be written (a full disk
    under the audit log), a version it published is withdrawn (``CURRENT`` back at the version it
    named, carried in the result as ``replaced``) and the result is an error naming the audit log
    and the fix; a retry whose record cannot be written is not tried.
    """
    partition = _checked_partition(mesh, key, partition)
    mesh.services.ready()  # before anything is read or written: a run the records cannot hold does not begin
    lineage = mesh.services.lineage
    started_at = mesh.services.clock()
    region = mesh.active_region  # read once: the region written to is the one the audit record names
    with _together(mesh, key):  # the run's record, its START event: one write
        _tell_observers(mesh, key, lambda observer: observer.run_started(
            RunStarted(key=key, run_id=run_id, source=source, started_at=started_at, partition=partition)))
        lineage.started(key, run_id, **_partition_kw(partition))
    if retries is None:
        retries = mesh.graph[key].spec.retries
    if skip_unchanged is None:
        skip_unchanged = mesh.graph[key].spec.skip_unchanged

    def audit_retry(attempt: int, failed: AssetResult, wait: float) -> None:
        try:
            mesh.services.audit.append(AuditEvent(
                actor=f"service:{key.split('.', 1)[0]}", action="retry", target=key, source=source,
                outcome="retrying", where=f"region:{region}",
                details={"run_id": run_id, **_partition_kw(partition), "attempt": attempt, "of": retries + 1,
                         "wait_seconds": round(wait, 3), "error": failed.error,
                         "why": "a transient failure (the asset's code or storage I/O)"}))
        except (MeshError, OSError) as exc:  # no retry unaudited: the run stops, having published nothing
            raise _RetryUnaudited(exc, failed) from exc

    try:
        result = run_with_retries(lambda: _run(mesh, key, mesh.store(region), run_id=run_id, params=params,
                                               secrets=secrets, skip_unchanged=skip_unchanged, partition=partition),
                                  retries=retries, sleep=mesh.services.sleep, before_wait=audit_retry)
    except _RetryUnaudited as stopped:
        result = replace(stopped.failed, transient=False, error=(
            f"{stopped.failed.error}; not tried again, as the audit record of the retry could not be written "
            f"({stopped.cause})"))
    result = _recorded(mesh.store(region), replace(result, partition=partition), mesh.services.audit,
                       _materialized(result, run_id=run_id, source=source, region=region, partition=partition))
    ended = RunEnded(key=key, run_id=run_id, source=source, started_at=started_at,
                     ended_at=mesh.services.clock(), result=result, partition=partition)
    with _together(mesh, key):  # its FAIL or COMPLETE event, its record, alerts, notices: one write
        if not result.ok:  # COMPLETE comes from the lineage handler on the update
            lineage.failed(key, run_id, result.error or str(result.status),
                           result.gate.failures if result.gate else (), **_partition_kw(partition))
        elif result.status is Status.UNCHANGED and result.manifest is not None:  # no update: the run ends here
            lineage.unchanged(key, run_id, result.manifest)
        _tell_observers(mesh, key, lambda observer: observer.run_ended(ended))
    return result


class _RetryUnaudited(Exception):
    """A retry's audit record could not be written (``cause``): the run stops with ``failed``, the attempt's result."""

    def __init__(self, cause: Exception, failed: AssetResult) -> None:
        super().__init__(str(cause))
        self.cause, self.failed = cause, failed


def _materialized(result: AssetResult, *, run_id: str, source: Source, region: str,
                  partition: str | None) -> AuditEvent:
    """The audit record of a run's outcome (``materialize``), its actor the domain's service identity."""
    manifest, gate = result.manifest, result.gate
    return AuditEvent(
        actor=f"service:{result.key.split('.', 1)[0]}", action="materialize", target=result.key, source=source,
        outcome=str(result.status), where=f"region:{region}",
        details={"run_id": run_id, **_partition_kw(partition),
                 "version": manifest.version if manifest else None,
                 "rows": manifest.rows if manifest else None,
                 "checksum": manifest.checksum if manifest else None,
                 "inputs_read": dict(manifest.input_versions) if manifest else None,
                 "attempts": result.attempts,
                 "bytes": manifest.bytes if manifest else None,
                 "contract_version": manifest.contract_version if manifest else None,
                 "seconds": round(result.seconds, 3),
                 "quarantine": str(result.quarantine) if result.quarantine else None,
                 "failed_checks": [f"{f.column}:{f.check}" for f in (gate.failures if gate else ())],
                 "warnings": [f"{w.column}:{w.check}:{w.rows}" for w in (gate.warnings if gate else ())],
                 "error": result.error if result.status is Status.ERROR else None,
                 "unchanged": result.status is Status.UNCHANGED,
                 **({"observed": dict(manifest.observed)} if result.published and manifest and manifest.observed
                    else {})})


def _recorded(store: VersionStore, result: AssetResult, audit: AuditSink, event: AuditEvent) -> AssetResult:
    """``result`` once ``event``, its audit record, is written. If it cannot be (a full disk under
    the audit log), nothing of the run may take effect unaudited: a version it published is
    withdrawn (``CURRENT`` put back as it was, :meth:`VersionStore.withdraw`), and the result is
    an error naming the audit log and the fix."""
    try:
        audit.append(event)
    except (MeshError, OSError) as exc:
        log.error("the audit record of %s's run could not be written: %s", result.key, exc)
        return replace(result, status=Status.ERROR, manifest=None, transient=False,
                       error=_unrecorded(store, result, exc))
    return result


def _unrecorded(store: VersionStore, result: AssetResult, exc: Exception) -> str:
    """The error of a run whose audit record could not be written, once what it published is withdrawn."""
    label = result.key if result.partition is None else f"{result.key}/{result.partition}"
    what = f"'{label}': the audit record of this run could not be written"
    if not result.published or result.manifest is None:
        before = f"{result.error}; " if result.status is Status.ERROR and result.error else ""
        return f"{before}{what}, so the run failed; nothing was published. {exc}"
    version = result.manifest.version
    try:
        withdrawn = store.withdraw(result.key, version, result.replaced, result.partition)
    except MeshError as failed:
        withdrawn, exc = False, MeshError(f"{exc}; and {failed}")
    if withdrawn:
        return f"{what}, so its version {version} was withdrawn ({_current_after_withdrawal(store, result)}); " \
               f"nothing was published. {exc}"
    return (f"{what}, and its version {version} could not be withdrawn: it is current without an audit record. "
            f"{exc} Then roll it back: mesh rollback {result.key}"
            + (f" --partition {result.partition}" if result.partition is not None else ""))


def _current_after_withdrawal(store: VersionStore, result: AssetResult) -> str:
    """What ``CURRENT`` names once the run's version is withdrawn: the version it replaced, or a
    newer one another run published meanwhile, which the withdrawal left in place."""
    try:
        now = store.current_version(result.key, result.partition)
    except MeshError:
        return "CURRENT is unreadable now"
    if now == result.replaced:
        return f"CURRENT is back at {now or 'no version'}"
    return f"CURRENT names {now or 'no version'}, published by another run meanwhile"


def skip_asset(mesh: Mesh, key: str, *, run_id: str, reason: str, source: Source = "engine",
               partition: str | None = None) -> AssetResult:
    """Record that ``key`` (its ``partition``) is not run in ``run_id`` because what it reads did
    not materialize (``reason`` says which), and return that :attr:`Status.SKIPPED` result.

    Its run starts and ends at once, skipped, in the run history (so ``mesh history`` and
    ``mesh ops status --partitions`` show it with the reason), and the decision is audited
    (``skip``). Nothing is read, run or published, and no lineage event is sent: no run of the
    asset's code took place."""
    partition = _checked_partition(mesh, key, partition)
    at = mesh.services.clock()
    result = AssetResult(key=key, partition=partition, status=Status.SKIPPED, error=reason)
    with _together(mesh, key):
        _tell_observers(mesh, key, lambda observer: observer.run_ended(RunEnded(
            key=key, run_id=run_id, source=source, started_at=at, ended_at=at, result=result, partition=partition)))
    mesh.services.audit.append(AuditEvent(
        actor=f"service:{key.split('.', 1)[0]}", action="skip", target=key, source=source, outcome="skipped",
        where=f"region:{mesh.active_region}", details={"run_id": run_id, **_partition_kw(partition), "why": reason}))
    return result


def _checked_partition(mesh: Mesh, key: str, partition: str | None) -> str | None:
    """``partition`` validated against ``key``'s partitions: required exactly when it has some."""
    from assets.errors import PartitionKeyError

    partitions = mesh.graph[key].spec.partitions
    if partitions is None:
        if partition is not None:
            raise PartitionKeyError(f"'{key}' is not partitioned, so it has no partition {partition!r}",
                                    where=mesh.graph[key].spec.source, fix="run it without a partition")
        return None
    if partition is None:
        raise PartitionKeyError(f"'{key}' is partitioned ({partitions.describe()}): name the partition to run",
                                where=mesh.graph[key].spec.source,
                                fix="pass one of its partition keys (`mesh materialize KEY --partition P`), "
                                    "or backfill a range (`mesh backfill KEY --from DATE --to DATE`)")
    return partitions.validate(partition)


def _partition_kw(partition: str | None) -> dict[str, str]:
    """``{"partition": ...}`` for a partitioned run, nothing otherwise (unpartitioned records stay as they were)."""
    return {"partition": partition} if partition is not None else {}


@contextmanager
def _together(mesh: Mesh, key: str) -> Iterator[None]:
    """What the block's observers and lineage record is written at once (:attr:`Services.together`);
    a failure to write it never changes the run's outcome."""
    try:
        with mesh.services.together():
            yield
    except Exception as exc:
        log.warning("run observers' and lineage records of %s not written: %s: %s", key, type(exc).__name__, exc)


def _tell_observers(mesh: Mesh, key: str, tell: Callable[[RunObserver], object]) -> None:
    for observer in mesh.services.observers:
        try:
            tell(observer)
        except Exception as exc:  # an observer's failure never changes the run's outcome
            log.warning("run observer %s failed on %s: %s: %s", type(observer).__name__, key,
                        type(exc).__name__, exc)


def _run(mesh: Mesh, key: str, store: VersionStore, *, run_id: str, params: Mapping[str, Any] | None,
         secrets: SecretResolver, skip_unchanged: bool, partition: str | None = None) -> AssetResult:
    started = time.perf_counter()
    definition = mesh.graph[key]

    def finish(status: Status, **kw: Any) -> AssetResult:
        return AssetResult(key=key, status=status, seconds=time.perf_counter() - started, **kw)

    def failed(exc: MeshError) -> AssetResult:
        return finish(Status.ERROR, error=str(exc), transient=_is_transient(exc))

    versions: dict[str, str] = {}
    observed: dict[str, Any] | None = None
    try:
        inputs: dict[str, Any] = {}
        arrived: tuple[Any, ...] = ()
        if (drop := definition.spec.drop) is not None:  # an observed source: its rows arrive (assets.sources)
            current = store.current(key)
            found = read_newest(key, drop, definition.spec.contract, mesh.root, current)
            if found is None:
                return finish(Status.UNCHANGED, manifest=current, note=f"nothing new arrived in {drop.location}")
            observed, arrived = found.arrival.record(), (found.frame,)
        for param, upstream in definition.spec.inputs.items():
            _authorize(mesh, definition, upstream)
            inputs[param], read = read_input(store, upstream, mesh.graph.edge(key, param), partition)
            versions.update(read)
        if definition.wants_context:
            inputs[CONTEXT_PARAM] = AssetContext(key=key, run_id=run_id, params=dict(params or {}), secrets=secrets,
                                                 partition=partition)
        frame = _as_dataframe(definition, definition.fn(*arrived, **inputs))
    except MeshError as exc:
        return failed(exc)
    except Exception as exc:  # the user's function may raise anything
        if observed is not None:  # an observed source on an arrived file: the file, not the code, is the likely fault
            return finish(Status.ERROR, error=unusable_arrival(key, observed, _describe_user_error(definition, exc), exc))
        broken = _unreadable_input(store, versions) if isinstance(exc, pl.exceptions.PolarsError) else None
        return finish(Status.ERROR, error=broken or _describe_user_error(definition, exc), transient=broken is None)

    report = run_gate(definition.spec.contract, frame)
    protector = _protector(mesh, definition)
    if not report.passed:
        with mesh.services.protector.hold_keys():  # its wrapped data key is stored in the report
            where = Quarantine(store.root).store(key, run_id if partition is None else f"{run_id}-{partition}", report,
                                                 frame, protect=protector)
        return finish(Status.GATE_FAILED, gate=report, quarantine=where,
                      error=f"contract gate failed: {report.describe()}; nothing was published; "
                            f"failing rows are in {where}")
    assert report.frame is not None
    try:
        contract = describe(definition.spec.contract)
        previous = store.current(key, partition)
        check_published(key, previous, contract, definition.spec.contract_version)
        content, code = content_checksum(report.frame), code_version(definition.fn)
        with mesh.services.protector.hold_keys():  # the data key it wraps is stored before a rotation
            protected = protector(report.frame)
            if skip_unchanged and previous is not None and unchanged(
                    previous, content=content, contract_version=definition.spec.contract_version, code=code,
                    input_versions=versions, protection=dict(protected.protection)):
                return finish(Status.UNCHANGED, manifest=previous, gate=report,
                              note=f"output identical to version {previous.version}: nothing published")
            request = PublishRequest(key=key, contract_version=definition.spec.contract_version,
                                     code_version=code, run_id=run_id, input_versions=versions,
                                     protection=dict(protected.protection),
                                     data_key=dict(protected.data_key) if protected.data_key else None,
                                     contract=contract, warnings=tuple(_as_record(w) for w in report.warnings),
                                     content_checksum=content, partition=partition, observed=observed)
            manifest = store.publish(protected.frame, request)
    except MeshError as exc:
        return failed(exc)
    return finish(Status.MATERIALIZED, manifest=manifest, gate=report,
                  replaced=previous.version if previous is not None else None)


def _as_record(warning: CheckFailure) -> dict[str, Any]:
    """A failed warning check as the manifest keeps it (examples stay out: they may be data)."""
    return {"column": warning.column, "check": warning.check, "rows": warning.rows}


def _is_transient(exc: MeshError) -> bool:
    """Storage I/O may work next time; a missing or corrupt input, a refused access, an output of
    the wrong type or a contract change without a version bump will not."""
    return isinstance(exc, StorageError) and not isinstance(exc, AssetNotMaterializedError | CorruptDataError)


def _protector(mesh: Mesh, definition: AssetDefinition) -> Callable[[pl.DataFrame], ProtectedFrame]:
    """Protects an output's classified columns as the mesh's protector says, before anything is stored."""
    protector, spec = mesh.services.protector, definition.spec
    return lambda frame: protector.protect(spec.key, spec.contract, frame)


def _authorize(mesh: Mesh, definition: AssetDefinition, upstream: str) -> None:
    """Check access again at read time: a grant may have expired since the graph was built."""
    if upstream not in mesh.graph:
        raise AccessError(f"'{definition.key}' reads '{upstream}', whose access policy is not loaded",
                          where=definition.spec.source, fix="load the mesh with the producing domain")
    mesh.services.authorizer.authorize(definition.spec, mesh.graph[upstream].spec)


def _as_dataframe(definition: AssetDefinition, value: object) -> pl.DataFrame:
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, pl.DataFrame):
        return value
    raise AssetOutputError(
        f"asset '{definition.key}' returned {type(value).__name__}, not a polars DataFrame or LazyFrame",
        where=definition.spec.source, fix="return a pl.DataFrame or pl.LazyFrame from the function")


def _unreadable_input(store: VersionStore, versions: Mapping[str, str]) -> str | None:
    """The error of the first input whose stored data file polars cannot read (a corrupt
    Parquet file), naming the file; ``None`` when they all read, so the user's code failed."""
    for label, version in versions.items():
        upstream, partition = split_label(label)
        path = store.data_path(upstream, version, partition)
        try:
            with store.root.open(path) as fh:
                pl.read_parquet_schema(fh)
        except (OSError, pl.exceptions.PolarsError) as exc:
            return str(StorageError(
                f"input '{upstream}' is unreadable ({type(exc).__name__}: {str(exc)[:200]})",
                where=store.root.uri_of(path),
                fix=f"restore the version from the other region or a backup (mesh dr restore), or materialize "
                    f"{upstream} again"))
    return None


def _describe_user_error(definition: AssetDefinition, exc: Exception) -> str:
    """What the asset's code raised, at the deepest line of the user's own code (not polars' or
    the framework's); a query the function returned that failed when collected names the function."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _library_file(f.filename)]
    at = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else \
        f" in the query the function returned ({definition.spec.source})"
    message = str(exc).split("\n\nResolved plan until failure", 1)[0]  # polars appends its whole query plan
    return f"asset '{definition.key}' raised {type(exc).__name__}: {message}{at}"


def _library_file(filename: str) -> bool:
    """Whether ``filename`` is a library's (site-packages, the standard library) or this framework's."""
    return filename.startswith(_library_folders()) or "site-packages" in filename or filename.startswith("<")


@cache
def _library_folders() -> tuple[str, ...]:
    return tuple(str(p) + os.sep for p in {Path(os.__file__).parent, Path(__file__).parent})
