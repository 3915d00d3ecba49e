"""Verified reads: reading a 1M-row version through ``VersionStore.scan`` (which checks the data
against its manifest's checksum, once per file state) against an unverified read of the same
file in the same run. First read (nothing remembered, as in a new process): target at most
1.3x; repeated read (verified before, remembered): target at most 1.05x; read in a new process
of a file another process verified (remembered in the cache file a mesh keeps in its state
folder, loaded afresh for each read): target at most 1.05x."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import polars as pl

from assets.storage import PublishRequest, StorageRoot, VersionStore
from assets.storage.verified import VERIFIED, VerifiedFiles
from bench._timing import Timing, report

ROWS = 1_000_000
REPEAT = 41
KEY = "bench.orders"


def main() -> None:
    frame = pl.DataFrame({"order_id": pl.int_range(0, ROWS, eager=True),
                          "customer": pl.int_range(0, ROWS, eager=True) % 5000,
                          "amount": (pl.int_range(0, ROWS, eager=True) * 0.37).round(2),
                          "status": pl.Series(["open", "paid", "shipped", "returned"] * (ROWS // 4))})
    with tempfile.TemporaryDirectory() as folder:
        store = VersionStore(StorageRoot(str(Path(folder) / "region")))
        manifest = store.publish(frame, PublishRequest(key=KEY, contract_version="1.0.0", code_version="bench",
                                                       run_id="bench", input_versions={}, protection={}))
        path = store.data_path(KEY, manifest.version)
        cache = Path(folder) / "state" / "verified-reads.jsonl"
        VersionStore(store.root, verified=VerifiedFiles(path=cache)).check(manifest)  # as another process would
        print(f"{ROWS:,} rows, {manifest.bytes / 1e6:.1f} MB of Parquet", flush=True)
        # interleaved, so a busy machine slows all three alike; medians of each
        runs: dict[str, list[float]] = {"unverified": [], "first": [], "repeated": [], "new process": []}
        reads = {"unverified": lambda: pl.scan_parquet(path).collect(),
                 "first": lambda: store.scan(KEY).collect(), "repeated": lambda: store.scan(KEY).collect(),
                 "new process": lambda: VersionStore(store.root, verified=VerifiedFiles(path=cache)).scan(KEY).collect()}
        for i in range(REPEAT + 1):
            for name, read in reads.items():
                if name == "first":
                    VERIFIED.clear()  # nothing remembered, as in a new process
                elif name == "repeated":
                    store.scan(KEY)  # verified before (remembered)
                start = time.perf_counter()
                read()
                if i:  # the first round warms up
                    runs[name].append(time.perf_counter() - start)
        baseline = Timing(tuple(runs["unverified"]))
        report("first verified read", Timing(tuple(runs["first"])), baseline, target=1.3,
               baseline_name="unverified read")
        report("repeated verified read", Timing(tuple(runs["repeated"])), baseline, target=1.05,
               baseline_name="unverified read")
        report("verified read in a new process, remembered in the cache file", Timing(tuple(runs["new process"])),
               baseline, target=1.05, baseline_name="unverified read")

if __name__ == "__main__":
    main()
