"""How ``mesh up`` runs Airflow: a profile is data (the metadata DB, the executor and the
processes to start), and :class:`meshctl.local_airflow.LocalAirflow` has one code path for all.

- ``embedded`` (the default, ``make demo``): a SQLite metadata DB in the Airflow home and the
  LocalExecutor, whose task processes the scheduler forks; four processes (scheduler,
  dag-processor, triggerer, api-server), and a triggerer per team that watches a drop (below).
- ``distributed``: the metadata DB on PostgreSQL and the CeleryExecutor, its broker Redis and its
  result backend the same PostgreSQL database; the same four processes plus N Celery workers
  (``airflow celery worker``), each with its own Celery node name ``workerI@<host>`` and its own
  task log server. Any of these processes may run on another machine given the same settings
  (README, "Running on more than one machine").

Multi-Team mode stays on in both: Airflow 3.3's executors are team-aware (the CeleryExecutor
since apache/airflow#60675), and the one executor configured here is global, so it runs every
team's tasks; a team's bundle, asset-event filtering and triggerer scoping work as in the
embedded profile.

Triggerers: in Multi-Team mode a trigger belongs to the team of the DAG that made it (an
``AssetWatcher``'s trigger, a Deadline Alert's callback, a deferred task's trigger), and a
triggerer runs only the triggers of its team: ``airflow triggerer --team-name TEAM`` those of
TEAM, plain ``airflow triggerer`` those of no team. So both profiles start the team-less
triggerer and one ``triggerer-TEAM`` per team given to :meth:`Profile.components` (the teams
whose DAGs watch a drop: each costs two processes of about 200 MB). Only the team-less one
serves its logs (port P+2; Airflow asks every triggerer's host on that one port); the others
write theirs to the shared log folder, which the API server reads on this machine.

Ports: the API server's port P; P+1 the first task log server (the scheduler's with the
LocalExecutor, worker 1's with Celery); P+2 the triggerer's log server; P+3, P+4, ... the log
servers of workers 2, 3, ... (only when they share one machine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from assets.errors import MeshError

#: The API server's port when none is asked for.
DEFAULT_PORT = 8080
#: The processes of every profile, each an ``airflow`` sub-command.
CORE_COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
#: ``[core] hostname_callable`` of a Celery worker: ``workerI@<fqdn>`` in task instances.
WORKER_HOSTNAME_CALLABLE = "meshctl.worker_name.hostname"


class ProfileError(MeshError):
    """A profile's settings are not usable."""


@dataclass(frozen=True, slots=True)
class Component:
    """One process of a profile: its name (in ``pids.json``), command and extra environment."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """Where Airflow keeps its state and how it runs tasks.

    ``database_url``: the metadata DB's SQLAlchemy URL (None: SQLite in the Airflow home).
    ``broker_url``: the Celery broker; given exactly when ``workers`` > 0.
    ``workers``: Celery workers started locally, each running ``worker_concurrency`` tasks at once.
    """

    name: str
    database_url: str | None = None
    broker_url: str | None = None
    workers: int = 0
    worker_concurrency: int = 2

    def __post_init__(self) -> None:
        if self.workers < 0 or self.worker_concurrency < 1:
            raise ProfileError(f"profile {self.name}: workers must be >= 0 and concurrency >= 1",
                               where=f"profile {self.name}", fix="pass --workers 1 or more")
        if (self.workers > 0) != (self.broker_url is not None):
            raise ProfileError(f"profile {self.name}: Celery workers need a broker and a broker needs workers",
                               where=f"profile {self.name}", fix="give both a broker URL and --workers N")
        if self.workers > 0 and self.database_url is None:
            raise ProfileError(f"profile {self.name}: Celery workers need a metadata DB they can all reach, "
                               "not a SQLite file", where=f"profile {self.name}", fix="give a PostgreSQL URL")

    @property
    def executor(self) -> str:
        return "CeleryExecutor" if self.workers else "LocalExecutor"

    def settings(self, home: Path) -> dict[str, str]:
        """The ``AIRFLOW__`` settings of this profile, shared by every process."""
        database = self.database_url or f"sqlite:///{home / 'airflow.db'}"
        settings = {"AIRFLOW__CORE__EXECUTOR": self.executor,
                    "AIRFLOW__CORE__PARALLELISM": str(self.workers * self.worker_concurrency or 4),
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database}
        if self.database_url is None:  # SQLite: wait for another process's write (module airflow_sqlite)
            settings |= {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "meshctl.airflow_sqlite.CONNECT_ARGS",
                         "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": "meshctl.airflow_sqlite.CONNECT_ARGS_ASYNC"}
        if self.workers:
            assert self.broker_url is not None  # __post_init__
            settings |= {"AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                         "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database,
                         "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency)}
        return settings

    def ports(self, port: int) -> tuple[int, ...]:
        """The API server's port, then the log servers' ports (module docstring)."""
        return (port, port + 1, port + 2) + tuple(_log_port(port, i) for i in range(2, self.workers + 1))

    def components(self, port: int, teams: Iterable[str] = ()) -> tuple[Component, ...]:
        """The processes to start, in order: the core ones, a triggerer for each of ``teams``
        (module docstring), then the Celery workers."""
        core = tuple(Component(name, ("airflow", name)) for name in CORE_COMPONENTS)
        triggerers = tuple(team_triggerer(team) for team in sorted(set(teams)))
        return core + triggerers + tuple(self._worker(i, _log_port(port, i)) for i in range(1, self.workers + 1))

    def _worker(self, index: int, log_port: int) -> Component:
        name = f"worker{index}"
        return Component(name, ("airflow", "celery", "worker", "--celery-hostname", f"{name}@%h",
                                "--concurrency", str(self.worker_concurrency)),
                         {"MESH_WORKER_NAME": name, "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE,
                          "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port)})

    def describe(self) -> str:
        """One line for people: what runs, where the state is (no password)."""
        if not self.workers:
            return "SQLite metadata DB in the Airflow home, LocalExecutor"
        return (f"metadata DB {redact(self.database_url or '')}, CeleryExecutor with broker "
                f"{redact(self.broker_url or '')}, {self.workers} Celery worker(s) x {self.worker_concurrency}")


def team_triggerer(team: str) -> Component:
    """The triggerer of Airflow team ``team``: it runs that team's triggers only, and serves no
    logs (the team-less triggerer holds the triggerer log port)."""
    return Component(f"triggerer-{team}", ("airflow", "triggerer", "--team-name", team, "--skip-serve-logs"))


def _log_port(port: int, worker: int) -> int:
    """The task log server's port of Celery worker ``worker`` (1-based) on this machine."""
    return port + 1 if worker == 1 else port + 1 + worker


EMBEDDED = Profile(name="embedded")
PROFILES = ("embedded", "distributed")


def distributed(postgres_url: str, redis_url: str, *, workers: int = 2, concurrency: int = 2) -> Profile:
    """The distributed profile on a PostgreSQL server and a Redis server.

    ``postgres_url`` is ``postgresql://user[:password]@host:port[/database]``; without a
    database, Airflow's is ``airflow``. The metadata DB is reached through psycopg2.
    """
    parts = urlsplit(postgres_url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2") or not parts.hostname:
        raise ProfileError(f"not a PostgreSQL URL: {redact(postgres_url)}", where="MESH_PG_URL",
                           fix="give postgresql://user@host:port[/database]")
    if urlsplit(redis_url).scheme not in ("redis", "rediss"):
        raise ProfileError(f"not a Redis URL: {redact(redis_url)}", where="MESH_REDIS_URL",
                           fix="give redis://host:port/db")
    database = parts.path.strip("/") or "airflow"
    url = urlunsplit(("postgresql+psycopg2", parts.netloc, f"/{database}", parts.query, ""))
    return Profile(name="distributed", database_url=url, broker_url=redis_url, workers=workers,
                   worker_concurrency=concurrency)


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
