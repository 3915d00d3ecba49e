"""The dashboard and asset pages, as HTML: every domain with its runs, failures and gate failures
from the audit log, versions from the run history, storage and replication per region; the graph
coloured by each asset's last run; operational figures only from the operations layer's view."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assets.mesh import Mesh
from assets.results import Status
from assets.staleness import staleness
from governance.audit import AuditError, AuditEvent, AuditLog
from governance.audit.lines import encode_line
from governance.dr.drill import DrillReport, record_drill
from governance.keys import LocalKeyStore
from governance.ops import NOT_MEASURED, DailyOperations, DomainHealth, operations_view
from governance.ops.monitor import mesh_view
from governance.reports import Period, measure_usage
from governance.services import governed
from governance.wiring import load_mesh
from tests.webapp.conftest import ServedMesh
from webapp import create_app
from webapp.app import MeshSource
from webapp.asset_view import asset_view
from webapp.overview import RunIndex, _run_fields, overview


def test_the_dashboard_shows_every_domain_with_what_the_history_holds(client: TestClient,
                                                                       served_mesh: ServedMesh) -> None:
    page = client.get("/")
    assert page.status_code == 200
    mesh = served_mesh.mesh
    for domain in mesh.policy.active_domains:
        assert f'data-domain="{domain}"' in page.text
    o = overview(mesh, NOT_MEASURED)
    finance = next(d for d in o.domains if d.name == "finance")
    assert served_mesh.second.by_status(Status.GATE_FAILED) == ["finance.fx_rates"]
    assert finance.gate_failures == 1 and finance.failures == 1
    assert sum(d.runs for d in o.domains) == len(governed(mesh).audit.query(action="materialize"))
    assert sum(d.versions for d in o.domains) == sum(len(v) for v in governed(mesh).history.published().values())
    assert all(d.replication for d in o.domains) and all(set(d.storage_bytes) == set(mesh.regions.storage)
                                                         for d in o.domains)
    assert o.states["finance.fx_rates"] == "gate_failed" and o.states["sales.orders"] == "materialized"
    assert sum(o.trends.runs["sales"]) == o.domains[-1].runs and len(o.trends.days) == 30


def test_the_page_loads_its_charting_library_from_the_app_not_a_cdn(client: TestClient) -> None:
    page = client.get("/").text
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources)
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000 and b"plotly" in plotly.content[:2000].lower()
    assert client.get("/static/dashboard.js").status_code == 200


def test_a_view_that_measures_nothing_says_not_measured(served_mesh: ServedMesh) -> None:
    with TestClient(create_app(served_mesh.root, operations=lambda mesh: NOT_MEASURED)) as http:
        page = http.get("/").text
    assert 'id="not-measured"' in page and page.count("not measured") >= len(served_mesh.mesh.policy.active_domains)
    assert 'id="chart-sla"' not in page


def test_the_operations_layer_measures_freshness_sla_and_incidents(client: TestClient,
                                                                   served_mesh: ServedMesh) -> None:
    mesh, now = served_mesh.mesh, dt.datetime.now(dt.UTC)
    view = operations_view(mesh)
    statuses = mesh_view(mesh).statuses(now)
    finance = view.domain_health("finance", days=30, now=now)
    tracked = [s for k, s in statuses.items() if k.startswith("finance.") and s.state != "untracked"]
    assert finance is not None and tracked
    assert finance.share_fresh == sum(s.state == "fresh" for s in tracked) / len(tracked)
    assert finance.open_incidents == 1, "the gate failure of finance.fx_rates, alerted"
    daily = view.daily("finance", days=30, now=now)
    assert daily is not None and len(daily.incidents) == 30 and daily.incidents[-1] == 1
    assert view.asset_fresh("sales.orders", now=now) is (statuses["sales.orders"].state == "fresh")
    page = client.get("/").text
    assert 'id="not-measured"' not in page and 'id="chart-sla"' in page


class FakeOperations:
    """An operations layer that measures: what the hook shows when one is installed."""

    def domain_health(self, domain: str, *, days: int, now: dt.datetime) -> DomainHealth | None:
        return DomainHealth(share_fresh=0.75, sla_compliance=0.9875, open_incidents=2, mttr_seconds=1800)

    def daily(self, domain: str, *, days: int, now: dt.datetime) -> DailyOperations | None:
        return DailyOperations(sla_compliance=(1.0,) * days, incidents=(0,) * (days - 1) + (2,))

    def asset_fresh(self, key: str, *, now: dt.datetime) -> bool | None:
        return key != "sales.orders"


def test_an_operations_view_fills_in_freshness_sla_incidents_and_stale_assets(served_mesh: ServedMesh) -> None:
    def operations(mesh: Mesh) -> FakeOperations:
        return FakeOperations()

    with TestClient(create_app(served_mesh.root, operations=operations)) as http:
        page = http.get("/").text
        data = http.get("/api/overview").json()
    assert "75.0%" in page and "98.8%" in page and "30 min" in page and 'id="not-measured"' not in page
    assert 'id="chart-sla"' in page and data["trends"]["sla"]["sales"][-1] == 100.0
    assert data["states"]["sales.orders"] == "stale" and data["states"]["finance.fx_rates"] == "gate_failed"


def test_an_asset_page_shows_versions_contract_quality_lineage_and_grants(client: TestClient,
                                                                         served_mesh: ServedMesh) -> None:
    page = client.get("/assets/sales.customer_orders").text
    store = served_mesh.mesh.store()
    for version in store.versions("sales.customer_orders"):
        assert version in page
    assert "(current)" in page and "materialized" in page
    assert 'href="/assets/customers.customers"' in page and 'href="/assets/marketing.audience"' in page
    assert "campaign audiences" in page and "active" in page  # marketing reads it under its grant
    failed = client.get("/assets/finance.fx_rates").text
    assert "gate_failed" in failed and re.search(r"[a-z_]+:[a-z_]+", failed)
    schedules = {key: asset_view(served_mesh.mesh, key).spec["schedule"]
                 for key in ("sales.daily_orders", "sales.customer_orders", "marketing.web_leads", "sales.orders")}
    assert schedules == {"sales.daily_orders": "partitioned daily from 2026-11-16", "sales.customer_orders": "on all inputs",
                         "marketing.web_leads": "its drop's new files", "sales.orders": "@hourly"}, schedules
    missing = client.get("/assets/sales.order")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no data product &#x27;sales.order&#x27;" in missing.text and "did you mean &#x27;sales.orders&#x27;" in missing.text


def test_the_graph_colours_every_asset_and_links_to_its_page(client: TestClient, served_mesh: ServedMesh) -> None:
    page = client.get("/").text
    nodes = dict(re.findall(r'<a class="node" href="/assets/([^"]+)" data-key="[^"]+" data-state="([^"]+)"', page))
    assert set(nodes) == set(served_mesh.mesh.graph)
    assert nodes["finance.fx_rates"] == "gate_failed"


def test_the_last_recorded_drill_shows_its_rto_and_rpo(served_mesh: ServedMesh, tmp_path: Path) -> None:
    mesh = served_mesh.mesh
    record_drill(mesh, DrillReport(workdir=tmp_path, failed_region="us-east", new_region="us-west", rto_seconds=1.25,
                                   rpo_versions=2, rpo_seconds=30.0, published_versions=10, verified_versions=8,
                                   rematerialized=True))
    audit = governed(mesh).audit
    drill = RunIndex().update(audit).last_drill(audit)
    assert drill is not None and drill.ok and drill.rto_seconds == 1.25 and drill.rpo_versions == 2
    with TestClient(create_app(served_mesh.root)) as http:
        assert "1.2 s" in http.get("/").text and "RPO 2 version(s)" in http.get("/").text


def test_the_run_index_reads_only_the_lines_appended_since_its_last_update(served_mesh: ServedMesh) -> None:
    audit = governed(served_mesh.mesh).audit
    index = RunIndex().update(audit)
    runs, offset = sum(index.runs.values()), index.offset
    assert runs == len(audit.query(action="materialize"))
    audit.append(AuditEvent(actor="service:sales", action="materialize", target="sales.not_an_asset", outcome="error",
                            source="cli"))
    assert index.update(audit).offset > offset
    assert sum(index.runs.values()) == runs + 1 and index.last_outcome["sales.not_an_asset"] == "error"
    index.offset = 10**12  # as if the log had shrunk (restored from a backup): read again from the start
    assert sum(index.update(audit).runs.values()) == runs + 1


def _record(**fields: object) -> dict[str, object]:
    """The body of a record of a run of sales.orders (no ``hash``), with ``fields`` changed."""
    return {"seq": 2, "at": "2026-11-01T06:00:00+00:00", "actor": "service:sales", "action": "materialize",
            "target": "sales.orders", "outcome": "materialized", "source": "cli", "where": "region:us-east",
            "details": {}, "prev": "0" * 64, **fields}


@pytest.mark.parametrize("line", [
    pytest.param(b'{"action":"materialize","actor":"service:sales","at":"2026-11-01T06:00:00+00:00","details":'
                 b'{"error":"x \\",\\"outcome\\":\\"fake","target":"nested"},"outcome":"error","prev":"p","seq":3,'
                 b'"source":"cli","target":"sales.orders","where":"region:us-east","hash":"h"}\n', id="canonical"),
    pytest.param(json.dumps(_record(outcome="error", hash="1" * 64)).encode() + b"\n",
                 id="not canonical: parsed"),
])
def test_a_run_line_gives_its_own_time_outcome_and_asset(line: bytes) -> None:
    assert _run_fields(line) == ("2026-11-01T06:00:00+00:00", "error", "sales.orders")


def _log_with(tmp_path: Path, line: bytes) -> AuditLog:
    """An audit log of two runs of sales.orders, then ``line`` (damaged)."""
    log = AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"))
    run = AuditEvent(actor="service:sales", action="materialize", target="sales.orders", outcome="materialized",
                     source="cli")
    log.append_many([run, run])
    with open(log.storage.path, "ab") as fh:
        fh.write(line)
    return log


@pytest.mark.parametrize("line", [
    pytest.param(b'{"action":"materialize", broken\n', id="cut json"),
    pytest.param(b'{"action":"materialize","x":1}\n', id="no fields"),
    pytest.param(b'{"action":"materialize","at":1,"outcome":[],"target":{}}\n', id="fields not strings"),
    pytest.param(b'{"action":"materialize","actor":"a","at":"\xff","outcome":"ok","target":"sales.orders"}\n',
                 id="not utf-8"),
    pytest.param(b'{"action":"dr_drill", broken\n', id="drill cut"),
    pytest.param(b'{"action":"dr_drill","at":"2026-11-01T06:00:00+00:00","details":[]}\n', id="drill details"),
])
def test_a_damaged_run_or_drill_record_is_named_not_a_traceback(tmp_path: Path, line: bytes) -> None:
    log = _log_with(tmp_path, line)
    index = RunIndex()
    for _ in range(2):  # not read past: the next page says it again
        with pytest.raises(AuditError, match="line 3 of the audit log is not a valid audit record"):
            index.update(log)
    assert sum(index.runs.values()) == 2


def test_a_damaged_record_past_the_first_megabytes_is_named_by_its_line(tmp_path: Path) -> None:
    log = _log_with(tmp_path, b"")
    with open(log.storage.path, "ab") as fh:  # 3 MB of lines that are not runs, then a damaged run
        fh.write(b'{"action":"other"}\n' * 160_000 + b'{"action":"materialize","x":1}\n')
    with pytest.raises(AuditError, match="line 160003 of the audit log"):
        RunIndex().update(log)


@pytest.mark.parametrize(("line", "read"), [
    pytest.param(b'{"action":"materialize","at":"yesterday","outcome":"ok","target":"sales.orders"}\n',
                 lambda index, log: index.runs_of(log, "sales.orders"), id="run time"),
    pytest.param(encode_line(_record(action="dr_drill", details={"rto_seconds": "fast"}))[0],
                 lambda index, log: index.last_drill(log), id="drill rto"),
])
def test_a_record_damaged_where_the_page_reads_it_is_named_too(tmp_path: Path, line: bytes,
                                                               read: Callable[[RunIndex, AuditLog], object]) -> None:
    log = _log_with(tmp_path, line)
    index = RunIndex().update(log)
    with pytest.raises(AuditError, match="line 3 of the audit log"):
        read(index, log)


def test_preparing_the_app_indexes_the_audit_log_before_the_first_page(served_mesh: ServedMesh) -> None:
    source = MeshSource(served_mesh.root)
    source.prepare()
    indexed = source.runs.offset
    assert indexed == governed(served_mesh.mesh).audit.storage.path.stat().st_size
    source.mesh()
    assert source.runs.offset == indexed  # the same index serves the first page


def test_each_domain_shows_its_cost_this_month_as_mesh_usage_prices_it(client: TestClient,
                                                                       served_mesh: ServedMesh) -> None:
    mesh = served_mesh.mesh
    now = dt.datetime.now(dt.UTC)
    usage = measure_usage(mesh, Period.containing(now, quarter=False))
    charges = {c.domain: c.total for c in usage.charges}
    page = client.get("/").text
    shown = dict(re.findall(r'data-cost="([^"]+)">([0-9.]+) ', page))
    assert set(shown) == set(mesh.policy.active_domains)
    assert {d: float(v) for d, v in shown.items()} == {d: round(charges.get(d, 0.0), 2) for d in shown}
    assert sum(c.runs for c in usage.charges) > 0 and sum(d.task_seconds for d in usage.days) > 0, \
        "the example's runs are metered"


def test_an_asset_page_says_whether_the_asset_is_stale(client: TestClient, served_mesh: ServedMesh) -> None:
    for key in ("sales.orders", "finance.fx_rates"):
        found = staleness(served_mesh.mesh, key)
        shown = "yes: " + "; ".join(found.reasons) if found.stale else "no"
        assert f"<th>stale</th><td>{shown}</td>" in client.get(f"/assets/{key}").text


def test_a_partitioned_asset_page_lists_each_partitions_current_version(client: TestClient,
                                                                         served_mesh: ServedMesh) -> None:
    store = served_mesh.mesh.store()
    published = store.partitions("sales.daily_orders")
    assert published  # materialize '*' ran today's partition
    page = client.get("/assets/sales.daily_orders").text
    assert "Partitions (current versions)" in page and "<th>partition</th>" in page
    for partition in published:
        version = store.current_version("sales.daily_orders", partition)
        assert f"<td>{partition}</td><td>{version}" in page
    assert f"{len(published)} partition(s) published" in page
    assert "<th>partition</th>" not in client.get("/assets/sales.orders").text


def test_an_asset_page_with_a_damaged_version_says_so_instead_of_failing(served_mesh: ServedMesh,
                                                                          tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    store = load_mesh(root).store()
    current = store.require_current("sales.orders")
    (Path(store.root.path("sales", "orders", current.version, "manifest.json"))).write_text("{not json")
    (Path(store.root.path("sales", "daily_orders", store.partitions("sales.daily_orders")[0], "CURRENT"))
     .write_text("[1]"))
    with TestClient(create_app(root)) as http:
        for key in ("sales.orders", "sales.daily_orders"):
            response = http.get(f"/assets/{key}")
            assert response.status_code == 200, response.text
            assert 'id="problems"' in response.text and "mesh ops heal" in response.text
            assert str(root) not in response.text.split('id="problems"')[1].split("</section>")[0]



def test_an_asset_page_names_an_unreadable_version_without_the_servers_paths(served_mesh: ServedMesh,
                                                                            tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    store = load_mesh(root).store()
    manifest = Path(store.root.path("sales", "orders", store.require_current("sales.orders").version, "manifest.json"))
    manifest.unlink()
    manifest.mkdir()  # refused as no regular file, in an error whose text carries the absolute path
    with TestClient(create_app(root)) as http:
        response = http.get("/assets/sales.orders")
    problems = response.text.split('id="problems"')[1].split("</section>")[0]
    assert response.status_code == 200 and "a folder, not a regular file" in problems
    assert f"the manifest of version &#39;{manifest.parent.name}&#39;" in problems
    assert str(tmp_path) not in problems and str(tmp_path.resolve()) not in problems


def test_a_run_error_on_an_asset_page_names_files_relative_to_the_mesh(served_mesh: ServedMesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    mesh = load_mesh(root)
    governed(mesh).audit.append(AuditEvent(
        actor="service:sales", action="materialize", target="sales.orders", outcome="error", source="cli",
        details={"error": f"FileNotFoundError: [Errno 2] No such file or directory: '{root}/drops/x.csv'"}))
    with TestClient(create_app(root)) as http:
        page = http.get("/assets/sales.orders").text
    runs = page.split('id="runs"')[1].split("</table>")[0]
    assert "No such file or directory: &#39;drops/x.csv&#39;" in runs and str(tmp_path) not in runs



def test_a_domain_whose_code_fails_to_load_is_named_on_the_dashboard(served_mesh: ServedMesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    with open(root / "domains/marketing/assets.py", "a") as code:
        code.write(f"\nraise RuntimeError('cannot open {root}/drops/x.csv <b>bold')\n")
    with TestClient(create_app(root)) as http:
        page = http.get("/")
    assert page.status_code == 200
    broken = page.text.split('id="load-errors"')[1].split("</section>")[0]
    assert 'data-broken="marketing"' in broken and "failed to import: RuntimeError" in broken
    assert "domains/marketing/assets.py" in broken and "cannot open drops/x.csv &lt;b&gt;bold" in broken
    assert str(tmp_path) not in broken
