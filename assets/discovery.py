"""Find the asset definitions of a mesh: the packages under ``<root>/domains/``.

Each sub-package of ``domains/`` is a domain; its definitions are the :class:`AssetDefinition`
objects found in its modules (``assets.py`` by convention, or the package itself). Importing
user code is an explicit call here, never a side effect of importing the framework.

A domain whose code raises on import is reported in :attr:`Discovery.errors` and does not stop
the other domains from loading; strict callers raise it.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from assets.definition import AssetDefinition
from assets.errors import (
    DomainImportError,
    MeshError,
    UndeclaredDomainError,
    did_you_mean,
)

#: Modules of a domain package that hold definitions, in the order they are searched.
DEFINITION_MODULES = ("assets",)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What was found under ``domains/``: definitions, and an error per domain that failed."""

    definitions: tuple[AssetDefinition, ...]
    domains: tuple[str, ...]
    errors: Mapping[str, MeshError] = field(default_factory=dict)


def discover(root: Path, declared: Mapping[str, object], only: Collection[str] | None = None, *,
             fresh: bool = True, skip: Collection[str] = ()) -> Discovery:
    """Import every domain package under ``root/domains`` (or just those in ``only``) and
    collect its definitions.

    ``declared`` holds the domains of ``mesh.toml``; a package not declared there is an error
    for that domain, raised before any of its code is imported. ``skip`` names packages not to load (retired domains). ``fresh`` first drops
    domain modules imported before.
    """
    folder = root / "domains"
    _bind_domains_package(root, fresh)
    definitions: list[AssetDefinition] = []
    errors: dict[str, MeshError] = {}
    found = sorted(p.name for p in folder.iterdir() if (p / "__init__.py").is_file()) if folder.is_dir() else []
    found = [d for d in found if d not in skip and (only is None or d in only)]
    for domain in found:
        if domain not in declared:  # refused before its code is imported: undeclared code never runs
            hint = did_you_mean(domain, declared)
            errors[domain] = UndeclaredDomainError(
                f"domain '{domain}' is not declared in mesh.toml; its code was not imported",
                where=str(folder / domain),
                fix=f"add [domains.{domain}] with owners to mesh.toml"
                    f" (mesh domain create {domain} --owner EMAIL).{' ' + hint if hint else ''}")
            continue
        try:
            definitions.extend(_load_domain(domain, folder / domain))
        except MeshError as exc:
            errors[domain] = exc
    _remember_imports(list(sys.modules))  # one pass for domain modules imported before, outside this load
    return Discovery(tuple(definitions), tuple(found), errors)


def _load_domain(domain: str, path: Path) -> list[AssetDefinition]:
    modules: list[ModuleType] = []
    for name in (f"domains.{domain}", *(f"domains.{domain}.{m}" for m in DEFINITION_MODULES)):
        if name != f"domains.{domain}" and not (path / f"{name.rsplit('.', 1)[1]}.py").is_file():
            continue
        try:
            newest = next(reversed(sys.modules), None)
            modules.append(importlib.import_module(name))
            _remember_imports([name, *_imported_since(newest)])
        except (Exception, SystemExit) as exc:  # user code may raise anything, even exit: report it against its domain
            what = exc.what if isinstance(exc, MeshError) else str(exc)
            fix = exc.fix if isinstance(exc, MeshError) and exc.fix else "fix the error in the domain's code"
            raise DomainImportError(
                f"domain '{domain}' failed to import: {type(exc).__name__}: {what}",
                where=_user_line(exc, path),
                fix=f"{fix}. Until then the commands that load every domain's code stop here; `mesh check`, the "
                    "audit, keys, access, dr and ops heal commands and the other domains' DAGs on Airflow do not") from exc
    seen: dict[int, AssetDefinition] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, AssetDefinition) and value.spec.domain == domain:
                seen.setdefault(id(value), value)
    return list(seen.values())


def _user_line(exc: BaseException, package: Path) -> str:
    """``file:line`` of the deepest frame of ``exc`` inside the domain's ``package``: the user's
    line, not the library or framework code it called (polars, ``@asset``). A syntax error names
    its own line. Falls back to the deepest frame when none is inside the package."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if _is_inside(f.filename, package)]
    frame = (inside or frames)[-1]
    return f"{frame.filename}:{frame.lineno}"


def _is_inside(filename: str, package: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(package.resolve())
    except (OSError, ValueError):
        return False


#: Size and modification time of each domain module's source when it was imported.
_IMPORTED: dict[str, tuple[int, int]] = {}


def _bind_domains_package(root: Path, fresh: bool) -> None:
    """Make ``import domains`` resolve to ``root/domains``, as the files are now.

    With ``fresh``, previously imported domain modules are dropped from ``sys.modules`` when
    they come from another root (tests load several meshes) or their source changed since
    they were imported; objects built from the old modules keep working. Unchanged modules are
    reused, so the DAG files of many domains parsed in one process import each domain once.
    """
    target = (root / "domains").resolve()
    loaded = {n: m for n, m in sys.modules.items() if n == "domains" or n.startswith("domains.")}
    if fresh and any(_stale(name, module, target) for name, module in loaded.items()):
        for name in loaded:
            del sys.modules[name]
            _IMPORTED.pop(name, None)
    root_str = str(root.resolve())
    if root_str in sys.path:
        sys.path.remove(root_str)
    sys.path.insert(0, root_str)
    importlib.invalidate_caches()


def _stale(name: str, module: ModuleType, target: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file or not file.startswith(str(target) + os.sep):
        return True
    return _IMPORTED.get(name) != _stamp(file)


def _imported_since(newest: str | None) -> list[str]:
    """The modules imported after ``newest`` (the last of ``sys.modules`` before an import): the
    newest entries, found without a pass over every module (a pass per import would make loading a
    mesh quadratic in its domains). All of them when ``newest`` is gone."""
    names = []
    for name in reversed(sys.modules):
        if name == newest:
            break
        names.append(name)
    return names


def _remember_imports(names: Iterable[str]) -> None:
    """Stamp the domain modules among ``names`` that were not stamped yet."""
    for name in names:
        if name.startswith("domains.") and name not in _IMPORTED and (module := sys.modules.get(name)) is not None:
            file = getattr(module, "__file__", None)
            if file:
                _IMPORTED[name] = _stamp(file)


def _stamp(file: str) -> tuple[int, int]:
    try:
        stat = os.stat(file)
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)
