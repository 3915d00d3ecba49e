"""``mesh lineage``: an asset's upstream and downstream across domains, with versions; the
impact of changing it; and the delivery state of OpenLineage events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from meshctl.cli._output import (
    JsonOption,
    RootOption,
    console,
    emit_json,
    fail,
    governed,
    open_mesh,
    require_asset,
    user_errors,
)

if TYPE_CHECKING:
    from assets.mesh import Mesh
    from governance.lineage import LineageNode


def lineage(
    asset: Annotated[str | None, typer.Argument(help="Asset key, e.g. finance.revenue.")] = None,
    impact: Annotated[bool, typer.Option("--impact", help="List the assets, domains and owners a change "
                                                         "to ASSET reaches.")] = False,
    flush: Annotated[bool, typer.Option("--flush", help="Re-send OpenLineage events a backend missed.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show OpenLineage delivery: pending events, "
                                                         "last error.")] = False,
    partition: Annotated[str | None, typer.Option(help="A partitioned asset: the partition whose versions to show "
                                                       "(default: its newest).")] = None,
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lineage of ASSET across domains with versions, or its impact; or the event outbox. A
    partitioned asset shows the versions of a partition (--partition, or its newest), of the
    partitions it reads and of those it feeds; the partition column names them."""
    from governance.lineage import impact_of, lineage_of

    mesh = open_mesh(root)
    if flush or status:
        outbox = governed(mesh).lineage.outbox
        if flush:
            delivery = outbox.flush()
            if not as_json:
                console.print(delivery.describe(), highlight=False, markup=False)
        state = outbox.status()
        if as_json:
            emit_json(state.to_dict())
        elif status:
            console.print(f"{state.sent} event(s) sent, {state.pending} pending"
                          + (f" since {state.oldest_pending}; last error: {state.last_error}" if state.pending else ""),
                          highlight=False, markup=False)
        if state.pending:
            raise typer.Exit(1)
        return
    if asset is None:
        fail("name an asset (mesh lineage finance.revenue), or pass --status or --flush")
    require_asset(mesh.graph, asset)
    if impact:
        reached = impact_of(mesh, asset)
        if as_json:
            emit_json(reached.to_dict())
            return
        console.print(f"a change to [bold]{asset}[/] reaches {len(reached.assets)} asset(s) in "
                      f"{len(reached.domains)} domain(s)")
        table = Table()
        for col in ("domain", "assets", "owners to tell"):
            table.add_column(col)
        for domain in reached.domains:
            table.add_row(domain, ", ".join(k for k in reached.assets if k.startswith(domain + ".")),
                          ", ".join(reached.owners.get(domain, ())))
        console.print(table)
        if reached.grantees:
            console.print(f"domains granted access to it or to what it feeds: {', '.join(reached.grantees)}")
        return
    with user_errors():
        view = lineage_of(mesh, asset, partition)
    if as_json:
        emit_json(view.to_dict())
        return
    of = f" partition {view.partition}" if view.partition else ""
    current = view.current or ("no partition published" if _partitioned(mesh, asset) and not view.partition
                               else "none")
    table = Table(title=f"lineage of {asset}{of} (current version {current})")
    for col in ("direction", "depth", "asset", "via", "partition", "current version", "version read", "note"):
        table.add_column(col)
    for direction, nodes in (("upstream", view.upstream), ("downstream", view.downstream)):
        for n in nodes:
            note = ("input moved on since" if direction == "upstream" else "reads an older version") if n.stale else ""
            table.add_row(direction, str(n.depth), n.key, n.via, n.partition or "-", n.current or "-", _read(n), note)
    console.print(table)


def _partitioned(mesh: Mesh, key: str) -> bool:
    return mesh.graph[key].spec.partitions is not None


def _read(node: LineageNode) -> str:
    """The version read; of several partitions, the newest one's, naming how many were read."""
    if node.read is None:
        return "-"
    parts = node.read_partitions
    if len(parts) > 1:
        return f"{node.read} (of {parts[-1]}; {len(parts)} partitions read, {parts[0]} to {parts[-1]})"
    return f"{node.read} (of {parts[0]})" if parts else node.read
