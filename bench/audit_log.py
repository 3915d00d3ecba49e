"""Audit log throughput: append 1M records (hash-chained, locked, fsync-ed per batch of 1,000),
against writing the same records as plain JSON lines; then verify the whole log (target: under
10 s). Single appends (one lock and one fsync each) are timed on a sample."""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

from governance.audit import AuditEvent, AuditLog
from governance.keys import LocalKeyStore

RECORDS, BATCH, SINGLES = 1_000_000, 1_000, 2_000


def _event(i: int) -> AuditEvent:
    return AuditEvent(actor=f"user{i % 50}@acme.example", action="read", target=f"d{i % 50:03d}.a{i % 20:03d}",
                      outcome="allowed", source="bench", details={"version": f"v{i}"}, where="bench-host")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = AuditLog(root / "audit", LocalKeyStore(root / "keys").signing_key("audit.pem"))
        events = [_event(i) for i in range(RECORDS)]
        start = time.perf_counter()
        for i in range(0, RECORDS, BATCH):
            log.append_many(events[i:i + BATCH])
        appended = time.perf_counter() - start
        start = time.perf_counter()
        with open(root / "plain.jsonl", "w") as fh:
            for i in range(0, RECORDS, BATCH):
                fh.write("".join(json.dumps(dataclasses.asdict(e), default=str) + "\n" for e in events[i:i + BATCH]))
        plain = time.perf_counter() - start
        singles = []
        single_log = AuditLog(root / "single", LocalKeyStore(root / "keys").signing_key("audit.pem"))
        for i in range(SINGLES):
            t = time.perf_counter()
            single_log.append(events[i])
            singles.append(time.perf_counter() - t)
        start = time.perf_counter()
        report = log.verify()
        verified = time.perf_counter() - start
    assert report.ok and report.records == RECORDS
    print(f"audit append, {RECORDS:,} records in batches of {BATCH:,}: {RECORDS / appended:,.0f} records/s "
          f"({appended:.1f} s) vs plain JSON lines {RECORDS / plain:,.0f} records/s -> ratio {appended / plain:.2f}x",
          flush=True)
    print(f"audit single append (lock + fsync each): median {statistics.median(singles) * 1000:.2f} ms "
          f"over {SINGLES:,}", flush=True)
    print(f"audit verify, {RECORDS:,} records and {report.checkpoints} signed checkpoints: {verified:.1f} s "
          f"(target < 10 s: {'met' if verified < 10 else 'MISSED'})", flush=True)


if __name__ == "__main__":
    main()
