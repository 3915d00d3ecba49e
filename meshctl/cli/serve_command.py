"""``mesh serve``: the web app (dashboard, asset pages, read API) without Airflow."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from assets.errors import MeshError
from meshctl.cli._output import RootOption, console, open_mesh, user_errors

DEFAULT_PORT = 8765
LOOPBACK = "127.0.0.1"


def print_dashboard_url(airflow_url: str | None = None) -> None:
    """Where to see the dashboard: in the running Airflow, else by `mesh serve`."""
    if airflow_url is not None:
        console.print(f"Dashboard: [bold]{airflow_url}/mesh/[/] (\"Data mesh\" in the Airflow UI's navigation)")
    console.print(f"Dashboard: [bold]uv run mesh serve[/], then [bold]http://{LOOPBACK}:{DEFAULT_PORT}/[/] "
                  "(executive dashboard, asset pages, data product read API)")


def serve(
    root: RootOption = None,
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback by default (the dashboard has no "
                                      "login; data reads are signed).")] = LOOPBACK,
    screenshot: Annotated[Path | None, typer.Option(
        "--screenshot", help="Instead of serving: load the dashboard in headless chromium, save a PNG here, exit.")] = None,
    public_host: Annotated[list[str] | None, typer.Option(
        "--public-host", help="A NAME:PORT clients reach this server as (behind a proxy, its name), repeatable; "
                              "signed requests for any other host are refused. Default: --host and --port "
                              "(and localhost on loopback).")] = None,
) -> None:
    """Serve the mesh's web app: the executive dashboard, asset pages and the data product read API."""
    import uvicorn

    from webapp import create_app

    with user_errors():
        mesh = open_mesh(root)
    app = create_app(mesh.root, hosts=public_host or served_hosts(host, port))
    if screenshot is not None:
        from webapp.browser import serving, take_screenshot

        with serving(app) as url, user_errors():
            take_screenshot(url, screenshot)
        console.print(f"screenshot of the dashboard: {screenshot}")
        return
    with user_errors():
        _require_free(host, port)
    console.print(f"Mesh dashboard: [bold]http://{host}:{port}/[/] (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def served_hosts(host: str, port: int) -> list[str]:
    """The hosts a server listening on ``host``:``port`` is reached as, without a proxy."""
    names = {host, "localhost", LOOPBACK, "[::1]"} if host in (LOOPBACK, "localhost", "::1") else {host}
    return sorted(f"[{name}]:{port}" if ":" in name and not name.startswith("[") else f"{name}:{port}" for name in names)


def _require_free(host: str, port: int) -> None:
    """Refuse, before printing an address, one that cannot be listened on (taken, or not this host's)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except (OSError, OverflowError) as exc:
            raise MeshError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}",
                            where="mesh serve", fix="pass --port with a free port (or stop what listens there), "
                                                    "and --host with an address of this machine") from None
