"""The one operator an asset's DAG has: run the engine's step for that asset.

Importing this module imports Airflow and nothing of the engine: :meth:`execute` imports the
engine (polars, pandera) and, through ``load``, the domain's code, when the task runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator, Connection, Variable
from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSkipException,
)

if TYPE_CHECKING:
    from assets.mesh import Mesh

#: Loads the mesh at ``root`` with ``domain``'s code: given by the layer that wires the mesh.
MeshLoader = Callable[[Path, str], "Mesh"]


def _airflow_secret(kind: str, name: str) -> str | None:
    """A domain-prefixed Variable, or a Connection's URI, from Airflow (``None`` if absent)."""
    if kind == "variable":
        return Variable.get(name, default=None)
    try:
        return Connection.get(name).get_uri()
    except AirflowNotFoundException:
        return None


class AssetStepError(RuntimeError):
    """The asset's step failed in a way a retry may fix (its own code raised, storage failed)."""


class MaterializeAssetOperator(BaseOperator):
    """Runs :func:`assets.step.run_asset` for one asset, then sets its Asset event's extra.

    A failed contract gate fails the task without retries (the same data fails again) and
    emits no Asset event, so nothing downstream is scheduled. Other failures are retried.
    With ``skip_unchanged`` (off by default, as in-process: ``mesh materialize --skip-unchanged``),
    an output identical to the current version publishes nothing: the task ends skipped, and a
    skipped task emits no Asset event, so nothing downstream runs for nothing.

    A ``partitioned`` asset's task makes its run's partition (``dag_run.partition_key``, set by
    Airflow's partitioned timetable, a partition mapper, a backfill or a trigger) with the same
    engine call as in-process, and its Asset event carries that partition key, so Airflow's
    partition mappers run the downstream partitions it feeds.
    """

    ui_color = "#d8f3dc"

    def __init__(self, *, mesh_root: str, key: str, asset: Asset, load: MeshLoader, skip_unchanged: bool = False,
                 partitioned: bool = False, **kwargs: Any) -> None:
        super().__init__(outlets=[asset], **kwargs)
        self.skip_unchanged = skip_unchanged
        self.partitioned = partitioned
        self.mesh_root = mesh_root
        self.key = key
        self.asset = asset
        self.load = load

    def execute(self, context: Any) -> dict[str, Any]:
        from assets.events import AssetUpdate
        from assets.results import Status
        from assets.step import run_asset

        partition = self._partition(context)
        mesh = self.load(Path(self.mesh_root), self.key.split(".", 1)[0])
        result = run_asset(mesh, self.key, run_id=context["run_id"], params=dict(context.get("params") or {}),
                            source="airflow", secrets=_airflow_secret, retries=0,  # Airflow retries the task
                            skip_unchanged=self.skip_unchanged, **({"partition": partition} if partition else {}))
        mesh.services.audit.seal()  # the task's records end under a signed, witnessed head
        if result.status is Status.GATE_FAILED:
            raise AirflowFailException(result.error)
        if result.status is Status.UNCHANGED:  # a skipped task emits no Asset event
            raise AirflowSkipException(f"{self.key}: {result.note}")
        if result.manifest is None:
            raise AssetStepError(result.error)
        extra = AssetUpdate.from_manifest(result.manifest, "airflow").to_extra()
        outlet = context["outlet_events"][self.asset]
        outlet.extra = extra
        if partition is not None:
            outlet.add_partitions(partition)
        self.log.info("published %s version %s (%s rows)", self.key, result.manifest.version, result.manifest.rows)
        return extra

    def _partition(self, context: Any) -> str | None:
        """The partition this run makes: its ``partition_key`` (``None`` for an unpartitioned asset)."""
        if not self.partitioned:
            return None
        key = getattr(context.get("dag_run"), "partition_key", None)
        if not key:
            raise AirflowFailException(
                f"{self.key} is partitioned, and this run has no partition key: start it with one "
                f"(`mesh backfill {self.key} --on airflow --from ... --to ...`, or the UI's trigger form)")
        return str(key)
