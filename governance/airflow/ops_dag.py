"""Operations on Airflow: Deadline Alerts on the scheduled asset DAGs, and the periodic ops DAG.

- A scheduled (cron) asset's data of the run for time T is due at T plus its domain's
  ``allowed_lag`` (``[ops]``): that is exactly an Airflow Deadline Alert measured from the DAG
  run's logical date (:func:`deadline_alert`). When it is missed, the scheduler hands
  :func:`deadline_missed` to the DAG's team executor (a ``SyncCallback``, so no triggerer is
  needed: a team triggerer runs only where a domain watches a drop), which evaluates the mesh at once.
- What Deadline Alerts cannot see (an asset's ``freshness`` after an input-triggered run, a
  predicted breach, a run whose worker died) the ops DAG (:func:`ops_dag`) evaluates every
  few minutes.

Both call :func:`governance.ops.checks.check_mesh`, as ``mesh ops check`` does: it evaluates
the compiled mesh (:func:`governance.ops.monitor.evaluate`; the state table in the state
database makes each change signalled once) and alerts through ``[alerts]``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, BaseOperator, CronTriggerTimetable
from airflow.sdk.definitions.callback import SyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from assets.compiled import CompiledAsset, CompiledMesh
from governance.airflow.heal_task import HealOperator
from governance.policy.ops import OpsPolicy

OPS_DAG_ID = "mesh_ops"
#: How often the ops DAG evaluates the mesh.
OPS_SCHEDULE = "*/5 * * * *"


def deadline_alert(asset: CompiledAsset, ops: OpsPolicy, root: str) -> DeadlineAlert | None:
    """The Deadline Alert of a scheduled asset's DAG: its run for time T must have published by
    T + allowed_lag. ``None`` for an asset without a cron schedule."""
    if not asset.schedule or asset.schedule == "@once":
        return None
    return DeadlineAlert(reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
                         interval=ops.for_domain(asset.domain).allowed_lag,
                         callback=SyncCallback(deadline_missed, kwargs={"mesh_root": root, "key": asset.key}),
                         name=f"{asset.key} due")


def deadline_missed(context: Any = None, *, mesh_root: str, key: str, **_: Any) -> list[str]:
    """A Deadline Alert of ``key`` was missed: evaluate the mesh now and signal what changed.
    Runs on an executor's worker, as any task of the DAG's team does."""
    return evaluate_now(Path(mesh_root))


def evaluate_now(root: Path, clock: Callable[[], dt.datetime] | None = None) -> list[str]:
    """Check the mesh at ``root`` at ``clock()`` (the mesh's clock by default), as ``mesh ops
    check`` does: freshness, predictions and dead runs of the compiled mesh, the audit log, key
    ages and standby lag, alerted through ``[alerts]``. Returns one line per freshness change."""
    from governance.ops.checks import (
        check_mesh,  # here, not at the top: parsing imports no polars
    )
    from governance.wiring import load_policy_mesh

    return check_mesh(load_policy_mesh(root), clock() if clock else None).change_lines()


class EvaluateOpsOperator(BaseOperator):
    """Evaluates the mesh's freshness and predictions, and signals what changed."""

    def __init__(self, *, mesh_root: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mesh_root = mesh_root

    def execute(self, context: Any) -> list[str]:
        lines = evaluate_now(Path(self.mesh_root))
        for line in lines:
            self.log.info("%s", line)
        return lines


def ops_dag(mesh: CompiledMesh, root: str) -> DAG:
    """The periodic ops DAG of the whole mesh."""
    dag = DAG(
        dag_id=OPS_DAG_ID,
        schedule=CronTriggerTimetable(OPS_SCHEDULE, timezone="UTC"),
        catchup=False,
        max_active_runs=1,
        description="Operations: freshness, predicted breaches and dead runs of every asset; mesh ops check",
        doc_md=f"## Operations of `{mesh.name}`\n\nEvery 5 minutes: each asset's freshness state and predicted "
               "breach from the run records, the audit log, key ages and standby lag, alerted when they change "
               "(the same function as `mesh ops check`).",
        tags={"ops"},
        is_paused_upon_creation=True,
        default_args={"owner": "operations"},
    )
    evaluate = EvaluateOpsOperator(task_id="evaluate", dag=dag, mesh_root=root, retries=1,
                                   retry_delay=dt.timedelta(seconds=30))
    evaluate >> HealOperator(task_id="heal", dag=dag, mesh_root=root, retries=0,
                             doc_md="The self-healing runbook, once (`mesh ops heal`).")
    return dag


def ops_dags(root: Path) -> dict[str, DAG]:
    """What ``dags/ops.py`` asks for: the ops DAG, built from the compiled mesh."""
    from governance.compiled import current_compiled_mesh

    compiled = current_compiled_mesh(root)
    return {OPS_DAG_ID: ops_dag(compiled, str(root.resolve()))}
