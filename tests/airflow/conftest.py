"""A real Airflow 3 (scheduler, dag-processor, triggerer, api-server) on a copy of the example mesh,
on each profile: embedded (SQLite, LocalExecutor), and distributed (PostgreSQL, Redis, two Celery
workers) when `-m distributed` selects it (`make test-distributed`)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from assets import Mesh
from governance.wiring import load_mesh
from meshctl.airflow_cascade import (
    CascadeState,
    run_cascade,
    unpause_mesh,
    wait_for_dags,
)
from meshctl.local_airflow import AirflowClient, LocalAirflow, free_port
from meshctl.profiles import EMBEDDED, Profile, distributed
from meshctl.services import ServiceUrls, scratch_database, servers
from tests.conftest import REPO, copy_example_mesh, name_state

#: Rows of sales.orders in the end-to-end runs: small, so task start-up dominates.
E2E_SCALE = 5_000


@dataclass(frozen=True)
class RunningMesh:
    mesh: Mesh
    airflow: LocalAirflow
    first_wave: CascadeState


def copy_with_dags(target: Path) -> Path:
    root = copy_example_mesh(target)
    shutil.copytree(REPO / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    return root


#: Two DAG files outside the mesh, each its own Airflow team, scheduled on sales.orders: one
#: names sales as a producer team it hears, the other does not.
LISTENERS = {"team_listener": '["sales"]', "team_eavesdropper": "[]"}
_LISTENER = '''from airflow.sdk import DAG, Asset, AssetAccessControl, task

orders = Asset(name="sales.orders", uri="x-mesh://acme/sales/orders", group="sales",
               access_control=AssetAccessControl(producer_teams={teams}))


@task
def listen() -> str:
    return "heard"


with DAG("{name}", schedule=[orders], catchup=False, is_paused_upon_creation=False):
    listen()
'''


def add_listeners(root: Path) -> None:
    for name, teams in LISTENERS.items():
        (root / "dags" / f"{name}.py").write_text(_LISTENER.format(name=name, teams=teams))


def wait_for_listeners(client: AirflowClient, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not set(LISTENERS) <= set(client.dags()):
        assert time.monotonic() < deadline, f"listener DAGs not registered: {client.import_errors()}"
        time.sleep(1)


#: Plain Airflow DAGs on partitioned assets (no mesh code), their own Airflow team ``spike`` in
#: the embedded deployment of ``running_mesh``: ``test_partition_scheduling`` shows with them
#: Airflow 3.3's partitioned scheduling, which the mesh's generated DAGs rely on.
_SPIKE_DAGS = '''import datetime as dt

from airflow.sdk import (DAG, Asset, CronPartitionTimetable, IdentityMapper, PartitionedAssetTimetable,
                        RollupMapper, StartOfWeekMapper, WeekWindow, task)
from airflow.sdk.exceptions import AirflowFailException

# a loaded machine may kill a task whose calls to the API server time out: such a task is retried
RETRY = {"retries": 3, "retry_delay": dt.timedelta(seconds=1)}

days = Asset(name="spike.days", uri="x-spike://days")
same = Asset(name="spike.same", uri="x-spike://same")

with DAG("spike_days", schedule=CronPartitionTimetable("0 0 * * *", timezone="UTC", key_format="%Y-%m-%d"),
         catchup=False, is_paused_upon_creation=False, default_args=RETRY):
    @task(outlets=[days])
    def produce(dag_run=None):
        if dag_run.partition_key.endswith("-14"):
            raise AirflowFailException("this day's gate failed")  # not retried
        return {"partition": dag_run.partition_key}
    produce()

with DAG("spike_same", schedule=PartitionedAssetTimetable(assets=days, default_partition_mapper=IdentityMapper()),
         catchup=False, is_paused_upon_creation=False, default_args=RETRY):
    @task(outlets=[same])
    def copy(dag_run=None):
        return dag_run.partition_key
    copy()

with DAG("spike_week", schedule=PartitionedAssetTimetable(assets=days, default_partition_mapper=RollupMapper(
            upstream_mapper=StartOfWeekMapper(input_format="%Y-%m-%d", output_format="%Y-%m-%d"),
            window=WeekWindow())),
         catchup=False, is_paused_upon_creation=False, default_args=RETRY):
    @task
    def roll_up(dag_run=None):
        return dag_run.partition_key
    roll_up()
'''
#: The DAGs of ``dags/spike.py``.
SPIKE = ("spike_days", "spike_same", "spike_week")


def add_spike(root: Path) -> None:
    """Write the spike's DAG file, ``dags/spike.py``."""
    (root / "dags" / "spike.py").write_text(_SPIKE_DAGS)


def wait_for_spike(client: AirflowClient, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not set(SPIKE) <= set(client.dags()):
        assert time.monotonic() < deadline, f"spike DAGs not registered: {client.import_errors()}"
        time.sleep(1)


#: The profiles ``running_mesh`` runs on; the distributed one only when selected (`-m distributed`).
PROFILES = [pytest.param("embedded", id="embedded"),
            pytest.param("distributed", id="distributed", marks=pytest.mark.distributed)]
#: For a test of the distributed profile only: ``@ON_DISTRIBUTED`` (the same Airflow as its module's).
ON_DISTRIBUTED = pytest.mark.parametrize("running_mesh", PROFILES[1:], indirect=True)
#: For a test of the embedded profile only: ``@ON_EMBEDDED``.
ON_EMBEDDED = pytest.mark.parametrize("running_mesh", PROFILES[:1], indirect=True)


@pytest.fixture(scope="session")
def postgres_and_redis() -> Iterator[ServiceUrls]:
    """PostgreSQL and Redis: those of MESH_PG_URL and MESH_REDIS_URL, or started on loopback for
    this session (data under the repo's .mesh/services) and stopped after it."""
    with servers(REPO / ".mesh" / "services") as urls:
        yield urls


@dataclass(frozen=True)
class Deployment:
    """An Airflow profile, and the state database the mesh names in ``[state] url`` (None: the
    embedded default, SQLite and files under ``.mesh``). ``spike``: the deployment also runs the
    spike's plain DAGs (``dags/spike.py``), for ``test_partition_scheduling``."""

    profile: Profile
    state_url: str | None = None
    spike: bool = False


@contextmanager
def profile_for(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """The profile ``request.param`` names. The distributed one gets a new metadata database and
    a new state database on PostgreSQL (both dropped afterwards), and two Celery workers."""
    if request.param == "embedded":
        yield Deployment(EMBEDDED, spike=True)
        return
    urls: ServiceUrls = request.getfixturevalue("postgres_and_redis")
    with scratch_database(urls.postgres, "airflow_test") as database, \
            scratch_database(urls.postgres, "mesh_state_test") as state:
        yield Deployment(distributed(database, urls.redis, workers=2), state_url=state)


def name_state_database(root: Path, url: str) -> None:
    """Write ``[state] url`` into the mesh's ``mesh.toml`` and have the council approve it
    (``[state]`` is trust), as a council would for a deployment whose workers share PostgreSQL;
    a password moves to ``MESH_STATE_PASSWORD``."""
    parts = urlsplit(url)
    password_env = None
    if parts.password is not None:
        os.environ["MESH_STATE_PASSWORD"] = parts.password
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
        password_env = "MESH_STATE_PASSWORD"
    name_state(root, url, password_env=password_env)


@pytest.fixture(scope="session", params=PROFILES)
def running_mesh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    """Airflow started on a fresh copy of the example mesh, after one full cascade from the roots.

    One per profile for the whole session: starting Airflow and its first wave is most of an
    end-to-end test's time, so every module that can share it does (``test_end_to_end``, and
    ``test_partition_scheduling`` with its own DAGs on the embedded one). Each test tells its
    own runs apart (by run id, partition key, start time or its own DAGs)."""
    with profile_for(request) as deployment:
        yield from _running_mesh(tmp_path_factory, deployment)


def _running_mesh(tmp_path_factory: pytest.TempPathFactory, deployment: Deployment) -> Iterator[RunningMesh]:
    profile = deployment.profile
    root = copy_with_dags(tmp_path_factory.mktemp("e2e") / "mesh")
    if deployment.state_url is not None:
        name_state_database(root, deployment.state_url)
    add_listeners(root)
    if deployment.spike:
        add_spike(root)
    mesh = load_mesh(root)
    airflow = LocalAirflow(root, port=free_port(len(profile.ports(0))), profile=profile)
    try:
        airflow.start(timeout=600)  # a machine shared with other test suites starts it slowly
        with airflow.client() as client:
            wait_for_dags(client, mesh)
            wait_for_listeners(client)
            if deployment.spike:
                wait_for_spike(client)
            unpause_mesh(client, mesh)
            # observed sources are not triggered by hand: their drops' watchers schedule them
            roots = {k: {"scale": E2E_SCALE, "seed": 3} for k in mesh.graph
                     if mesh.graph[k].spec.is_root and mesh.graph[k].spec.drop is None}
            # 600: the first wave also holds what the drop watcher runs when it starts (the sample
            # file in drops/ is observed: marketing.web_leads, its readers, their governance runs)
            state = run_cascade(client, mesh, roots, timeout=600)
        yield RunningMesh(mesh, airflow, state)
    finally:
        stopped = airflow.stop()
        assert not airflow.running(), f"processes left running after stopping {stopped}"
