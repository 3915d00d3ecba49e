"""Profiles as data: what each runs and with which settings, and where the distributed
profile's servers come from. (Started for real in test_end_to_end.py.)"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets.compiled import CompiledAsset, CompiledDomain, CompiledMesh, Fingerprint
from assets.errors import MeshError
from meshctl.cli import app
from meshctl.local_airflow import LocalAirflow
from meshctl.profiles import EMBEDDED, Profile, distributed, redact
from meshctl.services import service_urls
from tests.airflow.conftest import copy_with_dags

PG = "postgresql://mesh:s3cret@db.internal:5432"
REDIS = "redis://broker.internal:6379/0"


def test_the_embedded_profile_is_sqlite_and_the_local_executor_in_four_processes(example_root: Path) -> None:
    env = LocalAirflow(example_root, port=9000).env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{example_root / '.mesh' / 'airflow' / 'airflow.db'}"
    assert env["AIRFLOW__CORE__MULTI_TEAM"] == "True"
    assert not any(k.startswith("AIRFLOW__CELERY__") for k in env)
    assert [c.name for c in EMBEDDED.components(9000)] == ["scheduler", "dag-processor", "triggerer", "api-server"]
    assert EMBEDDED.ports(9000) == (9000, 9001, 9002)


def test_on_sqlite_every_airflow_process_waits_a_minute_for_anothers_write(example_root: Path) -> None:
    """sqlite3's 5-second default let a busy machine's scheduler die of ``database is locked``."""
    env = LocalAirflow(example_root, port=9000).env()
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC"):
        module, _, name = env[key].rpartition(".")  # as Airflow's conf.getimport resolves it
        assert getattr(importlib.import_module(module), name)["timeout"] == 60
    distributed_env = LocalAirflow(example_root, port=9000, profile=distributed(PG, REDIS)).env()
    assert not any(k.startswith("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS") for k in distributed_env)


def test_the_distributed_profile_is_postgres_celery_and_redis_for_every_process(example_root: Path) -> None:
    profile = distributed(PG, REDIS, workers=3, concurrency=2)
    env = LocalAirflow(example_root, port=9000, profile=profile).env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://mesh:s3cret@db.internal:5432/airflow"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://mesh:s3cret@db.internal:5432/airflow"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == REDIS
    assert env["AIRFLOW__CORE__PARALLELISM"] == "6"
    assert env["AIRFLOW__CORE__MULTI_TEAM"] == "True"  # Celery is team-aware in 3.3: the global executor runs every team


def test_each_celery_worker_has_its_own_name_hostname_and_log_server_port() -> None:
    profile = distributed(PG, REDIS, workers=3)
    workers = [c for c in profile.components(9000) if c.argv[:3] == ("airflow", "celery", "worker")]
    assert [w.name for w in workers] == ["worker1", "worker2", "worker3"]
    assert [w.argv[w.argv.index("--celery-hostname") + 1] for w in workers] == ["worker1@%h", "worker2@%h", "worker3@%h"]
    assert [w.env["MESH_WORKER_NAME"] for w in workers] == ["worker1", "worker2", "worker3"]
    assert {w.env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] for w in workers} == {"meshctl.worker_name.hostname"}
    ports = [int(w.env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]) for w in workers]
    assert ports == [9001, 9003, 9004]
    assert set(profile.ports(9000)) == {9000, 9002, *ports}  # the triggerer's log server keeps P+2


CORE = ["scheduler", "dag-processor", "triggerer", "api-server"]


def test_a_team_triggerer_runs_that_teams_triggers_and_leaves_the_log_port_to_the_team_less_one() -> None:
    profile = distributed(PG, REDIS, workers=2)
    components = profile.components(9000, ["sales", "marketing", "sales"])
    assert [c.name for c in components] == [*CORE, "triggerer-marketing", "triggerer-sales", "worker1", "worker2"]
    assert components[4].argv == ("airflow", "triggerer", "--team-name", "marketing", "--skip-serve-logs")
    assert components[2].argv == ("airflow", "triggerer")  # the triggers of no team, serving logs on P+2
    assert profile.ports(9000) == (9000, 9001, 9002, 9003)  # no port for the team triggerers


def _compiled(**assets: CompiledAsset) -> CompiledMesh:
    return CompiledMesh(name="m", fingerprint=Fingerprint(files=(), version="0"),
                        domains={a.domain: CompiledDomain(name=a.domain) for a in assets.values()},
                        assets={a.key: a for a in assets.values()})


def test_the_teams_that_get_a_triggerer_are_those_whose_dags_watch_a_drop() -> None:
    compiled = _compiled(a=CompiledAsset(domain="watched", name="leads", drop="drops/leads/*.csv"),
                         b=CompiledAsset(domain="clocked", name="rates", schedule="0 6 * * 1"),
                         c=CompiledAsset(domain="manual", name="ad_hoc"))
    assert compiled.triggerer_teams() == ("watched",)


def test_mesh_up_starts_a_triggerer_for_each_domain_that_watches_a_drop_and_has_a_dag_bundle(tmp_path: Path) -> None:
    from governance.compiled import write_compiled_mesh

    root = copy_with_dags(tmp_path / "mesh")
    compiled = write_compiled_mesh(root)
    assert compiled.triggerer_teams() == ("marketing",)  # marketing.web_leads observes a drop
    airflow = LocalAirflow(root, port=9000)
    assert [c.name for c in airflow.components()] == [*CORE, "triggerer-marketing"]  # as last compiled
    assert [c.name for c in airflow.components(compiled)] == [*CORE, "triggerer-marketing"]
    (root / "dags" / "marketing.py").unlink()  # no bundle, so no team: no triggerer for it
    assert [c.name for c in airflow.components(compiled)] == CORE
    assert [c.name for c in LocalAirflow(tmp_path / "uncompiled").components()] == CORE


def test_a_worker_records_its_name_on_its_task_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from meshctl.worker_name import hostname

    monkeypatch.delenv("MESH_WORKER_NAME", raising=False)
    assert hostname() == socket.getfqdn()
    monkeypatch.setenv("MESH_WORKER_NAME", "worker2")
    assert hostname() == f"worker2@{socket.getfqdn()}"


@pytest.mark.parametrize(("postgres", "database"), [
    pytest.param(PG, "airflow", id="server-only"),
    pytest.param(PG + "/airflow_prod", "airflow_prod", id="with-database"),
])
def test_the_metadata_database_is_the_urls_or_airflow(postgres: str, database: str) -> None:
    assert (distributed(postgres, REDIS).database_url or "").endswith(f"@db.internal:5432/{database}")


@pytest.mark.parametrize(("postgres", "redis", "where"), [
    pytest.param("mysql://u:pw@db:3306", REDIS, "MESH_PG_URL", id="not-postgres"),
    pytest.param(PG, "amqp://u:pw@broker", "MESH_REDIS_URL", id="not-redis"),
])
def test_a_wrong_server_url_is_refused_without_its_password(postgres: str, redis: str, where: str) -> None:
    with pytest.raises(MeshError, match=where) as refused:
        distributed(postgres, redis)
    assert ":pw@" not in str(refused.value) and "s3cret" not in str(refused.value)


@pytest.mark.parametrize("kwargs", [
    pytest.param({"workers": 2}, id="workers-without-broker"),
    pytest.param({"broker_url": REDIS}, id="broker-without-workers"),
    pytest.param({"workers": 2, "broker_url": REDIS}, id="workers-on-sqlite"),
])
def test_an_inconsistent_profile_cannot_exist(kwargs: dict[str, object]) -> None:
    with pytest.raises(MeshError, match="profile x"):
        Profile(name="x", **kwargs)  # type: ignore[arg-type]


def test_descriptions_and_messages_hide_passwords() -> None:
    assert redact(PG) == "postgresql://mesh:***@db.internal:5432"
    assert "s3cret" not in distributed(PG, REDIS).describe()


def test_given_servers_are_used_as_they_are(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MESH_PG_URL", PG)
    monkeypatch.setenv("MESH_REDIS_URL", REDIS)
    urls = service_urls(tmp_path)
    assert (urls.postgres, urls.redis, urls.started) == (PG, REDIS, None)
    assert not any(tmp_path.iterdir()), "nothing started for given servers"


def test_one_server_url_without_the_other_is_refused_before_anything_starts(
        monkeypatch: pytest.MonkeyPatch, example_root: Path) -> None:
    monkeypatch.setenv("MESH_PG_URL", PG)
    monkeypatch.delenv("MESH_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, ["up", "--profile", "distributed", "--root", str(example_root)])
    assert result.exit_code == 1
    assert "MESH_REDIS_URL is not set" in result.output and "s3cret" not in result.output
    assert not (example_root / ".mesh" / "services").exists()
    assert not LocalAirflow(example_root).running()
