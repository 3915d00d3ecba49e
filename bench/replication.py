"""Replication throughput: the mesh's verified replication (each file hashed while it is copied,
several at once, manifest last, an audit record per copy) against ``shutil.copyfile`` of the
same data files between the same folders. 13 assets x 3 versions of about 16 MB of
incompressible Parquet. Target: at least 0.8 times the plain copy's throughput, in two cases,
each from one run of interleaved samples:

- **page cache**: every folder on tmpfs (``/dev/shm``), so nothing is written back to a disk
  and ``fsync`` is free: both sides measure the CPU's work (reading, hashing, writing).
- **disk**: folders on the disk; before each sample the source files are dropped from the page
  cache (``POSIX_FADV_DONTNEED`` after a ``sync``), and every copy is on the disk when it ends
  (replication fsyncs each replica before its manifest; the plain copy fsyncs each file).

A third line, for information, replicates the same files as versions published before BLAKE3,
whose manifests carry SHA-256 checksums (verified with SHA-256), in the page cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from assets import Mesh
from assets.storage import PublishRequest
from bench._timing import measure
from bench.synthetic import example_mesh
from governance.replication import Replicator
from governance.services import governed
from governance.wiring import load_mesh

VERSIONS = 3
REPEAT = 7
ROWS = 1_000_000  # two float64 columns of noise: about 16 MB of Parquet per version
TMPFS = Path("/dev/shm")


def _seed(mesh: Mesh) -> list[str]:
    rng = np.random.default_rng(7)
    store = mesh.store("us-east")
    for key in mesh.graph:
        for _ in range(VERSIONS):
            frame = pl.DataFrame({"a": rng.random(ROWS), "b": rng.random(ROWS)})
            store.publish(frame, PublishRequest(key=key, contract_version="1.0.0", code_version="bench",
                                                run_id="bench", input_versions={}, protection={}))
    return [store.data_path(k, v) for k in mesh.graph for v in store.versions(k)]


def _as_sha256(mesh: Mesh) -> None:
    """Rewrite every source manifest with the SHA-256 checksum an older mesh wrote."""
    store = mesh.store("us-east")
    for key in mesh.graph:
        for version in store.versions(key):
            data = Path(store.data_path(key, version))
            with data.open("rb") as fh:
                checksum = "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()
            manifest = dataclasses.replace(store.manifest(key, version), checksum=checksum)
            data.with_name("manifest.json").write_bytes(manifest.to_json())


def _evict(files: list[str]) -> None:
    """Drop the (clean, synced) pages of ``files`` from the page cache."""
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _case(name: str, root: Path, *, disk: bool, sha256: bool = False) -> None:
    mesh = load_mesh(root)
    if sha256:
        _as_sha256(mesh)
    east = mesh.store("us-east")
    files = [east.data_path(k, v) for k in mesh.graph for v in east.versions(k)]
    total = sum(Path(f).stat().st_size for f in files)
    west = Path(mesh.store("us-west").root.root)
    plain_target = root.parent / f"plain-copy-{root.name}"
    replicator = Replicator(mesh, governed(mesh).audit, "us-east", "us-west")

    def reset() -> None:
        shutil.rmtree(west, ignore_errors=True)
        shutil.rmtree(plain_target, ignore_errors=True)
        os.sync()  # each run starts with no dirty pages left by the one before
        if disk:
            _evict(files)

    def plain() -> None:
        for f in files:
            target = plain_target / Path(f).relative_to(east.root.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
            if disk:
                with open(target, "rb+") as fh:
                    os.fsync(fh.fileno())

    def ours() -> None:
        results = replicator.replicate_many(mesh.graph)
        assert not any(isinstance(r, Exception) for r in results), results

    runs: dict[str, list[float]] = {"ours": [], "plain": []}
    for _ in range(REPEAT):  # interleaved, so both see the same state of the machine
        runs["ours"].extend(measure(ours, repeat=1, warmup=0, setup=reset).samples)
        runs["plain"].extend(measure(plain, repeat=1, warmup=0, setup=reset).samples)
    reset()
    replicated, copied = statistics.median(runs["ours"]), statistics.median(runs["plain"])
    rate, mb = copied / replicated, total / 1e6
    verdict = "for information" if sha256 else f"target >= 0.80x: {'met' if rate >= 0.8 else 'MISSED'}"
    spread = {k: f"{min(v):.2f}-{max(v):.2f} s" for k, v in runs.items()}
    print(f"replication, {name}, medians of {REPEAT} interleaved runs, {len(files)} versions, {mb:.0f} MB: "
          f"{replicated:.2f} s ({mb / replicated:.0f} MB/s, {'SHA-256' if sha256 else 'BLAKE3'}, verified while "
          f"copied, manifest last, audited; samples {spread['ours']}) vs shutil.copyfile {copied:.2f} s "
          f"({mb / copied:.0f} MB/s; samples {spread['plain']}) -> {rate:.2f}x the plain copy's throughput "
          f"({verdict})", flush=True)


def _in_folder(parent: Path | None, run: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-replication-", dir=parent) as tmp:
        run(Path(tmp))


def main() -> None:
    def both(disk_tmp: Path) -> None:
        root = example_mesh(disk_tmp / "mesh")
        _seed(load_mesh(root))

        def in_memory(shm_tmp: Path) -> None:
            shutil.copytree(root, shm_tmp / "mesh", symlinks=True)
            _case("page cache (tmpfs)", shm_tmp / "mesh", disk=False)
            _case("page cache (tmpfs), versions checksummed with SHA-256", shm_tmp / "mesh", disk=False, sha256=True)

        if TMPFS.is_dir():
            _in_folder(TMPFS, in_memory)
        else:
            print(f"replication, page cache: skipped, no tmpfs at {TMPFS}", flush=True)
        _case("disk (source evicted from the page cache, every copy fsync-ed)", root, disk=True)

    _in_folder(None, both)


if __name__ == "__main__":
    main()
