"""Airflow DAGs of the sales domain: one per asset, and the domain's governance DAG."""

from pathlib import Path

from governance.airflow import domain_dags

globals().update(domain_dags("sales", Path(__file__).resolve().parent.parent))
