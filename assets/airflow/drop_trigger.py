"""The event trigger that watches an observed source's drop in Airflow's triggerer.

An :class:`~airflow.sdk.AssetWatcher` runs :class:`DropTrigger` in the triggerer, not in a
worker: no task holds a slot while nothing arrives. The trigger lists the drop every
``poke_interval`` seconds with the same rule as the step (:func:`assets.drops.complete_files`:
no temporary names, nothing modified within ``settle`` seconds) and fires an event each time
the newest complete file changes (name, size or modification time). The event updates the
source's *arrivals* Asset, which schedules the source's DAG; its task observes the drop through
the engine's step and publishes (or publishes nothing, when the file was already published:
the trigger fires once when it starts, so a file that arrived while the triggerer was down is
not missed). Listing runs in a thread; this module imports neither polars nor pandera.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from assets.drops import Drop, complete_files

#: Seconds between two listings of a drop.
POKE_INTERVAL = 2.0


class DropTrigger(BaseEventTrigger):
    """Fires when a new complete file arrives in the drop ``location`` (relative to ``root``)."""

    def __init__(self, *, location: str, root: str, settle: float, poke_interval: float = POKE_INTERVAL) -> None:
        super().__init__()
        self.location = location
        self.root = root
        self.settle = settle
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"location": self.location, "root": self.root, "settle": self.settle,
                 "poke_interval": self.poke_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        drop, root = Drop(self.location, settle=self.settle), Path(self.root)
        fired: tuple[str, int, float] | None = None
        while True:
            try:
                files = await asyncio.to_thread(complete_files, drop, root, now=time.time())
            except OSError as exc:  # the folder or bucket is unreachable for now: try again
                self.log.warning("cannot list the drop %s: %s", self.location, exc)
                files = []
            if files and (newest := (files[-1].name, files[-1].size, files[-1].mtime)) != fired:
                fired = newest
                yield TriggerEvent({"drop": self.location, "file": newest[0], "bytes": newest[1]})
            await asyncio.sleep(self.poke_interval)
