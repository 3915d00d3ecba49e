"""``mesh report compliance|verify`` and ``mesh usage``: the auditors' and the tenants' reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assets.named_files import write_named_file
from meshctl.cli._help import OneLineSummaries
from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    RootOption,
    act_as,
    console,
    emit_json,
    fail,
    open_policy_mesh,
    plain,
    user_errors,
)

report_app = typer.Typer(cls=OneLineSummaries, help="Signed compliance reports (SOX evidence) and their verification.",
                         no_args_is_help=True)
FORMATS = ("html", "pdf", "json")


@report_app.command("compliance")
def compliance(
    period: Annotated[str | None, typer.Option(help="A quarter (2026-Q4) or a month (2026-11); default: this quarter.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or json.")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default .mesh/reports/...).")] = None,
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Write the signed compliance report of a period: access review, segregation of duties,
    change management, data quality and resilience, integrity. Needs read_audit."""
    from governance.reports import (
        Period,
        build_compliance_report,
        render_html,
        render_pdf,
        report_path,
        sign_report,
    )

    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}. Fix: pass --format html, pdf or json")
    with user_errors():
        chosen = Period.parse(period) if period else Period.containing(dt.datetime.now(dt.UTC))
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "report_compliance")
        report = build_compliance_report(mesh, chosen, actor)
        signed = sign_report(mesh, report)
        target = out or report_path(mesh, chosen, fmt)
        if fmt == "json":
            data = signed.to_json().encode()
        elif fmt == "html":
            data = render_html(signed).encode()
        else:
            data = render_pdf(signed)
        write_named_file(target, data)
    s = report.summary()
    console.print(f"compliance report {chosen.label} written to {target}", highlight=False)
    console.print(f"  {s['access_entries']} access entries, {s['grants_approved']} approvals, {s['reads_denied']} "
                  f"reads denied, {s['sod_findings']} segregation-of-duties finding(s), {s['policy_changes']} "
                  f"change(s) of mesh.toml, {s['contract_versions']} contract version(s), {s['gate_failures']} gate "
                  f"failure(s); audit chain {'verified' if s['audit_verified'] else 'FAILED'}, "
                  f"tree head {s['tree_head_size']} records", highlight=False)


@report_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A report .json, .html or .pdf.")],
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a report's signature and that the audit records it covers are still in the log,
    unchanged. Exit 1 naming what differs."""
    from governance.reports import verify_report

    with user_errors():
        mesh = open_policy_mesh(root)
        check = verify_report(mesh, file)
    if as_json:
        emit_json({**check.to_dict(), "ok": check.ok})
    elif check.ok:
        console.print(f"[green]report verified[/]: {plain(check.file)} ({plain(check.period)}), signature valid; the "
                      f"{check.tree_head_size} records of its tree head, {check.records_covered} of them in the "
                      "period, are unchanged in the audit log")
    else:
        for problem in check.problems:
            console.print(f"[bold red]FAILED[/] {plain(problem)}")
    if not check.ok:
        raise typer.Exit(1)


def usage(
    month: Annotated[str | None, typer.Option(help="The month, e.g. 2026-11 (default: this month).")] = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One CSV row per domain and day.")] = False,
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Usage and chargeback per domain: runs, task time, rows and bytes published, bytes
    stored per region and replicated, reads by other domains, priced by mesh.toml [billing].
    A holder of read_audit sees every domain; a domain owner sees their own."""
    from governance.reports import Period, usage_report

    with user_errors():
        chosen = Period.parse(month, option="--month") if month else \
            Period.containing(dt.datetime.now(dt.UTC), quarter=False)
        if "Q" in chosen.label:
            fail(f"--month {month!r} is a quarter. Fix: name a month, like 2026-11")
        mesh = open_policy_mesh(root)
        report = usage_report(mesh, chosen, act_as(mesh, user, "report_usage"))
    if as_json:
        emit_json({**report.to_dict(), "total": report.total})
        return
    if as_csv:
        typer.echo(report.to_csv(), nl=False)
        return
    currency = report.rates["currency"]
    table = Table(title=f"Usage and chargeback, {report.month} ({currency})")
    for col in ("domain", "runs", "task hours", "rows published", "GB-months stored", "GB replicated",
                "reads by others", "cost"):
        table.add_column(col, justify="left" if col == "domain" else "right")
    for c in report.charges:
        table.add_row(c.domain, str(c.runs), f"{c.task_hours:.3f}", f"{c.rows_published:,}",
                      f"{c.gb_months_stored:.6f}", f"{c.gb_replicated:.6f}", str(c.reads_by_others), f"{c.total:.2f}")
    console.print(table)
    console.print(f"total {report.total:.2f} {currency}")
