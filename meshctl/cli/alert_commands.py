"""``mesh ops incidents | ack | close | alerts flush | check``: the incidents alerts are about."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from assets.errors import printable
from meshctl.cli._help import OneLineSummaries
from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    MAX_ID,
    RootOption,
    act_as,
    console,
    emit_json,
    fail,
    governed,
    open_policy_mesh,
    plain,
    user_errors,
)
from meshctl.cli.ops_app import ops_app

if TYPE_CHECKING:
    from governance.alerts import AlertSink, Incident

alerts_app = typer.Typer(cls=OneLineSummaries, help="The alert outbox: what waits to be sent.", no_args_is_help=True)
ops_app.add_typer(alerts_app, name="alerts")

_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


@ops_app.command("incidents")
def incidents(root: RootOption = None, as_json: JsonOption = False,
              every: Annotated[bool, typer.Option("--all", help="Resolved incidents too.")] = False) -> None:
    """The incidents not resolved (--all: every one), newest first, and the alerts waiting to be sent."""
    mesh = open_policy_mesh(root)
    sink = governed(mesh).alerts
    with user_errors():
        found, waiting = sink.incidents(everything=every), sink.pending()
    if as_json:
        emit_json({"incidents": [i.to_dict() for i in found], "pending": waiting, "sent": sink.sent()})
        return
    if not found:
        console.print("no open incident" if not every else "no incident")
    else:
        table = Table("id", "state", "severity", "kind", "subject", "route", "fired", "opened", "summary")
        for i in found:
            style = _SEVERITY_STYLE.get(i.severity, "")
            # every stored field printed plain: a row edited in the state database is text, not markup
            table.add_row(str(i.id), plain(i.state) + (f" ({plain(i.acked_by)})" if i.acked_by else ""),
                          Text(printable(i.severity), style=style), plain(i.kind), plain(i.subject),
                          _route(i), str(i.fired),
                          plain(str(i.opened_at)[:19]), plain(i.summary))
        console.print(table)
    if waiting:
        console.print(f"[yellow]{len(waiting)} alert(s) waiting to be sent[/] (last error: "
                      f"{plain(waiting[-1]['last_error'] or 'none yet')}); retry now: mesh ops alerts flush")


def _route(incident: Incident) -> str:
    """The route an incident alerted (``+N`` escalations), or the incident whose alert covers it."""
    if "alerted_with" in incident.details:
        return f"with #{plain(incident.details['alerted_with'])}"
    return plain(incident.route or "-") + (f" (+{incident.level})" if incident.level else "")


@ops_app.command("ack")
def ack(incident: Annotated[int, typer.Argument(help="The incident's number (mesh ops incidents).", min=0, max=MAX_ID)],
        root: RootOption = None, user: ActorOption = None, as_json: JsonOption = False) -> None:
    """Acknowledge an incident: you take it and it stops escalating (its domain's owners or operate_dr; audited)."""
    mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "incident_ack")
    done = _on_incident(incident, "acknowledge", lambda: governed(mesh).alerts.acknowledge(incident, actor))
    if as_json:
        emit_json(done.to_dict())
    else:
        console.print(f"incident {done.id} ({done.kind} {plain(done.subject)}) acknowledged by {actor.id}")


@ops_app.command("close")
def close(incident: Annotated[int, typer.Argument(help="The incident's number (mesh ops incidents).", min=0, max=MAX_ID)],
          reason: Annotated[str, typer.Option("--reason", help="Why it is closed: no signal will end it.")],
          root: RootOption = None, user: ActorOption = None, as_json: JsonOption = False) -> None:
    """Close (resolve) an incident no signal will end, with a reason (its domain's owners or operate_dr; audited)."""
    mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "incident_close")
    done = _on_incident(incident, "close", lambda: governed(mesh).alerts.close(incident, actor, reason))
    if as_json:
        emit_json(done.to_dict())
    else:
        console.print(f"incident {done.id} ({done.kind} {plain(done.subject)}) {plain(done.summary)}", highlight=False)


@alerts_app.command("flush")
def flush(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Escalate what nobody acknowledged in time, and send every alert waiting in the outbox now."""
    mesh = open_policy_mesh(root)
    sink = governed(mesh).alerts
    with user_errors():
        done = sink.flush()
    if as_json:
        emit_json({"sent": done.sent, "pending": done.pending, "error": done.error})
    else:
        why = _why_waiting(sink, done.error, done.pending)
        console.print(f"{done.sent} alert(s) sent, {done.pending} waiting{why}", highlight=False)
    if done.pending:
        raise typer.Exit(1)


def _why_waiting(sink: AlertSink, error: str | None, pending: int) -> str:
    """Why alerts still wait after a flush: the error this flush met, or, when none was due to
    be tried (each waits out its back-off after a failure), the oldest one's last error and
    when it is tried again."""
    if error:
        return f" (last error: {plain(error)})"
    if not pending:
        return ""
    with user_errors():
        waiting = sink.pending()
    if not waiting:
        return ""
    oldest = waiting[0]
    return (f" (not due yet: the oldest is tried again at {plain(str(oldest['next_attempt_at'] or 'the next flush'))};"
            f" last error: {plain(oldest['last_error'] or 'none yet')})")


@ops_app.command("check")
def check(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Check freshness, the audit log, key ages and standby lag; alert, resolve, escalate and send what is due."""
    from governance.ops.checks import check_mesh

    mesh = open_policy_mesh(root)
    with user_errors():
        report = check_mesh(mesh)
    if as_json:
        emit_json(report.to_dict())
    else:
        for f in report.findings:
            mark = "[bold red]ALERT[/]" if f.firing else "[green]ok[/]   "
            console.print(f"{mark} {f.kind:<18} {plain(f.subject):<22} {plain(f.summary)}", highlight=False)
        for line in report.change_lines():
            console.print(plain(line), highlight=False)
        console.print(f"{report.delivery.sent} alert(s) sent, {report.delivery.pending} waiting")
    if any(f.firing for f in report.findings):
        raise typer.Exit(1)


def _on_incident(incident: int, verb: str, change: Callable[[], Incident]) -> Incident:
    """``change`` of incident number ``incident``; a missing or already ended one fails the command."""
    with user_errors():
        try:
            return change()
        except LookupError:
            fail(f"no incident {incident}. Run `mesh ops incidents --all` to see their numbers.")
        except ValueError as exc:
            fail(f"{exc}: nothing to {verb}")
