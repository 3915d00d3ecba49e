"""Shared fixtures: throwaway copies of the example mesh and of tiny fixture meshes."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from assets import Mesh, RunResult, materialize
from governance.audit import audit_log_at
from governance.audit.pinning import pin_audit_key
from governance.council import approve_trust
from governance.identity import Actor, LocalIdentity, identity_provider, normalize_email
from governance.identity.example import enroll_people
from governance.policy import load_policy
from governance.services import governed
from governance.wiring import load_mesh, load_policy_mesh

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The example's holder of approve_policy.
COUNCIL = "council@acme.example"
#: Orders in test runs of the example mesh: small, but every asset gets several rows.
TEST_SCALE = 3_000

# No test waits for a time, hypothesis's included: its default 200 ms deadline per example fails a
# property on a loaded machine (a manifest's parse took longer once), which is no defect.
settings.register_profile("mesh", deadline=None)
settings.load_profile("mesh")


def pytest_configure(config: pytest.Config) -> None:
    """The people's private keys for the whole run, in a temporary folder (``MESH_IDENTITY``),
    never the user's own identity folder. Set before collection: collecting the contract tests
    loads a copy of the example mesh."""
    before = os.environ.get("MESH_IDENTITY")
    folder = tempfile.mkdtemp(prefix="mesh-identities-")
    os.environ["MESH_IDENTITY"] = folder

    def restore() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        if before is None:
            os.environ.pop("MESH_IDENTITY", None)
        else:
            os.environ["MESH_IDENTITY"] = before

    config.add_cleanup(restore)


@pytest.fixture(autouse=True)
def _no_stream_handler_outlives_its_test() -> Iterator[None]:
    """Importing Airflow configures logging: a root handler on ``sys.stdout`` as it is then, which
    in a CLI test is CliRunner's, closed when the command returns. Left in place, every later
    INFO record (Alembic's, when a test's state database is migrated) is a "Logging error" traceback
    in whatever output the next test checks."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)


@pytest.fixture(scope="session")
def mesh_identities() -> Path:
    """The folder holding the private keys of the example mesh's people during this run."""
    return Path(os.environ["MESH_IDENTITY"])


def copy_example_mesh(target: Path, *, approved: bool = True) -> Path:
    """Copy mesh.toml, domains/ and drops/ of the repo to ``target``; storage then lives there too. Its
    people are enrolled (keys in the run's ``MESH_IDENTITY`` folder), its grant approvals signed and,
    when ``approved``, its people, roles and owners approved by the council."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mesh.toml", target / "mesh.toml")
    shutil.copytree(REPO / "domains", target / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "drops", target / "drops", ignore=shutil.ignore_patterns("demo-*"))  # observed sources' files
    arrived_long_ago(target / "drops")
    enroll_people(target, Path(os.environ["MESH_IDENTITY"]))  # set by pytest_configure
    pin_audit_key(load_policy(target), audit_log_at(target / ".mesh"))  # verification is anchored in tests
    if approved:  # as `mesh demo` does: a change of people, roles or owners then needs the council
        approve_example_trust(target)
    return target


def approve_example_trust(root: Path) -> None:
    """The council signs the example's people, roles and owners (`mesh policy approve`)."""
    mesh = load_mesh(root, domains=(), approving=True)  # as the command loads it: a [state] to sign does not stop it
    people = {e: p.public_key for e, p in mesh.policy.people.items()}
    approve_trust(mesh.policy, governed(mesh).audit, actor=identity_provider(mesh.policy).authenticate(COUNCIL),
                  signer=LocalIdentity(people=people))


def name_state(root: Path, url: str, *, password_env: str | None = None) -> None:
    """Write ``[state] url`` (and ``password_env``) into ``root``'s mesh.toml, as a council would
    for a deployment whose hosts share a database: ``[state]`` is trust, so when the council has
    approved the mesh's trust it signs the change too (else nothing but the council's commands runs)."""
    from governance.wiring import standing_of

    lines = ["", "[state]", f'url = "{url}"', *([f'password_env = "{password_env}"'] if password_env else [])]
    with open(root / "mesh.toml", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    if standing_of(load_policy(root)).status == "pending":
        approve_example_trust(root)


def arrived_long_ago(folder: Path) -> None:
    """Date the sample drops a day back. A drop's newest file is the one modified last, and a
    checkout's files are as new as the checkout: a test that drops a file dated a minute ago
    right after a fresh clone would otherwise find the sample newer than its own file."""
    then = time.time() - 86_400
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def person(email: str) -> Actor:
    """An actor as the local identity provider would hand it over after checking the key (the
    providers themselves are tested in tests/governance/identity)."""
    return Actor(id=normalize_email(email), method="ed25519", evidence="test key")


@pytest.fixture
def example_root(tmp_path: Path) -> Path:
    return copy_example_mesh(tmp_path / "mesh")


@pytest.fixture
def example_mesh(example_root: Path) -> Mesh:
    return load_mesh(example_root)


@pytest.fixture(scope="session")
def materialized_example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, RunResult]:
    """The example mesh materialized once per session, at test scale."""
    root = copy_example_mesh(tmp_path_factory.mktemp("materialized"))
    mesh = load_mesh(root)
    result = materialize("*", mesh=mesh, params={"scale": TEST_SCALE, "seed": 11})
    assert result.ok, result.to_dict()
    return mesh, result


@pytest.fixture(scope="session")
def s3_server() -> Iterator[int]:
    """The port of a moto S3 server process shared by the session (see tests/s3.py)."""
    from tests.s3 import moto_server

    with moto_server() as port:
        yield port


@pytest.fixture
def s3_bucket(s3_server: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty bucket on the session's S3 server; ``AWS_*`` point there for the test."""
    import s3fs

    from tests.s3 import new_bucket, point_s3_at

    point_s3_at(monkeypatch, s3_server)
    yield new_bucket()
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def fixture_mesh(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture mesh from tests/fixtures/<name> to a temporary folder."""

    def make(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        return target

    return make


OPENLINEAGE_SPEC = FIXTURES / "openlineage-spec"


@pytest.fixture(scope="session")
def validate_openlineage() -> Callable[[dict[str, Any]], None]:
    """Validate a run event against the official OpenLineage schemas, offline: the event against
    ``OpenLineage.json#/$defs/RunEvent``, then every facet against the schema its ``_schemaURL``
    names (the mesh's own facet against the schema shipped in the repo). An unknown schema fails."""
    import json

    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    from governance.lineage import SCHEMA_FILE

    files = [OPENLINEAGE_SPEC / "OpenLineage.json", *sorted((OPENLINEAGE_SPEC / "facets").glob("*.json")), SCHEMA_FILE]
    schemas = [json.loads(f.read_text()) for f in files]
    registry: Registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    core = schemas[0]["$id"]

    def validator(ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def facets_of(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from event["run"].get("facets", {}).items()
        yield from event["job"].get("facets", {}).items()
        for dataset in (*event.get("inputs", ()), *event.get("outputs", ())):
            for group in ("facets", "inputFacets", "outputFacets"):
                yield from dataset.get(group, {}).items()

    def validate(event: dict[str, Any]) -> None:
        validator(f"{core}#/$defs/RunEvent").validate(event)
        for name, facet in facets_of(event):
            url = facet["_schemaURL"]
            assert url.split("#")[0] in registry, f"facet {name}: schema {url} is not in the local registry"
            schema_file = registry[url.split("#")[0]].contents
            validator(url.split("#")[0]).validate({name: facet}) if name in schema_file.get("properties", {}) \
                else validator(url).validate(facet)

    return validate


def _postgres_answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


@contextlib.contextmanager
def _services_lock(folder: Path) -> Iterator[Path]:
    """Held while a test worker starts, joins or leaves the test servers: pytest-xdist's workers
    each run the session fixture, and one must not stop a server another is still using."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "tests.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder / "tests.users"


def _users(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL on loopback (``scripts/services.sh``, port ``MESH_PG_PORT``, default
    55432): used if one already answers there, else installed if missing and started for this
    run, and stopped after the last test worker using it is done. Skips, saying why, only if it
    cannot be installed or started."""
    import subprocess

    port = os.environ.get("MESH_PG_PORT", "55432")
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    folder = REPO / ".mesh" / "services"
    # the script also starts Redis, which these tests do not use: on a port of its own, so that
    # stopping it afterwards never stops a Redis someone else started
    env = {**os.environ, "MESH_PG_PORT": port, "MESH_REDIS_PORT": os.environ.get("MESH_TEST_REDIS_PORT", "56399")}
    with _services_lock(folder) as users:
        count, answers = _users(users), _postgres_answers(admin)
        owned = count > 0 or not answers  # an answering server no test worker started is left alone
        if not answers:  # none yet, or a count left by a killed run
            started = subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "start", str(folder)],
                                     capture_output=True, text=True, timeout=900, env=env)
            if started.returncode != 0 or not _postgres_answers(admin):
                pytest.skip(f"PostgreSQL could not be installed or started by scripts/services.sh: "
                            f"{(started.stderr or started.stdout).strip()[-500:]}")
            count = 0
        if owned:
            users.write_text(str(count + 1))
    try:
        yield admin
    finally:
        if owned:
            with _services_lock(folder) as users:
                left = _users(users) - 1
                users.write_text(str(max(left, 0)))
                if left <= 0:
                    subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "stop", str(folder)],
                                   capture_output=True, timeout=120, env=env)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped after it), as a URL without a
    password, the way ``[state] url`` names one."""
    import uuid

    import psycopg

    name = f"mesh_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from governance.state.database import dispose_engines

        dispose_engines()
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
