"""The generated DAGs as Airflow's DagBag parses them, in a separate process with its own
AIRFLOW_HOME: schedules, outlets, owners, pools, retries, docs, and a broken domain; built from
the compiled mesh, without importing polars, pandera or any domain's code.

No scheduler runs here (no ``airflow`` mark): these tests run with the others on two workers,
and leave the serial run of the real-Airflow tests to those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from governance.compiled import write_compiled_mesh
from tests.airflow.conftest import copy_with_dags

_PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset, AssetAll, AssetAny

def condition(c):
    if isinstance(c, Asset):
        return c.name
    return {type(c).__name__: [condition(o) for o in c.objects]}

def watchers(c):
    if c is None:
        return []
    if isinstance(c, Asset):
        return [[w.name, list(w.trigger.serialize()) if hasattr(w.trigger, "serialize") else w.trigger]
                for w in (getattr(c, "watchers", None) or [])]
    return [x for o in c.objects for x in watchers(o)]

bag = DagBag(sys.argv[1])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("polars", "pandera", "domains"))
out = {"import_errors": {k.rsplit("/", 1)[-1]: v for k, v in bag.import_errors.items()}, "dags": {}, "heavy": heavy}
for dag_id, dag in bag.dags.items():
    t = dag.tasks[0]
    tt = dag.timetable
    out["dags"][dag_id] = {
        "schedule": condition(tt.asset_condition) if getattr(tt, "asset_condition", None) is not None
                    else getattr(tt, "expression", repr(tt)),
        "watchers": watchers(getattr(tt, "asset_condition", None)),
        "tasks": [x.task_id for x in dag.tasks], "outlets": [o.name for o in t.outlets],
        "groups": [o.group for o in t.outlets], "owner": t.owner, "pool": t.pool, "retries": t.retries,
        "priority": t.priority_weight,
        "backoff": t.retry_exponential_backoff, "tags": sorted(dag.tags), "doc_md": dag.doc_md or "",
        "params": sorted(dag.params.keys()), "paused_at_creation": dag.is_paused_upon_creation,
        "timetable": type(tt).__name__, "key_format": getattr(tt, "key_format", None),
        "run_offset": getattr(tt, "run_offset", None), "max_active_runs": dag.max_active_runs,
        "mappers": {a.name: [type(m).__name__] + ([type(m.upstream_mapper).__name__, m.upstream_mapper.input_format,
                                                   m.upstream_mapper.output_format, type(m.window).__name__]
                                                  if hasattr(m, "window") else [])
                    for a, m in (getattr(tt, "partition_mapper_config", None) or {}).items()},
        "deadlines": [[type(d.reference).__name__, d.interval.total_seconds(), d.callback.path, type(d.callback).__name__]
                      for d in (dag.deadline if isinstance(dag.deadline, list) else [dag.deadline] if dag.deadline
                                else [])],
    }
print(json.dumps(out))
"""


def parse(folder: Path, tmp_path: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow_home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    done = subprocess.run([sys.executable, "-c", _PARSE, str(folder)], env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def example_bag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = copy_with_dags(tmp_path_factory.mktemp("bag") / "mesh")
    return parse(root / "dags", tmp_path_factory.mktemp("home"))


def test_parsing_imports_neither_polars_pandera_nor_domain_code(example_bag: dict[str, Any], tmp_path: Path) -> None:
    assert example_bag["heavy"] == []  # the first parse, which compiled the mesh in a subprocess
    root = copy_with_dags(tmp_path / "mesh")
    write_compiled_mesh(root)
    again = parse(root / "dags", tmp_path)
    assert again["heavy"] == [] and len(again["dags"]) == 18 + 4 + 1 + 1


def test_a_changed_domain_is_parsed_as_it_is_now(tmp_path: Path) -> None:
    root = copy_with_dags(tmp_path / "mesh")
    write_compiled_mesh(root)
    code = root / "domains" / "finance" / "assets.py"
    code.write_text(code.read_text().replace('"""Revenue per day', '"""Net revenue per day', 1)
                    .replace('tags={"tier": "gold"}', 'tags={"tier": "platinum"}'))
    revenue = parse(root / "dags", tmp_path)["dags"]["finance.revenue"]
    assert "Net revenue per day" in revenue["doc_md"] and "tier:platinum" in revenue["tags"]


def test_one_dag_per_asset_and_one_governance_dag_per_domain(example_bag: dict[str, Any]) -> None:
    assert example_bag["import_errors"] == {}
    dags = example_bag["dags"]
    assert len(dags) == 18 + 4 + 1 + 1  # assets, governance, sales' partition governance, ops
    assert "mesh_ops" in dags, "the periodic ops DAG"
    assert {d for d in dags if d.startswith("mesh_governance.")} == {
        "mesh_governance.customers", "mesh_governance.sales", "mesh_governance.finance", "mesh_governance.marketing",
        "mesh_governance.sales.partitions"}


def test_partitioned_assets_use_airflows_partitioned_timetables_and_mappers(example_bag: dict[str, Any]) -> None:
    dags = example_bag["dags"]
    days, weeks = dags["sales.daily_orders"], dags["sales.weekly_orders"]
    assert (days["timetable"], days["key_format"], days["run_offset"]) == ("CronPartitionTimetable", "%Y-%m-%d", -1)
    assert days["schedule"] == "0 0 * * *" and days["params"] == ["bad_day", "inject_bad_rows", "scale", "seed"]
    assert days["max_active_runs"] > 1, "partitions of one asset run side by side"
    assert weeks["timetable"] == "PartitionedAssetTimetable" and weeks["schedule"] == "sales.daily_orders"
    assert weeks["mappers"] == {"sales.daily_orders": [
        "RollupMapper", "StartOfWeekMapper", "%Y-%m-%d", "%Y-%m-%d-W%V", "WeekWindow"]}
    governance = dags["mesh_governance.sales.partitions"]
    assert governance["timetable"] == "PartitionedAssetTimetable"
    assert governance["schedule"] == {"AssetAny": ["sales.daily_orders", "sales.weekly_orders"]}
    assert governance["tasks"] == ["policy", "history", "lineage", "replication"]
    assert "sales.daily_orders" not in str(dags["mesh_governance.sales"]["schedule"])


def test_an_asset_dag_describes_its_asset(example_bag: dict[str, Any]) -> None:
    orders = example_bag["dags"]["sales.orders"]
    assert orders["schedule"] == "0 * * * *"
    assert orders["outlets"] == ["sales.orders"] and orders["groups"] == ["sales"]
    assert orders["owner"] == "sales-data@acme.example"
    assert orders["pool"] == "mesh_sales"
    assert orders["retries"] == 2 and orders["backoff"] == 2.0
    assert orders["priority"] > example_bag["dags"]["mesh_governance.sales"]["priority"]  # queued before governance
    assert {"sales", "tier:gold", "visibility:public"} <= set(orders["tags"])
    assert "Every order placed on the web shop" in orders["doc_md"] and "`Orders` 1.1.0" in orders["doc_md"]
    assert orders["params"] == ["inject_bad_rows", "scale", "seed"]
    assert orders["paused_at_creation"] is True


def test_downstream_dags_are_scheduled_by_all_their_inputs(example_bag: dict[str, Any]) -> None:
    dags = example_bag["dags"]
    assert dags["finance.revenue"]["schedule"] == {"AssetAll": ["sales.orders", "finance.fx_rates"]}
    assert dags["finance.monthly_revenue"]["schedule"] == {"AssetAll": ["finance.revenue"]}
    assert dags["finance.revenue"]["params"] == []
    governance = dags["mesh_governance.finance"]
    assert governance["schedule"] == {"AssetAny": ["finance.fx_rates", "finance.revenue", "finance.monthly_revenue"]}
    assert governance["tasks"] == ["policy", "history", "lineage", "replication"]
    assert governance["pool"] == "mesh_finance"


def test_an_observed_source_is_scheduled_by_a_watcher_of_its_drop(example_bag: dict[str, Any]) -> None:
    """The triggerer watches the drop (a BaseEventTrigger in an AssetWatcher, no task holding a
    slot); the source's DAG runs on its arrivals, and what it feeds on the source's own Asset."""
    dags = example_bag["dags"]
    source = dags["marketing.web_leads"]
    assert source["schedule"] == {"AssetAll": ["marketing.web_leads.arrivals"]}
    assert source["outlets"] == ["marketing.web_leads"]
    [[name, (classpath, kwargs)]] = source["watchers"]
    assert name == "marketing.web_leads.drop" and classpath == "assets.airflow.drop_trigger.DropTrigger"
    assert kwargs["location"] == "drops/marketing/web_leads/*.csv" and kwargs["settle"] == 2.0
    assert kwargs["root"].endswith("/mesh")
    for fed in ("marketing.leads_by_channel", "marketing.lead_counts"):
        assert dags[fed]["schedule"] == {"AssetAll": ["marketing.web_leads"]}, fed
        assert dags[fed]["watchers"] == []


def test_an_asset_may_ask_for_any_input(fixture_mesh: Callable[[str], Path], tmp_path: Path) -> None:
    bag = parse(fixture_mesh("healthy") / "dags", tmp_path)
    assert bag["import_errors"] == {}
    assert bag["dags"]["beta.either"]["schedule"] == {"AssetAny": ["beta.base", "alpha.numbers"]}


def test_a_domain_that_raises_on_import_is_reported_and_the_others_load(tmp_path: Path) -> None:
    root = copy_with_dags(tmp_path / "mesh")
    broken = root / "domains" / "marketing" / "assets.py"
    broken.write_text("raise RuntimeError('marketing pushed a broken build')\n" + broken.read_text())
    bag = parse(root / "dags", tmp_path)
    assert list(bag["import_errors"]) == ["marketing.py"]
    message = bag["import_errors"]["marketing.py"]
    assert "marketing pushed a broken build" in message and "domains/marketing/assets.py:1" in message
    assert not [d for d in bag["dags"] if "marketing" in d]
    assert len(bag["dags"]) == 12 + 3 + 1 + 1  # and sales' partition governance, and the ops DAG


def test_scheduled_assets_have_a_deadline_alert_and_the_ops_dag_runs_every_5_minutes(
        example_bag: dict[str, Any]) -> None:
    dags = example_bag["dags"]
    [[reference, seconds, callback, kind]] = dags["sales.orders"]["deadlines"]
    assert "LogicalDate" in reference and seconds == 3600 and callback == "governance.airflow.ops_dag.deadline_missed"
    assert kind == "SyncCallback", "run by the team's executor: a domain without a drop has no triggerer"
    assert dags["marketing.campaigns"]["deadlines"][0][1] == 3 * 3600, "[ops.domains.marketing] allowed_lag"
    assert dags["finance.revenue"]["deadlines"] == [], "an input-triggered asset is left to the ops DAG"
    assert dags["mesh_ops"]["schedule"] == "*/5 * * * *" and dags["mesh_ops"]["tasks"] == ["evaluate", "heal"]
