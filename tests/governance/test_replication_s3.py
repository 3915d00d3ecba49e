"""Replication to an S3-compatible region: a real moto server process, reached through s3fs.

The standby region is ``s3://<bucket>/us-west`` behind a small TCP relay the test can cut, so
"the secondary is unreachable" is a refused connection, as in production.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assets import Mesh, StorageError, materialize
from governance.dr import dr_status, failover
from governance.handlers import HistoryHandler, PolicyCheckHandler
from governance.replication import ReplicationResult, Replicator
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import person
from tests.s3 import Relay, point_s3_at, standby_on_s3


@pytest.fixture
def s3_mesh(example_root: Path, s3_bucket: str, s3_server: int,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mesh, Relay]]:
    relay = Relay(s3_server)
    relay.up()
    point_s3_at(monkeypatch, relay.port)
    standby_on_s3(example_root, s3_bucket)
    yield load_mesh(example_root), relay
    relay.down()


def test_versions_replicate_to_s3_verified_and_a_failover_serves_them(s3_mesh: tuple[Mesh, Relay]) -> None:
    mesh, _ = s3_mesh
    result = materialize("+sales.daily_sales", mesh=mesh, params={"scale": 300})
    assert result.ok and all(h.ok for r in result.results.values() for h in r.handlers)
    west = mesh.store("us-west")
    assert not west.root.is_local and west.root.uri_of(west.root.root).startswith("s3://")
    for key, r in result.results.items():
        assert r.manifest is not None and west.verify(west.manifest(key, r.manifest.version))
    assert dr_status(mesh, verify=True).ready
    failover(mesh, "us-west", governed(mesh).audit, actor=person("platform@acme.example"))
    assert mesh.store().scan("sales.daily_sales").collect().height == result["sales.daily_sales"].manifest.rows  # type: ignore[union-attr]
    again = materialize("sales.orders", mesh=mesh, params={"scale": 300})  # new versions written to S3
    assert again.ok, again["sales.orders"].error
    assert west.current_version("sales.orders") == again["sales.orders"].manifest.version  # type: ignore[union-attr]


def test_an_unreachable_s3_standby_lags_then_catches_up(s3_mesh: tuple[Mesh, Relay]) -> None:
    mesh, relay = s3_mesh
    relay.down()
    result = materialize("+sales.daily_sales", mesh=mesh, params={"scale": 300})
    assert result.ok  # the data run succeeds without its standby
    failed = [h for r in result.results.values() for h in r.handlers if h.kind == "replication"]
    assert failed and not any(h.ok for h in failed)
    status = dr_status(mesh)
    assert not status.ready and {a.state for a in status.assets if a.key in result.results} == {"unreachable"}
    assert status.rpo_versions >= len(result.results) and status.rpo_seconds >= 0
    relay.up()
    replicator = Replicator.for_mesh(mesh, governed(mesh).audit)
    assert replicator is not None
    caught_up = replicator.replicate_many(mesh.select("+sales.daily_sales"))
    assert all(not isinstance(r, Exception) and len(r.copies) == 1 for r in caught_up)
    assert dr_status(mesh, verify=True).ready
    assert os.environ["AWS_ENDPOINT_URL"].endswith(str(relay.port))


def test_a_corrupt_s3_replica_is_never_served(s3_mesh: tuple[Mesh, Relay]) -> None:
    mesh, _ = s3_mesh
    manifest = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert manifest is not None
    west = mesh.store("us-west")
    for _ in range(2):  # verified on the first read, remembered by (size, ETag) for the second
        assert west.scan("sales.products").collect().height == manifest.rows
    path = west.data_path("sales.products", manifest.version)
    raw = bytearray(west.root.read_bytes(path))
    raw[len(raw) // 2] ^= 0xFF
    west.root.fs.pipe_file(path, bytes(raw))  # same size, new ETag
    with pytest.raises(StorageError, match="does not match its manifest"):
        west.scan("sales.products")
    assert not dr_status(mesh, verify=True).ready


def test_two_concurrent_replications_to_s3_copy_each_version_once(s3_mesh: tuple[Mesh, Relay]) -> None:
    mesh, _ = s3_mesh
    audit = governed(mesh).audit
    no_replication = [PolicyCheckHandler(mesh, audit), HistoryHandler(governed(mesh).history)]
    for _ in range(3):
        assert materialize("sales.orders", mesh=mesh, params={"scale": 300}, handlers=no_replication).ok
    versions = mesh.store("us-east").versions("sales.orders")
    start = threading.Barrier(2)
    results: list[ReplicationResult] = []

    def replicate() -> None:
        replicator = Replicator.for_mesh(mesh, audit)
        assert replicator is not None
        start.wait()
        results.append(replicator.replicate("sales.orders"))

    threads = [threading.Thread(target=replicate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    copied = [r.details["version"] for r in audit.query(action="replicate") if r.target == "sales.orders"
              and r.outcome == "copied"]
    assert sorted(copied) == versions  # each once: the S3 claim made the second copier wait, then find them
    assert sorted(len(r.copies) for r in results) == [0, len(versions)]
    west = mesh.store("us-west")
    assert west.versions("sales.orders") == versions and west.current_version("sales.orders") == versions[-1]
    assert not west.root.exists(west.root.path("sales", "orders", ".replica.lock"))  # released
