"""The governance DAG of a domain: on any update of the domain's assets, run the handlers.

One task per handler kind, so each shows, retries and fails on its own in the Airflow UI. Each
task reads the Asset events that triggered the run, rebuilds the :class:`AssetUpdate` from
their ``extra``, and runs the same handler the in-process engine runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    AssetAny,
    BaseOperator,
    IdentityMapper,
    PartitionedAssetTimetable,
)

from assets.airflow.asset_dags import airflow_asset
from assets.airflow.naming import governance_dag_id, partition_governance_dag_id
from assets.airflow.partitioned import is_partitioned
from assets.compiled import CompiledMesh


class HandlerFailedError(RuntimeError):
    """A handler failed on at least one asset update of the run."""


class HandleAssetUpdatesOperator(BaseOperator):
    """Runs one handler kind on every Asset event that triggered this DAG run."""

    ui_color = "#e0e7ff"

    def __init__(self, *, mesh_root: str, domain: str, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mesh_root = mesh_root
        self.domain = domain
        self.kind = kind

    def execute(self, context: Any) -> list[str]:
        from assets.events import AssetUpdate, dispatch
        from governance.wiring import domain_mesh

        mesh = domain_mesh(Path(self.mesh_root), self.domain)
        handler = next(h for h in mesh.services.handlers if h.kind == self.kind)
        messages, failures = [], []
        try:
            for events in context["triggering_asset_events"].values():
                for event in events:
                    update = AssetUpdate.from_extra(event.extra or {})
                    for outcome in dispatch([handler], update):
                        self.log.info("%s", outcome)
                        messages.append(str(outcome))
                        if not outcome.ok:
                            failures.append(str(outcome))
        finally:
            mesh.services.audit.seal()  # the handler's records end under a signed, witnessed head
        if failures:
            raise HandlerFailedError("; ".join(failures))
        return messages


def governance_dag(mesh: CompiledMesh, domain: str, root: str) -> DAG:
    """The governance DAG of ``domain``, scheduled on any update of its unpartitioned assets."""
    keys = [a.key for a in mesh.assets_of(domain) if not is_partitioned(a)]
    schedule = AssetAny(*(airflow_asset(mesh, k) for k in keys)) if keys else None
    return _governance(mesh, domain, root, governance_dag_id(domain), schedule, keys)


def partition_governance_dag(mesh: CompiledMesh, domain: str, root: str) -> DAG | None:
    """The governance DAG of ``domain``'s partitioned assets (``None`` if it has none): one run
    per partition published, the same handlers. A DAG of its own because Airflow 3.3 queues a
    DAG on a partitioned Asset event only if the DAG is partition-aware
    (``PartitionedAssetTimetable``), and such a DAG is not queued by unpartitioned events."""
    keys = [a.key for a in mesh.assets_of(domain) if is_partitioned(a)]
    if not keys:
        return None
    schedule = PartitionedAssetTimetable(assets=AssetAny(*(airflow_asset(mesh, k) for k in keys)),
                                         default_partition_mapper=IdentityMapper())
    return _governance(mesh, domain, root, partition_governance_dag_id(domain), schedule, keys)


def _governance(mesh: CompiledMesh, domain: str, root: str, dag_id: str, schedule: Any, keys: list[str]) -> DAG:
    owners = mesh.domains[domain].owners
    dag = DAG(
        dag_id=dag_id,
        schedule=schedule,
        catchup=False,
        description=f"Governance of the {domain} domain: runs on every update of its assets",
        doc_md=(f"## Governance of `{domain}`\n\nScheduled on any update of: "
                + ", ".join(f"`{k}`" for k in keys)
                + "\n\nEach task runs one handler on every triggering Asset event."),
        tags={domain, "governance"},
        is_paused_upon_creation=True,
        default_args={"owner": ", ".join(owners)},
    )
    for kind in mesh.handlers:  # the services themselves are built when a task runs, not at parse time
        HandleAssetUpdatesOperator(task_id=kind, dag=dag, mesh_root=root, domain=domain,
                                   kind=kind, pool=mesh.domains[domain].pool, retries=2)
    return dag
