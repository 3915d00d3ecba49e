"""The Airflow 3 layer of the framework: an asset's DAG, running the same engine step.

``dags/`` files call ``governance.airflow.domain_dags``, which builds these for a loaded mesh
and adds the domain's governance DAG. Importing this package does not import Airflow;
the names below load their modules (and Airflow) when first used, so the CLI and the engine
never pay for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "asset_dag": "assets.airflow.asset_dags",
    "airflow_asset": "assets.airflow.asset_dags",
    "MaterializeAssetOperator": "assets.airflow.operators",
    "asset_dag_id": "assets.airflow.naming",
    "governance_dag_id": "assets.airflow.naming",
    "pool_name": "assets.airflow.naming",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'assets.airflow' has no attribute '{name}'")
    return getattr(import_module(_EXPORTS[name]), name)
