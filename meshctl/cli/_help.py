"""How ``mesh`` prints its help.

- ``mesh --help`` lists each command with one clean line: click's short help (the first
  sentence of the command's docstring, cut at a word to fit the width), not the docstring's
  first paragraph with the hard line breaks it was written with.
- Help is text, not markup: typer renders it with rich, which would take ``[ops]`` or
  ``[identity]`` (the mesh.toml sections the docstrings name) for style tags and drop them, so
  every help text is escaped before it is printed (:func:`literal_help`).
- A flag shows no type: typer 0.29 labels every ``bool`` option ``<bool>``, which reads as if
  ``--stale true`` were the way to write it.
- The ``--help`` flag of each command is converted without pydantic (:func:`_plain_help_flag`):
  typer 0.29 builds a pydantic ``TypeAdapter`` for every parameter it converts, and converts
  the flag of every group on the way to a command even when it is not given, so ``mesh ops
  --help`` imported pydantic's validators (about a quarter of a second) to convert "not given".
- Help is wrapped at :func:`help_width`: ``TERMINAL_WIDTH``, else ``COLUMNS``, else the
  terminal's width when standard output is one, else 80 (rich would otherwise measure whichever
  of stdin, stdout or stderr is a terminal, so ``mesh ops --help > file`` in a wide terminal
  wrote lines as wide as that terminal).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer.rich_utils
from rich.markup import escape
from typer._coercion import PassThroughRuntimeParam
from typer.core import TyperGroup

#: The columns of the commands panel besides the name and the summary (borders and padding).
_PANEL_COLUMNS = 8
_SHORTEST = 40
#: The width of help that goes to a file or a pipe (and COLUMNS is not set).
DEFAULT_WIDTH = 80
_ESCAPED = "_mesh_help_escaped"


def help_width() -> int:
    """The columns help is wrapped at (module docstring): ``TERMINAL_WIDTH``, ``COLUMNS``, the
    terminal's width if standard output is a terminal, else :data:`DEFAULT_WIDTH`."""
    for name in ("TERMINAL_WIDTH", "COLUMNS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        if sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns or DEFAULT_WIDTH
    except (AttributeError, ValueError, OSError):  # replaced (a test runner's capture) or closed
        pass
    return DEFAULT_WIDTH


def literal_help(command: Any) -> None:
    """Escape the rich markup in the help of ``command`` (a click command), its parameters and,
    for a group, every command under it, so ``[ops]`` prints as written. Done once per command."""
    if getattr(command, _ESCAPED, False):
        return
    for name in ("help", "short_help", "epilog"):
        text = getattr(command, name, None)
        if text:
            setattr(command, name, escape(text))
    # --help is made on first use (and then kept): made here, it is shown like every flag
    help_option = command.get_help_option(command.context_class(command))
    if help_option is not None:
        _plain_help_flag(help_option)
    for param in (*command.params, *([help_option] if help_option is not None else [])):
        if getattr(param, "help", None):
            param.help = escape(param.help)
        if getattr(param, "is_bool_flag", False) and param.metavar is None:
            param.metavar = ""  # typer prints a set metavar instead of the type (module docstring)
    setattr(command, _ESCAPED, True)
    for name in getattr(command, "commands", {}):
        literal_help(command.commands[name])


def _plain_help_flag(option: Any) -> None:
    """Give a help flag typer's pass-through conversion instead of its pydantic one (module
    docstring). Its value is only ever ``True``, which typer does not convert for a ``bool``, or
    ``None`` (not given), which every conversion returns as it is; so no value is converted
    differently. Left as it is if typer's internals differ from 0.29's."""
    descriptor = getattr(option, "type_descriptor", None)
    if descriptor is None or descriptor.annotation is not bool or getattr(option, "_runtime_param", False) is not None:
        return
    option._runtime_param = PassThroughRuntimeParam(parameter_info=descriptor.parameter_info, annotation=bool)


class OneLineSummaries(TyperGroup):
    """A command group whose help lists every command with a one-line summary; a command that
    sets ``short_help`` keeps it. Run as the program (``main``), it prints every help of the
    tree literally and at :func:`help_width`."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        literal_help(self)
        pinned, typer.rich_utils.MAX_WIDTH = typer.rich_utils.MAX_WIDTH, help_width()
        try:
            return super().main(*args, **kwargs)
        finally:
            typer.rich_utils.MAX_WIDTH = pinned

    def format_help(self, ctx: Any, formatter: Any) -> None:  # a click Context and HelpFormatter
        names = self.list_commands(ctx)
        width = typer.rich_utils.MAX_WIDTH or help_width()  # as typer's rich help measures
        limit = max(_SHORTEST, width - max(map(len, names), default=0) - _PANEL_COLUMNS)
        for name in names:
            command = self.get_command(ctx, name)
            if command is not None and not command.short_help:
                command.short_help = command.get_short_help_str(limit)
        super().format_help(ctx, formatter)
