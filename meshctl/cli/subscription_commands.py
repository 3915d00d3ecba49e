"""``mesh subscribe | unsubscribe | subscribers``: consumers told of an asset's new versions,
breaking contract changes and deprecation (:mod:`governance.subscriptions`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    RootOption,
    act_as,
    console,
    emit_json,
    open_mesh,
    plain,
    require_asset,
    user_errors,
)

AssetArgument = Annotated[str, typer.Argument(help="Asset key, e.g. sales.orders.")]


def subscribe(
    asset: AssetArgument,
    notify: Annotated[str, typer.Option("--notify", help="A notifier, or a route, of [alerts] in mesh.toml.")],
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Be told of each new version of an asset, of a breaking contract change before it is
    published, and of its deprecation. Needs read access to the asset; audited."""
    from governance.subscriptions import subscribe as add
    from governance.subscriptions import subscribers

    mesh = open_mesh(root)
    require_asset(mesh.graph, asset)
    actor = act_as(mesh, user, "subscribe")
    with user_errors():
        before = next((s for s in subscribers(mesh, asset) if s.consumer == actor.id), None)
        add(mesh, asset, actor=actor, route=notify)
    was = "" if before is None else (" (already subscribed: nothing changed)" if before.route == notify
                                     else f" (already subscribed through {before.route}: replaced)")
    console.print(f"{plain(actor.id)} subscribed to {plain(asset)} (notified through {plain(notify)})" + plain(was),
                  highlight=False)


def unsubscribe(asset: AssetArgument, root: RootOption = None, user: ActorOption = None) -> None:
    """Stop being told about an asset. Audited."""
    from governance.subscriptions import unsubscribe as remove

    mesh = open_mesh(root)
    require_asset(mesh.graph, asset)
    actor = act_as(mesh, user, "unsubscribe")
    with user_errors():
        remove(mesh, asset, actor=actor)
    console.print(f"{plain(actor.id)} unsubscribed from {plain(asset)}", highlight=False)


def subscribers(asset: AssetArgument, root: RootOption = None, as_json: JsonOption = False) -> None:
    """Who is subscribed to an asset, and through which notifier or route."""
    from governance.subscriptions import subscribers as listed

    mesh = open_mesh(root)
    require_asset(mesh.graph, asset)
    with user_errors():
        found = listed(mesh, asset)
    if as_json:
        emit_json([{"asset": s.asset, "consumer": s.consumer, "notify": s.route, "since": s.created_at}
                   for s in found])
        return
    if not found:
        console.print(f"nobody is subscribed to {plain(asset)}", highlight=False)
        return
    table = Table("consumer", "notify", "since")
    for s in found:
        table.add_row(plain(s.consumer), plain(s.route), s.created_at)
    console.print(table)
