"""An error of several problems prints one line each, then its fix; one problem stays one line.

A fresh clone whose grants are not yet approved refuses two inputs at once: they were one run-on
line, which hid where one problem ended and the next began."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from assets.errors import MeshError
from meshctl.cli import app
from meshctl.cli._output import fail_with
from tests.conftest import copy_example_mesh


def _without_grants(root: Path) -> None:
    text = (root / "mesh.toml").read_text()
    (root / "mesh.toml").write_text(re.sub(r"\[\[grants\]\]\n(?:(?!\n\n).)*\n\n", "", text, flags=re.S))


def test_every_refused_input_is_a_line_of_its_own_and_the_fix_comes_last(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    _without_grants(root)
    done = CliRunner().invoke(app, ["materialize", "*", "--root", str(root)], env={"COLUMNS": "100"})
    assert done.exit_code == 1, done.output
    lines = done.output.strip().splitlines()
    assert lines[0] == "error: asset inputs: 2 problems:", done.output
    assert lines[1].startswith("  - 'sales.customer_orders'") and "'customers.customers'" in lines[1]
    assert lines[2].startswith("  - 'marketing.audience'") and "'sales.customer_orders'" in lines[2]
    assert lines[3] == "Fix: make the input public, get an approved grant in mesh.toml, or remove the input"
    assert len(lines) == 4 and "Traceback" not in done.output


def test_one_problem_is_one_line_with_its_fix() -> None:
    error = MeshError.listing(["'a.b' may not read 'c.d'"], where="asset inputs", fix="ask for a grant")
    assert str(error) == "asset inputs: 'a.b' may not read 'c.d'. Fix: ask for a grant"
    assert error.problems == ()


def _failing(error: MeshError) -> typer.Typer:
    command = typer.Typer()

    @command.command()
    def go() -> None:
        fail_with(error)

    return command


def test_a_newline_in_a_problem_cannot_forge_a_line() -> None:
    error = MeshError.listing(["'x\nerror: forged' is wrong", "'y' is wrong"], where="here", fix="mend x\nand y")
    done = CliRunner().invoke(_failing(error), [])
    assert done.exit_code == 1
    assert done.output.splitlines() == ["error: here: 2 problems:", "  - 'x\\nerror: forged' is wrong",
                                        "  - 'y' is wrong", "Fix: mend x\\nand y"]


def test_mesh_check_reports_each_refused_input_as_a_problem_with_its_fix(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    _without_grants(root)
    done = CliRunner().invoke(app, ["check", "--root", str(root)], env={"COLUMNS": "100"})
    assert done.exit_code == 1, done.output
    problems = [line for line in done.output.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 2, done.output
    for problem, (reader, read) in zip(problems, [("sales.customer_orders", "customers.customers"),
                                                   ("marketing.audience", "sales.customer_orders")], strict=True):
        assert problem.startswith(f"problem: asset inputs: '{reader}'") and f"may not read '{read}'" in problem
        assert problem.endswith("Fix: make the input public, get an approved grant in mesh.toml, or remove the input")
