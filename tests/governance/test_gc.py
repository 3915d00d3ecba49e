"""`mesh gc`: leftover staging folders of killed writers are found, removed and audited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from assets import materialize
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.assets.test_concurrent_publish import _KILLED_WRITER
from tests.s3 import standby_on_s3


def test_mesh_gc_removes_killed_writers_leftovers_in_every_region(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("sales.orders", mesh=mesh, params={"scale": 300}).ok
    east, west = mesh.store("us-east"), mesh.store("us-west")
    for store in (east, west):
        subprocess.run([sys.executable, "-c", _KILLED_WRITER, store.root.url], check=False)
    used = {region: mesh.store(region).storage_bytes("sales") for region in ("us-east", "us-west")}
    runner = CliRunner()
    dry = runner.invoke(app, ["gc", "--dry-run", "--json", "--root", str(example_root)])
    assert dry.exit_code == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["removed"] is False and {x["region"] for x in planned["leftovers"]} == {"us-east", "us-west"}
    assert all(Path(x["path"]).exists() for x in planned["leftovers"])
    done = runner.invoke(app, ["gc", "--json", "--root", str(example_root)])
    report = json.loads(done.stdout)
    assert done.exit_code == 0 and report["leftovers"] == planned["leftovers"] and report["bytes"] > 0
    assert not any(Path(x["path"]).exists() for x in report["leftovers"])
    for x in report["leftovers"]:
        assert mesh.store(x["region"]).storage_bytes("sales") == used[x["region"]] - x["bytes"]
    audited = governed(mesh).audit.query(action="gc_remove")
    assert sorted(r.target for r in audited) == sorted(x["path"] for x in report["leftovers"])
    again = runner.invoke(app, ["gc", "--json", "--root", str(example_root)])
    assert json.loads(again.stdout)["leftovers"] == []
    assert materialize("sales.orders", mesh=mesh, params={"scale": 300}).ok  # publishing goes on


def test_mesh_gc_counts_then_removes_abandoned_version_folders_on_s3(example_root: Path, s3_bucket: str) -> None:
    standby_on_s3(example_root, s3_bucket)
    mesh = load_mesh(example_root)
    assert materialize("sales.orders", mesh=mesh, params={"scale": 300}).ok
    west = mesh.store("us-west")
    assert not west.root.is_local
    used = west.storage_bytes("sales")
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, west.root.url], check=False)  # dies before its manifest
    grown = west.storage_bytes("sales")
    assert grown > used  # the abandoned folder takes quota
    runner = CliRunner()
    dry = runner.invoke(app, ["gc", "--dry-run", "--json", "--root", str(example_root)])
    assert dry.exit_code == 0, dry.stderr
    [planned] = json.loads(dry.stdout)["leftovers"]
    assert planned["region"] == "us-west" and planned["path"].startswith(f"s3://{s3_bucket}/us-west/sales/orders/")
    assert planned["bytes"] == grown - used  # counted before it is removed
    done = runner.invoke(app, ["gc", "--json", "--root", str(example_root)])
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["leftovers"] == [planned]
    assert west.storage_bytes("sales") == used
    assert west.root.listdir(west.root.path("sales", "orders", ".staging")) == []  # its mark went with it
    assert west.versions("sales.orders") == mesh.store("us-east").versions("sales.orders")  # versions untouched
    assert [r.target for r in governed(mesh).audit.query(action="gc_remove")] == [planned["path"]]
    assert json.loads(runner.invoke(app, ["gc", "--json", "--root", str(example_root)]).stdout)["leftovers"] == []
