"""A lineage outbox with events a send already failed on: send them again.

Events wait in the outbox when the lineage backend was down; each run's delivery sends what is
pending, but a mesh that runs nothing sends nothing. The remediation flushes the outbox
(oldest first, until one fails) when it holds events whose sending failed before.
"""

from __future__ import annotations

import datetime as dt

from assets.mesh import Mesh
from governance.healing.remediation import Finding, RemediationError
from governance.identity import Actor
from governance.services import governed

SUBJECT = "lineage outbox"


class StuckLineageOutbox:
    """See the module docstring."""

    name = "stuck lineage outbox"

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        status = governed(mesh).lineage.outbox.status()
        if status.pending == 0 or status.last_error is None:  # nothing waits, or nothing failed yet
            return []
        return [Finding(remediation=self.name, subject=SUBJECT,
                        found=f"{status.pending} event(s) pending since {status.oldest_pending} "
                              f"(last error: {status.last_error})",
                        action="send them again, oldest first", why="lineage consumers miss these runs until then",
                        facts={"pending": status.pending})]

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        delivery = governed(mesh).lineage.outbox.flush()
        if delivery.error is not None or delivery.pending:
            raise RemediationError(f"{delivery.sent} sent, {delivery.pending} still pending: {delivery.error}", where=SUBJECT,
                            fix="check that the lineage backend is up ([lineage] in mesh.toml)")
        return f"{delivery.sent} event(s) sent"
