"""How commands print: rich tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from assets.check_failure import cut
from assets.errors import MeshError, did_you_mean, printable

if TYPE_CHECKING:
    from assets.mesh import Mesh
    from governance.identity import Actor
    from governance.services import GovernedServices

#: Off a terminal (logs, CI, `make demo | tee`) rich would wrap at 80 columns; tables need more.
OFF_TERMINAL_WIDTH = 160
# Lines are not wrapped (tables still fit the width): a command the output tells the user to run
# must copy and paste as one line, also from a pipe or a log.
console = Console(width=OFF_TERMINAL_WIDTH, soft_wrap=True)
errors = Console(stderr=True, width=OFF_TERMINAL_WIDTH, soft_wrap=True)


def size_output() -> None:
    """Size the output for the command about to run (each command sizes it anew, so a process
    running several, as tests do, never keeps another's): on a terminal, its width (or ``COLUMNS``);
    to a file or a pipe, :data:`OFF_TERMINAL_WIDTH`, or ``COLUMNS`` when wider (`COLUMNS=400 mesh
    list | grep ...`). A narrower ``COLUMNS`` off a terminal (pytest-xdist's workers set 80) is
    not followed: it would only wrap what a script reads."""
    columns = os.environ.get("COLUMNS", "")
    wider = max(OFF_TERMINAL_WIDTH, int(columns)) if columns.isdigit() and len(columns) < 6 else OFF_TERMINAL_WIDTH
    for out, stream in ((console, sys.stdout), (errors, sys.stderr)):
        out._width = None if stream.isatty() else wider  # None: rich measures the terminal when it prints

#: The most rows a --scale may ask of the example data: a bound, so that a typo cannot exhaust the memory.
MAX_SCALE = 20_000_000
#: The most rows or records a --limit may ask for: past it a count overflows Polars' and SQLite's integers.
MAX_LIMIT = 10_000_000
#: The largest number SQLite stores (an incident's or audit record's number is one).
MAX_ID = 2**63 - 1
#: The most versions a recovery drill's --lag publishes: each is a real publish, so a typo must not run for days.
MAX_LAG = 1_000

#: The options every command shares.
RootOption = Annotated[Path | None, typer.Option(
    "--root", envvar="MESH_ROOT", help="Folder holding mesh.toml (default: the working folder or a parent).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ActorOption = Annotated[str | None, typer.Option(
    "--as", envvar="MESH_USER",
    help="Which of your identities acts (e-mail). It only selects: your private key proves it "
         "(mesh identity create), or with [identity] provider = \"oidc\" the token in MESH_TOKEN.")]

STATUS_STYLE = {"materialized": "green", "gate_failed": "bold red", "error": "red", "skipped": "yellow", "unchanged": "cyan"}


#: The loggers of the mesh's own packages and of its domains' code, whose warnings a command
#: shows as it shows its own messages.
MESH_LOGGERS = ("assets", "governance", "meshctl", "webapp", "domains")


class _CommandLog(logging.Handler):
    """The mesh's own log warnings and errors, printed as every command prints its messages:
    ``warning: ...`` (``error: ...``) on stderr, one line, each text once per command. Silent
    when the process configured logging itself (a handler on the root logger, as Airflow or
    pytest adds), which then shows them; without this handler Python's last-resort handler
    printed the bare message, a line with no prefix among the command's own."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        try:
            text = record.getMessage()
        except Exception:  # arguments that do not fit the message: show the message, never a traceback
            text = str(record.msg)
        if text in self.seen:
            return
        self.seen.add(text)
        label = "[bold red]error:[/]" if record.levelno >= logging.ERROR else "[yellow]warning:[/]"
        errors.print(f"{label} {plain(text)}", highlight=False, soft_wrap=True)


_COMMAND_LOG = _CommandLog()


def route_logs() -> None:
    """Show the mesh's log warnings through the command's output (:class:`_CommandLog`), each
    once for the command about to run."""
    _COMMAND_LOG.seen.clear()
    for name in MESH_LOGGERS:
        logger = logging.getLogger(name)
        if _COMMAND_LOG not in logger.handlers:
            logger.addHandler(_COMMAND_LOG)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def plain(text: object) -> str:
    """Text from a user, a file or an asset, ready for rich markup: one line, no terminal escapes,
    its square brackets not read as markup."""
    return escape(printable(text))


def print_error(message: str) -> None:
    """Print ``message`` as one error line on stderr.

    The message is user text (TOML key paths like ``[domains.sales]``), never rich markup, and may
    name a file whose name holds a newline: it is shown as ``\\n``, so the error stays one line."""
    errors.print(f"[bold red]error:[/] {plain(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as one error line on stderr and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def require_at_least(option: str, value: int | None, minimum: int) -> None:
    """Exit with a one-line error unless ``value`` (of ``option``) is unset or at least ``minimum``."""
    if value is not None and value < minimum:
        fail(f"{option} {value} is below {minimum}. Fix: pass {option} {minimum} or more")


def parse_date(option: str, text: str) -> dt.date:
    """``text`` as an ISO date, or exit with a one-line error naming ``option``."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        fail(f"{option} {text!r} is not a date ({exc}). Fix: write it as YYYY-MM-DD, e.g. 2027-06-30")


#: The most of an unknown asset key an error shows.
_MAX_KEY_SHOWN = 120


def require_asset(keys: Iterable[str], key: str) -> None:
    """Exit with a one-line error and a "did you mean" unless ``key`` is one of ``keys``."""
    keys = list(keys)
    if key not in keys:  # a hostile key can be as long as the command line: the line shows its start
        near = did_you_mean(key, keys) if len(key) <= _MAX_KEY_SHOWN else ""
        fail(f"no asset '{cut(key, _MAX_KEY_SHOWN)}'. {near} Run `mesh list` to see the keys.")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`MeshError` into one line on stderr and exit code 1; no traceback."""
    try:
        yield
    except MeshError as exc:
        fail_with(exc)


def fail_with(error: MeshError) -> NoReturn:
    """Print ``error`` on stderr and exit 1: one line, or, for an error of several problems, a line
    each and the fix last (a list run together on one line is unreadable). Every line is printed
    plain, so a name holding a newline cannot forge a line of its own."""
    if not error.problems:
        fail(str(error))
    print_error(f"{error.where}: {error.heading}" if error.where else error.heading)
    for problem in error.problems:
        errors.print(f"  - {plain(problem)}", highlight=False, soft_wrap=True)
    if error.fix:
        errors.print(f"Fix: {plain(error.fix)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def governed(mesh: Mesh) -> GovernedServices:
    """:func:`governance.services.governed`, imported when a command first needs it: the CLI's
    modules import neither the engine nor the governance layer, so that `mesh --help` and a
    mistyped argument answer in a fraction of the time a command on data takes."""
    from governance.services import governed as services

    return services(mesh)


#: Meshes the running command opened; their audit logs are sealed when it ends.
_opened: list[Mesh] = []


def seal_opened() -> None:
    """Sign a tree head of each audit log the command appended to (a no-op for the others)."""
    while _opened:
        governed(_opened.pop()).audit.seal()


def _opening(mesh: Mesh) -> Mesh:
    _opened.append(mesh)
    return mesh


def open_mesh(root: Path | None) -> Mesh:
    """The mesh with every domain's code, for a command: a user mistake becomes one line on
    stderr and exit 1."""
    from governance.wiring import load_mesh

    with user_errors():
        return _opening(load_mesh(root))


def act_as(mesh: Mesh, claimed: str | None, action: str) -> Actor:
    """Authenticate who runs the command; a failed proof is audited and ends the command."""
    from governance.access import authenticate

    with user_errors():
        return authenticate(mesh.policy, governed(mesh).audit, claimed, action=action)


def open_policy_mesh(root: Path | None, *, seal: bool = True, council: bool = True, approving: bool = False) -> Mesh:
    """The mesh without any domain's code, for operational commands (audit, keys, DR, access):
    a domain whose module is broken does not block them. ``seal=False`` for a command that must
    not sign the audit log's head when it ends (verification: signing would endorse what it found).
    ``council=False`` loads mesh.toml as written (but with the approved ``[state]`` when the
    approvals verify), for a command that decides nothing about who may act and must work while
    the council's approvals are in question (audit verification). ``approving``: the council's
    own commands, not stopped by a ``[state]`` the council has yet to approve."""
    from governance.wiring import load_mesh

    with user_errors():
        mesh = load_mesh(root, domains=(), council=council, approving=approving)
    return _opening(mesh) if seal else mesh


@contextmanager
def progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr; yields ``advance(description)``."""
    if not enabled:
        yield lambda _description: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=errors, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda description: bar.update(task, advance=1, description=description)
