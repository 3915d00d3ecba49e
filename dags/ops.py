"""Airflow DAG of the mesh's operations: freshness, predicted breaches and dead runs, every 5 minutes."""

from pathlib import Path

from governance.airflow.ops_dag import ops_dags

globals().update(ops_dags(Path(__file__).resolve().parent.parent))
