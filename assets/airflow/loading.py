"""One mesh per domain and process: built when a DAG file is parsed, reused by its tasks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from assets.mesh import Mesh


@lru_cache(maxsize=None)
def domain_mesh(root: Path, domain: str) -> Mesh:
    """``mesh.toml`` at ``root`` with only ``domain`` imported. Raises the domain's error."""
    return Mesh.load(root, domains=[domain])
