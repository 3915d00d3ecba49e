"""The command line starts without the engine: `mesh --help`, a mistyped command or argument,
answers before polars, pandera, SQLAlchemy, the lineage client or the Airflow client are
imported. Each command imports what it uses when it runs; every command of the CLI's tree is
still reachable (the other tests of tests/cli run them)."""

from __future__ import annotations

import json
import subprocess
import sys

from assets import Mesh
from assets.results import RunResult

#: What a command on data needs, and the CLI's start must not import.
HEAVY = ("polars", "pandera", "sqlalchemy", "openlineage", "httpx", "numpy", "pyarrow", "fastapi", "cryptography")


def _imported_after(code: str) -> list[str]:
    """The packages of :data:`HEAVY` that a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_cli_imports_no_engine() -> None:
    assert _imported_after("import meshctl.cli") == []


def test_every_help_is_built_without_the_engine() -> None:
    """The whole click tree (every group's and command's help, as `--help` prints it) is built
    from the command modules alone."""
    code = ("import typer.main, click\nfrom meshctl.cli import app\n"
            "root = typer.main.get_command(app)\n"
            "def walk(cmd, ctx):\n"
            "    cmd.get_help(ctx)\n"
            "    for name in getattr(cmd, 'list_commands', lambda c: [])(ctx):\n"
            "        sub = cmd.get_command(ctx, name)\n"
            "        walk(sub, click.Context(sub, info_name=name, parent=ctx))\n"
            "walk(root, click.Context(root, info_name='mesh'))")
    assert _imported_after(code) == []


def test_a_groups_help_and_a_mistyped_command_run_without_the_engine() -> None:
    """Through the console script's entry point, with the callback every command runs first."""
    for argv in (["mesh", "ops", "--help"], ["mesh", "materialise"], ["mesh", "read", "--limit", "x"]):
        code = ("from meshctl.cli import main\n"
                f"sys.argv = {argv!r}\n"
                "try:\n    main()\nexcept SystemExit:\n    pass")
        assert _imported_after(code) == [], argv


def test_commands_that_emit_no_lineage_do_not_import_the_lineage_client(
        materialized_example: tuple[Mesh, RunResult]) -> None:
    """Loading a mesh builds its lineage emitter, but the OpenLineage client (about 0.4 s of
    imports) is imported only when an event is built or sent: listing, reading and verifying
    the audit log build none."""
    root = materialized_example[0].root
    for argv in (["list"], ["read", "sales.orders", "--as", "sales-data@acme.example"], ["audit", "verify"],
                 ["ops", "status"]):
        code = ("from meshctl.cli import main\n"
                f"sys.argv = ['mesh', *{argv!r}, '--root', {str(root)!r}]\n"
                "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code")
        assert "openlineage" not in _imported_after(code), argv
