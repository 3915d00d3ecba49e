"""``mesh ops heal``: run the self-healing runbook once, by hand, and print what it found and did."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    RootOption,
    act_as,
    console,
    emit_json,
    plain,
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
    from governance.wiring import load_mesh

    with user_errors():
        mesh = load_mesh(root, strict=False)  # a domain whose code is broken does not block healing the others
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


def _print(report: dict[str, Any]) -> None:
    """One block per finding: subject, remediation and outcome, then what was found, done and why."""
    mode = "dry run: nothing was changed" if report["dry_run"] else f"as {report['actor']}"
    actions = report["actions"]
    if not actions:
        console.print(f"nothing to heal ({mode})", highlight=False)
        return
    console.print(f"self-healing at {report['at']} ({mode})", highlight=False)
    for a in actions:
        style = OUTCOME_STYLE.get(a["outcome"], "")
        tries = f" ({a['attempts']} attempt{'s' if a['attempts'] != 1 else ''})" if a["attempts"] else ""
        console.print(f"{plain(a['subject'])}: {plain(a['remediation'])}: [{style}]{plain(a['outcome'])}[/]{tries}",
                      highlight=False)
        lines = [("found", a["found"]), ("did" if a["outcome"] == "healed" else "to do", a["result"] or a["action"]),
                 ("why", a["why"]), ("error", a["error"])]
        for label, text in lines:
            if text:
                console.print(f"  {label + ':':7}{plain(text)}", highlight=False, soft_wrap=True)
    counts = report["counts"]
    console.print(", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()), highlight=False)
