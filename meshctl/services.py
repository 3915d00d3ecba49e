"""PostgreSQL and Redis for the distributed profile: given, or started on loopback.

Order of precedence, resolved once by :func:`service_urls`:

1. ``MESH_PG_URL`` and ``MESH_REDIS_URL`` in the environment (both, or neither): existing
   servers, used as they are (``postgresql://user[:password]@host:port[/database]``, the
   database defaulting to ``airflow``; ``redis://host:port/db``);
2. otherwise ``scripts/services.sh start DIR`` of this repository installs Debian's
   ``postgresql`` and ``redis-server`` when missing and starts both on 127.0.0.1 (ports
   ``MESH_PG_PORT``, default 55432, and ``MESH_REDIS_PORT``, default 56379), unless both
   already answer there; :func:`stop_services` stops what was started.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from assets.errors import MeshError

#: The script that installs and starts the local servers.
SERVICES_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "services.sh"


class ServicesError(MeshError):
    """The PostgreSQL and Redis servers could not be found or started."""


@dataclass(frozen=True, slots=True)
class ServiceUrls:
    """Where the servers are; ``started`` holds their data folder when this call started them."""

    postgres: str
    redis: str
    started: Path | None = None


def service_urls(folder: Path) -> ServiceUrls:
    """The servers named in the environment, or local ones started with their data in ``folder``."""
    given = {name: os.environ.get(name) for name in ("MESH_PG_URL", "MESH_REDIS_URL")}
    if all(given.values()):
        return ServiceUrls(str(given["MESH_PG_URL"]), str(given["MESH_REDIS_URL"]))
    if any(given.values()):
        missing = sorted(n for n, v in given.items() if not v)
        raise ServicesError(f"{', '.join(missing)} is not set while the other server's URL is",
                            where="environment", fix="set both MESH_PG_URL and MESH_REDIS_URL, or neither to "
                            "start local servers")
    return start_services(folder)


@contextmanager
def servers(folder: Path) -> Iterator[ServiceUrls]:
    """:func:`service_urls`, and the servers stopped afterwards if they were started here."""
    urls = service_urls(folder)
    try:
        yield urls
    finally:
        if urls.started is not None:
            stop_services(urls.started)


def start_services(folder: Path) -> ServiceUrls:
    """``scripts/services.sh start folder``: install when missing, start, create the databases;
    servers already answering on the ports are used as they are (``started`` None)."""
    running = _script("status", folder, check=False) is not None
    urls = dict(line.removeprefix("export ").split("=", 1) for line in
                (_script("env" if running else "start", folder) or "").splitlines() if line.startswith("export MESH_"))
    return ServiceUrls(urls["MESH_PG_URL"], urls["MESH_REDIS_URL"], started=None if running else folder)


def stop_services(folder: Path) -> None:
    """Stop the servers whose data is in ``folder``."""
    _script("stop", folder)


def create_database(postgres_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``postgres_url``; returns the URL naming it."""
    _administer(postgres_url, f'CREATE DATABASE "{_identifier(name)}"')
    return urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))


@contextmanager
def scratch_database(postgres_url: str, prefix: str) -> Iterator[str]:
    """A new database ``<prefix>_<random>`` on the server of ``postgres_url``, dropped afterwards."""
    import secrets

    url = create_database(postgres_url, f"{prefix}_{secrets.token_hex(4)}")
    try:
        yield url
    finally:
        drop_database(url)


def drop_database(database_url: str) -> None:
    """Drop the database ``database_url`` names (its connections are closed first)."""
    name = _identifier(urlsplit(database_url).path.strip("/"))
    _administer(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _identifier(name: str) -> str:
    if not name or not name.replace("_", "").isalnum():
        raise ServicesError(f"database name {name!r} is not letters, digits and _", where="MESH_PG_URL",
                            fix="pick another name")
    return name


def _administer(postgres_url: str, statement: str) -> None:
    """Run ``statement`` outside a transaction in the server's ``postgres`` database."""
    import psycopg2

    connection = psycopg2.connect(urlunsplit(urlsplit(postgres_url)._replace(path="/postgres")))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _script(command: str, folder: Path, *, check: bool = True) -> str | None:
    """The script's output; None when it failed and ``check`` is false."""
    if not SERVICES_SCRIPT.exists():
        raise ServicesError(f"{SERVICES_SCRIPT} is missing (an installed package does not ship it)",
                            where="mesh up --profile distributed",
                            fix="set MESH_PG_URL and MESH_REDIS_URL to your servers")
    done = subprocess.run(["bash", str(SERVICES_SCRIPT), command, str(folder)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 and not check:
        return None
    if done.returncode != 0:
        tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ServicesError(f"scripts/services.sh {command} failed: {tail}", where=str(SERVICES_SCRIPT),
                            fix=f"read the servers' logs under {folder}, or set MESH_PG_URL and MESH_REDIS_URL")
    return done.stdout
