"""A run event as the lineage outbox keeps it, without the OpenLineage client: recording and
sending events already serialised needs no client classes, so a process that never builds an
event (``mesh list``, ``mesh read``, ``mesh audit verify``) does not import the client
(about 0.4 s)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent


@dataclass(frozen=True, slots=True)
class EventJSON:
    """A run event as the outbox keeps it: its ``id`` (``<run id>:<event type>``, one row per
    run and type) and its ``body``, the event's JSON as the OpenLineage client writes it
    (``Serde.to_json``: no nulls, keys sorted)."""

    id: str
    body: str

    @classmethod
    def of(cls, event: RunEvent) -> EventJSON:
        from openlineage.client.serde import Serde

        assert event.eventType is not None  # the mesh's events always have one
        return cls(f"{event.run.runId}:{event.eventType.value}", Serde.to_json(event))
