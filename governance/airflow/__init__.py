"""The mesh on Airflow 3: every DAG of a domain, as its file under ``dags/`` asks for them.

- :func:`domain_dags`: one DAG per asset (built by :mod:`assets.airflow`), plus the domain's
  governance DAG (:func:`governance_dag`), for the mesh loaded and wired by
  :func:`governance.wiring.domain_mesh`.

Only ``dags/`` files import this package; it imports Airflow.
"""

from governance.airflow.domain import domain_dags
from governance.airflow.governance_dag import (
    HandleAssetUpdatesOperator,
    HandlerFailedError,
    governance_dag,
)

__all__ = ["HandleAssetUpdatesOperator", "HandlerFailedError", "domain_dags", "governance_dag"]
