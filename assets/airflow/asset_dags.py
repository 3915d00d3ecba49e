"""Build the Airflow DAG of one asset from its compiled description.

Reads only the compiled mesh (:mod:`assets.compiled`) and ``airflow.sdk``: parsing a DAG file
imports neither polars, pandera nor the domain's code; the task imports them when it runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    AssetAccessControl,
    AssetAll,
    AssetAny,
    AssetWatcher,
    CronTriggerTimetable,
    Param,
)

from assets.airflow.drop_trigger import DropTrigger
from assets.airflow.naming import asset_dag_id, asset_uri
from assets.airflow.operators import MaterializeAssetOperator, MeshLoader
from assets.airflow.partitioned import is_partitioned, partitioned_schedule
from assets.compiled import CompiledAsset, CompiledMesh

#: Cron presets as expressions, so root schedules wait for their next time instead of
#: running the most recent missed one the moment they are unpaused.
_PRESET_CRONS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
                 "@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *"}
RETRY_DELAY = dt.timedelta(seconds=5)
MAX_RETRY_DELAY = dt.timedelta(minutes=10)
#: An asset's task is queued before the governance tasks (Airflow's default weight, 1) that the
#: same Asset event scheduled: they share the domain's pool and the executor's slots, and
#: handling an update must not delay the assets downstream of it.
PRIORITY_WEIGHT = 10
#: Runs of a partitioned asset's DAG at once (each makes its own partition); an unpartitioned
#: asset's DAG runs one at a time (each makes the next version).
PARTITION_RUNS_AT_ONCE = 4


def airflow_asset(mesh: CompiledMesh, key: str, *, heard_by: str | None = None) -> Asset:
    """The Airflow Asset of a mesh asset: named by its key, grouped by its domain.

    Each domain is an Airflow team (``mesh up`` runs Airflow in Multi-Team mode, one DAG bundle
    per domain). A consumer of another domain (``heard_by``) lists that domain as a producer
    team it hears: Airflow then delivers the producer's events to it, and no other team's. The
    compiled mesh holds that edge only because access allows it (visibility, or an approved grant)."""
    producer = key.split(".", 1)[0]
    heard = [producer] if heard_by not in (None, producer) else []
    return Asset(name=key, uri=asset_uri(mesh.name, key), group=producer,
                 access_control=AssetAccessControl(producer_teams=heard))


def asset_dag(mesh: CompiledMesh, key: str, root: str, load: MeshLoader, *, deadline: Any = None) -> DAG:
    """One DAG, one task: materialize ``key``; scheduled by cron (roots) or by its inputs. A
    partitioned asset's DAG makes one partition per run, its run's ``partition_key``, scheduled by
    Airflow's partitioned timetables (:mod:`assets.airflow.partitioned`).

    ``load(root, domain)`` gives the task the mesh, with the domain's code, when it runs;
    ``deadline`` is the DAG's Airflow Deadline Alert, if the layer above sets one."""
    spec = mesh.assets[key]
    outlet = airflow_asset(mesh, key)
    dag = DAG(
        dag_id=asset_dag_id(key),
        schedule=_schedule(mesh, spec) if spec.drop is None else [arrivals_asset(mesh, key, root)],
        catchup=False,
        max_active_runs=PARTITION_RUNS_AT_ONCE if is_partitioned(spec) else 1,
        description=spec.description.splitlines()[0] if spec.description else None,
        doc_md=spec.doc_md,
        tags={spec.domain, f"visibility:{spec.visibility}", *(f"{k}:{v}" for k, v in spec.tags.items())},
        params=_params(spec),
        is_paused_upon_creation=True,
        default_args={"owner": ", ".join(spec.owners) or spec.domain},
        **({"deadline": deadline} if deadline is not None else {}),
    )
    MaterializeAssetOperator(
        task_id="materialize", dag=dag, mesh_root=root, key=key, asset=outlet, load=load,
        skip_unchanged=spec.skip_unchanged, partitioned=is_partitioned(spec),
        pool=spec.pool, priority_weight=PRIORITY_WEIGHT, retries=spec.retries, retry_delay=RETRY_DELAY,
        retry_exponential_backoff=2.0, max_retry_delay=MAX_RETRY_DELAY, doc_md=spec.description or None)
    return dag


def arrivals_asset(mesh: CompiledMesh, key: str, root: str) -> Asset:
    """The Asset of an observed source's arrivals: a :class:`DropTrigger` in the triggerer
    updates it when a file arrives in the drop, which schedules the source's DAG (whose task
    observes and publishes the source's own Asset, scheduling what it feeds)."""
    spec = mesh.assets[key]
    assert spec.drop is not None
    watcher = AssetWatcher(name=f"{asset_dag_id(key)}.drop",
                           trigger=DropTrigger(location=spec.drop, root=root, settle=spec.drop_settle))
    return Asset(name=f"{key}.arrivals", uri=f"{asset_uri(mesh.name, key)}/arrivals", group=spec.domain,
                 watchers=[watcher])


def _schedule(mesh: CompiledMesh, spec: CompiledAsset) -> Any:
    if is_partitioned(spec):
        return partitioned_schedule(mesh, spec, lambda key: airflow_asset(mesh, key, heard_by=spec.domain))
    if spec.schedule == "@once":
        return "@once"
    if spec.schedule:
        return CronTriggerTimetable(_PRESET_CRONS.get(spec.schedule, spec.schedule), timezone="UTC")
    inputs = [airflow_asset(mesh, k, heard_by=spec.domain) for k in dict.fromkeys(i.key for i in spec.inputs)]
    if not inputs:
        return None
    if len(inputs) == 1:
        return inputs
    return AssetAll(*inputs) if spec.trigger == "all" else AssetAny(*inputs)


def _params(spec: CompiledAsset) -> dict[str, Param]:
    params: dict[str, Param] = {}
    if is_partitioned(spec):
        params["bad_day"] = Param(None, type=["null", "string"],
                                  description="Demo: the partition of this day emits a row its contract rejects")
    if spec.is_root:
        params |= {
            "seed": Param(7, type="integer", description="Seed of synthetic data"),
            "scale": Param(100_000, type="integer", minimum=1, description="Rows of the largest root asset"),
            "inject_bad_rows": Param(False, type="boolean", description="Demo: emit rows the contract rejects"),
        }
    return params
