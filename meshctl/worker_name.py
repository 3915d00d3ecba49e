"""``[core] hostname_callable`` of the Celery workers ``mesh up`` starts: ``workerI@<fqdn>``.

Several workers on one machine would otherwise record the same hostname on their task
instances; with ``MESH_WORKER_NAME`` set (``mesh up`` sets it per worker) each records its own,
as Celery names its nodes. A worker without it records the machine's name, as Airflow does.
Airflow reads task logs from the shared log folder first; a remote log fetch from
``http://workerI@<fqdn>:PORT`` still reaches ``<fqdn>``.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """This worker's name in task instances."""
    name = os.environ.get("MESH_WORKER_NAME")
    return f"{name}@{socket.getfqdn()}" if name else socket.getfqdn()
