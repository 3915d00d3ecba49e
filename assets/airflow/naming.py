"""How mesh objects are named in Airflow: DAG ids, Asset URIs, pools."""

from __future__ import annotations

#: Airflow Asset URIs of the mesh use a private scheme (Airflow passes ``x-`` schemes through).
URI_SCHEME = "x-mesh"
GOVERNANCE_PREFIX = "mesh_governance"
POOL_PREFIX = "mesh_"


def asset_dag_id(key: str) -> str:
    """The DAG of an asset is named after its key: ``sales.orders``."""
    return key


def governance_dag_id(domain: str) -> str:
    return f"{GOVERNANCE_PREFIX}.{domain}"


def partition_governance_dag_id(domain: str) -> str:
    """The governance DAG of a domain's partitioned assets (one run per partition published)."""
    return f"{GOVERNANCE_PREFIX}.{domain}.partitions"


def pool_name(domain: str) -> str:
    """Each domain's tasks run in the domain's own pool, sized by ``pool_slots``."""
    return f"{POOL_PREFIX}{domain}"


def asset_uri(mesh_name: str, key: str) -> str:
    domain, name = key.split(".", 1)
    return f"{URI_SCHEME}://{mesh_name}/{domain}/{name}"
