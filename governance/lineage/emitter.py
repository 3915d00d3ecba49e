"""The mesh's lineage emitter: builds the events of a materialization and delivers them.

:func:`lineage_for` is what the step (START, FAIL) and the ``lineage`` handler (COMPLETE) call;
it never raises into a data run: a failure to build or send an event is logged and kept.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from assets.check_failure import CheckFailure
from assets.mesh import Mesh
from assets.storage import Manifest
from governance.lineage.config import (
    LineageSettings,
    file_transport_paths,
    lineage_settings,
)
from governance.lineage.delivery import LEGACY_FILE, Delivery, LineageOutbox
from governance.lineage.event_json import EventJSON
from governance.lineage.sender import BackgroundSender
from governance.state import StateDatabase, state_database

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lineage:
    """Emits the OpenLineage events of ``mesh``'s runs through ``outbox``."""

    mesh: Mesh
    settings: LineageSettings
    outbox: LineageOutbox
    _batches: _Batches = field(default_factory=lambda: _Batches(), compare=False, repr=False)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """A run of many assets or partitions: in it, each run's START, FAIL or unchanged
        COMPLETE event is recorded at once (with the run's start or end, in one transaction)
        and sent by a background sender, many in one pass; when it ends, everything is sent."""
        if not self.settings.enabled:  # nothing to send
            yield
            return
        self._batches.open(self.outbox.flush)
        try:
            yield
        finally:
            self._batches.close()

    # Each method imports the events module when it is first called: building an event needs the
    # OpenLineage client, which a process that builds none does not import (see event_json).
    def started(self, key: str, run_id: str, *, partition: str | None = None) -> Delivery | None:
        from governance.lineage.events import start_json

        return self._emit(lambda: start_json(self.mesh, key, run_id, self.settings.namespace, partition=partition),
                          key)

    def failed(self, key: str, run_id: str, error: str, failures: Iterable[CheckFailure] = (), *,
               partition: str | None = None) -> Delivery | None:
        from governance.lineage.events import fail_event

        return self._emit(lambda: fail_event(self.mesh, key, run_id, self.settings.namespace, error, failures,
                                             partition=partition), key)

    def unchanged(self, key: str, run_id: str, current: Manifest) -> Delivery | None:
        """The COMPLETE event of a run whose output was ``current``'s: it published nothing."""
        from governance.lineage.events import unchanged_event

        return self._emit(lambda: unchanged_event(self.mesh, key, run_id, current, self.settings.namespace), key)

    def completed(self, manifest: Manifest, region: str | None = None) -> Delivery:
        """The COMPLETE event of a published version (raises if it cannot even be recorded)."""
        from governance.lineage.events import complete_event

        event = complete_event(self.mesh, manifest, self.settings.namespace, region or self.mesh.active_region)
        return self.outbox.emit(event)

    def _emit(self, build: Callable[[], RunEvent | EventJSON], key: str) -> Delivery | None:
        if not self.settings.enabled:
            return None
        try:
            sender = self._batches.sender
            if sender is None:
                return self.outbox.emit(build())
            self.outbox.record(build())
            # the sender is told once the event is committed (it would not see it before)
            self.outbox.database.after_commit(lambda: sender.poke() or self.outbox.flush())  # ended meanwhile: send it
            return None
        except Exception as exc:  # lineage must never fail a data run; the outbox keeps what it could record
            log.warning("lineage event for %s could not be recorded: %s: %s", key, type(exc).__name__,
                        str(exc).splitlines()[0] if str(exc) else "")
            return None


class _Batches:
    """The open :meth:`Lineage.batched` blocks (from any thread) and their one sender."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self.sender: BackgroundSender | None = None

    def open(self, flush: Callable[[], object]) -> None:
        with self._lock:
            self._open += 1
            if self.sender is None:
                self.sender = BackgroundSender(flush)

    def close(self) -> None:
        with self._lock:
            self._open -= 1
            sender = self.sender if self._open == 0 else None
            if sender is not None:
                self.sender = None
        if sender is not None:
            sender.close()


def lineage_for(mesh: Mesh) -> Lineage:
    """The lineage emitter of ``mesh`` (one outbox and transport per mesh and settings)."""
    settings = lineage_settings(mesh.policy)
    outbox = _outbox(state_database(mesh.policy), mesh.state_dir / LEGACY_FILE,
                     json.dumps(settings.transport, sort_keys=True))
    return Lineage(mesh, settings, outbox)


@lru_cache(maxsize=16)
def _outbox(database: StateDatabase, legacy: Path, transport: str) -> LineageOutbox:
    """One outbox per database and transport (``transport`` as JSON, to be hashable)."""
    config = json.loads(transport)
    for file in file_transport_paths(config):  # the file transport does not create its folder
        file.parent.mkdir(parents=True, exist_ok=True)
    return LineageOutbox(database, config, legacy)
