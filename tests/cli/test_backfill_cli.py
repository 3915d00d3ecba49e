"""``mesh backfill``, ``mesh materialize --partition`` and ``mesh read`` of partitions, through the CLI."""

from __future__ import annotations

import json
import shlex
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshctl.cli import app

runner = CliRunner()
READER = ("--as", "sales-data@acme.example")


def mesh(root: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--root", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_backfill_runs_the_range_then_resumes_and_read_gets_partitions(example_root: Path) -> None:
    code, out, err = mesh(example_root, "backfill", "sales.daily_orders+", "--from", "2026-11-16", "--to",
                          "2026-11-18", "--max-parallel", "2", "--bad-day", "2026-11-18")
    assert code == 1, out + err
    assert "sales.daily_orders/2026-11-18" in out and "gate_failed" in out
    assert "sales.daily_orders/2026-11-18: contract gate failed" in " ".join(out.split()), "the failure names its day"
    assert "sales.weekly_orders/2026-11-16-W47" in out and "skipped" in out
    # the retry is the exact command without --bad-day (run as it was, it would fail again)
    retry = (f"run it again without --bad-day to retry what failed or was skipped: mesh backfill sales.daily_orders+ "
             f"--from 2026-11-16 --to 2026-11-18 --root {example_root} --max-parallel 2")
    assert retry in out, out
    again = shlex.split(out.split("failed or was skipped: ")[1].splitlines()[0])
    assert again[:2] == ["mesh", "backfill"] and "--bad-day" not in again
    result = runner.invoke(app, [*again[1:], "--json"])
    assert result.exit_code == 0, result.stdout
    ran = {(a["key"], a["partition"]): a["status"] for a in json.loads(result.stdout)["assets"]}
    assert ran == {("sales.daily_orders", "2026-11-16"): "unchanged", ("sales.daily_orders", "2026-11-17"): "unchanged",
                   ("sales.daily_orders", "2026-11-18"): "materialized",
                   ("sales.weekly_orders", "2026-11-16-W47"): "materialized"}
    code, out, _ = mesh(example_root, "backfill", "sales.daily_orders", "--from", "2026-11-16", "--to", "2026-11-18",
                        "--bad-day", "2026-11-17")
    assert code == 0 and "--bad-day 2026-11-17: no partition of that day ran" in " ".join(out.split()), out
    code, out, _ = mesh(example_root, "read", "sales.daily_orders", "--partition", "2026-11-17", "--limit", "500",
                        "--json", *READER)
    assert code == 0 and {r["order_date"] for r in json.loads(out)} == {"2026-11-17"}
    code, out, _ = mesh(example_root, "read", "sales.daily_orders", "--from", "2026-11-17", "--to", "2026-11-18",
                        "--limit", "1000", "--json", *READER)
    assert code == 0 and {r["order_date"] for r in json.loads(out)} == {"2026-11-17", "2026-11-18"}
    code, out, _ = mesh(example_root, "read", "sales.daily_orders", "--limit", "1000", "--json", *READER)
    assert code == 0 and len(json.loads(out)) == 600  # every current partition, as one
    code, out, _ = mesh(example_root, "read", "sales.daily_orders", *READER)  # the default --limit 10 says so
    assert code == 0 and "10 of 600 rows shown: --limit N shows more" in out, out
    code, out, _ = mesh(example_root, "read", "sales.daily_orders", "--limit", "600", *READER)
    assert code == 0 and "rows shown" not in out, out


def test_the_retry_hint_of_a_bad_day_rerun_is_the_command_without_bad_day(example_root: Path) -> None:
    """After `--bad-day D --rerun` the hint said "run the same command again", which fails again:
    it prints the exact command without --bad-day (and without --rerun, which would run every
    partition again), and that command succeeds, running only what failed or was skipped."""
    code, out, _ = mesh(example_root, "backfill", "sales.daily_orders", "--from", "2026-11-16", "--to", "2026-11-17",
                        "--bad-day", "2026-11-17", "--rerun")
    assert code == 1, out
    assert "run the same command again" not in out
    retry = f"mesh backfill sales.daily_orders --from 2026-11-16 --to 2026-11-17 --root {example_root}"
    assert f"run it again without --bad-day to retry what failed or was skipped: {retry}\n" in out, out
    result = runner.invoke(app, shlex.split(retry)[1:])
    assert result.exit_code == 0, result.stdout
    assert "1 materialized, 1 unchanged" in result.stdout, result.stdout  # the bad day alone ran again


def test_materialize_one_partition(example_root: Path) -> None:
    code, out, err = mesh(example_root, "materialize", "sales.daily_orders+", "--partition", "2026-11-19", "--json")
    assert code == 0, out + err
    assert {(a["key"], a["partition"]) for a in json.loads(out)["assets"]} == {
        ("sales.daily_orders", "2026-11-19"), ("sales.weekly_orders", "2026-11-16-W47")}


def test_bad_partition_arguments_are_one_line_errors(example_root: Path) -> None:
    for args, expected in [
        (("backfill", "sales.daily_orders", "--from", "2026-11-20", "--to", "2026-11-16"), "backwards"),
        (("backfill", "sales.daily_orders", "--from", "yesterday", "--to", "2026-11-16"), "is not a date"),
        (("backfill", "sales.daily_orders", "--from", "2026-11-16", "--to", "2026-11-17", "--max-parallel", "0"),
         "--max-parallel"),
        (("backfill", "sales.products", "--from", "2026-11-16", "--to", "2026-11-17"), "sales.products is not partitioned"),
        (("materialize", "sales.daily_orders", "--partition", "../../etc"), "not a daily partition key"),
        (("read", "sales.daily_orders", "--partition", "2026-13-01", *READER), "Fix:"),
        (("read", "sales.products", "--partition", "2026-11-16", *READER), "not partitioned"),
        (("backfill", "sales.daily_orders", "--from", "2026-11-16", "--to", "2026-11-17", "--on", "airflow",
          "--port", str(_nothing_listening())), "no Airflow API server answers"),
        *((("backfill", "sales.daily_orders", "--from", "2026-11-16", "--to", "2026-11-17", "--on", "airflow",
            "--port", str(_nothing_listening()), "--timeout", timeout), "--timeout") for timeout in ("nan", "-1", "0")),
        (("up", "--port", "99999"), "less than or equal to 65535"),
        (("up", "--port", "65534"), "past 65535"),
    ]:
        code, out, err = mesh(example_root, *args)
        assert code != 0, args
        assert expected in err and "Traceback" not in err + out, (args, err)


def _nothing_listening() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_mesh_serve_refuses_a_taken_port_before_printing_an_address(example_root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, out, err = mesh(example_root, "serve", "--port", str(taken.getsockname()[1]))
    assert code == 1 and "cannot listen on 127.0.0.1" in err and "Fix:" in err, err
    assert "Mesh dashboard" not in out and "Traceback" not in out + err


@pytest.mark.parametrize(("today", "week"), [
    ("2026-11-27", ("2026-11-16", "2026-11-22")),  # a Friday: the week before
    ("2026-11-23", ("2026-11-16", "2026-11-22")),  # a Monday: the week that ended yesterday
    ("2026-11-22", ("2026-11-09", "2026-11-15")),  # a Sunday: its own week has not ended
    ("2027-01-01", ("2026-12-21", "2026-12-27")),  # across a year's end
])
def test_mesh_up_backfills_the_last_complete_iso_week(today: str, week: tuple[str, str]) -> None:
    import datetime as dt

    from meshctl.cli.airflow_commands import last_complete_week

    assert last_complete_week(dt.date.fromisoformat(today)) == week


def test_airflow_backfill_progress_is_printed_only_when_it_changes(capsys: pytest.CaptureFixture[str]) -> None:
    """Its first polls, before Airflow had anything new, printed "8/8 succeeded" again and again."""
    from meshctl.airflow_backfill import BackfillProgress
    from meshctl.cli.backfill_airflow import progress_printer

    show = progress_printer(2, enabled=True)
    running = BackfillProgress({"sales.daily_orders": {"2026-11-16": "success", "2026-11-17": "running"}})
    done = BackfillProgress({"sales.daily_orders": {"2026-11-16": "success", "2026-11-17": "success"}})
    for now in (running, running, done, done, done):
        show(now)
    assert capsys.readouterr().err.splitlines() == ["1/2 succeeded, 0 failed, 1 running",
                                                    "2/2 succeeded, 0 failed, 0 running"]
    progress_printer(2, enabled=False)(done)
    assert capsys.readouterr().err == ""


def test_a_roll_up_the_range_covers_in_part_is_named_as_waiting_not_silently_left_out() -> None:
    """`--on airflow` over three days of a week: the week follows its days' events and never ran;
    the summary names it and why, as in-process it would have rolled up the days published."""
    from meshctl.airflow_backfill import BackfillPlan, BackfillProgress, waiting_partitions

    plan = BackfillPlan(partitions={"sales.daily_orders": ("2026-11-23", "2026-11-24"),
                                    "sales.weekly_orders": ("2026-11-23-W48",)},
                        how={"sales.daily_orders": "backfill", "sales.weekly_orders": "follows"})
    done = BackfillProgress({"sales.daily_orders": {"2026-11-23": "success", "2026-11-24": None},
                             "sales.weekly_orders": {"2026-11-23-W48": None}})
    assert waiting_partitions(plan, done) == {"sales.weekly_orders": ["2026-11-23-W48"]}
