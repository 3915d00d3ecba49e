"""The active region in the state database when ``[state] url`` names one: a switch written by
one process is the active region of every other at once; the switch file of before is imported."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from assets import Mesh
from assets.regions import RegionSwitch
from governance.state.database import dispose_engines
from governance.state.regions import DatabaseSwitches
from governance.wiring import load_policy_mesh
from tests.conftest import copy_example_mesh, name_state


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return "sqlite:///shared/state.sqlite"
    return str(request.getfixturevalue("postgres_url"))


def shared_mesh(root: Path, url: str) -> Mesh:
    copy_example_mesh(root)
    name_state(root, url)  # approved by the council: [state] is trust
    return load_policy_mesh(root)


def _fail_over(root: str, to: str) -> None:
    mesh = load_policy_mesh(root)
    mesh.region_switches.write(RegionSwitch.now(region=to, previous=mesh.active_region, reason="test"))


def test_a_switch_written_by_one_process_is_seen_by_another(tmp_path: Path, state_url: str) -> None:
    mesh = shared_mesh(tmp_path / "mesh", state_url)
    assert isinstance(mesh.region_switches, DatabaseSwitches)
    primary, secondary = mesh.regions.primary, mesh.regions.secondary
    assert secondary is not None and mesh.active_region == primary
    dispose_engines()
    writer = multiprocessing.get_context("fork").Process(target=_fail_over, args=(str(mesh.root), secondary))
    writer.start()
    writer.join(120)
    assert writer.exitcode == 0
    assert mesh.active_region == secondary  # the same, already loaded mesh follows the switch
    assert mesh.standby_region == primary
    assert not (mesh.state_dir / "state" / "active_region.json").exists()  # the database holds it, not a file


def test_the_switch_file_of_before_is_imported(tmp_path: Path, state_url: str) -> None:
    root = tmp_path / "mesh"
    (root / ".mesh" / "state").mkdir(parents=True)
    (root / ".mesh" / "state" / "active_region.json").write_text(json.dumps(
        {"region": "us-west", "previous": "us-east", "at": "2026-01-01T00:00:00.000+00:00", "reason": "failover"}))
    mesh = shared_mesh(root, state_url)
    assert mesh.active_region == "us-west"
    switch = mesh.region_switches.read()
    assert switch is not None and switch.reason == "failover"


def test_without_a_state_table_the_switch_stays_a_file(tmp_path: Path) -> None:
    mesh = load_policy_mesh(copy_example_mesh(tmp_path / "mesh"))
    secondary = mesh.regions.secondary
    assert secondary is not None
    mesh.region_switches.write(RegionSwitch.now(region=secondary, previous=mesh.active_region, reason="test"))
    assert json.loads((mesh.state_dir / "state" / "active_region.json").read_text())["region"] == secondary
    assert mesh.active_region == secondary
