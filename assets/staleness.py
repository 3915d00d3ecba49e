"""Staleness: whether an asset's current version still reflects its code, contract and inputs.

An asset is stale when its current version was made by other code (``code_version`` of the
function differs), under another contract version, or from an input version that is no longer
that input's current one; or when it has no current version at all. The rule reads only the
current manifests: an asset downstream of a stale asset is not stale itself until that input
publishes a new version. A partitioned asset is stale per partition (:func:`partition_staleness`);
:func:`summary` says whether any of its partitions is.

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
import threading
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from assets.definition import AssetFn
from assets.mesh import Mesh
from assets.partition_mapping import upstream_partitions
from assets.partition_reads import input_label, split_label
from assets.storage import Manifest

#: The reason of an asset with no current version.
NEVER_MATERIALIZED = "never materialized"
CODE_CHANGED = "code changed"
#: The reason of a partitioned asset with no published partition.
NO_PARTITION = "no partition published"


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


def staleness(mesh: Mesh, key: str, partition: str | None = None, *, current: Manifest | None = None) -> Staleness:
    """Whether ``key``'s current version (of ``partition``, for a partitioned asset; in the
    active region) is stale; see the module docstring. A partition reads the partitions of its
    inputs that its mappings name: one that changed, or was published after it was made (a
    week's new day), makes it stale. ``current``: its current manifest, if the caller read it."""
    if current is None:
        current = mesh.store().current(key, partition)
    label = input_label(key, partition)
    if current is None:
        return Staleness(label, True, (NEVER_MATERIALIZED,))
    definition = mesh.graph[key]
    reasons: list[str] = []
    if code_version(definition.fn) != current.code_version:
        reasons.append(CODE_CHANGED)
    if definition.spec.contract_version != current.contract_version:
        reasons.append(f"contract {current.contract_version} -> {definition.spec.contract_version}")
    for read_label, now in _inputs_now(mesh, key, partition).items():
        read = current.input_versions.get(read_label)
        if read is None:
            if now is not None or split_label(read_label)[1] is None:
                reasons.append(f"input {read_label} was not read by the current version")
        elif now is not None and now != read:
            reasons.append(f"input {read_label} has a {'newer' if now > read else 'different'} version")
    return Staleness(label, bool(reasons), tuple(reasons))


def partition_staleness(mesh: Mesh, key: str) -> tuple[Staleness, ...]:
    """The staleness of each published partition of the partitioned asset ``key``, in key order
    (nothing when none is published: :func:`summary` says so)."""
    return tuple(staleness(mesh, key, p) for p in mesh.store().partitions(key))


def summary(mesh: Mesh, key: str) -> Staleness:
    """Whether ``key`` is stale as a whole: an unpartitioned asset's :func:`staleness`; a
    partitioned asset is stale when no partition is published or any published one is stale,
    and its reasons name the stale partitions."""
    if mesh.graph[key].spec.partitions is None:
        return staleness(mesh, key)
    found = partition_staleness(mesh, key)
    if not found:
        return Staleness(key, True, (NO_PARTITION,))
    stale = [s for s in found if s.stale]
    if not stale:
        return Staleness(key, False)
    shown = [f"{split_label(s.key)[1]}: {s.describe()}" for s in stale[:3]]
    more = f"; and {len(stale) - 3} more" if len(stale) > 3 else ""
    return Staleness(key, True, (f"{len(stale)} of {len(found)} partitions stale ({'; '.join(shown)}{more})",))


def _inputs_now(mesh: Mesh, key: str, partition: str | None) -> dict[str, str | None]:
    """The current version of each input (partition) that ``key`` (its ``partition``) reads,
    named as its manifests' ``input_versions`` name them."""
    store = mesh.store()
    now: dict[str, str | None] = {}
    for param, upstream in mesh.graph[key].spec.inputs.items():
        edge = mesh.graph.edge(key, param)
        if edge.upstream is None:
            now[upstream] = store.current_version(upstream)
            continue
        wanted = upstream_partitions(edge, partition)
        for p in store.partitions(upstream) if wanted is None else wanted:
            now[input_label(upstream, p)] = store.current_version(upstream, p)
    return now


_PARSING = threading.Lock()


@lru_cache(maxsize=4096)
def code_version(fn: AssetFn) -> str:
    """A hash of the function's source from ``def`` on: it changes when the code that made the
    data changes, not when the decorator's declarations do (the contract version counts on its own)."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        source = fn.__qualname__
    else:
        # CPython 3.11's parser is not safe in threads ("AST constructor recursion depth
        # mismatch", python/cpython#106905); the engine's workers may get here at once
        with _PARSING, contextlib.suppress(SyntaxError):  # a lambda's line, say: hashed whole
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
