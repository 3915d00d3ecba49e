"""All DAGs of one domain, as its file under ``dags/`` asks for them."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import DAG

from assets.airflow.asset_dags import asset_dag
from assets.airflow.naming import asset_dag_id, governance_dag_id
from governance.airflow.governance_dag import governance_dag
from governance.wiring import domain_mesh


def domain_dags(domain: str, root: Path) -> dict[str, DAG]:
    """Every DAG of ``domain``: one per asset, plus the domain's governance DAG.

    Reads ``root/mesh.toml`` and imports the domain's package (and the packages of the domains
    it reads, to check access to their assets); nothing else. A domain whose
    code is broken raises here, which Airflow shows as the import error of that domain's
    DAG file; the other domains' files are unaffected.
    """
    mesh = domain_mesh(root.resolve(), domain)
    dags = {asset_dag_id(key): asset_dag(mesh, key, domain_mesh) for key in mesh.graph if mesh.graph[key].spec.domain == domain}
    if dags:
        dags[governance_dag_id(domain)] = governance_dag(mesh, domain)
    return dags
