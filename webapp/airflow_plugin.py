"""The Airflow plugin: the web app inside Airflow 3's API server, with a link in its navigation.

Registered as the ``airflow.plugins`` entry point ``acme_mesh`` (pyproject), so every Airflow of
this environment loads it, ``mesh up``'s included. The app is mounted at ``/mesh``; it finds the
mesh through ``$MESH_ROOT``, which ``mesh up`` sets, and loads it on its first request. Every
Airflow process loads plugins, so this module imports nothing of the app: the app is built when
the API server asks for ``fastapi_apps``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/mesh"


class MeshWebPlugin(AirflowPlugin):
    """The mesh's dashboard, asset pages and read API in Airflow."""

    name = "acme_mesh"
    external_views: list[Any] = [{"name": "Data mesh", "href": URL_PREFIX.lstrip("/") + "/", "destination": "nav",
                                  "url_route": "data-mesh", "category": "browse"}]

    @cached_property
    def fastapi_apps(self) -> list[Any]:  # type: ignore[override]
        from webapp.app import create_app

        # Airflow's UI shows the app in an iframe of its own origin: framing by that origin only
        return [{"app": create_app(framing="self"), "url_prefix": URL_PREFIX, "name": "Data mesh"}]
