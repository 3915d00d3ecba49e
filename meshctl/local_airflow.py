"""Airflow 3 for a mesh: start, stop, and talk to it.

``AIRFLOW_HOME`` under ``<root>/.mesh/airflow``, examples off, the API server on loopback. The
metadata DB, the executor and the processes come from a :class:`meshctl.profiles.Profile`:
embedded by default (SQLite, LocalExecutor), or distributed (PostgreSQL, CeleryExecutor with a
Redis broker, Celery workers). Airflow runs in Multi-Team mode: each
domain is a team whose DAG bundle holds only its file of ``<root>/dags`` (linked into
``.mesh/airflow/bundles/<domain>/``), so an asset event reaches another team's DAG only if that
DAG's Asset names the producing team (see ``assets.airflow.asset_dags.airflow_asset``).
The profile's components (scheduler, dag-processor, triggerer, api-server, a triggerer per
team whose DAGs watch a drop, and the Celery workers) run as separate process groups whose ids
are kept in ``pids.json``, so :meth:`LocalAirflow.stop` stops exactly what
:meth:`LocalAirflow.start` started.

This module does not import Airflow: it drives the ``airflow`` command and the REST API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from assets.errors import MeshError
from assets.backoff import Backoff
from meshctl.profiles import DEFAULT_PORT, EMBEDDED, Component, Profile
from assets.stored_json import load_json

if TYPE_CHECKING:
    from assets.compiled import CompiledMesh

class AirflowRuntimeError(MeshError):
    """Starting, stopping or talking to the local Airflow failed."""


class AirflowApiError(AirflowRuntimeError):
    """Airflow's REST API answered an error: its HTTP ``status``."""

    def __init__(self, what: str, *, status: int, where: str = "", fix: str = "") -> None:
        self.status = status
        super().__init__(what, where=where, fix=fix)


@dataclass(frozen=True)
class LocalAirflow:
    """The local Airflow of the mesh at ``root``.

    ``settings`` are extra ``AIRFLOW__SECTION__KEY`` values (tests lower the scheduler's
    intervals with them); ``profile`` says where the metadata DB is and what runs the tasks.
    """

    root: Path
    port: int = DEFAULT_PORT
    settings: Mapping[str, str] = field(default_factory=dict)
    profile: Profile = EMBEDDED

    @property
    def home(self) -> Path:
        return self.root / ".mesh" / "airflow"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ports(self) -> tuple[int, ...]:
        """The API server's port and, after it, the task and triggerer log servers' ports."""
        return self.profile.ports(self.port)

    @property
    def pid_file(self) -> Path:
        return self.home / "pids.json"

    # -- environment ----------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The environment every Airflow process of this mesh runs with."""
        bin_dir = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update({
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "MESH_ROOT": str(self.root),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt_secret"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.port + 1),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.port + 2),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "PYTHONPATH": os.pathsep.join(p for p in (str(self.root), env.get("PYTHONPATH", "")) if p),
        })
        env.update(self.profile.settings(self.home))
        env.update(self._team_settings())
        env.update(self._lineage_settings())
        env.update(self.settings)
        return env

    @property
    def bundles(self) -> Path:
        return self.home / "bundles"

    def _domain_files(self) -> list[Path]:
        return sorted((self.root / "dags").glob("*.py"))

    def _team_settings(self) -> dict[str, str]:
        """Multi-Team mode, one team and one DAG bundle per domain file of ``dags/``."""
        bundles = [{"name": file.stem, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(self.bundles / file.stem)}, "team_name": file.stem}
                   for file in self._domain_files()]
        return {"AIRFLOW__CORE__MULTI_TEAM": "True",
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles)}

    def _link_bundles(self) -> None:
        """Give each domain's bundle folder a link to its file in ``dags/`` (the file finds the
        mesh root through the link's target)."""
        for file in self._domain_files():
            folder = self.bundles / file.stem
            folder.mkdir(parents=True, exist_ok=True)
            link = folder / file.name
            if link.is_symlink() and link.resolve() == file.resolve():
                continue
            link.unlink(missing_ok=True)
            link.symlink_to(file.resolve())

    def _lineage_settings(self) -> dict[str, str]:
        """The OpenLineage provider reports Airflow's own task events in the mesh's namespace,
        through the mesh's transport (a file transport writes ``.mesh/lineage/airflow-events.jsonl``)."""
        from governance.lineage import airflow_provider_settings, lineage_settings
        from governance.policy import load_policy

        events = self.root / ".mesh" / "lineage" / "airflow-events.jsonl"
        events.parent.mkdir(parents=True, exist_ok=True)
        return airflow_provider_settings(lineage_settings(load_policy(self.root)), events)

    def _compile(self) -> CompiledMesh:
        """Write ``.mesh/compiled/mesh.json`` now, so that the first parse of each DAG file finds
        it current (a DAG file would otherwise rebuild it, in a subprocess, while parsing)."""
        from governance.compiled import write_compiled_mesh

        return write_compiled_mesh(self.root)

    def components(self, compiled: CompiledMesh | None = None) -> tuple[Component, ...]:
        """The processes :meth:`start` starts: the profile's, with a triggerer for each team
        whose DAGs watch a drop (:meth:`CompiledMesh.triggerer_teams`) and that has a DAG
        bundle here. ``compiled``: the compiled mesh (default: as last written, none before
        the first compile)."""
        from assets.compiled import read_compiled

        compiled = compiled if compiled is not None else read_compiled(self.root)
        bundles = set(self._bundle_names())
        teams = [t for t in compiled.triggerer_teams() if t in bundles] if compiled is not None else []
        return self.profile.components(self.port, teams)

    def _secret(self, name: str) -> str:
        """A random secret kept in an owner-only file of the Airflow home."""
        path = self.home / name
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
        return path.read_text().strip()

    # -- lifecycle ------------------------------------------------------------------------------
    def _pids(self) -> dict[str, int]:
        """The process (group) of each component started from this home, alive or not."""
        try:
            pids: dict[str, int] = load_json(self.pid_file.read_text())
        except FileNotFoundError:
            return {}
        return pids

    def running(self) -> dict[str, int]:
        """Components started from this home that are still alive, by name."""
        return {name: pid for name, pid in self._pids().items() if _alive(pid)}

    @property
    def started_file(self) -> Path:
        """How the running Airflow was started (its profile and port), for :meth:`start` again."""
        return self.home / "started.json"

    def start(self, *, timeout: float = 180) -> list[str]:
        """Migrate the DB, create the pools, compile the mesh (the DAG files are built from it),
        start the profile's components, wait for the API. Returns the names started.

        When Airflow already runs from this home, with this profile and port, only the components
        that are missing start: one that died, or the triggerer of a team whose DAGs watch a drop
        since (a domain's first observed source). Nothing missing, or another profile or port:
        :class:`AirflowRuntimeError`, saying what runs. A domain file added to ``dags/`` (or
        removed) since it started (:meth:`bundles_changed`) restarts every component, as Airflow
        reads its DAG bundles and teams when it starts; refused while DAG runs are queued or
        running, whose tasks a restart would stop."""
        alive = self.running()
        if alive:
            return self._complete(alive, timeout)
        if self.ports[-1] > 65535:
            raise AirflowRuntimeError(
                f"port {self.port} is too high: Airflow needs {len(self.ports)} ports from it, up to {self.ports[-1]} "
                "(past 65535)", where="mesh up", fix=f"pass --port P with P at most {65536 - len(self.ports)}, or "
                "--port 0 for a free one")
        taken = [p for p in self.ports if not _port_free(p)]
        if taken:
            raise AirflowRuntimeError(
                f"port(s) {taken} on 127.0.0.1 are taken by another program (Airflow needs {list(self.ports)}: "
                "API server, task log server, triggerer log server, other workers' log servers)",
                where="mesh up", fix=f"stop that program, or pass --port P so that P to P+{len(self.ports) - 1} "
                "are free")
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self._link_bundles()
        self._run(["airflow", "db", "migrate"], "migrating the metadata DB")
        self._sync_teams_and_pools()
        components = self.components(self._compile())
        pids: dict[str, int] = {}
        try:
            env = self.env()
            for component in components:
                pids[component.name] = self._spawn(component, env)
            _write_json(self.pid_file, pids)
            _write_json(self.started_file, {"profile": self.profile.name, "port": self.port,
                                            "bundles": self._bundle_names()})
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return list(pids)

    def _complete(self, alive: Mapping[str, int], timeout: float) -> list[str]:
        """Start what is missing from the Airflow running from this home (see :meth:`start`)."""
        started = load_json(self.started_file.read_text()) if self.started_file.exists() else {}
        if started.get("profile", self.profile.name) != self.profile.name or started.get("port", self.port) != self.port:
            raise AirflowRuntimeError(
                f"Airflow is already running from {self.home} with the {started.get('profile')} profile on port "
                f"{started.get('port')} (pids {sorted(alive.values())})", where=str(self.pid_file),
                fix=f"use it as it is, or run `mesh down` first (`mesh up --profile {started.get('profile')} --port "
                    f"{started.get('port')}` starts what is missing from it)")
        change = self.bundles_changed()
        if change is not None:
            return self._restart(change, timeout)
        missing = [c for c in self.components(self._compile()) if c.name not in alive]
        if not missing:
            raise AirflowRuntimeError(
                f"Airflow is already running from {self.home}, every component (pids {sorted(alive.values())})",
                where=str(self.pid_file), fix="use it as it is, or run `mesh down` first")
        self._sync_teams_and_pools()  # a new team's triggerer
        pids = dict(alive)
        env = self.env()
        for component in missing:
            pids[component.name] = self._spawn(component, env)
            _write_json(self.pid_file, pids)  # at once: `mesh down` stops it whatever happens next
        self.wait_healthy(timeout)
        return [c.name for c in missing]

    def dead(self) -> dict[str, str]:
        """The components started from this home that are no longer alive, each with the last
        error line of its log."""
        return self._dead(self._pids())

    def _dead(self, pids: dict[str, int]) -> dict[str, str]:
        return {name: last_error(self.home / "logs" / f"{name}.log") for name, pid in pids.items() if not _alive(pid)}

    def revive(self, *, timeout: float = 180) -> dict[str, str]:
        """Start again the components of this running Airflow that died (a scheduler stopped by
        ``database is locked`` on a busy machine, a killed triggerer), and wait for the API.
        Returns each one started again with the last error line of its log (why it died, as
        far as the log says); empty when every component is alive. Its runs are in the
        metadata database, so the new scheduler takes them over."""
        pids = self._pids()
        dead = self._dead(pids)
        if not dead:
            return {}
        env = self.env()
        components = {c.name: c for c in self.components()}
        for name in dead:
            if name in components:
                pids[name] = self._spawn(components[name], env)
                _write_json(self.pid_file, pids)  # at once: `mesh down` stops it whatever happens next
        self.wait_healthy(timeout)
        return dead

    def _bundle_names(self) -> list[str]:
        """The DAG bundles (one per domain file of ``dags/``) Airflow starts with now."""
        return [file.stem for file in self._domain_files()]

    def bundles_changed(self) -> str | None:
        """What changed in ``dags/`` since the running Airflow started (``new domain file(s)
        dags/x.py``), or ``None``: nothing, or nothing is running, or it was started by a mesh
        that did not record its bundles."""
        if not self.started_file.exists():
            return None
        loaded = load_json(self.started_file.read_text()).get("bundles")
        if not isinstance(loaded, list):
            return None
        now = self._bundle_names()
        added, removed = [b for b in now if b not in loaded], [b for b in loaded if b not in now]
        parts = ([f"new domain file(s) {', '.join(f'dags/{b}.py' for b in added)}"] if added else []) + \
                ([f"domain file(s) {', '.join(f'dags/{b}.py' for b in removed)} removed"] if removed else [])
        return "; ".join(parts) or None

    def _restart(self, change: str, timeout: float) -> list[str]:
        """Stop every component and start them again with the bundles of ``dags/`` now."""
        with self.client() as client:
            active = client.active_runs()
        if active:
            raise AirflowRuntimeError(
                f"{change} since Airflow started: Airflow reads its DAG bundles when it starts, so loading the "
                f"change restarts every component, and {active} DAG run(s) are queued or running now, whose tasks "
                "a restart would stop", where=str(self.root / "dags"),
                fix="run `mesh up` again once they have finished, or `mesh down` then `mesh up`")
        self.stop()
        return self.start(timeout=timeout)

    def _sync_teams_and_pools(self) -> None:
        """One Airflow team per domain, and the domains' pools as mesh.toml sizes them."""
        self._run(["airflow", "teams", "sync"], "creating one Airflow team per domain")
        self._run([sys.executable, "-m", "meshctl.pools", str(self.root)], "creating the domain pools")

    def _spawn(self, component: Component, env: Mapping[str, str]) -> int:
        """Start ``component`` in its own process group, logging to its file; its pid."""
        log = open(self.home / "logs" / f"{component.name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(list(component.argv), env=dict(env) | dict(component.env), cwd=self.root,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        log.close()
        return process.pid

    def stop(self, *, grace: float = 20) -> list[str]:
        """Stop every process group this home started; returns the names stopped."""
        pids = self._pids()
        if not pids:
            return []
        for pid in pids.values():
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_group_alive(p) for p in pids.values()):
            time.sleep(0.2)
        for pid in pids.values():
            _signal_group(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        self.started_file.unlink(missing_ok=True)
        return sorted(pids)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            dead = [name for name, pid in self._pids().items() if not _alive(pid)]
            if dead:
                raise AirflowRuntimeError(f"Airflow component(s) {dead} exited during start-up",
                                          where=str(self.home / "logs"), fix="read their logs there")
            try:
                health = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                if health.get("metadatabase", {}).get("status") == "healthy":
                    return
                last = json.dumps(health)
            except (httpx.HTTPError, ValueError) as exc:
                last = str(exc)
            time.sleep(1)
        raise AirflowRuntimeError(f"the API server did not become healthy in {timeout:.0f}s ({last})",
                                  where=self.url, fix=f"read the logs in {self.home / 'logs'}")

    def _run(self, command: list[str], what: str) -> None:
        done = subprocess.run(command, env=self.env(), cwd=self.root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise AirflowRuntimeError(f"{what} failed: {' / '.join(tail)}", where=" ".join(command[:3]),
                                      fix=f"read the output above; the Airflow home is {self.home}")

    # -- REST API -------------------------------------------------------------------------------
    @contextmanager
    def client(self) -> Iterator[AirflowClient]:
        """A client of the API server, signed in; :class:`AirflowRuntimeError` when nothing that
        answers like Airflow listens on :attr:`url`."""
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT) as http:
            try:
                token = http.get("/auth/token").json()["access_token"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise AirflowRuntimeError(
                    f"no Airflow API server answers on {self.url} ({type(exc).__name__}: {exc})", where=self.url,
                    fix="start it with `uv run mesh up`, or pass --port with the port `mesh up` printed") from None
            http.headers["Authorization"] = f"Bearer {token}"
            yield AirflowClient(http)

    def started_port(self) -> int | None:
        """The API server's port of the Airflow running from this home (``None`` when none runs)."""
        if not self.running() or not self.started_file.exists():
            return None
        try:
            port = load_json(self.started_file.read_text()).get("port")
        except (OSError, ValueError, AttributeError):
            return None
        return port if isinstance(port, int) else None


#: Answers of the API worth asking again: Airflow's database failed part-way (SQLite under load
#: answers 500 "Database error"), or the API server (or a proxy before it) is overloaded.
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
#: Methods sent again after such an answer or no answer: asking twice does what asking once does.
IDEMPOTENT = frozenset({"GET", "PATCH", "PUT", "DELETE"})
#: Tries of an idempotent request (or a triggered run, made idempotent by its run id), and the
#: waits between them (1, 2 s).
ATTEMPTS = 3
RETRY_BACKOFF = Backoff(first=1.0, factor=2.0, cap=8.0)
#: Seconds a request may take before it counts as unanswered (and is asked again if it may be).
REQUEST_TIMEOUT = 60.0


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError) or (isinstance(exc, AirflowApiError)
                                                      and exc.status in RETRIED_STATUSES)


@dataclass(frozen=True)
class AirflowClient:
    """The few REST API calls the mesh needs. A request that changes nothing when sent twice
    (:data:`IDEMPOTENT`, and a triggered run: :meth:`trigger`) is sent again, at most
    :data:`ATTEMPTS` times in all, after no answer or one of :data:`RETRIED_STATUSES`; any other
    POST is sent once (its callers decide)."""

    http: httpx.Client
    sleep: Callable[[float], None] = time.sleep

    def _call(self, method: str, path: str, *, again: bool = False, **kw: Any) -> Any:
        retrying = Retrying(stop=stop_after_attempt(ATTEMPTS if again or method in IDEMPOTENT else 1),
                            wait=lambda state: RETRY_BACKOFF.wait(state.attempt_number),
                            retry=retry_if_exception(_transient), sleep=self.sleep, reraise=True)
        return retrying(self._send, method, path, **kw)

    def _send(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        if response.status_code >= 400:
            raise AirflowApiError(f"{method} {path} answered {response.status_code}: {response.text[:300]}",
                                  status=response.status_code, where="Airflow REST API",
                                  fix="check that `mesh up` is running")
        return response.json() if response.content else None

    def dags(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self._call("GET", "/api/v2/dags", params={"limit": 100, "offset": offset})
            found.update({d["dag_id"]: d for d in page["dags"]})
            offset += 100
            if offset >= page["total_entries"]:
                return found

    def import_errors(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/v2/importErrors", params={"limit": 100})["import_errors"]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, partition_key: str | None = None,
                logical_date: dt.datetime | None = None) -> str:
        """Start a run of ``dag_id`` now; with ``partition_key``, the run of that partition; with
        ``logical_date``, the run for that time (its Deadline Alerts count from it).

        The run's id is chosen here, so the request may be sent again (SQLite under load answers
        500 "Database error"): if an earlier try made the run after all, Airflow answers 409 for
        the same id, and that run is the one asked for."""
        run_id = f"manual__{dt.datetime.now(dt.UTC).isoformat()}_{secrets.token_hex(4)}"
        body: dict[str, Any] = {"dag_run_id": run_id, "conf": dict(conf or {}),
                                "logical_date": logical_date.isoformat() if logical_date else None}
        if partition_key is not None:
            body["partition_key"] = partition_key
        try:
            run = self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", again=True, json=body)
        except AirflowApiError as exc:
            if exc.status == 409:  # an earlier try of this request made it
                return run_id
            raise
        return str(run["dag_run_id"])

    def create_backfill(self, dag_id: str, start: dt.datetime, end: dt.datetime, *, max_active_runs: int = 10,
                        reprocess: str = "failed", conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """An Airflow backfill of ``dag_id`` over ``[start, end]`` (both inclusive for a partitioned
        timetable: one run per partition). ``reprocess``: ``failed`` re-runs only missing and
        failed runs, ``none`` only missing ones, ``completed`` all."""
        body = {"dag_id": dag_id, "from_date": start.isoformat(), "to_date": end.isoformat(),
                "max_active_runs": max_active_runs, "reprocess_behavior": reprocess, "dag_run_conf": dict(conf or {})}
        return dict(self._call("POST", "/api/v2/backfills", json=body))

    def backfill(self, backfill_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v2/backfills/{backfill_id}"))

    def backfills(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v2/backfills", params={"dag_id": dag_id, "limit": 100})["backfills"])

    def partition_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id`` (newest first), each with its ``partition_key``."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns",
                              params={"order_by": "-run_after", "limit": 100, "offset": len(found)})
            found += page["dag_runs"]
            if len(found) >= page["total_entries"] or not page["dag_runs"]:
                return found

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, newest first."""
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns",
                          params={"order_by": "-run_after", "limit": 100})["dag_runs"]

    def active_runs(self) -> int:
        """How many DAG runs, of any DAG, are queued or running."""
        page = self._call("GET", "/api/v2/dags/~/dagRuns", params={"state": ["queued", "running"], "limit": 1})
        return int(page["total_entries"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def upstream_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The asset events that created an asset-triggered run."""
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]

    def return_value(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """What a task returned (its ``return_value`` XCom), decoded."""
        entry = self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/"
                                  "return_value", params={"deserialize": True})
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value

    def asset_events(self, source_dag_id: str) -> list[dict[str, Any]]:
        """Asset events emitted by a DAG's tasks, newest first.

        Airflow 3.3 answers 500 while an event's created run has not started yet, so call this
        once the runs it created are under way.
        """
        return self._call("GET", "/api/v2/assets/events",
                          params={"source_dag_id": source_dag_id, "order_by": "-timestamp", "limit": 100})["asset_events"]


def last_error(log: Path, *, tail_bytes: int = 65536) -> str:
    """The last line of ``log`` that names an error or exception (``"no error in its log"``
    when none does, or the log cannot be read), cut to 300 characters."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - tail_bytes))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "no error in its log"
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line.strip()[:300]
    return "no error in its log"


def _write_json(path: Path, data: object) -> None:
    from assets.atomic import atomic_write

    atomic_write(path, json.dumps(data, indent=2).encode())


def free_port(count: int = 3) -> int:
    """A port P such that P to P+count-1 are free on loopback (for the API and log servers:
    ``len(Profile.ports(P))``)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port <= 65536 - count and all(_port_free(p) for p in range(port, port + count)):
            return port
    raise AirflowRuntimeError(f"no {count} consecutive free ports on 127.0.0.1", where="mesh up",
                              fix="free some ports or pass --port")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs. Its leader, when a child of ours that has
    exited, is reaped first: as a zombie it would keep the group alive to the end of the grace."""
    try:
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:  # not our child, or reaped already
        pass
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
