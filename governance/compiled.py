"""Compile a mesh into ``.mesh/compiled/mesh.json``, and give Airflow's parser a current one.

- :func:`write_compiled_mesh` (``mesh compile``, ``mesh check``, ``mesh up``): load ``mesh.toml``
  and every domain's code, decide access between domains, and write what the DAG files need
  (:class:`assets.compiled.CompiledMesh`). Each domain is judged as its own DAG file would be:
  a domain whose code raises, or that reads a broken domain, or whose inputs are denied, gets
  that error recorded and no assets; the other domains are unaffected.
- :func:`current_compiled_mesh` (each DAG file, at parse time): read the compiled mesh and
  check its fingerprint against the files (one ``stat`` each, no imports). When it is missing
  or older than the code, it is rebuilt in a subprocess (the compile imports the domains'
  code, the parser must not), one process at a time; an old graph is never parsed.

The sources are ``mesh.toml`` and every ``*.py`` under ``domains/``. Code a domain imports from
elsewhere is not tracked: after changing it, run ``mesh compile``.

This module imports neither polars, pandera nor any domain until it compiles.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from assets.atomic import atomic_write
from assets.compiled import (
    COMPILED_PATH,
    CompiledAsset,
    CompiledDomain,
    CompiledMesh,
    CompiledMeshError,
    Fingerprint,
    RecordedError,
    read_compiled,
)
from assets.errors import MeshError

if TYPE_CHECKING:
    from assets.mesh import Mesh
    from governance.policy import MeshPolicy

#: The distribution whose version the fingerprint records.
DISTRIBUTION = "acme-mesh"
MESH_FILE = "mesh.toml"
DOMAINS = "domains"

log = logging.getLogger(__name__)


def source_files(root: Path) -> list[str]:
    """The files a compiled mesh depends on, relative to ``root``: ``mesh.toml`` and every
    ``*.py`` under ``domains/`` (caches and hidden folders left out)."""
    files = [MESH_FILE] if (root / MESH_FILE).is_file() else []
    for folder, subfolders, names in os.walk(root / DOMAINS):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "__pycache__")))
        relative = Path(folder).relative_to(root)
        files += [(relative / n).as_posix() for n in sorted(names) if n.endswith(".py")]
    return files


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


# -- compiling (imports the domains' code) ------------------------------------------------------
def write_compiled_mesh(root: Path | str, mesh: Mesh | None = None) -> CompiledMesh:
    """Compile the mesh at ``root`` and write it atomically to ``.mesh/compiled/mesh.json``.

    ``mesh``, a mesh already loaded with every domain (strict), is used as it is."""
    root = Path(root).resolve()
    compiled = compile_mesh(root, mesh)
    atomic_write(root / COMPILED_PATH, compiled.to_json())
    return compiled


def compile_mesh(root: Path, mesh: Mesh | None = None) -> CompiledMesh:
    """The compiled mesh of ``root``: every domain and asset, or the errors that keep them out."""
    from governance.handlers import HANDLER_KINDS
    from governance.policy import load_policy
    from governance.wiring import acting_policy

    fingerprint = Fingerprint.of(root, source_files(root), version=package_version())
    compiled_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        policy = acting_policy(load_policy(root))  # the owners the council approved, not a hand edit
    except MeshError as exc:
        return CompiledMesh(name="", fingerprint=fingerprint, error=RecordedError.of(exc), compiled_at=compiled_at)
    today = dt.date.today()
    domains: dict[str, CompiledDomain] = {}
    assets: dict[str, CompiledAsset] = {}
    expiries: list[dt.date] = []
    for domain, loaded in _domain_meshes(root, policy, mesh).items():
        owners = policy.domains[domain].owners if domain in policy.domains else ()
        if isinstance(loaded, MeshError):
            domains[domain] = _domain(domain, owners, RecordedError.of(loaded))
            continue
        domains[domain] = _domain(domain, owners)
        for key in loaded.graph:
            if loaded.graph[key].spec.domain == domain:
                assets[key] = _asset(loaded, policy, key, today, expiries)
    fingerprint = Fingerprint(files=fingerprint.files, version=fingerprint.version, valid_until=min(expiries, default=None))
    return CompiledMesh(name=policy.settings.name, fingerprint=fingerprint, domains=domains, assets=assets,
                        handlers=HANDLER_KINDS, compiled_at=compiled_at)


def _domain_meshes(root: Path, policy: MeshPolicy, mesh: Mesh | None) -> dict[str, Mesh | MeshError]:
    """Each domain to load, with the mesh its DAG file sees or the error it raises. The whole
    mesh is loaded once; only when that fails is each domain loaded on its own, with the domains
    it reads (as ``governance.wiring.domain_mesh`` does), so that one error stays in its domain."""
    from governance.wiring import load_mesh

    active = sorted(policy.active_domains)
    if mesh is None:
        try:
            mesh = load_mesh(root)
        except MeshError:
            mesh = None
    if mesh is not None:
        return {d: mesh for d in active}
    folder = root / DOMAINS
    packages = {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()} if folder.is_dir() else set()
    meshes: dict[str, Mesh | MeshError] = {}
    for domain in sorted(set(active) | (packages - set(policy.domains))):
        try:
            meshes[domain] = load_mesh(root, domains=[domain])
        except MeshError as exc:
            meshes[domain] = exc
    return meshes


def _domain(name: str, owners: tuple[str, ...], error: RecordedError | None = None) -> CompiledDomain:
    from assets.airflow.naming import pool_name

    return CompiledDomain(name=name, owners=owners, pool=pool_name(name), error=error)


def _asset(mesh: Mesh, policy: MeshPolicy, key: str, today: dt.date, expiries: list[dt.date]) -> CompiledAsset:
    """``key`` described, with the decision that allowed each input; the expiry of each grant
    relied on goes to ``expiries`` (the compiled mesh is stale the day after the first one)."""
    from assets.airflow.naming import pool_name
    from governance.access import active_grant, domain_may_read

    spec = mesh.graph[key].spec
    access = {}
    for upstream in spec.inputs.values():
        if upstream not in mesh.graph:  # a domain declared but not loaded: the full graph judges it
            access[upstream] = "not checked: its domain is not loaded"
            continue
        producer = mesh.graph[upstream].spec
        access[upstream] = domain_may_read(policy, spec.domain, producer, today).reason
        if producer.domain != spec.domain and producer.visibility == "restricted":
            grant = active_grant(policy, upstream, spec.domain, today)
            if grant is not None and grant.expires is not None:
                expiries.append(grant.expires)
    return CompiledAsset.from_spec(spec, pool=pool_name(spec.domain), access=access)


# -- at parse time (no imports of domain code) --------------------------------------------------
def current_compiled_mesh(root: Path) -> CompiledMesh:
    """The compiled mesh of ``root``, current with its files: read, or rebuilt in a subprocess
    when missing or stale. Raises :class:`CompiledMeshError` when it cannot be made current."""
    root = root.resolve()
    compiled, stale = _read_current(root)
    if stale is None and compiled is not None:
        return compiled
    with _compile_lock(root):
        compiled, stale = _read_current(root)  # another process may have rebuilt it meanwhile
        if stale is not None:
            _rebuild(root, stale)
            compiled, stale = _read_current(root)
    if stale is not None or compiled is None:
        raise CompiledMeshError(f"the compiled mesh is still stale after rebuilding it ({stale})",
                                where=str(root / COMPILED_PATH), fix="run `mesh compile` and read its report")
    return compiled


def current_compiled(root: Path) -> CompiledMesh | None:
    """The compiled mesh of ``root`` if it is current with its files, else ``None`` (missing,
    stale or unreadable): never rebuilt, so reading it imports no domain code."""
    compiled, stale = _read_current(root.resolve())
    return compiled if stale is None else None


def _read_current(root: Path) -> tuple[CompiledMesh | None, str | None]:
    """The compiled mesh on disk and why it is stale (``None``: current)."""
    try:
        compiled = read_compiled(root)
    except CompiledMeshError as exc:
        return None, str(exc)
    if compiled is None:
        return None, "it was never compiled"
    return compiled, compiled.fingerprint.stale_reason(root, source_files(root), version=package_version(),
                                                       today=dt.date.today())


def _rebuild(root: Path, reason: str) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "governance.compiled", str(root)], cwd=root, capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise CompiledMeshError(f"the compiled mesh is stale ({reason}) and rebuilding it failed: {tail}",
                                where=str(root / COMPILED_PATH), fix="run `mesh compile` and read its report")
    log.info("rebuilt %s in %.1f s: %s", root / COMPILED_PATH, time.monotonic() - started, reason)


@contextmanager
def _compile_lock(root: Path) -> Iterator[None]:
    """One rebuild at a time per mesh: the DAG files parsed in parallel wait for the first."""
    path = root / COMPILED_PATH.parent / "compile.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    # read and write: open(path, "a") waited for ever for a reader on a FIFO put there
    lock = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    finally:
        os.close(lock)


def main(argv: list[str]) -> None:
    """``python -m governance.compiled ROOT``: compile and write; domain errors are recorded."""
    compiled = write_compiled_mesh(Path(argv[0]))
    errors = [d.name for d in compiled.domains.values() if d.error] + (["mesh.toml"] if compiled.error else [])
    print(f"{len(compiled.assets)} assets in {len(compiled.domains)} domains; errors: {errors or 'none'}")


if __name__ == "__main__":
    main(sys.argv[1:])
