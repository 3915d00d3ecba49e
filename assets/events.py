"""Asset update events and the handlers that react to them.

Every publish is an :class:`AssetUpdate`. The in-process engine dispatches it to the handlers
right after the publish; on Airflow, the asset's task emits an Asset event whose ``extra``
carries the same fields, and the domain's governance DAG rebuilds the update from it and
dispatches it to the very same handlers.

Plug-in contract: a handler is any object with a ``kind`` (a short unique name) and a
``handle(update)`` method that returns a one-line outcome. It must be idempotent: the same
update may arrive more than once (a retried task, a replayed event) and must change nothing
the second time. It raises to report failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from assets.storage import Manifest

Source = Literal["engine", "airflow"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetUpdate:
    """A version of an asset was published. ``summary`` is the manifest summary."""

    key: str
    version: str
    run_id: str
    source: Source
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def partition(self) -> str | None:
        """The partition the version is of (``None``: an unpartitioned asset)."""
        value = self.summary.get("partition")
        return str(value) if value is not None else None

    @classmethod
    def from_manifest(cls, manifest: Manifest, source: Source) -> AssetUpdate:
        return cls(key=manifest.key, version=manifest.version, run_id=manifest.run_id, source=source,
                   summary=manifest.summary())

    def to_extra(self) -> dict[str, Any]:
        """What an Airflow Asset event carries: the manifest summary plus key and run id."""
        return {**self.summary, "key": self.key, "run_id": self.run_id}

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any], source: Source = "airflow") -> AssetUpdate:
        missing = {"key", "version", "run_id"} - set(extra)
        if missing:
            raise ValueError(f"asset event extra lacks {sorted(missing)}; it was not emitted by a mesh task")
        summary = {k: v for k, v in extra.items() if k not in ("key", "run_id")}
        return cls(key=str(extra["key"]), version=str(extra["version"]), run_id=str(extra["run_id"]),
                   source=source, summary=summary)


@runtime_checkable
class UpdateHandler(Protocol):
    """Reacts to an asset update. See the module docstring for the contract."""

    kind: ClassVar[str]

    def handle(self, update: AssetUpdate) -> str: ...


@dataclass(frozen=True, slots=True)
class HandlerOutcome:
    """What one handler did with one update."""

    kind: str
    key: str
    ok: bool
    message: str
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.kind}: {'ok' if self.ok else 'FAILED'}: {self.message}"


def dispatch(handlers: Iterable[UpdateHandler], update: AssetUpdate) -> list[HandlerOutcome]:
    """Run every handler on ``update``; one handler's failure does not stop the others."""
    outcomes = []
    for handler in handlers:
        started = time.perf_counter()
        try:
            message, ok = handler.handle(update), True
        except Exception as exc:  # a handler may fail in any way; it is reported, not fatal here
            message, ok = f"{type(exc).__name__}: {exc}", False
        outcomes.append(HandlerOutcome(handler.kind, update.key, ok, message, time.perf_counter() - started))
    return outcomes
