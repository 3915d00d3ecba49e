"""The runbook: every remediation, once, bounded, audited and counted.

:func:`heal` asks each remediation what it finds, then fixes each finding: up to
:attr:`~governance.healing.breaker.Bounds.attempts` tries with exponential back-off between them
(tenacity, on the mesh's ``sleep``, so a simulated clock does not wait), skipped while the
finding's circuit breaker is open. Each fix is audited (action ``heal``: what was found, what
was done, why, how many attempts, the error), and so is a breaker opening. A dry run finds and
says what it would do, and changes nothing: no fix, no audit record, no breaker count.

Who acts: a person (``mesh ops heal --as``) needs ``operate_dr``, checked here; without an
actor the runbook acts as its own service identity, ``service:healing``: that is how the ops
DAG and the simulation run it, as code that already holds the mesh's storage. One pass at a
time runs per mesh (the state database's lock ``healing``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from tenacity import RetryCallState, Retrying, stop_after_attempt

from assets.mesh import Mesh
from assets.ports import AuditEvent
from governance.healing.alert_outbox import StuckAlertOutbox
from governance.healing.breaker import BREAKERS_FILE, Bounds, Breakers
from governance.healing.corrupt_current import CorruptCurrent
from governance.healing.dead_runs import DeadRuns
from governance.healing.gate_failures import FailedGates
from governance.healing.lineage_outbox import StuckLineageOutbox
from governance.healing.outcome import HealAction, HealReport, Outcome
from governance.healing.remediation import Finding, Remediation
from governance.healing.replicas import MissingReplicas
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.services import governed
from governance.state import state_database

#: The identity the runbook acts as when no person runs it.
RUNBOOK = Actor(id="service:healing", method="service", evidence="self-healing runbook")
#: The lock one pass holds.
LOCK = "healing"


def runbook(params: Mapping[str, Any] | None = None) -> tuple[Remediation, ...]:
    """The remediations, in the order a pass runs them: good data served first, then runs that
    died, then the copies, then the lineage and the alerts of what was done; failed gates come
    last (never published; run again through the gate on a bounded back-off). An asset run again runs with ``params`` (the run parameters its scheduled
    runs use, e.g. a simulation's scale and seed; none by default)."""
    return (CorruptCurrent(params), DeadRuns(params=params), MissingReplicas(), StuckLineageOutbox(),
            StuckAlertOutbox(), FailedGates(params))


def heal(mesh: Mesh, now: dt.datetime, dry_run: bool = False, *, actor: Actor | None = None,
         bounds: Bounds = Bounds(), remediations: Sequence[Remediation] | None = None,
         params: Mapping[str, Any] | None = None) -> HealReport:
    """Run the runbook once at ``now`` (see the module docstring); what it found and did. An
    asset the runbook runs again runs with ``params`` (see :func:`runbook`).

    Raises :class:`~governance.identity.authorization.PermissionDeniedError` before anything is
    done when ``actor`` may not heal."""
    audit = governed(mesh).audit
    acting = actor or RUNBOOK
    if actor is not None and not dry_run:
        require(mesh.policy, audit, actor, "operate_dr", action="heal", target=mesh.name)
    steps = tuple(remediations if remediations is not None else runbook(params))
    if dry_run:
        actions = [_would(f) for step in steps for f in step.find(mesh, now)]
        return HealReport(at=now, actor=acting.id, dry_run=True, actions=tuple(actions))
    with state_database(mesh.policy).exclusive(LOCK):
        breakers = Breakers(mesh.state_dir / BREAKERS_FILE)
        actions = [_act(mesh, step, finding, acting, breakers, bounds, now)
                   for step in steps for finding in step.find(mesh, now)]
    audit.seal()
    return HealReport(at=now, actor=acting.id, dry_run=False, actions=tuple(actions))


def _would(finding: Finding) -> HealAction:
    return _action(finding, "would heal" if finding.fixable else "left")


def _act(mesh: Mesh, step: Remediation, finding: Finding, actor: Actor, breakers: Breakers, bounds: Bounds,
         now: dt.datetime) -> HealAction:
    if not finding.fixable:
        return _action(finding, "left")
    state = breakers.state(step.name, finding.subject)
    if state.is_open(now, bounds):
        return _action(finding, "breaker open", error=(
            f"not tried: it failed in {state.failures} passes in a row (last: {state.last_error}); "
            f"the breaker opened at {state.opened_at} and stays open for {bounds.cool_down}; needs a person"))
    attempts = 0

    def attempt() -> str:
        nonlocal attempts
        attempts += 1
        return step.fix(mesh, finding, actor)

    def wait(retry: RetryCallState) -> float:
        return bounds.backoff.wait(retry.attempt_number)

    try:
        tries = bounds.attempts if getattr(step, "retry_in_pass", True) else 1
        done = Retrying(stop=stop_after_attempt(tries), wait=wait, sleep=mesh.services.sleep,
                        reraise=True)(attempt)
    except Exception as exc:  # any failure of a fix is counted, reported and left for the next pass
        error = str(exc)[:1000]
        mine = dataclasses.replace(bounds, open_after=getattr(step, "open_after", bounds.open_after))
        opened = breakers.failed(step.name, finding.subject, error, now, mine)
        if opened:
            error += (f"; the breaker opened after {mine.open_after} failed passes: "
                      f"no more tries for {bounds.cool_down}, needs a person")
        action = _action(finding, "failed", attempts=attempts, error=error, breaker_opened=opened)
    else:
        breakers.succeeded(step.name, finding.subject)
        action = _action(finding, "healed", attempts=attempts, result=done)
    _audit(mesh, action, actor)
    return action


def _action(finding: Finding, outcome: Outcome, *, attempts: int = 0, result: str = "", error: str | None = None,
            breaker_opened: bool = False) -> HealAction:
    return HealAction(remediation=finding.remediation, subject=finding.subject, found=finding.found,
                      action=finding.action, why=finding.why, outcome=outcome, attempts=attempts, result=result,
                      error=error, breaker_opened=breaker_opened)


def _audit(mesh: Mesh, action: HealAction, actor: Actor) -> None:
    details = {k: v for k, v in action.to_dict().items() if k not in ("subject", "outcome")}
    governed(mesh).audit.append(AuditEvent(
        actor=actor.id, action="heal", target=action.subject, outcome=action.outcome, source="healing",
        where=f"region:{mesh.active_region}", details={**details, **identity_details(actor)}))
