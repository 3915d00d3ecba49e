"""The mesh CLI: JSON for scripts, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from assets import Mesh, RunResult
from meshctl.cli import app
from tests.conftest import REPO

runner = CliRunner()


def mesh(root: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--root", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_list_json(example_root: Path) -> None:
    code, out, _ = mesh(example_root, "list", "domain:finance", "--json")
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out)}
    assert set(rows) == {"finance.fx_rates", "finance.revenue", "finance.monthly_revenue"}
    assert rows["finance.revenue"]["inputs"] == ["finance.fx_rates", "sales.orders"]
    assert rows["finance.fx_rates"]["schedule"] == "@daily" and rows["finance.fx_rates"]["version"] is None


def test_check_passes_on_the_example_mesh(example_root: Path) -> None:
    code, out, _ = mesh(example_root, "check", "--json")
    assert code == 0
    deprecated = (f"{example_root / 'domains' / 'marketing' / 'assets.py'}:97: marketing.lead_counts is deprecated: "
                  "kept up until 2027-03-31, replaced by marketing.leads_by_channel")
    assert json.loads(out) | {"summary": ""} == {"ok": True, "problems": [], "warnings": [deprecated], "summary": "",
                                                 "domains": 4, "assets": 18, "grants": 2}


def test_check_warns_of_a_first_week_that_would_never_roll_up_on_airflow(example_root: Path) -> None:
    path = example_root / "domains" / "sales" / "assets.py"
    old = "partitions=daily(start=ORDERS_SINCE)"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, 'partitions=daily(start="2026-11-18")', 1))
    code, out, _ = mesh(example_root, "check", "--json")
    assert code == 0  # a warning, not a problem: in-process the week rolls up what is published
    [partial] = [w for w in json.loads(out)["warnings"] if "rolls up" in w]
    assert "'sales.weekly_orders' rolls up 'sales.daily_orders'" in partial
    assert "2026-11-16-W47" in partial and "5 of its 7" in partial and "never rolls up" in partial


def test_check_reports_every_problem(example_root: Path) -> None:
    (example_root / "mesh.toml").write_text((example_root / "mesh.toml").read_text()
                                            .replace('jurisdiction = "us"', 'jurisdiction = "mars"', 1)
                                            .replace("max_assets = 50", "max_asets = 50"))
    code, out, _ = mesh(example_root, "check", "--json")
    report = json.loads(out)
    assert code == 1 and len(report["problems"]) == 2
    assert any("unknown jurisdiction 'mars'" in p for p in report["problems"])
    assert any("Did you mean 'max_assets'" in p for p in report["problems"])


def test_check_and_compile_write_the_compiled_mesh_airflow_parses(example_root: Path) -> None:
    from assets.compiled import COMPILED_PATH, read_compiled

    code, _, _ = mesh(example_root, "check")
    assert code == 0 and len(read_compiled(example_root).assets) == 18
    code, out, _ = mesh(example_root, "compile", "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "path": str(example_root / COMPILED_PATH), "domains": 4, "assets": 18,
                               "problems": {}}


def test_compile_names_a_broken_domain_and_exits_non_zero(example_root: Path) -> None:
    code_file = example_root / "domains" / "marketing" / "assets.py"
    code_file.write_text("raise RuntimeError('marketing pushed a broken build')\n" + code_file.read_text())
    code, out, _ = mesh(example_root, "compile")
    assert code == 1
    assert "compiled 12 assets in 4 domains" in out and "marketing pushed a broken build" in out


def test_check_names_a_broken_domain_once_not_what_reads_it_as_no_asset(example_root: Path) -> None:
    """A domain that fails to import is one problem; its readers' inputs are not also "no asset",
    with a did-you-mean pointing elsewhere."""
    code_file = example_root / "domains" / "sales" / "assets.py"
    code_file.write_text(code_file.read_text().replace('contract_version="1.1.0"', 'contract_version="1.0"', 1))
    code, out, _ = mesh(example_root, "check", "--json")
    problems = json.loads(out)["problems"]
    assert code == 1 and len(problems) == 1 and "1.0" in problems[0] and "sales" in problems[0], problems


def test_materialize_then_read(example_root: Path, tmp_path: Path) -> None:
    code, out, _ = mesh(example_root, "materialize", "+finance.monthly_revenue", "--scale", "800", "--json")
    assert code == 0
    run = json.loads(out)
    assert run["ok"] and {a["key"] for a in run["assets"]} == {
        "sales.orders", "finance.fx_rates", "finance.revenue", "finance.monthly_revenue"}
    code, out, _ = mesh(example_root, "read", "finance.monthly_revenue", "--json", "--limit", "2", "--as", "analyst@acme.example")
    assert code == 0 and [r["month"] for r in json.loads(out)] == ["2026-01", "2026-02"]
    for suffix in ("csv", "parquet"):
        target = tmp_path / f"out.{suffix}"
        code, _, _ = mesh(example_root, "read", "sales.orders", "--out", str(target), "--as", "sales-data@acme.example")
        assert code == 0
        frame = pl.read_csv(target) if suffix == "csv" else pl.read_parquet(target)
        assert frame.height == 800
        assert target.stat().st_mode & 0o777 == 0o600, "what a reader may decrypt is written owner-only"


def test_a_gate_failure_exits_non_zero_and_says_where_the_rows_went(example_root: Path) -> None:
    code, out, _ = mesh(example_root, "materialize", "finance.fx_rates", "--inject-bad-rows")
    assert code == 1
    assert "gate_failed" in out and "_quarantine" in out


def test_user_mistakes_get_one_line_and_no_traceback(example_root: Path, tmp_path: Path) -> None:
    for args, message in [
        (("materialize", "sales.ordrs"), "Did you mean 'sales.orders'"),
        (("materialize", ""), "the selection is empty"),
        (("read", "sales.orders", "--as", "sales-data@acme.example"), "has no published version"),
        (("read", "sales.orders"), "nobody was named"),
        (("read", "sales.ordes"), "Did you mean 'sales.orders'"),
    ]:
        code, _, err = mesh(example_root, *args)
        assert code == 1, args
        assert message in err and "Traceback" not in err
    code, _, err = mesh(tmp_path / "empty", "list")
    assert code == 1 and "mesh.toml" in err and "does not exist" in err


def test_malformed_mesh_toml_names_line_and_column(example_root: Path) -> None:
    (example_root / "mesh.toml").write_text('[mesh]\nname = "acme"\nprimary_region = us-east\n')
    code, _, err = mesh(example_root, "list")
    assert code == 1 and "mesh.toml:3:" in err and "invalid TOML" in err


def test_the_console_script_runs_with_help_everywhere() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MESH_ROOT"}
    for command in ([], ["materialize"]):
        done = subprocess.run([str(REPO / ".venv/bin/mesh"), *command, "--help"], capture_output=True, text=True,
                              env=env, check=False)
        assert done.returncode == 0, done.stderr
        assert "Usage: mesh" in done.stdout


@pytest.mark.parametrize("command", [["--help"], ["ops", "--help"], ["materialize", "--help"]])
def test_output_with_no_room_is_one_error_line_not_a_traceback(command: list[str]) -> None:
    """`mesh --help > file` on a full disk (here /dev/full, where every write finds no room)."""
    env = {k: v for k, v in os.environ.items() if k != "MESH_ROOT"}
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(REPO / ".venv/bin/mesh"), *command], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=env, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "No space left on device" in done.stderr, done.stderr
    assert "Fix: free space on that disk (df), or send the output elsewhere" in done.stderr


def test_every_command_has_help() -> None:
    for command in ("list", "materialize", "check", "read", "demo"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.stdout, command


def test_check_prints_toml_key_paths_verbatim(example_root: Path) -> None:
    """rich markup must not eat `[regions.us-east]`: two bad regions give two distinct lines."""
    (example_root / "mesh.toml").write_text((example_root / "mesh.toml").read_text()
                                            .replace('jurisdiction = "us"', 'jurisdiction = "mars"'))
    code, out, _ = mesh(example_root, "check")
    assert code == 1
    assert "[regions.us-east].jurisdiction" in out and "[regions.us-west].jurisdiction" in out


def test_fail_prints_brackets_verbatim(example_root: Path) -> None:
    (example_root / "mesh.toml").write_text((example_root / "mesh.toml").read_text()
                                            .replace('jurisdiction = "us"', 'jurisdiction = "mars"', 1))
    code, _, err = mesh(example_root, "list")
    assert code == 1 and "[regions.us-east].jurisdiction" in err


def test_check_reports_a_domain_without_a_dag_entry_file(example_root: Path) -> None:
    shutil.copytree(REPO / "dags", example_root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    code, out, _ = mesh(example_root, "check", "--json")
    assert code == 0, out
    (example_root / "dags" / "finance.py").unlink()
    code, out, _ = mesh(example_root, "check", "--json")
    [problem] = json.loads(out)["problems"]
    assert code == 1 and "domain 'finance' has no Airflow entry file" in problem
    assert "Fix: add dags/finance.py" in problem
    assert 'globals().update(domain_dags("finance", Path(__file__).resolve().parent.parent))' in problem


#: A command named in the code's hints: `mesh x`, ``mesh x``, (mesh x), or "uv run mesh x".
_HINTS = [re.compile(r"`+(?:uv run )?(mesh [^`]+?)`+"), re.compile(r"\((?:uv run )?(mesh [a-z][^)]*)\)"),
          re.compile(r"uv run (mesh [a-z][^;|\"'`()\[\n]*)")]


def _hints_in_source() -> set[tuple[str, str]]:
    found = set()
    for package in ("assets", "governance"):
        for file in sorted((REPO / package).rglob("*.py")):
            text = file.read_text()
            for pattern in _HINTS:
                found |= {(f"{file.relative_to(REPO)}", m.group(1).strip()) for m in pattern.finditer(text)}
    return found


@functools.cache
def _mesh_command() -> Any:
    """The click command tree of ``mesh`` (a typer vendored click Group), built once: building it
    for each of the hundreds of hints took most of this test's time."""
    import typer

    return typer.main.get_command(app)


def _unknown_part(hint: str) -> str | None:
    """The first word of ``hint`` the typer app does not know: a command, a command's option, or a
    plain word where the command takes no such sub-command (``mesh lineage flush``). Arguments in
    hints are placeholders (``{key}``, ``EMAIL``) or asset keys (``sales.orders``)."""
    command = _mesh_command()
    words = hint.split()[1:]
    while words:
        word = words.pop(0)
        if word == "...":
            return None
        subcommands = getattr(command, "commands", None)  # a group (typer vendors click: no isinstance)
        if subcommands is not None:
            if word not in subcommands:
                return word
            command = subcommands[word]
        elif word.startswith("-"):
            option = next((p for p in command.params if word.split("=")[0] in (*p.opts, *p.secondary_opts)), None)
            if option is None:
                return word
            if not getattr(option, "is_flag", False) and "=" not in word and words:
                words.pop(0)  # the option's value
        elif re.fullmatch(r"[a-z_]+", word):
            return word  # a bare word after a command: a sub-command that does not exist
    return None


def test_the_hints_name_commands_that_exist() -> None:
    hints = _hints_in_source()
    assert len(hints) > 30  # the extraction finds them
    unknown = {f"{file}: `{hint}` ({word}?)" for file, hint in hints if (word := _unknown_part(hint))}
    assert not unknown, sorted(unknown)


def test_the_hint_checker_catches_a_wrong_command() -> None:
    assert _unknown_part("mesh lineage flush") == "flush"
    assert _unknown_part("mesh lineage sales.orders --impact") is None
    assert _unknown_part("mesh dr failover --to REGION --force") is None
    assert _unknown_part("mesh lineage --flush") is None
    assert _unknown_part("mesh lineage --flsh") == "--flsh"
    assert _unknown_part("mesh dr stats") == "stats"
    assert _unknown_part("mesh acces list") == "acces"


def test_a_corrupt_current_pointer_is_one_line_from_the_console_script(example_root: Path) -> None:
    code, _, _ = mesh(example_root, "materialize", "sales.orders", "--scale", "50")
    assert code == 0
    pointers = list((example_root / ".mesh").rglob("sales/orders/CURRENT"))  # each region's
    assert pointers
    for pointer in pointers:
        pointer.write_bytes(b"\xfa\x00garbage\xff")
    env = {k: v for k, v in os.environ.items() if k != "MESH_ROOT"}
    done = subprocess.run([str(REPO / ".venv/bin/mesh"), "list", "--root", str(example_root)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "CURRENT pointer is corrupt" in done.stderr and "Fix:" in done.stderr


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("group", [(), ("ops",)])
def test_help_lists_every_command_on_one_clean_line(width: int, group: tuple[str, ...]) -> None:
    """`mesh --help` kept the hard line breaks of the commands' docstrings, so a summary ran over
    several ragged lines: now each command is one line of the panel, at every terminal width."""
    done = subprocess.run([sys.executable, "-c", "from meshctl.cli.app import main; main()", *group, "--help"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "TERMINAL_WIDTH": str(width)})
    assert done.returncode == 0, done.stderr
    panel = done.stdout.split("─ Commands ")[1].splitlines()[1:]
    rows = panel[:next(i for i, line in enumerate(panel) if line.startswith("╰"))]
    continued = [row for row in rows if row.startswith("│  ")]  # a summary's second line: no name before it
    assert rows and not continued, "\n".join(rows)
    assert all(len(row) <= width for row in rows)


@pytest.mark.parametrize(("columns", "widest"), [(None, 160), ("80", 160), ("400", 400)])
def test_output_to_a_pipe_is_160_columns_wide_unless_columns_says_otherwise(example_root: Path, columns: str | None,
                                                                           widest: int) -> None:
    """Off a terminal rich would wrap tables at 80 columns, so the CLI prints 160; a wider
    ``COLUMNS`` wins, so `COLUMNS=400 mesh list | grep KEY` finds each asset on one unbroken line."""
    env = {k: v for k, v in os.environ.items() if k not in ("MESH_ROOT", "COLUMNS")}
    done = subprocess.run([str(REPO / ".venv/bin/mesh"), "list", "--root", str(example_root)],
                          capture_output=True, text=True, check=False, env=env | ({"COLUMNS": columns} if columns else {}))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= widest
    table_lines = [line for line in lines if line.startswith("│ ")]
    assets = len(json.loads(mesh(example_root, "list", "--json")[1]))
    assert (len(table_lines) == assets) == (widest > 160), done.stdout  # at 160 the widest rows wrap


def test_list_never_cuts_an_asset_key_or_a_version_id(materialized_example: tuple[Mesh, RunResult]) -> None:
    """Keys and version ids are what the user types next: the table gives way elsewhere."""
    served = materialized_example[0]
    code, out, _ = mesh(served.root, "list")
    assert code == 0, out
    cells = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert set(served.graph) <= set(cells), cells
    for key in served.graph:
        version = served.store().current_version(key)
        assert version is None or version in out, version
