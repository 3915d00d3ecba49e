"""The revoked set's read (once per loaded policy, and again every ``REREAD_AFTER`` seconds in a
long-running process) on the example mesh with an audit log of 400,000 records (about 150 MB, a
revocation every 1,000): from the signed scan mark, scanning only the ``TAIL`` records appended
since, against a scan of the whole log (what every read did before marks: no mark, none written),
in the same run, interleaved. Medians of 5; the folder store (``RECORDS``, ``TAIL`` override)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from unittest import mock

from bench._timing import measure_interleaved
from bench.synthetic import example_mesh
from governance.access import revocations
from governance.audit import AuditEvent, audit_log_at
from governance.audit.storage import mark_file
from governance.policy import load_policy

RECORDS, TAIL, BATCH = int(os.environ.get("RECORDS", 400_000)), int(os.environ.get("TAIL", 1_000)), 1_000


def _event(i: int) -> AuditEvent:
    if i % 1000 == 500:
        return AuditEvent(actor="council@acme.example", action="grant_revoke", target="customers.customers",
                          outcome="revoked", source="bench", where="bench-host",
                          details={"grant": f"g-{i:08x}", "nonce": f"{i:032x}", "consumer": "sales"})
    return AuditEvent(actor=f"user{i % 50}@acme.example", action="read", target=f"d{i % 50:03d}.a{i % 20:03d}",
                      outcome="allowed", source="bench", where="bench-host",
                      details={"version": f"v{i:08d}", "path": f"d{i % 50:03d}/a{i % 20:03d}/v{i:08d}.parquet"})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = example_mesh(Path(tmp) / "mesh")
        policy = load_policy(root)
        log = audit_log_at(root / ".mesh")
        for i in range(0, RECORDS - TAIL, BATCH):
            log.append_many([_event(j) for j in range(i, min(i + BATCH, RECORDS - TAIL))])
        revocations.forget_revocations()
        revocations.revocations(policy)  # the whole log scanned: it leaves a mark
        mark = root / ".mesh" / "audit" / mark_file(revocations.MARK)
        marked = mark.read_bytes()
        log.append_many([_event(j) for j in range(RECORDS - TAIL, RECORDS)])
        size = log.storage.size()
        found: dict[str, object] = {}

        def whole() -> None:
            mark.unlink(missing_ok=True)
            revocations.forget_revocations()
            with mock.patch.object(revocations, "MARK_AFTER", size + 1):  # as before marks: none written
                found["whole"] = dict(revocations.revocations(policy))

        def tail() -> None:
            mark.write_bytes(marked)
            revocations.forget_revocations()
            found["tail"] = dict(revocations.revocations(policy))

        timings = measure_interleaved({"whole": whole, "tail": tail}, repeat=5)
    assert found["whole"] == found["tail"] and len(found["tail"]) == RECORDS // 1000  # type: ignore[arg-type]
    full, part = timings["whole"].median, timings["tail"].median
    print(f"revoked set read, {RECORDS:,} records ({size / 1e6:.0f} MB): from the mark with {TAIL:,} records "
          f"after it {part * 1000:.1f} ms; the whole log scanned (no mark, as before) {full * 1000:.0f} ms -> "
          f"{full / part:.0f}x faster", flush=True)


if __name__ == "__main__":
    main()
