"""Every command's ``--help`` prints its text as written and at a sane width: rich took the
mesh.toml sections the docstrings name (``[ops]``, ``[identity]``) for markup and dropped them,
and help piped to a file was wrapped at the width of whichever terminal stdin or stderr was."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from meshctl.cli import app

#: What rich would take for a style tag: ``[ops]``, ``[domains.sales]``, ``[identity] provider``.
_TAG = re.compile(r"\[[a-zA-Z#/@][^\[\]]*?\]")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name in getattr(command, "commands", {}):
        yield from _commands(command.commands[name], (*path, name))


def _sections(command: Any) -> list[str]:
    texts = [command.help or "", *(getattr(param, "help", None) or "" for param in command.params)]
    return sorted({tag for text in texts for tag in _TAG.findall(text)})


COMMANDS = [pytest.param(path, _sections(command), id=" ".join(path) or "mesh")
            for path, command in _commands(typer.main.get_command(app))]


def test_the_docstrings_name_sections() -> None:
    """The table below is not empty: the commands this guards against exist."""
    named = {tag for param in COMMANDS for tag in param.values[1]}  # type: ignore[attr-defined]
    assert {"[ops]", "[identity]", "[state]", "[alerts]"} <= named, named


@pytest.mark.parametrize(("path", "sections"), COMMANDS)
def test_help_prints_every_section_its_docstring_names(path: tuple[str, ...], sections: list[str]) -> None:
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": ""})
    assert done.exit_code == 0, done.output
    missing = [tag for tag in sections if tag not in done.output]
    assert not missing, f"mesh {' '.join(path)} --help dropped {missing}:\n{done.output}"
    assert "\\[" not in done.output  # the escape itself is never shown


@pytest.mark.parametrize(("path", "sections"), COMMANDS)
def test_a_flag_shows_no_type_to_write_after_it(path: tuple[str, ...], sections: list[str]) -> None:
    """typer 0.29 labels a flag ``<bool>``, which reads as if ``--stale true`` were how to write it."""
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": ""})
    assert done.exit_code == 0, done.output
    assert "<bool>" not in done.output, done.output


def _piped_help(*, columns: str | None, terminal: int = 160) -> list[str]:
    """``mesh ops report --help`` with stdout a pipe while stdin and stderr are a terminal
    ``terminal`` columns wide (a person running ``mesh ... --help > file``)."""
    controller, terminal_fd = pty.openpty()
    fcntl.ioctl(terminal_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, terminal, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    try:
        done = subprocess.run([sys.executable, "-c", "from meshctl.cli.app import main; main()", "ops", "report",
                               "--help"], stdin=terminal_fd, stdout=subprocess.PIPE, stderr=terminal_fd,
                              env=env, timeout=120, check=False)
    finally:
        os.close(terminal_fd)
        os.close(controller)
    assert done.returncode == 0
    return done.stdout.decode().splitlines()


@pytest.mark.parametrize(("columns", "width"), [pytest.param(None, 80, id="not a terminal: 80"),
                                                pytest.param("100", 100, id="COLUMNS set: 100")])
def test_help_to_a_pipe_is_wrapped_at_80_or_columns(columns: str | None, width: int) -> None:
    lines = _piped_help(columns=columns)
    assert max(map(len, lines)) == width, "\n".join(lines)


@pytest.mark.parametrize("argv", [["--help"], ["ops", "--help"], ["dr", "--help"], ["ops", "status", "--help"]])
def test_help_of_a_group_or_command_does_not_load_pydantic(argv: list[str]) -> None:
    """typer converts the help flag of every group on the way to a command, given or not,
    through a pydantic TypeAdapter: a quarter of a second of imports for "not given". The help
    flags convert without it (``meshctl.cli._help``), and the help is still printed."""
    code = ("import sys\nfrom meshctl.cli.app import main\nsys.argv = ['mesh', *sys.argv[1:]]\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nprint('pydantic loaded:', 'pydantic' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                          check=False)
    assert "Usage: mesh" in done.stdout, done.stdout + done.stderr
    assert "pydantic loaded: False" in done.stderr, done.stderr
