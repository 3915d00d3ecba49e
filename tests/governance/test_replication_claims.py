"""Concurrent replication handlers: each version is copied once, CURRENT mirrored forward."""

from __future__ import annotations

import threading

from assets import Mesh, materialize
from governance.handlers import HistoryHandler, PolicyCheckHandler
from governance.replication import ReplicationResult, Replicator
from governance.services import governed


def test_two_concurrent_replications_copy_each_version_once(example_mesh: Mesh) -> None:
    audit = governed(example_mesh).audit
    no_replication = [PolicyCheckHandler(example_mesh, audit), HistoryHandler(governed(example_mesh).history)]
    for _ in range(4):
        assert materialize("sales.products", mesh=example_mesh, handlers=no_replication).ok
    versions = example_mesh.store("us-east").versions("sales.products")
    start = threading.Barrier(2)
    results: list[ReplicationResult] = []

    def replicate() -> None:
        replicator = Replicator.for_mesh(example_mesh, audit)
        assert replicator is not None
        start.wait()
        results.append(replicator.replicate("sales.products"))

    threads = [threading.Thread(target=replicate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    copied = [r.details["version"] for r in audit.query(action="replicate") if r.target == "sales.products"
              and r.outcome == "copied"]
    assert sorted(copied) == versions  # each once
    assert sorted(len(r.copies) for r in results) == [0, len(versions)]  # the second found them there
    west = example_mesh.store("us-west")
    assert west.versions("sales.products") == versions and west.current_version("sales.products") == versions[-1]
