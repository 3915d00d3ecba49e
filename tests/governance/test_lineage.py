"""OpenLineage: every materialization gives START then COMPLETE or FAIL, valid against the
official schemas, through file, http and composite transports; a backend that is down costs
no data run and misses nothing; ``mesh lineage`` shows the graph with versions and impact."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from openlineage.client.serde import Serde
from typer.testing import CliRunner

from assets import Mesh, Status, materialize
from assets.errors import ConfigError
from assets.events import AssetUpdate
from governance.handlers import LineageHandler
from governance.lineage import PRODUCER, lineage_settings, run_uuid
from governance.lineage.events import EventJSON, start_event, start_json
from governance.policy import load_policy
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from meshctl.local_airflow import free_port

Validate = Callable[[dict[str, Any]], None]
SMALL = {"scale": 300, "seed": 7}


def events_in(root: Path) -> list[dict[str, Any]]:
    path = root / ".mesh" / "lineage" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Collector(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "event": json.loads(body)})  # type: ignore[attr-defined]
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def lineage_server() -> Iterator[tuple[str, list[dict[str, Any]], Callable[[], None]]]:
    """A real HTTP server on loopback that stores what is POSTed, Marquez-style; ``start()``."""
    port = free_port()
    received: list[dict[str, Any]] = []
    servers: list[ThreadingHTTPServer] = []

    def start() -> None:
        server = ThreadingHTTPServer(("127.0.0.1", port), Collector)
        server.received = received  # type: ignore[attr-defined]
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    yield f"http://127.0.0.1:{port}", received, start
    for server in servers:
        server.shutdown()
        server.server_close()


def with_lineage(root: Path, **settings: Any) -> None:
    document = tomlkit.parse((root / "mesh.toml").read_text())
    table = tomlkit.table()
    for k, v in settings.items():
        table[k] = v
    document["lineage"] = table
    (root / "mesh.toml").write_text(tomlkit.dumps(document))


def test_every_materialization_gives_start_then_complete_with_every_facet(example_mesh: Mesh,
                                                                          validate_openlineage: Validate) -> None:
    result = materialize("*", mesh=example_mesh, params=SMALL)
    assert result.ok
    events = events_in(example_mesh.root)
    assert events, "the file transport wrote nothing"
    for event in events:
        validate_openlineage(event)
        assert event["producer"] == PRODUCER
        assert {f["_producer"] for f in event["job"]["facets"].values()} == {PRODUCER}
    by_run: dict[str, list[str]] = {}
    for event in events:
        by_run.setdefault(event["run"]["runId"], []).append(event["eventType"])
    for key, r in result.results.items():
        assert by_run[run_uuid(result.run_id, key)] == ["START", "COMPLETE"], key
    complete = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    revenue, manifest = complete["finance.revenue"], result["finance.revenue"].manifest
    assert manifest is not None
    assert revenue["job"]["namespace"] == "acme"
    assert set(revenue["job"]["facets"]) >= {"jobType", "sourceCodeLocation", "ownership"}
    assert revenue["job"]["facets"]["sourceCodeLocation"]["path"] == "domains/finance/assets.py"
    assert {(i["name"], i["facets"]["version"]["datasetVersion"]) for i in revenue["inputs"]} == \
        set(manifest.input_versions.items())
    [output] = revenue["outputs"]
    assert set(output["facets"]) >= {"schema", "dataQualityAssertions", "ownership", "documentation", "version",
                                     "storage", "dataSource", "columnLineage", "meshGovernance"}
    assert output["facets"]["version"]["datasetVersion"] == manifest.version
    assert {f["name"]: f["type"] for f in output["facets"]["schema"]["fields"]} == dict(manifest.schema)
    assertions = output["facets"]["dataQualityAssertions"]["assertions"]
    assert assertions and all(a["success"] for a in assertions)
    assert ("revenue_usd", "greater_than_or_equal_to") in {(a.get("column"), a["assertion"]) for a in assertions}
    assert [{k: f[k] for k in ("namespace", "name", "field")}
            for f in output["facets"]["columnLineage"]["fields"]["revenue_usd"]["inputFields"]] == [
        {"namespace": "acme", "name": "sales.orders", "field": "amount"},
        {"namespace": "acme", "name": "finance.fx_rates", "field": "rate_to_usd"}]
    assert output["facets"]["dataSource"]["name"] == "us-east"
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == manifest.rows
    governance = complete["customers.customers"]["outputs"][0]["facets"]["meshGovernance"]
    assert governance["_schemaURL"].startswith("https://acme-mesh.dev/spec/facets/1-0-0/MeshGovernanceDatasetFacet.json")
    assert governance["domain"] == "customers" and governance["contractVersion"] == "1.0.0"
    assert governance["classification"] == {"email": "pii", "full_name": "restricted"}
    assert governance["protection"] == {"email": "tokenize:pii", "full_name": "encrypt:restricted"}


def test_a_gate_failure_gives_fail_with_the_failing_checks(example_mesh: Mesh, validate_openlineage: Validate) -> None:
    result = materialize("finance.fx_rates", mesh=example_mesh, params={**SMALL, "inject_bad_rows": True})
    assert result["finance.fx_rates"].status is Status.GATE_FAILED
    events = [e for e in events_in(example_mesh.root) if e["job"]["name"] == "finance.fx_rates"]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    fail = events[1]
    validate_openlineage(fail)
    assert "contract gate failed" in fail["run"]["facets"]["errorMessage"]["message"]
    assertions = fail["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    failed = {(a.get("column"), a["assertion"]) for a in assertions if not a["success"]}
    assert failed == {("rate_to_usd", "in_range"), (None, "multiple_fields_uniqueness")}
    assert len(failed) == len(result["finance.fx_rates"].gate.failures)  # type: ignore[union-attr]
    assert any(a["success"] for a in assertions)  # the checks that held are there too


def test_a_start_event_recorded_from_its_parts_is_the_events_own_json(example_mesh: Mesh) -> None:
    """start_json (what every run records) gives the bytes Serde.to_json gives for start_event,
    for every asset, with or without a partition, again after its parts were serialised once."""
    at = dt.datetime(2026, 11, 1, 12, 30, tzinfo=dt.UTC)
    for key in example_mesh.graph:
        partitions = example_mesh.graph[key].spec.partitions
        partition = "2026-11-01" if partitions is not None else None
        for run_id in ("r1", "r2"):
            built = start_event(example_mesh, key, run_id, "acme", at=at, partition=partition)
            recorded = start_json(example_mesh, key, run_id, "acme", at=at, partition=partition)
            assert recorded == EventJSON(f"{run_uuid(run_id, key, partition)}:START", Serde.to_json(built))


def test_a_replayed_update_emits_nothing_new(example_mesh: Mesh) -> None:
    manifest = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert manifest is not None
    before = events_in(example_mesh.root)
    message = LineageHandler(example_mesh, governed(example_mesh).audit).handle(
        AssetUpdate.from_manifest(manifest, "airflow"))
    assert "COMPLETE already emitted" in message and events_in(example_mesh.root) == before


def test_events_reach_an_http_backend_and_a_composite_sends_to_both(
        example_root: Path, lineage_server: tuple[str, list[dict[str, Any]], Callable[[], None]],
        validate_openlineage: Validate) -> None:
    url, received, start = lineage_server
    start()
    with_lineage(example_root, namespace="acme-prod", transport="composite", url=url)
    mesh = load_mesh(example_root)
    assert materialize("+sales.daily_sales", mesh=mesh, params=SMALL).ok
    assert {r["path"] for r in received} == {"/api/v1/lineage"}
    posted = [r["event"] for r in received]
    assert [(e["job"]["name"], e["eventType"]) for e in posted] == \
        [(e["job"]["name"], e["eventType"]) for e in events_in(example_root)]
    assert {e["job"]["namespace"] for e in posted} == {"acme-prod"} and len(posted) == 4
    for event in posted:
        validate_openlineage(event)


def test_a_backend_that_is_down_costs_no_run_and_misses_nothing(
        example_root: Path, lineage_server: tuple[str, list[dict[str, Any]], Callable[[], None]]) -> None:
    url, received, start = lineage_server
    with_lineage(example_root, transport="http", url=url, timeout_seconds=1)
    mesh = load_mesh(example_root)
    result = materialize("+sales.daily_sales", mesh=mesh, params=SMALL)
    assert result.ok
    outcome = next(h for h in result["sales.daily_sales"].handlers if h.kind == "lineage")
    assert outcome.ok and "lineage backend unreachable" in outcome.message and "kept for re-sending" in outcome.message
    status = governed(mesh).lineage.outbox.status()
    assert status.pending == 4 and status.sent == 0 and "ConnectionError" in (status.last_error or "")
    deferred = governed(mesh).audit.query(action="lineage_delivery")
    assert {d.target for d in deferred} == {"sales.orders", "sales.daily_sales"} and all(
        d.outcome == "deferred" for d in deferred)
    start()
    flushed = CliRunner().invoke(app, ["lineage", "--flush", "--root", str(example_root)])
    assert flushed.exit_code == 0, flushed.stderr
    assert [(r["event"]["job"]["name"], r["event"]["eventType"]) for r in received] == [
        ("sales.orders", "START"), ("sales.orders", "COMPLETE"),
        ("sales.daily_sales", "START"), ("sales.daily_sales", "COMPLETE")]
    assert governed(mesh).lineage.outbox.status().pending == 0


def test_the_transport_comes_from_mesh_toml_or_openlineage_yml(example_root: Path) -> None:
    default = lineage_settings(load_policy(example_root))
    assert default.namespace == "acme" and default.transport["type"] == "file"
    assert default.transport["log_file_path"] == str(example_root / ".mesh" / "lineage" / "events.jsonl")
    document = tomlkit.parse((example_root / "mesh.toml").read_text())
    del document["lineage"]
    (example_root / "mesh.toml").write_text(tomlkit.dumps(document))
    (example_root / "openlineage.yml").write_text("transport:\n  type: http\n  url: http://marquez:5000\n")
    from_yaml = lineage_settings(load_policy(example_root))
    assert from_yaml.transport == {"type": "http", "url": "http://marquez:5000"} and from_yaml.namespace == "acme"
    assert from_yaml.source.endswith("openlineage.yml")
    (example_root / "openlineage.yml").write_text("transport: [oops\n")
    with pytest.raises(ConfigError, match="openlineage.yml is unreadable"):
        lineage_settings(load_policy(example_root))
    checked = CliRunner().invoke(app, ["check", "--root", str(example_root)])
    assert checked.exit_code == 1 and "openlineage.yml is unreadable" in checked.stdout + checked.stderr


@pytest.mark.parametrize(("settings", "message"), [
    ({"transport": "kafka"}, r"\[lineage\].transport.*unknown transport 'kafka'"),
    ({"transport": "http"}, r"\[lineage\].url.*the http transport needs a url"),
    ({"transport": "http", "url": "marquez:5000"}, r"'marquez:5000' is not an http\(s\) URL"),
    ({"namespace": "x", "timeout": 3}, r"\[lineage\].*unknown key 'timeout'"),
])
def test_a_bad_lineage_section_is_refused_with_the_key(example_root: Path, settings: dict[str, Any],
                                                       message: str) -> None:
    with_lineage(example_root, **settings)
    with pytest.raises(ConfigError, match=message):
        load_policy(example_root)


def test_mesh_lineage_shows_versions_across_domains_and_the_impact(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    result = materialize("*", mesh=mesh, params=SMALL)
    newer = materialize("sales.orders", mesh=mesh, params=SMALL)["sales.orders"].manifest
    assert newer is not None
    runner = CliRunner()
    shown = runner.invoke(app, ["lineage", "finance.revenue", "--root", str(example_root), "--json"])
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    upstream = {n["key"]: n for n in data["upstream"]}
    assert set(upstream) == {"sales.orders", "finance.fx_rates"}
    assert upstream["sales.orders"]["read"] == result["sales.orders"].manifest.version  # type: ignore[union-attr]
    assert upstream["sales.orders"]["current"] == newer.version and upstream["sales.orders"]["stale"]
    assert [n["key"] for n in data["downstream"]] == ["finance.monthly_revenue"]
    impact = runner.invoke(app, ["lineage", "sales.orders", "--impact", "--root", str(example_root), "--json"])
    assert impact.exit_code == 0, impact.stderr
    reached = json.loads(impact.stdout)
    assert {"finance.revenue", "finance.monthly_revenue", "sales.customer_orders", "marketing.audience"} <= \
        set(reached["assets"])
    assert {"sales", "finance", "marketing"} <= set(reached["domains"])
    assert reached["owners"]["finance"] == ["finance-data@acme.example"] and "marketing" in reached["grantees"]
    table = runner.invoke(app, ["lineage", "sales.orders", "--root", str(example_root)])
    assert table.exit_code == 0 and "finance.revenue" in table.stdout and "downstream" in table.stdout
    unknown = runner.invoke(app, ["lineage", "sales.order", "--root", str(example_root)])
    assert unknown.exit_code == 1 and "did you mean" in unknown.stderr.lower()


def test_a_downstream_asset_reads_an_older_version_only_when_its_input_moved_on(example_root: Path) -> None:
    """Each downstream node compares the version it read with the current version of the asset it
    read (``via``), not with the root's: two levels down, ``finance.monthly_revenue`` reads
    ``finance.revenue``'s versions, never ``sales.orders``'s."""
    mesh = load_mesh(example_root)
    materialize("+finance.monthly_revenue", mesh=mesh, params=SMALL)
    runner = CliRunner()

    def downstream() -> dict[str, dict[str, Any]]:
        shown = runner.invoke(app, ["lineage", "sales.orders", "--root", str(example_root), "--json"])
        assert shown.exit_code == 0, shown.stderr
        return {n["key"]: n for n in json.loads(shown.stdout)["downstream"]}

    fresh = downstream()
    assert fresh["finance.monthly_revenue"]["via"] == "finance.revenue"
    assert not fresh["finance.revenue"]["stale"] and not fresh["finance.monthly_revenue"]["stale"]
    table = runner.invoke(app, ["lineage", "sales.orders", "--root", str(example_root)], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "reads an older version" not in table.stdout
    materialize("finance.revenue", mesh=mesh, params=SMALL)
    moved = downstream()
    assert moved["finance.monthly_revenue"]["stale"] and not moved["finance.revenue"]["stale"]


def test_the_airflow_provider_gets_the_namespace_and_the_transport(example_root: Path) -> None:
    from governance.lineage import airflow_provider_settings

    events = example_root / ".mesh" / "lineage" / "airflow-events.jsonl"
    env = airflow_provider_settings(lineage_settings(load_policy(example_root)), events)
    assert env["AIRFLOW__OPENLINEAGE__DISABLED"] == "False" and env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "acme"
    assert json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"]) == {"type": "file", "log_file_path": str(events),
                                                                  "append": True}
    with_lineage(example_root, transport="composite", url="http://127.0.0.1:5000")
    composite = json.loads(airflow_provider_settings(lineage_settings(load_policy(example_root)), events)[
        "AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert composite["transports"]["file"]["log_file_path"] == str(events)
    assert composite["transports"]["http"]["url"] == "http://127.0.0.1:5000"
    with_lineage(example_root, transport="none")
    assert airflow_provider_settings(lineage_settings(load_policy(example_root)), events) == {
        "AIRFLOW__OPENLINEAGE__DISABLED": "True"}


def test_mesh_lineage_of_a_partitioned_asset_shows_a_partitions_versions(example_root: Path) -> None:
    from assets.backfill import plan, run_plan

    mesh = load_mesh(example_root)
    done = run_plan(mesh, plan(mesh, "sales.daily_orders+", first="2026-11-16", last="2026-11-17"))
    assert done.ok
    day = {d: done[f"sales.daily_orders/{d}"].manifest.version for d in ("2026-11-16", "2026-11-17")}  # type: ignore[union-attr]
    week = done["sales.weekly_orders/2026-11-16-W47"].manifest.version  # type: ignore[union-attr]
    runner, root = CliRunner(), ["--root", str(example_root)]
    shown = runner.invoke(app, ["lineage", "sales.daily_orders", *root, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert (data["partition"], data["current"]) == ("2026-11-17", day["2026-11-17"])
    (weekly,) = data["downstream"]
    assert (weekly["key"], weekly["partition"], weekly["current"]) == ("sales.weekly_orders", "2026-11-16-W47", week)
    assert weekly["read"] == day["2026-11-17"] and weekly["read_partitions"] == ["2026-11-16", "2026-11-17"]
    assert not weekly["stale"]
    older = json.loads(runner.invoke(app, ["lineage", "sales.daily_orders", "--partition", "2026-11-16", *root,
                                           "--json"]).stdout)
    assert (older["partition"], older["current"]) == ("2026-11-16", day["2026-11-16"])
    assert older["downstream"][0]["read"] == day["2026-11-16"]
    text = runner.invoke(app, ["lineage", "sales.daily_orders", *root])
    assert f"partition 2026-11-17 (current version {day['2026-11-17']})" in " ".join(text.stdout.split())
    assert "none" not in text.stdout
    up = json.loads(runner.invoke(app, ["lineage", "sales.weekly_orders", *root, "--json"]).stdout)
    assert up["upstream"][0]["current"] == day["2026-11-17"] and up["upstream"][0]["partition"] == "2026-11-17"
    for args, said in ((["sales.daily_orders", "--partition", "2026-11-19"], "no published partition '2026-11-19'"),
                       (["sales.daily_orders", "--partition", "nope"], "nope"),
                       (["sales.orders", "--partition", "2026-11-16"], "is not partitioned")):
        refused = runner.invoke(app, ["lineage", *args, *root])
        assert refused.exit_code == 1 and said in refused.output and "Traceback" not in refused.output
