"""`mesh dr status --verify` and `mesh read` check the data they report on or serve."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assets import materialize
from governance.dr import dr_status
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.assets.test_verified_reads import flip_a_byte


def test_dr_status_verify_finds_a_corrupt_version_in_the_active_region(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("sales.products", mesh=mesh).ok
    assert dr_status(mesh, verify=True).ready
    east = mesh.store("us-east")
    version = east.require_current("sales.products").version
    flip_a_byte(Path(east.data_path("sales.products", version)))
    status = dr_status(mesh, verify=True)
    lag = next(a for a in status.assets if a.key == "sales.products")
    assert not status.ready and lag.state == "corrupt"
    assert lag.corrupt_active == (version,) and "us-east" in lag.detail and "mesh dr failback" in lag.detail
    printed = CliRunner().invoke(app, ["dr", "status", "--verify", "--json", "--root", str(example_root)])
    assert json.loads(printed.stdout)["ready"] is False


def test_mesh_read_refuses_a_corrupt_version(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    assert runner.invoke(app, ["materialize", "sales.orders", *root, "--scale", "300"]).exit_code == 0
    east = load_mesh(example_root).store("us-east")
    data = Path(east.data_path("sales.orders", east.require_current("sales.orders").version))
    flip_a_byte(data)
    read = runner.invoke(app, ["read", "sales.orders", *root, "--as", "sales-data@acme.example"])
    assert read.exit_code == 1 and "does not match its manifest" in read.stderr, read.stdout
