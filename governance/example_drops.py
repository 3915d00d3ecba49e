"""Files the example mesh's observed source expects: a CSV file of web leads, as the web team
drops it in ``drops/marketing/web_leads/``. The demo drops one and observes it; a simulation
drops one in its copy so the readers of the source have data (without a file the source has no
version and every run of its readers fails, which is not a fault of the month simulated)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from assets.atomic import atomic_write
from assets.mesh import Mesh

#: The example's observed source.
EXAMPLE_SOURCE = "marketing.web_leads"
_CHANNELS = ("web", "mobile", "store", "partner")


def drop_leads(mesh: Mesh, at: dt.datetime, count: int, *, settled: bool = False) -> Path | None:
    """Write a file of ``count`` web leads signed up on ``at``'s day into the drop folder of
    :data:`EXAMPLE_SOURCE` (under a temporary name, renamed into place); ``settled`` dates the
    file a day back, so it counts as complete at once. ``None`` when the mesh has no such local
    source."""
    drop = mesh.graph[EXAMPLE_SOURCE].spec.drop if EXAMPLE_SOURCE in mesh.graph else None
    if drop is None or drop.on_s3:
        return None
    path = drop.folder_at(mesh.root) / f"leads-{at:%Y%m%dT%H%M%S}.csv"
    rows = [f"{i},lead{i:04d}@mail.example,{_CHANNELS[i % 4]},{at.date().isoformat()},{1 + i % 40}"
            for i in range(1, count + 1)]
    atomic_write(path, ("lead_id,email,channel,signed_up,campaign_id\n" + "\n".join(rows) + "\n").encode())
    if settled:
        old = path.stat().st_mtime - 86400
        os.utime(path, (old, old))
    return path
