"""The DropTrigger that watches an observed source's drop in Airflow's triggerer, run here on
its own event loop: it fires on start for a complete file, then once per new complete file,
never for a temporary name or a file still being written."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from assets.airflow.drop_trigger import DropTrigger

#: Polls of the drop within which a trigger that would fire has fired (it polls every 10 ms).
QUIET = 0.5


class Events:
    """The trigger's events, gathered by a task of their own (waiting for the next one with a
    timeout must not cancel the trigger itself)."""

    def __init__(self, trigger: DropTrigger) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task = asyncio.create_task(self._gather(trigger))

    async def _gather(self, trigger: DropTrigger) -> None:
        async for event in trigger.run():
            await self.queue.put(event)

    async def next(self, timeout: float) -> Any:
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        self.task.cancel()


def write(folder: Path, name: str, text: str, *, age: float = 60.0) -> None:
    (folder / name).write_text(text)
    then = time.time() - age
    os.utime(folder / name, (then, then))


def test_it_serializes_to_its_own_class_and_arguments(tmp_path: Path) -> None:
    trigger = DropTrigger(location="drops/x/*.csv", root=str(tmp_path), settle=2.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == "assets.airflow.drop_trigger.DropTrigger"
    assert DropTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_it_fires_on_start_then_once_per_new_complete_file(tmp_path: Path) -> None:
    folder = tmp_path / "drops" / "x"
    folder.mkdir(parents=True)
    write(folder, "a.csv", "n\n1\n")

    async def scenario() -> None:
        events = Events(DropTrigger(location="drops/x/*.csv", root=str(tmp_path), settle=2.0, poke_interval=0.01))
        first = await events.next(30)
        assert first.payload == {"drop": "drops/x/*.csv", "file": "a.csv", "bytes": 4}
        write(folder, ".b.csv.tmp", "n\n1\n2\n")  # a temporary name
        write(folder, "c.csv", "n\n1\n", age=-3600)  # still being written
        write(folder, "d.json", "{}")  # not the glob
        with pytest.raises(TimeoutError):
            await events.next(QUIET)
        os.replace(folder / ".b.csv.tmp", folder / "b.csv")
        write(folder, "b.csv", "n\n1\n2\n", age=30)
        second = await events.next(30)
        assert second.payload["file"] == "b.csv"
        events.close()

    asyncio.run(scenario())


def test_a_missing_folder_is_waited_for(tmp_path: Path) -> None:
    async def scenario() -> None:
        events = Events(DropTrigger(location="drops/y/*.parquet", root=str(tmp_path), settle=0.0, poke_interval=0.01))
        with pytest.raises(TimeoutError):
            await events.next(QUIET)
        (tmp_path / "drops" / "y").mkdir(parents=True)
        write(tmp_path / "drops" / "y", "a.parquet", "x")
        assert (await events.next(30)).payload["file"] == "a.parquet"
        events.close()

    asyncio.run(scenario())
