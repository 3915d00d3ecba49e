"""How ``mesh`` prints its help.

- ``mesh --help`` lists each command with one clean line: click's short help (the first
  sentence of the command's docstring, cut at a word to fit the width), not the docstring's
  first paragraph with the hard line breaks it was written with.
- Help is text, not markup: typer renders it with rich, which would take ``[ops]`` or
  ``[identity]`` (the mesh.toml sections the docstrings name) for style tags and drop them, so
  every help text is escaped before it is printed (:func:`literal_help`).
"""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

#: The columns of the commands panel besides the name and the summary (borders and padding).
_PANEL_COLUMNS = 8
_SHORTEST = 40
_ESCAPED = "_mesh_help_escaped"


def literal_help(command: Any) -> None:
    """Escape the rich markup in the help of ``command`` (a click command), its parameters and,
    for a group, every command under it, so ``[ops]`` prints as written. Done once per command."""
    if getattr(command, _ESCAPED, False):
        return
    for name in ("help", "short_help", "epilog"):
        text = getattr(command, name, None)
        if text:
            setattr(command, name, escape(text))
    for param in command.params:
        if getattr(param, "help", None):
            param.help = escape(param.help)
    setattr(command, _ESCAPED, True)
    for name in getattr(command, "commands", {}):
        literal_help(command.commands[name])


class OneLineSummaries(TyperGroup):
    """A command group whose help lists every command with a one-line summary; a command that
    sets ``short_help`` keeps it. Run as the program (``main``), it prints every help of the
    tree literally."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        literal_help(self)
        return super().main(*args, **kwargs)

    def format_help(self, ctx: Any, formatter: Any) -> None:  # a click Context and HelpFormatter
        names = self.list_commands(ctx)
        width = int(os.environ.get("TERMINAL_WIDTH") or Console().width)  # as typer's rich help measures
        limit = max(_SHORTEST, width - max(map(len, names), default=0) - _PANEL_COLUMNS)
        for name in names:
            command = self.get_command(ctx, name)
            if command is not None and not command.short_help:
                command.short_help = command.get_short_help_str(limit)
        super().format_help(ctx, formatter)
