"""Dashboard page render time at 1,000 assets with a year of history, against serving a static
file of the same size from the same server in the same run.

The synthetic mesh has 20 domains of 50 assets (and a standby region). A year of history: every
asset ran once a day for 365 days (365,000 ``materialize`` records in the audit log, one in 50 a
gate failure) and published a version each day (365,000 rows in the run history). The records
are appended day by day with the audit log's clock set to that day (the log stamps each record
itself), so the chain is a real one.

Measured over HTTP against uvicorn on loopback: the server's start (it loads the mesh's 1,000
asset modules and indexes the whole audit log before it accepts requests), the first page of the
new server, then the page again (only lines appended since are read), against the static file.
Target: the first page under 1 s.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._timing import Timing, measure, report
from bench.synthetic import write_mesh

DOMAINS, PER_DOMAIN, DAYS = 20, 50, 365
FAILURE_EVERY = 50
TARGET_SECONDS = 1.0


class _Clock:
    """Stands in for the ``datetime`` module in the audit log while the history is written."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __getattr__(self, name: str) -> Any:
        return getattr(dt, name)

    @property
    def datetime(self) -> Any:
        clock = self

        class _Frozen(dt.datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:  # noqa: ARG003 - always UTC
                return clock.now

        return _Frozen


def write_history(root: Path, keys: list[str]) -> None:
    """A year of daily runs and versions of every asset, ending today."""
    import governance.audit.log as audit_module
    from governance.audit import AuditEvent
    from governance.services import governed
    from governance.state.schema import updates
    from governance.wiring import load_policy_mesh

    mesh = load_policy_mesh(root)
    services = governed(mesh)
    clock, real = _Clock(), audit_module.dt
    today = dt.datetime.now(dt.UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    audit_module.dt = clock  # type: ignore[assignment]
    try:
        n = 0
        for day in range(DAYS, 0, -1):
            clock.now = today - dt.timedelta(days=day - 1)
            events, rows = [], []
            for key in keys:
                n += 1
                failed = n % FAILURE_EVERY == 0
                version = f"{clock.now:%Y%m%dT%H%M%S}Z-{n:08x}"
                events.append(AuditEvent(
                    actor=f"service:{key.split('.', 1)[0]}", action="materialize", target=key, source="airflow",
                    outcome="gate_failed" if failed else "materialized",
                    details={"run_id": f"run-{n}", "version": None if failed else version, "rows": 10,
                             "failed_checks": ["value:less_than_or_equal_to"] if failed else [], "error": None}))
                if not failed:
                    rows.append({"key": key, "version": version, "run_id": f"run-{n}", "source": "airflow", "rows": 10,
                                 "summary": json.dumps({"version": version, "rows": 10}),
                                 "recorded_at": clock.now.isoformat(timespec="milliseconds")})
            services.audit.append_many(events)
            with services.history.database.write() as conn:
                conn.execute(updates.insert(), rows)
    finally:
        audit_module.dt = real  # type: ignore[assignment]
    services.audit.seal()


def main() -> None:
    from webapp import create_app
    from webapp.browser import serving

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        root = Path(tmp) / "mesh"
        started = time.perf_counter()
        keys = write_mesh(root, domains=DOMAINS, assets_per_domain=PER_DOMAIN, standby=True)
        write_history(root, keys)
        log = root / ".mesh" / "audit"
        size = sum(f.stat().st_size for f in log.rglob("*") if f.is_file())
        print(f"mesh of {len(keys)} assets, {DAYS} days of history ({len(keys) * DAYS:,} runs, audit log "
              f"{size / 1e6:.0f} MB) written in {time.perf_counter() - started:.0f} s", flush=True)
        starts, firsts, agains, statics = [], [], [], []
        page_bytes: list[bytes] = []
        for _ in range(3):
            app = create_app(root)
            t0 = time.perf_counter()
            with serving(app) as url, httpx.Client(base_url=url, timeout=120) as http:
                starts.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                page = http.get("/")
                firsts.append(time.perf_counter() - t0)
                assert page.status_code == 200 and page.text.count("data-domain=") == DOMAINS, page.text[:500]
                page_bytes.append(page.content)
                static = Path(tmp) / "static.html"
                static.write_bytes(b"x" * len(page.content))
                app.add_api_route("/baseline.html", lambda: _file(static))
                agains.extend(measure(lambda: http.get("/").raise_for_status(), repeat=3, warmup=0).samples)
                statics.extend(measure(lambda: http.get("/baseline.html").raise_for_status(), repeat=5).samples)
        first, again, baseline = Timing(tuple(firsts)), Timing(tuple(agains)), Timing(tuple(statics))
        print(f"server start (mesh loaded, audit log indexed, before the first request): median "
              f"{Timing(tuple(starts)).median:.2f} s", flush=True)
        print(f"page size {len(page_bytes[0]) / 1e6:.2f} MB; static file of the same size served by the same server")
        report("first page of a new server", first, baseline,
               baseline_name="static file")
        report("page again (index kept, only new lines read)", again, baseline, baseline_name="static file")
        for name, timing in (("first page", first), ("page again", again)):
            verdict = "met" if timing.median < TARGET_SECONDS else "MISSED"
            print(f"{name}: median {timing.median:.3f} s (target under {TARGET_SECONDS:.0f} s: {verdict})", flush=True)


def _file(path: Path) -> Any:
    from fastapi.responses import FileResponse

    return FileResponse(path, media_type="text/html")


if __name__ == "__main__":
    main()
