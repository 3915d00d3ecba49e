"""OpenLineage run events of a materialization: START, then COMPLETE or FAIL.

The job is the asset (``namespace`` from ``mesh.toml``, name = asset key); inputs and outputs
are data products, named by key in the same namespace, so lineage stays the same across regions
and failovers (the ``dataSource`` facet says which region holds the bytes). The run id is
derived from the mesh run id and the asset key, so the task that starts a run and the handler
that completes it agree without sharing state.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    schema_dataset,
    source_code_location_job,
    storage_dataset,
)

from openlineage.client.serde import Serde

from assets.check_failure import CheckFailure
from assets.contract_diff import describe
from assets.definition import AssetSpec
from assets.mesh import Mesh
from assets.storage import Manifest
from governance.lineage.event_json import EventJSON
from governance.lineage.facets import (
    FACET_KEY,
    PARTITION_FACET_KEY,
    PRODUCER,
    MeshGovernanceDatasetFacet,
    MeshPartitionRunFacet,
)

_RUN_NAMESPACE = uuid.UUID("6f1c1d8e-5b7a-4c1e-9a51-6d2c8e0b7f43")
#: pandera's names for its built-in checks, as the assertions name them.
_BUILTIN = {"not_nullable": "not_null", "field_uniqueness": "unique", "dtype": "dtype"}


def run_uuid(run_id: str, key: str, partition: str | None = None) -> str:
    """The OpenLineage run id of ``key`` (of its ``partition``) in mesh run ``run_id`` (a UUID,
    stable for all three): each partition of a backfill is its own OpenLineage run."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{run_id}/{key}" if partition is None else f"{run_id}/{key}/{partition}"))


def _run(mesh: Mesh, key: str, run_id: str, partition: str | None, facets: dict[str, Any] | None = None) -> Run:
    """The run, with the partition facet when it made one partition."""
    facets = dict(facets or {})
    if partition is not None:
        partitions = mesh.graph[key].spec.partitions if key in mesh.graph else None
        facets[PARTITION_FACET_KEY] = MeshPartitionRunFacet(
            partition=partition, partitions=partitions.describe() if partitions is not None else None)
    run_uuid_ = run_uuid(run_id, key, partition)
    return Run(runId=run_uuid_, facets=facets) if facets else Run(runId=run_uuid_)


def start_event(mesh: Mesh, key: str, run_id: str, namespace: str, at: dt.datetime | None = None,
                partition: str | None = None) -> RunEvent:
    """The run of ``key`` began; its inputs are the assets it reads (versions come at the end)."""
    spec = mesh.graph[key].spec
    return _ours(RunEvent(eventType=RunState.START, eventTime=_iso(at), producer=PRODUCER,
                          run=_run(mesh, key, run_id, partition), job=_job(mesh, spec, namespace),
                          inputs=[InputDataset(namespace=namespace, name=k) for k in dict.fromkeys(spec.inputs.values())],
                          outputs=[OutputDataset(namespace=namespace, name=key)]))


def start_json(mesh: Mesh, key: str, run_id: str, namespace: str, at: dt.datetime | None = None,
               partition: str | None = None) -> EventJSON:
    """:func:`start_event` as the outbox keeps it, the same bytes, made from what does not change
    between runs of ``key`` (its job, inputs and output, serialised once) and its run and time
    (every asset's run records one: building and serialising the whole event each time cost
    more than the rest of recording it)."""
    spec = mesh.graph[key].spec
    parts = _start_parts(mesh.root, key, spec.source, spec.description, _owners(mesh, spec), namespace,
                         tuple(dict.fromkeys(spec.inputs.values())))
    run = _run(mesh, key, run_id, partition)
    for facet in (run.facets or {}).values():  # as _ours marks them
        facet._producer = PRODUCER
    body = {**parts, "eventTime": _iso(at), "run": Serde.to_dict(run)}
    return EventJSON(f"{run.runId}:{RunState.START.value}",
                     json.dumps(body, sort_keys=True, default=lambda o: f"<<non-serializable: {type(o).__qualname__}>>"))


@lru_cache(maxsize=8192)
def _start_parts(root: Path, key: str, source: str, description: str | None, owners: tuple[str, ...],
                 namespace: str, inputs: tuple[str, ...]) -> Mapping[str, Any]:
    """What the START events of an asset share (all but ``run`` and ``eventTime``), as
    ``Serde.to_dict`` makes it (never changed: each event's dict is a new one around it)."""
    job = _job_of(root, key, source, description, owners, namespace)
    event = _ours(RunEvent(eventType=RunState.START, eventTime=_iso(None), producer=PRODUCER, run=Run(runId=str(
        uuid.uuid5(_RUN_NAMESPACE, key))), job=job, inputs=[InputDataset(namespace=namespace, name=k) for k in inputs],
        outputs=[OutputDataset(namespace=namespace, name=key)]))
    parts = Serde.to_dict(event)
    del parts["run"], parts["eventTime"]
    return parts


def complete_event(mesh: Mesh, manifest: Manifest, namespace: str, region: str) -> RunEvent:
    """The run published ``manifest``: exact input versions, and the output with every facet."""
    spec = mesh.graph[manifest.key].spec
    storage = mesh.store(region).root
    contract = manifest.contract or describe(spec.contract)
    facets: dict[str, Any] = {
        "schema": schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name=c, type=t) for c, t in manifest.schema.items()]),
        "dataQualityAssertions": _assertions(contract, _dataset_checks(spec), failures=(),
                                             warned=_warned(manifest.warnings)),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=manifest.version),
        "storage": storage_dataset.StorageDatasetFacet(storageLayer="acme-mesh", fileFormat="parquet"),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(name=region, uri=storage.uri_of(storage.root)),
        **_described(mesh, spec),
        FACET_KEY: _governance(mesh, spec, manifest.protection, region),
    }
    if spec.column_lineage:
        facets["columnLineage"] = _column_lineage(spec, namespace)
    output = OutputDataset(namespace=namespace, name=manifest.key, facets=facets, outputFacets={
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=manifest.rows, size=manifest.bytes)})
    inputs = [InputDataset(namespace=namespace, name=k, facets={
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=v)})
        for k, v in manifest.input_versions.items()]
    return _ours(RunEvent(eventType=RunState.COMPLETE, eventTime=manifest.produced_at, producer=PRODUCER,
                          run=_run(mesh, manifest.key, manifest.run_id, manifest.partition),
                          job=_job(mesh, spec, namespace),
                          inputs=inputs, outputs=[output]))


def unchanged_event(mesh: Mesh, key: str, run_id: str, current: Manifest, namespace: str,
                    at: dt.datetime | None = None) -> RunEvent:
    """The run ended without publishing: its output was ``current``, which it names by version,
    with the input versions it read (those of ``current``)."""
    spec = mesh.graph[key].spec
    inputs = [InputDataset(namespace=namespace, name=k, facets={
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=v)})
        for k, v in current.input_versions.items()]
    output = OutputDataset(namespace=namespace, name=key, facets={
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=current.version)})
    return _ours(RunEvent(eventType=RunState.COMPLETE, eventTime=_iso(at), producer=PRODUCER,
                          run=_run(mesh, key, run_id, current.partition), job=_job(mesh, spec, namespace),
                          inputs=inputs, outputs=[output]))


def fail_event(mesh: Mesh, key: str, run_id: str, namespace: str, error: str,
               failures: Iterable[CheckFailure] = (), at: dt.datetime | None = None,
               partition: str | None = None) -> RunEvent:
    """The run failed: the error, and for a gate failure each check's result on the output."""
    spec = mesh.graph[key].spec
    failures = tuple(failures)
    facets: dict[str, Any] = {
        "dataQualityAssertions": _assertions(describe(spec.contract), _dataset_checks(spec), failures),
        **_described(mesh, spec)} if failures else {}
    output = OutputDataset(namespace=namespace, name=key, facets=facets) \
        if failures else OutputDataset(namespace=namespace, name=key)
    run = _run(mesh, key, run_id, partition, {
        "errorMessage": error_message_run.ErrorMessageRunFacet(message=error[:4000], programmingLanguage="python")})
    return _ours(RunEvent(eventType=RunState.FAIL, eventTime=_iso(at), producer=PRODUCER, run=run,
                          job=_job(mesh, spec, namespace),
                          inputs=[InputDataset(namespace=namespace, name=k) for k in dict.fromkeys(spec.inputs.values())],
                          outputs=[output]))


def _ours(event: RunEvent) -> RunEvent:
    """Mark every facet as produced by the mesh (the client defaults to its own URL)."""
    groups = [event.run.facets, event.job.facets]
    for dataset in (*(event.inputs or ()), *(event.outputs or ())):
        groups += [dataset.facets, getattr(dataset, "inputFacets", None), getattr(dataset, "outputFacets", None)]
    for facets in groups:
        for facet in (facets or {}).values():
            facet._producer = PRODUCER
    return event


def _job(mesh: Mesh, spec: AssetSpec, namespace: str) -> Job:
    return _job_of(mesh.root, spec.key, spec.source, spec.description, tuple(_owners(mesh, spec)), namespace)


@lru_cache(maxsize=8192)
def _job_of(root: Path, key: str, source: str, description: str | None, owners: tuple[str, ...],
            namespace: str) -> Job:
    """The job of an asset, built once for what it is made of (every event of the asset's runs
    carries it; nothing changes a built event, which is serialised as it is)."""
    url, relative = _source_location(root, source)
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="ACME_MESH", jobType="ASSET"),
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(type="file", url=url, path=relative),
        "ownership": ownership_job.OwnershipJobFacet(owners=[
            ownership_job.Owner(name=f"mailto:{o}", type="MAINTAINER") for o in owners]),
    }
    if description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(description=description)
    return Job(namespace=namespace, name=key, facets=facets)


@lru_cache(maxsize=8192)
def _source_location(root: Path, source: str) -> tuple[str, str]:
    """The URL (``file://...#L<line>``) and the path relative to the mesh of an asset's source
    (``<file>:<line>``), worked out once per asset: every event of its runs carries them."""
    path, _, line = source.rpartition(":")
    file = Path(path or source)
    relative = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
    return file.resolve().as_uri() + (f"#L{line}" if line.isdigit() else ""), relative


def _described(mesh: Mesh, spec: AssetSpec) -> dict[str, Any]:
    facets: dict[str, Any] = {"ownership": ownership_dataset.OwnershipDatasetFacet(owners=[
        ownership_dataset.Owner(name=f"mailto:{o}", type="MAINTAINER") for o in _owners(mesh, spec)])}
    if spec.description:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=spec.description)
    return facets


def _owners(mesh: Mesh, spec: AssetSpec) -> tuple[str, ...]:
    domain = mesh.policy.domains.get(spec.domain)
    return spec.owners or (domain.owners if domain else ())


def _governance(mesh: Mesh, spec: AssetSpec, protection: Mapping[str, str], region: str) -> MeshGovernanceDatasetFacet:
    from governance.protection import classified_columns

    domain = mesh.policy.domains.get(spec.domain)
    return MeshGovernanceDatasetFacet(
        domain=spec.domain, visibility=spec.visibility, classification=dict(classified_columns(spec.contract)),
        contractVersion=spec.contract_version, contract=spec.contract.__name__, protection=dict(protection),
        residency=list(domain.residency) if domain else [], region=region)


def _dataset_checks(spec: AssetSpec) -> list[tuple[str, str]]:
    """The contract's schema-wide checks (unique column sets, dataframe checks): each name,
    with its severity (``error`` blocks a publish, ``warn`` does not)."""
    schema = spec.contract.to_schema()
    return [*([("multiple_fields_uniqueness", "error")] if schema.unique else []),
            *((c.name, "warn" if c.raise_warning else "error") for c in schema.checks)]


def _warned(warnings: Iterable[Mapping[str, Any]]) -> tuple[CheckFailure, ...]:
    """The warning checks a version failed, as its manifest lists them."""
    return tuple(CheckFailure(column=str(w.get("column", "")), check=str(w.get("check", "")), rows=int(w.get("rows", 0)))
                 for w in warnings)


def _named(contract: Mapping[str, Mapping[str, Any]], failures: Iterable[CheckFailure]) -> set[tuple[str | None, str]]:
    return {(f.column if f.column in contract else None, _BUILTIN.get(name := f.check.split("(", 1)[0], name))
            for f in failures}


def _assertions(contract: Mapping[str, Mapping[str, Any]], dataset_checks: list[tuple[str, str]],
                failures: tuple[CheckFailure, ...], warned: tuple[CheckFailure, ...] = (),
                ) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """One assertion per check of the contract (type, nullability, uniqueness, each column
    check, each schema-wide check), failed where the gate reported a failure; warning checks
    have severity ``warn``, failed where the gate reported a warning."""
    failed = _named(contract, failures) | _named(contract, warned)
    assertions: list[data_quality_assertions_dataset.Assertion] = []
    seen: set[tuple[str | None, str]] = set()
    for name, severity in dataset_checks:
        seen.add((None, name))
        assertions.append(data_quality_assertions_dataset.Assertion(
            assertion=name, success=(None, name) not in failed, severity=severity))
    for column, rules in contract.items():
        names = [*((n, "error") for n in ["dtype", *([] if rules.get("nullable") else ["not_null"]),
                                          *(["unique"] if rules.get("unique") else []), *rules.get("checks", {})]),
                 *((n, "warn") for n in rules.get("warnings", {}))]
        for name, severity in names:
            seen.add((column, name))
            assertions.append(data_quality_assertions_dataset.Assertion(
                assertion=name, success=(column, name) not in failed, column=column, severity=severity))
    blocking = _named(contract, failures)
    for failed_column, name in sorted(failed - seen, key=str):
        assertions.append(data_quality_assertions_dataset.Assertion(
            assertion=name, success=False, column=failed_column,
            severity="error" if (failed_column, name) in blocking else "warn"))
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=assertions)


def _column_lineage(spec: AssetSpec, namespace: str) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        column: column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(namespace=namespace, name=key, field=source)
            for key, source in sources])
        for column, sources in spec.column_lineage.items()})


def _iso(at: dt.datetime | None) -> str:
    return (at or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")
