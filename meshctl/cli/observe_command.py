"""``mesh observe``: observe the observed sources of a selection in-process, and run what their news feeds."""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli._output import (
    JsonOption,
    RootOption,
    console,
    emit_json,
    open_mesh,
    progress,
    user_errors,
)
from meshctl.cli.run_table import print_run


def observe(
    selection: Annotated[str, typer.Argument(help="Selection; its observed sources are observed ('*': all).")] = "*",
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read each observed source's newest arrived file, gate it with its contract and publish it
    (nothing when nothing new arrived), then run the assets downstream of each new version.
    Audited as each asset's run is, under the domain's service identity."""
    from assets.observe import observe as observe_sources
    from assets.observe import sources_of

    mesh = open_mesh(root)
    with user_errors():
        sources = sources_of(mesh, selection)
        with progress(len(sources), "observing", enabled=not as_json) as advance:
            result = observe_sources(selection, mesh=mesh, on_result=lambda r: advance(f"{r.key}: {r.status}"))
    if as_json:
        emit_json(result.to_dict())
    else:
        print_run(result)
        published = [k for k in sources if result[k].published]
        console.print(f"{len(published)} of {len(sources)} source(s) published a new version"
                      + (f": {', '.join(published)}" if published else ""), highlight=False)
    if not result.ok:
        raise typer.Exit(1)
