"""``mesh ops status``, ``mesh ops report`` and ``mesh ops serve-metrics``: freshness, SLAs and
metrics of the mesh, at the time of its clock."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from assets.schedule import parse_duration
from governance.ops.clip import clip
from meshctl.cli._output import (
    JsonOption,
    RootOption,
    console,
    emit_json,
    fail,
    open_mesh,
    plain,
    user_errors,
)
from meshctl.cli.ops_app import ops_app

if TYPE_CHECKING:
    from assets.mesh import Mesh
    from governance.ops.freshness import AssetStatus
    from governance.ops.partitions import PartitionStatus
    from governance.ops.report import Figures, Report

STATE_STYLE = {"fresh": "green", "late": "yellow", "breached": "bold red", "unknown": "dim", "untracked": "dim"}


def ops_statuses(mesh: Mesh, selection: str = "*") -> list[AssetStatus]:
    """The status of the selected assets of ``mesh`` now (by its clock), in topological order."""
    from governance.ops.monitor import mesh_view
    from governance.ops.readable import with_storage_checked

    with user_errors():
        keys = set(mesh.select(selection))
    found = mesh_view(mesh).statuses(mesh.services.clock())
    return list(with_storage_checked(mesh, {k: s for k, s in found.items() if k in keys}).values())


def print_statuses(found: list[AssetStatus], title: str) -> None:
    """The status table ``mesh ops status`` prints."""
    table = Table(title=title)
    for col in ("asset", "state", "version", "age", "deadline", "reason"):
        table.add_column(col)
    for s in found:
        style = STATE_STYLE.get(s.state, "") if s.readable else "bold red"
        state = s.state if s.readable else f"{s.state}, unreadable"
        table.add_row(s.key, f"[{style}]{state}[/]", s.version or "-", _age(s.age),
                      f"{s.deadline:%Y-%m-%d %H:%M}" if s.deadline else "-", plain(s.reason) or "-")
    console.print(table)


def ops_partitions(mesh: Mesh, selection: str) -> list[PartitionStatus]:
    """Each partition of the selected partitioned assets that published or has run; refuses a selection
    without one (naming the partitioned assets there are)."""
    from governance.ops.monitor import mesh_view
    from governance.ops.partitions import partition_statuses

    with user_errors():
        keys = mesh.select(selection)
    partitioned = [k for k in keys if mesh.graph[k].spec.partitions is not None]
    if not partitioned:
        every = [k for k in mesh.graph if mesh.graph[k].spec.partitions is not None]
        shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
        fail(f"--partitions: {selection!r} selects no partitioned asset"
             + (f" ({shown}: not partitioned)" if keys else "") + ". Fix: select partitioned assets"
             + (f", e.g. {', '.join(every[:5])}" if every else " (this mesh has none)")
             + ", or leave out --partitions")
    with user_errors():
        return partition_statuses(mesh_view(mesh).records, partitioned, mesh.store())


def print_partitions(found: list[PartitionStatus], title: str) -> None:
    """The partition table ``mesh ops status --partitions`` prints."""
    table = Table(title=title)
    for col in ("asset", "partition", "version", "published", "last run", "error"):
        table.add_column(col)
    for p in found:
        error = clip(p.error, 160) if p.error else "-"
        style = "bold red" if p.failed else "yellow" if p.skipped or p.running else "green"
        last = f"running since {p.started_at:%Y-%m-%d %H:%M}" if p.running and p.started_at else p.status
        table.add_row(p.key, p.partition, p.version or "-",
                      f"{p.published_at:%Y-%m-%d %H:%M}" if p.published_at else "-",
                      f"[{style}]{last}[/]", plain(error))
    console.print(table)


@ops_app.command("status")
def status(selection: Annotated[str, typer.Argument(help="Selection, e.g. 'sales.*' or '+finance.revenue'.")] = "*",
           partitions: Annotated[bool, typer.Option(
               "--partitions", help="One row per partition of the selected partitioned assets that published "
                                    "or has run: its version, when published, its last run's status (failed, "
                                    "skipped, running...) and error.")] = False,
           root: RootOption = None, as_json: JsonOption = False) -> None:
    """Each asset's freshness state (fresh, late, breached, unknown), last version, age, deadline
    and the reason it is not fresh; an asset whose current version's pointer or manifest cannot be read
    is shown unreadable. Exit code 1 if any is breached or unreadable. With --partitions, the
    partitions of partitioned assets instead (exit code 0)."""
    mesh = open_mesh(root)
    if partitions:
        rows = ops_partitions(mesh, selection)
        if as_json:
            emit_json([p.to_dict() for p in rows])
        else:
            counts = {"failed": sum(p.failed for p in rows), "skipped": sum(p.skipped for p in rows),
                      "running": sum(p.running for p in rows)}
            print_partitions(rows, f"partitions at {mesh.services.clock():%Y-%m-%d %H:%M} UTC: {len(rows)}, "
                                   + ", ".join(f"{n} {what}" for what, n in counts.items() if n or what == "failed"))
        return
    with user_errors():
        found = ops_statuses(mesh, selection)
    if as_json:
        emit_json([s.to_dict() for s in found])
    else:
        counts = {state: sum(s.state == state for s in found) for state in STATE_STYLE}
        print_statuses(found, "ops status at " + f"{mesh.services.clock():%Y-%m-%d %H:%M} UTC: "
                       + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
    if any(s.state == "breached" or not s.readable for s in found):
        raise typer.Exit(1)


@ops_app.command("report")
def report(since: Annotated[str, typer.Option("--since", help="The window: 30d, 12h, 2w.")] = "30d",
           root: RootOption = None, as_json: JsonOption = False) -> None:
    """SLA compliance (share of time fresh), availability of reads, incidents, MTTR and MTBF, per
    domain and for the mesh, against the targets of [ops] in mesh.toml."""
    from governance.ops.monitor import mesh_view

    try:
        window = parse_duration(since)
    except ValueError as exc:
        fail(f"--since {since!r}: {exc}. Fix: write a duration like 30d, 12h or 2w")
    mesh = open_mesh(root)
    now = mesh.services.clock()
    with user_errors():
        found = mesh_view(mesh).report(now - window, now, mesh.policy.ops)
    if as_json:
        emit_json(found.to_dict())
        return
    print_report(found)


def print_report(found: Report) -> None:
    """The tables ``mesh ops report`` prints."""
    table = Table(title=f"operations from {found.since:%Y-%m-%d %H:%M} to {found.until:%Y-%m-%d %H:%M} UTC")
    for col in ("scope", "SLA (fresh)", "availability", "incidents", "open", "MTTR", "MTBF*"):
        table.add_column(col, justify="left" if col == "scope" else "right")
    for figures in (*found.domains.values(), found.mesh):
        table.add_row(*_row(figures))
    console.print(table)
    console.print("* MTBF: each asset's time without an open incident since it first ran (or the window's start), "
                  "added up over the scope's assets, per incident; so a domain's or the mesh's can be longer than "
                  "the window.", highlight=False)
    for i in found.incidents[-10:]:
        closed = f"{i.closed:%m-%d %H:%M}" if i.closed else "open"
        console.print(f"- incident {i.key}: {i.opened:%m-%d %H:%M} -> {closed}, {i.failures} failed run(s): "
                      f"{plain(i.first_error)}", highlight=False)


def _row(f: Figures) -> list[str]:
    met = f.met()

    def mark(value: str, ok: bool | None) -> str:
        return value if ok is None else f"[{'green' if ok else 'red'}]{value}[/]"

    targets = f.targets
    return [f.scope,
            mark(f"{f.sla:.2f}% / {targets.sla_target}%" if f.sla is not None else "-", met["sla"]),
            mark(f"{f.availability:.2f}% / {targets.availability_target}%" if f.availability is not None else "-",
                 met["availability"]),
            str(f.incidents), str(f.open_incidents),
            mark(f"{_age(dt.timedelta(seconds=f.mttr_seconds))} / {_age(targets.mttr_target)}"
                 if f.mttr_seconds is not None else "-", met["mttr"]),
            _age(dt.timedelta(seconds=f.mtbf_seconds)) if f.mtbf_seconds is not None else "-"]


@ops_app.command("serve-metrics")
def serve_metrics(port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 9464,
                  addr: Annotated[str, typer.Option("--addr", help="Address to listen on.")] = "127.0.0.1",
                  root: RootOption = None) -> None:
    """Serve the mesh's operating figures as Prometheus metrics on http://ADDR:PORT/metrics
    until interrupted."""
    from governance.ops.metrics import serve_metrics as serve

    mesh = open_mesh(root)
    with user_errors():
        try:
            server, _thread = serve(mesh, port, addr)
        except OSError as exc:
            fail(f"cannot listen on {addr}:{port}: {exc}. Fix: pick a free port with --port")
    console.print(f"serving metrics on http://{addr}:{server.server_port}/metrics (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


def _age(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return f"-{_age(-delta)}"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"
