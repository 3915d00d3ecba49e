"""`mesh audit verify` with the witness at 1M records (target: under 2 s): every signed head with
the pinned key, and the log against every local and witnessed head by their block roots. Medians
of a few runs, against reading the log's lines in the same run (what any check of every record
pays at least). `verify --full` (every record's hash, chain and Merkle root) is timed once."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from assets.storage import StorageRoot
from governance.audit import AuditEvent, AuditLog, key_fingerprint
from governance.audit.witness import RegionWitness, Witnesses
from governance.keys import LocalKeyStore

RECORDS, BATCH, RUNS = int(os.environ.get("RECORDS", 1_000_000)), 1_000, 3


def _event(i: int) -> AuditEvent:
    return AuditEvent(actor=f"user{i % 50}@acme.example", action="read", target=f"d{i % 50:03d}.a{i % 20:03d}",
                      outcome="allowed", source="bench", details={"version": f"v{i}"}, where="bench-host")


def _median(fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        signer = LocalKeyStore(root / "keys").signing_key("audit.pem")
        witness = RegionWitness("us-west", StorageRoot(str(root / "us-west")))
        log = AuditLog(root / "audit", signer, pinned=key_fingerprint(signer.public_key()),
                       witnesses=Witnesses(targets=lambda: [witness], sources=lambda: [witness]))
        for i in range(0, RECORDS, BATCH):
            log.append_many([_event(j) for j in range(i, i + BATCH)])
            if i % 100_000 == 0:
                log.seal()  # a command ending now and then: heads in the witness
        log.seal()
        reports = []
        verify = _median(lambda: reports.append(log.verify()))
        start = time.perf_counter()
        full_report = log.verify(full=True)
        full = time.perf_counter() - start

        def read_lines() -> None:
            with open(root / "audit" / "audit.jsonl", "rb") as fh:
                for _ in fh:
                    pass

        baseline = _median(read_lines)
    report = reports[-1]
    assert report.ok and not report.warnings and report.records == RECORDS and report.witnessed == RECORDS
    assert report.method == "bytes" and full_report.ok and full_report.records == RECORDS
    print(f"audit verify with the witness, {RECORDS:,} records, {report.checkpoints} signed heads: median "
          f"{verify:.2f} s over {RUNS} (target < 2 s: {'met' if verify < 2 else 'MISSED'}); reading the lines "
          f"{baseline:.2f} s -> ratio {verify / baseline:.2f}x; verify --full (every record) {full:.1f} s, once",
          flush=True)


if __name__ == "__main__":
    main()
