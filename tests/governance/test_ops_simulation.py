"""``mesh ops simulate``: one simulated day of the example mesh with faults, self-healing on and
off (the direction of each result), fault rates refused when they are not probabilities, and
how predictions are matched with breaches."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assets.errors import ConfigError
from governance.alerts.signals import Recovery, Signal
from governance.ops.clock import ManualClock
from governance.ops.simulation import FaultRates, score_predictions
from governance.ops.simulation.faults import FaultInjector
from meshctl.cli import app
from tests.conftest import copy_example_mesh

#: Fault rates high enough that one day sees each fault (the defaults are for a month).
BUSY_DAY = ["--transient", "0.05", "--slow", "0.02", "--bad-data", "0.02", "--killed", "0.02",
            "--corrupt-file", "0.1", "--lost-replica", "0.1", "--notifier-outage", "0.1"]
T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """``mesh ops simulate --days 1 --json`` on a copy of the example mesh: the run with
    self-healing on and the run with it off, by ``on``/``off``."""
    root = copy_example_mesh(tmp_path_factory.mktemp("simulate") / "mesh")
    result = CliRunner().invoke(app, ["ops", "simulate", "--days", "1", "--seed", "7", *BUSY_DAY,
                                      "--root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    return {"on" if r["healing"] else "off": r for r in json.loads(result.stdout)["runs"]}


def test_the_cli_prints_both_runs_of_the_same_faults_as_json(simulated: dict[str, dict[str, Any]]) -> None:
    on, off = simulated["on"], simulated["off"]
    assert (on["days"], on["seed"], on["ticks"]) == (off["days"], off["seed"], off["ticks"]) == (1, 7, 23)
    assert on["injected"] == off["injected"], "the same seed draws the same faults in both runs"
    assert set(on["injected"]) == {"transient", "slow", "bad_data", "killed", "corrupt_file", "lost_replica",
                                   "notifier_outage"}
    for run in (on, off):
        assert run["targets"]["sla_target"] == 99.5 and run["targets"]["mttr_target_seconds"] == 900
        assert run["sla_percent"] is not None and run["availability_percent"] is not None
        assert run["alerts"]["sent"] > 0 and run["alerts"]["pending"] == 0, "the outbox is sent after the outage"
    assert on["self_healing"]["healed"] > 0 and off["self_healing"] == {}


def test_self_healing_lowers_mttr_and_incidents(simulated: dict[str, dict[str, Any]]) -> None:
    on, off = simulated["on"], simulated["off"]
    assert on["mttr_minutes"] < off["mttr_minutes"]
    assert on["incidents"] < off["incidents"], "retries absorb the transient failures"
    failed = {k: run["alerts"]["incidents_by_kind"].get("run_failed", 0) for k, run in simulated.items()}
    assert failed["on"] < failed["off"]


def test_a_run_whose_worker_was_killed_is_found_and_run_again_with_self_healing(
        simulated: dict[str, dict[str, Any]]) -> None:
    on, off = simulated["on"], simulated["off"]
    killed = on["injected"]["killed"]
    assert killed > 0 and on["killed_runs_left_open"] == 0, "each closed as died and run again"
    assert 1 <= on["mttr_by_cause"]["killed run"]["incidents"] <= killed
    assert on["mttr_by_cause"]["killed run"]["mttr_minutes"] < 15, "found in the next pass, not hours later"
    assert off["killed_runs_left_open"] == killed, "without the runbook nobody closes them"
    assert "run_died" in off["alerts"]["incidents_by_kind"], "but each is alerted"


def test_every_freshness_breach_was_alerted(simulated: dict[str, dict[str, Any]]) -> None:
    for run in simulated.values():
        breached = set(run["prediction"]["breached_assets"])
        assert breached, "a busy day breaches something"
        assert breached <= set(run["alerts"]["subjects_by_kind"]["freshness_breach"])


def test_predicted_alerts_come_before_the_breaches_they_predict(simulated: dict[str, dict[str, Any]]) -> None:
    for run in simulated.values():
        prediction = run["prediction"]
        assert prediction["caught"] > 0 and prediction["true_positives"] > 0
        assert prediction["lead_minutes"]["min"] >= 0


@pytest.mark.parametrize("rates", [
    pytest.param({"transient": -0.1}, id="negative"),
    pytest.param({"corrupt_file": 1.5}, id="above-one"),
    pytest.param({"slow": True}, id="not-a-number"),
    pytest.param({"outage_hours": (3.0, 1.0)}, id="range-backwards"),
])
def test_fault_rates_that_are_not_probabilities_are_refused(rates: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as refused:
        FaultRates(**rates)
    name = next(iter(rates))
    assert name in str(refused.value) and refused.value.fix


def test_the_cli_refuses_a_bad_rate_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ops", "simulate", "--days", "1", "--transient", "-0.5",
                                      "--root", str(tmp_path), "--json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "'transient' is -0.5, not a probability between 0 and 1" in result.output


def test_the_same_seed_draws_the_same_faults() -> None:
    rates = FaultRates(transient=0.3, slow=0.3, bad_data=0.3)
    keys = [f"d.a{i}" for i in range(50)]

    def drawn(seed: int) -> dict[str, int]:
        injector = FaultInjector(rates=rates, seed=seed, clock=ManualClock(T0))
        injector.plan(keys)
        return dict(injector.injected)

    assert drawn(3) == drawn(3) != drawn(4)


def _breach(key: str, at: dt.datetime, state: str = "late") -> Signal:
    return Signal(kind="freshness_breach", subject=key, domain="d", severity="warning", summary=state, at=at,
                  details={"state": state})


def _predicted(key: str, at: dt.datetime) -> Signal:
    return Signal(kind="predicted_breach", subject=key, domain="d", severity="warning", summary="late", at=at)


def test_predictions_are_matched_with_the_breaches_that_follow() -> None:
    score = score_predictions([
        _predicted("d.a", T0), _breach("d.a", T0 + 2 * H), _breach("d.a", T0 + 3 * H, "breached"),  # one breach
        Recovery(kind="freshness_breach", subject="d.a", at=T0 + 4 * H, summary="fresh"),
        _predicted("d.b", T0),  # no breach follows: a false positive
        _breach("d.c", T0 + H),  # not predicted: missed
        _predicted("d.c", T0 + 2 * H),  # after its breach: predicts nothing
        _predicted("d.a", T0 + 5 * H), _breach("d.a", T0 + 5 * H + 30 * dt.timedelta(hours=1)),  # past the horizon
    ])
    assert (score.predictions, score.true_positives, score.breaches, score.caught) == (4, 1, 3, 1)
    assert score.lead_times == (2 * H,)
    assert score.to_dict()["precision_percent"] == 25.0 and score.recall == pytest.approx(100 / 3)


def test_a_source_gone_bad_stays_bad_until_it_is_corrected() -> None:
    clock = ManualClock(T0)
    injector = FaultInjector(rates=dataclasses.replace(FaultRates.none(), bad_data=1.0, bad_data_minutes=(30.0, 30.0)),
                             seed=1, clock=clock)
    injector.plan(["d.a"])
    assert injector.source_bad("d.a") and injector.source_bad("d.a", T0 + 29 * dt.timedelta(minutes=1))
    assert not injector.source_bad("d.a", T0 + 30 * dt.timedelta(minutes=1)), "corrected after the drawn delay"
    clock.set(T0 + 10 * dt.timedelta(minutes=1))
    injector.plan(["d.a"])  # drawn again while still bad: the same episode, not a new one
    assert injector.injected["bad_data"] == 1 and not injector.source_bad("d.a", T0 + 31 * dt.timedelta(minutes=1))
    with pytest.raises(ConfigError, match="bad_data_minutes"):
        FaultRates(bad_data_minutes=(0.0, 5.0))


def test_a_partitioned_root_ticks_when_its_next_partition_begins(example_root: Path) -> None:
    from governance.ops.monitor import mesh_view
    from governance.ops.simulation.schedule import ticks, with_partition_schedules
    from governance.wiring import load_mesh

    mesh = load_mesh(example_root)
    assets = with_partition_schedules(mesh_view(mesh).assets, mesh.graph)
    daily = next(a for a in assets if a.key == "sales.daily_orders")
    assert daily.schedule == "0 0 * * *", "a daily partition begins at midnight"
    at_midnight = [t for t in ticks(assets, T0, T0 + 2 * H * 24) if "sales.daily_orders" in t.roots]
    assert [t.at for t in at_midnight] == [T0 + 24 * H, T0 + 48 * H]
    assert next(a for a in assets if a.key == "sales.orders").schedule == "@hourly", "its own schedule is kept"
    assert next(a for a in assets if a.key == "marketing.web_leads").schedule == "0 8 * * *", "a file every morning"
