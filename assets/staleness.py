"""Staleness: whether an asset's current version still reflects its code, contract and inputs.

An asset is stale when its current version was made by other code (``code_version`` of the
function differs), under another contract version, or from an input version that is no longer
that input's current one; or when it has no current version at all. The rule reads only the
current manifests: an asset downstream of a stale asset is not stale itself until that input
publishes a new version.

:func:`content_checksum` is the hash of an output as the gate passed it, before protection,
which the step compares with the current version's to publish nothing when the output did not
change (:func:`unchanged`).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import inspect
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from assets.definition import AssetFn
from assets.mesh import Mesh
from assets.storage import Manifest

#: The reason of an asset with no current version.
NEVER_MATERIALIZED = "never materialized"
CODE_CHANGED = "code changed"


@dataclass(frozen=True, slots=True)
class Staleness:
    """Whether ``key`` is stale, and why (empty ``reasons`` when it is not)."""

    key: str
    stale: bool
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.stale != bool(self.reasons):
            raise ValueError(f"staleness of '{self.key}': stale={self.stale} needs reasons exactly when stale")

    def describe(self) -> str:
        """``up to date``, or the reasons joined by ``; ``."""
        return "; ".join(self.reasons) if self.stale else "up to date"


def staleness(mesh: Mesh, key: str) -> Staleness:
    """Whether ``key``'s current version (in the active region) is stale; see the module docstring."""
    store = mesh.store()
    current = store.current(key)
    if current is None:
        return Staleness(key, True, (NEVER_MATERIALIZED,))
    spec = mesh.graph[key].spec
    reasons: list[str] = []
    if code_version(mesh.graph[key].fn) != current.code_version:
        reasons.append(CODE_CHANGED)
    if spec.contract_version != current.contract_version:
        reasons.append(f"contract {current.contract_version} -> {spec.contract_version}")
    for upstream in dict.fromkeys(spec.inputs.values()):
        now = store.current_version(upstream)
        read = current.input_versions.get(upstream)
        if read is None:
            reasons.append(f"input {upstream} was not read by the current version")
        elif now is not None and now != read:
            reasons.append(f"input {upstream} has a {'newer' if now > read else 'different'} version")
    return Staleness(key, bool(reasons), tuple(reasons))


@lru_cache(maxsize=4096)
def code_version(fn: AssetFn) -> str:
    """A hash of the function's source from ``def`` on: it changes when the code that made the
    data changes, not when the decorator's declarations do (the contract version counts on its own)."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        source = fn.__qualname__
    else:
        with contextlib.suppress(SyntaxError):  # a lambda's line, say: hashed whole
            body = ast.parse(source).body
            if body and isinstance(body[0], ast.FunctionDef | ast.AsyncFunctionDef):
                source = "\n".join(source.splitlines()[body[0].lineno - 1:])
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def content_checksum(frame: pl.DataFrame) -> str:
    """A hash of ``frame``'s schema and rows, in order: equal for equal data in every run."""
    digest = hashlib.sha256(repr([(c, str(t)) for c, t in frame.schema.items()]).encode())
    digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return f"rows-sha256:{digest.hexdigest()}"


def unchanged(previous: Manifest | None, *, content: str, contract_version: str, code: str,
              input_versions: dict[str, str], protection: dict[str, str]) -> bool:
    """Whether a run's output is the current version's: same content, contract version, code,
    inputs read and protection. A version without a ``content_checksum`` (older) never is."""
    return (previous is not None and previous.content_checksum == content
            and previous.contract_version == contract_version and previous.code_version == code
            and dict(previous.input_versions) == input_versions and dict(previous.protection) == protection)
