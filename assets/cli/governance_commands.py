"""``mesh audit ...``: verify and query the tamper-evident audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assets.cli._output import console, emit_json, fail, user_errors
from assets.mesh import Mesh
from governance.audit import AuditLog, audit_log_at

audit_app = typer.Typer(help="The tamper-evident audit log: verify, query, checkpoint.", no_args_is_help=True)

RootOption = Annotated[Path | None, typer.Option("--root", envvar="MESH_ROOT", help="Folder holding mesh.toml.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _log(root: Path | None) -> AuditLog:
    with user_errors():
        return audit_log_at(Mesh.load(root).state_dir)


@audit_app.command("verify")
def verify(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Check every record's hash and chain, and every signed checkpoint; name the first bad record."""
    report = _log(root).verify()
    if as_json:
        emit_json({"ok": report.ok, "records": report.records, "checkpoints": report.checkpoints,
                   "problem": report.problem})
    elif report.ok:
        console.print(f"[green]ok[/]: {report.records} records chained, {report.checkpoints} signed checkpoint(s) valid")
    if not report.ok:
        fail(f"audit log: {report.problem}. Fix: restore the audit folder from the last backup "
             "(mesh dr restore) and investigate who changed it")


@audit_app.command("checkpoint")
def checkpoint(root: RootOption = None) -> None:
    """Sign the Merkle tree head of every record so far (also done every 1,000 records)."""
    cp = _log(root).checkpoint()
    console.print(f"checkpoint: {cp['size']} records, root {cp['root'][:16]}..., key {cp['key_id']}")


@audit_app.command("query")
def query(
    root: RootOption = None,
    actor: Annotated[str | None, typer.Option(help="Who: a user or service:engine / service:airflow.")] = None,
    asset: Annotated[str | None, typer.Option(help="An asset key or a domain.")] = None,
    action: Annotated[str | None, typer.Option(help="materialize, read, grant_request, ...")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time, UTC, e.g. 2026-11-01.")] = None,
    limit: Annotated[int, typer.Option(help="Most recent records to show.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Answer compliance questions: who did what to which asset, when, with what outcome."""
    try:
        start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.UTC) if since else None
    except ValueError:
        fail(f"--since {since!r} is not an ISO date. Fix: write it like 2026-11-01 or 2026-11-01T12:00")
    records = _log(root).query(actor=actor, target=asset, action=action, since=start)[-limit:]
    if as_json:
        emit_json([{**r.body(), "hash": r.hash} for r in records])
        return
    table = Table(title=f"{len(records)} audit record(s)")
    for col in ("seq", "at", "actor", "action", "target", "outcome", "where"):
        table.add_column(col)
    for r in records:
        table.add_row(str(r.seq), r.at[:19], r.actor, r.action, r.target, r.outcome, r.where)
    console.print(table)
