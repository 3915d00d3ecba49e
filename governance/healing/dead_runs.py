"""A run that died without a result (its worker was killed): close its record, then run again.

Every run's start and end are recorded (:mod:`governance.runs.records`), with its worker; a run
still ``running`` whose worker is gone (:mod:`governance.runs.workers`), or running longer than
the monitor's ``died_after`` (a worker that cannot be looked at from here), lost its worker. Nothing was published by it (a
version becomes current only when complete), so the asset is as it was before the run, only
late. The remediation records the run as ended in error, saying it died, and materializes the
asset (and its downstream) again unless a later run of it has started since. An asset whose code is not loaded is
only closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from assets.mesh import Mesh
from governance.healing.remediation import Finding
from governance.healing.rerun import rerun
from governance.identity import Actor
from governance.runs.records import DIED_AFTER, run_records, stamp, unstamp, workers_of


class DeadRuns:
    """See the module docstring; ``died_after`` as the monitor's; the asset runs again with ``params``."""

    name = "run that died"

    def __init__(self, died_after: dt.timedelta = DIED_AFTER, params: Mapping[str, Any] | None = None) -> None:
        self.died_after = died_after
        self.params = dict(params or {})

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        return [Finding(
            remediation=self.name, subject=run.key,
            found=f"run {run.run_id} ({run.source}) started {run.started_at.isoformat()} and never ended",
            action=f"record it as died, then materialize {run.key} again",
            why="its worker died: the asset waits for a run nobody is doing",
            facts={"run_id": run.run_id, "source": run.source, "started_at": stamp(run.started_at), "now": stamp(now)})
            for run in run_records(mesh).unfinished(self.died_after, now, workers_of(mesh).alive)]

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        records, key = run_records(mesh), finding.subject
        started = unstamp(finding.facts["started_at"])
        records.ended(key, finding.facts["run_id"], finding.facts["source"], started, unstamp(finding.facts["now"]),
                      "error", error=f"the run died without a result (no end recorded); closed by {actor.id}")
        done = f"recorded run {finding.facts['run_id']} as died"
        newest = records.for_asset(key, limit=1)
        if newest and newest[0].started_at > started:
            return f"{done}; not run again: run {newest[0].run_id} started since"
        if key not in mesh.graph:
            return f"{done}; not run again (its domain's code is not loaded)"
        again = rerun(mesh, key, self.params)
        result = again.result
        if not result.ok:
            return f"{done}; running it again failed ({result.status}): {result.error}"
        assert result.manifest is not None
        return f"{done}; materialized {key} again as {result.manifest.version}" + again.downstream()
