"""``mesh ops heal``: run the self-healing runbook once, by hand, and print what it found and did."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    RootOption,
    act_as,
    console,
    emit_json,
    open_mesh,
    user_errors,
)
from meshctl.cli.ops_app import ops_app

OUTCOME_STYLE = {"healed": "green", "would heal": "cyan", "failed": "bold red", "breaker open": "red", "left": "yellow"}


@ops_app.command("heal")
def heal_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what was found and what would be done.")] = False,
    root: RootOption = None,
    user: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the self-healing runbook once: roll back and re-run a current version that no longer
    verifies, copy missing or corrupt replicas again, flush a stuck lineage outbox, report failed
    gates (never healed by publishing). Acting needs operate_dr (--as); a dry run needs no one.
    Exits 1 when a remediation failed or its circuit breaker is open."""
    from governance.healing import heal

    mesh = open_mesh(root)
    actor = None if dry_run else act_as(mesh, user, "heal")
    with user_errors():
        report = heal(mesh, mesh.services.clock(), dry_run=dry_run, actor=actor)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print(report.to_dict())
    counts = report.counts
    if counts.failed or counts.breaker_open:
        raise typer.Exit(1)


def _print(report: dict[str, object]) -> None:
    actions = report["actions"]
    assert isinstance(actions, list)
    mode = "dry run: nothing was changed" if report["dry_run"] else f"as {report['actor']}"
    if not actions:
        console.print(f"nothing to heal ({mode})", highlight=False)
        return
    table = Table(title=f"self-healing at {report['at']} ({mode})")
    for column in ("remediation", "subject", "found", "outcome", "done / to do", "attempts"):
        table.add_column(column)
    for a in actions:
        style = OUTCOME_STYLE.get(a["outcome"], "")
        done = a["result"] or a["error"] or a["action"] if a["outcome"] in ("healed", "failed", "breaker open") \
            else a["action"]
        table.add_row(escape(a["remediation"]), escape(a["subject"]), escape(a["found"]),
                      f"[{style}]{escape(a['outcome'])}[/]", escape(done), str(a["attempts"]))
    console.print(table)
    counts = report["counts"]
    assert isinstance(counts, dict)
    console.print(", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()), highlight=False)
