"""A failed contract gate: reported, never healed by publishing.

The data an asset produced broke its contract; publishing it, or anything made up in its place,
would hand bad data to every consumer. The last good version stays current and downstream keeps
reading it; the owners fix the data or the contract (the failed run's alert carries the
quarantine report). The runbook reports each asset whose latest run failed its gate, with the
version that stays current, and does nothing else.
"""

from __future__ import annotations

import datetime as dt

from assets.mesh import Mesh
from assets.results import Status
from governance.healing.remediation import Finding, RemediationError
from governance.identity import Actor
from governance.services import governed


class FailedGates:
    """See the module docstring."""

    name = "failed gate"

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        latest = {}
        for record in governed(mesh).audit.query(action="materialize"):
            latest[record.target] = record  # oldest first: the last one wins
        findings = []
        for key, record in sorted(latest.items()):
            if record.outcome != str(Status.GATE_FAILED):
                continue
            current = mesh.store().current_version(key)
            checks = ", ".join(record.details.get("failed_checks") or ()) or "its contract"
            findings.append(Finding(
                remediation=self.name, subject=key, fixable=False,
                found=f"run {record.details.get('run_id')} failed its gate ({checks}) at {record.at}",
                action=f"nothing: {current or 'no version'} stays current and downstream keeps reading it; "
                       "its owners fix the data or the contract",
                why="publishing data that broke its contract would hand it to every consumer",
                facts={"current": current}))
        return findings

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        raise RemediationError("a failed gate is not healed by publishing", where=finding.subject,
                        fix="the domain's owners fix the data or the contract, then materialize it again")
