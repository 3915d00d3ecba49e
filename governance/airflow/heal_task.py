"""The ops DAG's ``heal`` task: the self-healing runbook, once per run of the DAG.

Importing this module imports Airflow and nothing of the engine; the task loads the mesh, with
every domain's code that loads (a remediation may run an asset again), when it runs. The
runbook bounds itself (attempts, back-off, circuit breakers), so the task has no retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator


def heal_now(root: Path, clock: Callable[[], dt.datetime] | None = None) -> list[str]:
    """Run the runbook on the mesh at ``root`` at ``clock()`` (the mesh's clock by default), as
    ``service:healing``; one line per finding."""
    from governance.healing import heal
    from governance.wiring import load_mesh

    mesh = load_mesh(root, strict=False)
    report = heal(mesh, (clock or mesh.services.clock)())
    return [f"{a.outcome}: {a.remediation} on {a.subject}: {a.found} -> {a.result or a.error or a.action}"
            for a in report.actions]


class HealOperator(BaseOperator):
    """Runs :func:`heal_now` and logs what it found and did."""

    def __init__(self, *, mesh_root: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mesh_root = mesh_root

    def execute(self, context: Any) -> list[str]:
        lines = heal_now(Path(self.mesh_root))
        for line in lines:
            self.log.info("%s", line)
        return lines
