"""``mesh ops heal``: what the runbook found and did, by hand; a dry run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assets import materialize
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.assets.test_verified_reads import flip_a_byte


def corrupt_current(root: Path) -> tuple[str, str]:
    mesh = load_mesh(root)
    first, second = (materialize("sales.products", mesh=mesh, params={"scale": 300})["sales.products"].manifest
                     for _ in range(2))
    assert first is not None and second is not None
    flip_a_byte(Path(mesh.store().data_path("sales.products", second.version)))
    return first.version, second.version


def heal(root: Path, *args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, ["ops", "heal", *args, "--root", str(root)])
    return done.exit_code, done.stdout, done.stderr


def test_a_dry_run_says_what_it_would_do_and_needs_no_one(example_root: Path) -> None:
    _first, second = corrupt_current(example_root)
    code, out, err = heal(example_root, "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] and report["counts"]["would_heal"] == 1 and report["counts"]["healed"] == 0
    [action] = report["actions"]
    assert action["subject"] == "sales.products" and action["outcome"] == "would heal"
    assert load_mesh(example_root).store().current_version("sales.products") == second


def test_heal_by_hand_prints_what_it_found_and_did(example_root: Path) -> None:
    first, second = corrupt_current(example_root)
    code, out, err = heal(example_root, "--as", "platform@acme.example")
    assert code == 0, err
    text = " ".join(out.split())
    assert "healed" in text and "sales.products" in text and f"current version {second} does not verify" in text
    assert "1 found, 1 healed" in text
    assert load_mesh(example_root).store().current_version("sales.products") not in (first, second)
    code, out, _ = heal(example_root, "--as", "platform@acme.example")
    assert code == 0 and "nothing to heal" in out


def test_heal_is_refused_without_operate_dr(example_root: Path) -> None:
    _first, second = corrupt_current(example_root)
    code, _out, err = heal(example_root, "--as", "analyst@acme.example")
    assert code == 1 and "operate_dr" in err and "Traceback" not in err
    assert load_mesh(example_root).store().current_version("sales.products") == second


def test_rollback_without_a_version_takes_the_newest_that_verifies(example_root: Path) -> None:
    first, _second = corrupt_current(example_root)
    done = CliRunner().invoke(app, ["rollback", "sales.products", "--as", "sales-data@acme.example",
                                    "--root", str(example_root)])
    assert done.exit_code == 0, done.stderr
    assert f"sales.products is now at {first}" in done.stdout
