"""``python -m bench [NAME ...]``: run the named benchmarks (all by default)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "engine": "bench.engine_overhead",
    "gate": "bench.gate_overhead",
    "parse": "bench.parse",
    "latency": "bench.latency",
    "audit": "bench.audit_log",
    "tokenize": "bench.tokenization",
    "encrypt": "bench.encryption",
    "replication": "bench.replication",
    "lineage": "bench.lineage_overhead",
    "drill": "bench.drill",
    "verified_read": "bench.verified_read",
    "audit_verify": "bench.audit_verify",
    "revocation_scan": "bench.revocation_scan",
    "throughput": "bench.throughput",
    "scale": "bench.scale",
    "state": "bench.state_database",
    "ops_status": "bench.ops_status",
    "dashboard": "bench.dashboard",
    "backfill": "bench.backfill",
    "backfill_airflow": "bench.backfill_airflow",
    "cli_start": "bench.cli_start",
}


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}")
    for name in names or list(BENCHMARKS):
        print(f"== {name} ==", flush=True)
        importlib.import_module(BENCHMARKS[name]).main()


if __name__ == "__main__":
    main(sys.argv[1:])
