"""``mesh ops``: the operations commands. Each command module registers on :data:`ops_app`."""

from __future__ import annotations

import typer

ops_app = typer.Typer(help="Operations: freshness and SLAs, alerts and incidents, self-healing.",
                      no_args_is_help=True)
