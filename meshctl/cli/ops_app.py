"""``mesh ops``: the operations commands. Each command module registers on :data:`ops_app`."""

from __future__ import annotations

import typer

from meshctl.cli._help import OneLineSummaries

ops_app = typer.Typer(cls=OneLineSummaries, help="Operations: freshness and SLAs, alerts and incidents, self-healing.",
                      no_args_is_help=True)
