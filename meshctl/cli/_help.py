"""``mesh --help`` lists each command with one clean line: click's short help (the first
sentence of the command's docstring, cut at a word to fit the terminal), not the docstring's
first paragraph with the hard line breaks it was written with."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from typer.core import TyperGroup

#: The columns of the commands panel besides the name and the summary (borders and padding).
_PANEL_COLUMNS = 8
_SHORTEST = 40


class OneLineSummaries(TyperGroup):
    """A command group whose help lists every command with a one-line summary; a command that
    sets ``short_help`` keeps it."""

    def format_help(self, ctx: Any, formatter: Any) -> None:  # a click Context and HelpFormatter
        names = self.list_commands(ctx)
        width = int(os.environ.get("TERMINAL_WIDTH") or Console().width)  # as typer's rich help measures
        limit = max(_SHORTEST, width - max(map(len, names), default=0) - _PANEL_COLUMNS)
        for name in names:
            command = self.get_command(ctx, name)
            if command is not None and not command.short_help:
                command.short_help = command.get_short_help_str(limit)
        super().format_help(ctx, formatter)
