"""The mesh's web app: executive dashboard, asset pages and the data product read API.

:func:`create_app` builds the FastAPI app. ``mesh serve`` runs it standalone; the Airflow plugin
(:mod:`webapp.airflow_plugin`, registered as an ``airflow.plugins`` entry point) mounts it in
Airflow's API server at ``/mesh`` and adds a "Data mesh" link to the UI's navigation.
"""

from webapp.app import create_app

__all__ = ["create_app"]
