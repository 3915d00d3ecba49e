"""An alert outbox with messages a notifier already failed on, due again: send them again.

A notifier that was down leaves its alerts in the outbox with the time of their next attempt
(the sink's own back-off); whoever calls the sink next sends them, but a quiet mesh calls it
rarely. The remediation flushes the outbox (after escalating what is due) when a message whose
sending failed before is due again.
"""

from __future__ import annotations

import datetime as dt

from assets.mesh import Mesh
from governance.healing.remediation import Finding, RemediationError
from governance.identity import Actor
from governance.services import governed
from governance.state.outbox import stamp

SUBJECT = "alert outbox"


class StuckAlertOutbox:
    """See the module docstring."""

    name = "stuck alert outbox"

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        due = [m for m in governed(mesh).alerts.pending()
               if m["attempts"] and (m["next_attempt_at"] is None or m["next_attempt_at"] <= stamp(now))]
        if not due:
            return []
        notifiers = sorted({m["notifier"] for m in due})
        return [Finding(remediation=self.name, subject=SUBJECT,
                        found=f"{len(due)} message(s) to {', '.join(notifiers)} failed before and are due again "
                              f"(last error: {due[-1]['last_error']})",
                        action="send them again", why="an incident nobody hears of is not acted on",
                        facts={"due": len(due), "now": stamp(now)})]

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        done = governed(mesh).alerts.flush(dt.datetime.fromisoformat(finding.facts["now"]))
        if done.error is not None:
            raise RemediationError(f"{done.sent} sent, {done.pending} still pending: {done.error}", where=SUBJECT,
                            fix="check that the notifiers of [alerts.notifiers] in mesh.toml are up")
        return f"{done.sent} message(s) sent"
