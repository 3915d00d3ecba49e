"""All DAGs of one domain, as its file under ``dags/`` asks for them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import DAG

from assets.airflow.asset_dags import asset_dag
from assets.airflow.naming import (
    asset_dag_id,
    governance_dag_id,
    partition_governance_dag_id,
)
from governance.airflow.governance_dag import governance_dag, partition_governance_dag
from governance.airflow.ops_dag import deadline_alert
from governance.compiled import current_compiled_mesh

if TYPE_CHECKING:
    from assets.mesh import Mesh


def domain_dags(domain: str, root: Path) -> dict[str, DAG]:
    """Every DAG of ``domain``: one per asset (a scheduled one with its Deadline Alert, see
    :mod:`governance.airflow.ops_dag`), plus the domain's governance DAG.

    Built from the compiled mesh (``.mesh/compiled/mesh.json``), rebuilt first if it is older
    than ``mesh.toml`` or the domains' code: no domain's code is imported here, nor polars or
    pandera. A domain whose code is broken raises here the error recorded when compiling, which
    Airflow shows as the import error of that domain's DAG file; the other domains' files are
    unaffected.
    """
    from governance.policy import load_policy

    compiled = current_compiled_mesh(root)
    mesh_root = str(root.resolve())
    ops = load_policy(root).ops
    dags = {asset_dag_id(a.key): asset_dag(compiled, a.key, mesh_root, load_domain,
                                           deadline=deadline_alert(a, ops, mesh_root))
            for a in compiled.assets_of(domain)}
    if dags:
        dags[governance_dag_id(domain)] = governance_dag(compiled, domain, mesh_root)
        partitions = partition_governance_dag(compiled, domain, mesh_root)
        if partitions is not None:
            dags[partition_governance_dag_id(domain)] = partitions
    return dags


def load_domain(root: Path, domain: str) -> Mesh:
    """The mesh with ``domain``'s code, when a task runs (once per process)."""
    from governance.wiring import domain_mesh

    return domain_mesh(root, domain)
