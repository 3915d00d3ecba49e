"""Edit ``mesh.toml`` in place for the workflows that change policy (grants, domains).

Comments and layout are kept (tomlkit). Edits are serialised by an exclusive lock and written
back atomically, so the council's file is never half-written.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tomlkit

from assets.atomic import atomic_write


@contextmanager
def mesh_toml_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock that serialises every change of ``mesh.toml`` (and of the
    council's approvals beside it)."""
    with open(path.with_suffix(".toml.lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def edit_mesh_toml(path: Path) -> Iterator[tomlkit.TOMLDocument]:
    """Yield the parsed document; it is written back if the block ends without an error."""
    with mesh_toml_lock(path):
        doc = tomlkit.parse(path.read_text())
        yield doc
        atomic_write(path, tomlkit.dumps(doc).encode())
