"""Every argument a person can mistype ends in one error line with the fix and a non-zero exit,
never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import Mesh
from assets.results import RunResult
from meshctl.cli import app
from meshctl.cli._output import MAX_LAG

runner = CliRunner()
READER = ("--as", "analyst@acme.example")


def refused(root: Path, *args: str) -> str:
    """Run ``mesh ARGS --root ROOT``; assert it failed cleanly and return its error output."""
    result = runner.invoke(app, [*args, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    error = result.stderr.strip()
    assert error.startswith("error:") and "Fix:" in error, error
    return error


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(("read", "finance.monthly_revenue", "--limit", "-1", *READER), "--limit -1", id="read-negative-limit"),
    pytest.param(("read", "finance.monthly_revenue", "--out", "/missing/x.csv", *READER), "/missing",
                 id="read-out-in-a-missing-folder"),
    pytest.param(("read", "finance.monthly_revenue", "--version", "", *READER), "is not a version id",
                 id="read-empty-version-is-no-current"),  # it read the current version instead
])
def test_read_arguments_are_checked(materialized_example: tuple[Mesh, RunResult], args: tuple[str, ...],
                                    message: str) -> None:
    assert message in refused(materialized_example[0].root, *args)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(("materialize", "sales.orders", "--workers", "-1"), "--workers -1", id="materialize-negative-workers"),
    pytest.param(("materialize", "sales.orders", "--workers", "0"), "--workers 0", id="materialize-no-workers"),
    pytest.param(("access", "request", "customers.customers", "--consumer", "sales", "--purpose", "x",
                  "--expires", "2030-13-45", "--as", "sales-data@acme.example"), "2030-13-45",
                 id="access-request-impossible-date"),
    pytest.param(("list", "(" * 1000), "nested", id="selection-of-1000-open-parentheses"),
    pytest.param(("list", "not " * 1000 + "sales.orders"), "nested", id="selection-of-1000-nots"),
    pytest.param(("domain", "create", "d" * 300, "--owner", "d@acme.example", "--as", "council@acme.example"),
                 "characters", id="domain-name-of-300-characters"),
    pytest.param(("domain", "create", "class", "--owner", "d@acme.example", "--as", "council@acme.example"),
                 "is a Python keyword", id="domain-named-by-a-python-keyword"),
])
def test_mistyped_arguments_are_one_line_errors(example_root: Path, args: tuple[str, ...], message: str) -> None:
    assert message in refused(example_root, *args)



@pytest.mark.parametrize("args", [("--scale", "-5"), ("--scale", "100000000"), ("--seed", "-1")])
def test_a_scale_or_seed_out_of_range_is_refused_before_any_data_is_made(example_root: Path,
                                                                         args: tuple[str, str]) -> None:
    result = runner.invoke(app, ["materialize", "sales.orders", *args, "--root", str(example_root)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"Invalid value for '{args[0]}'" in result.stderr, result.stderr


def test_a_domain_name_with_a_trailing_newline_writes_nothing(example_root: Path) -> None:
    """``$`` in a pattern matches before a final newline: a pasted name 'evil\\n' once passed, wrote
    domains/'evil\\n'/, a DAG file and a mesh.toml table, and every later command stopped at it."""
    before = (example_root / "mesh.toml").read_text()
    error = refused(example_root, "domain", "create", "evil\n", "--owner", "sales-data@acme.example",
                    "--as", "council@acme.example")
    assert "is not a valid name" in error
    assert (example_root / "mesh.toml").read_text() == before
    assert not any(path.name.startswith("evil") for path in (example_root / "domains").iterdir())


@pytest.mark.parametrize("key", [
    pytest.param("2026-11-27\n", id="trailing-newline"),
    pytest.param("\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0667", id="arabic-indic-digits"),
])
def test_a_partition_key_is_plain_ascii_digits_to_the_end(example_root: Path, key: str) -> None:
    """Such a key once passed the check and reached the asset's code (three attempts, each a ValueError)."""
    assert "is not a daily partition key" in refused(example_root, "materialize", "sales.daily_orders",
                                                     "--partition", key)


HUGE = "9" * 24


@pytest.mark.parametrize("args", [
    pytest.param(("read", "sales.orders", "--limit", HUGE, "--as", "sales-data@acme.example"), id="read-limit"),
    pytest.param(("history", "sales.orders", "--limit", HUGE), id="history-limit"),
    pytest.param(("history", "sales.orders", "--limit", "-3"), id="history-negative-limit"),
    pytest.param(("audit", "query", "--limit", HUGE, "--as", "council@acme.example"), id="audit-query-limit"),
    pytest.param(("ops", "ack", HUGE, "--as", "council@acme.example"), id="ops-ack-number"),
    pytest.param(("ops", "close", HUGE, "--reason", "x", "--as", "council@acme.example"), id="ops-close-number"),
    pytest.param(("dr", "drill", "--lag", "-1"), id="dr-drill-negative-lag"),
    pytest.param(("dr", "drill", "--lag", str(MAX_LAG + 1)), id="dr-drill-lag-past-the-bound"),
])
def test_a_count_out_of_range_is_refused(example_root: Path, args: tuple[str, ...]) -> None:
    """A number past Polars' or SQLite's integers once overflowed in a traceback; a huge --lag
    published version after version for hours; a negative one was taken as none."""
    result = runner.invoke(app, [*args, "--root", str(example_root)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "Invalid value for" in result.stderr, result.stderr


def test_a_backup_folder_that_cannot_be_made_is_named(example_root: Path) -> None:
    """/proc takes no new folder: the mkdir's OSError was a traceback."""
    assert "/proc/mesh-backup" in refused(example_root, "dr", "backup", "--to", "/proc/mesh-backup",
                                          "--as", "platform@acme.example")


def test_a_terminal_escape_in_an_argument_is_shown_not_played(example_root: Path) -> None:
    result = runner.invoke(app, ["read", "sales.\x1b[2Jorders", "--as", "sales-data@acme.example",
                                 "--root", str(example_root)])
    assert result.exit_code == 1 and "sales.\\x1b[2Jorders" in result.stderr and "\x1b" not in result.stderr


def test_several_problems_in_mesh_toml_are_one_line_each(example_root: Path) -> None:
    """A command on a mesh.toml with two mistakes names both, each on a line of its own (not one
    line with a literal backslash-n between them), each with its fix."""
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace("sla_target = 99.5", "sla_target = 995", 1)
                                            + "\n[opps]\nx = 1\n")
    result = runner.invoke(app, ["list", "--root", str(example_root)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {example_root / 'mesh.toml'}: 2 problem(s) in mesh.toml:", lines
    assert "\\n" not in result.stderr
    assert any(line.startswith("  - mesh.toml [opps]: unknown key 'opps'") and "Did you mean 'ops'?" in line
               for line in lines), lines
    assert any(line.startswith("  - mesh.toml [ops].sla_target:") and "Fix: write sla_target = 99.5" in line
               for line in lines), lines


def test_a_command_the_output_names_is_never_broken_across_lines(example_root: Path) -> None:
    """Off a terminal (a pipe, a log) a long line is not wrapped at the console's width: a command
    the output tells the user to run stays on one line, to copy and paste."""
    purpose = "a purpose long enough to push the line past the console's width " * 3
    result = runner.invoke(app, ["access", "request", "customers.customers", "--consumer", "marketing", "--purpose",
                                 purpose, "--as", "marketing-data@acme.example", "--root", str(example_root)])
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.stdout.splitlines() if "mesh access approve" in x]
    assert line.rstrip().endswith("--as EMAIL") and len(line) > 160, result.stdout
