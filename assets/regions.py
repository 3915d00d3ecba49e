"""Which region serves reads and takes new versions: the primary, until a failover.

Switches are kept by a :class:`RegionSwitches` store, the last one in force. The framework's
own is :class:`FileSwitches`: one small file in the mesh's state folder
(``state/active_region.json``), replaced atomically, so every process (CLI, engine, Airflow
tasks) on that machine sees the old region or the new one, never a mix. Governance hands the
mesh a store in the state database instead when one is shared by several hosts. Without a
switch the primary region of ``mesh.toml`` is active.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from assets.atomic import atomic_write
from assets.errors import ConfigError
from assets.named_files import read_named_file
from assets.stored_json import load_json

ACTIVE_REGION_FILE = Path("state") / "active_region.json"
#: The most bytes of the active-region file read: it holds four short texts; a larger file (a
#: sparse 10 GB one) is not one the mesh wrote, and is refused unread, as a FIFO or a folder is.
MAX_SWITCH_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionSwitch:
    """A recorded switch of the active region (by a failover or a failback)."""

    region: str
    previous: str
    at: str
    reason: str

    @classmethod
    def now(cls, *, region: str, previous: str, reason: str) -> RegionSwitch:
        return cls(region=region, previous=previous, reason=reason,
                   at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))


def read_switch(state_dir: Path) -> RegionSwitch | None:
    """The last switch recorded under ``state_dir``, or ``None`` if there was none. Cheap to
    call often: the file is parsed again only when it changed."""
    path = state_dir / ACTIVE_REGION_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _parse(path, stat.st_mtime_ns, stat.st_size, stat.st_ino)


@lru_cache(maxsize=64)
def _parse(path: Path, _mtime_ns: int, _size: int, _inode: int) -> RegionSwitch | None:
    try:
        return RegionSwitch(**load_json(read_named_file(path, MAX_SWITCH_BYTES)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc  # the file is named once, by where
        raise ConfigError(f"the active-region file is unreadable: {why}", where=str(path),
                          fix="run `mesh dr status`, then `mesh dr failover --to REGION` to rewrite it") from exc


def write_switch(state_dir: Path, switch: RegionSwitch) -> None:
    """Record ``switch`` atomically: written aside, flushed, then renamed over the old file."""
    atomic_write(state_dir / ACTIVE_REGION_FILE, json.dumps(asdict(switch), indent=2).encode())


class RegionSwitches(Protocol):
    """Where the switches of the active region are kept: every process of a mesh must read
    what any of them wrote."""

    def read(self) -> RegionSwitch | None:
        """The switch in force, or ``None`` if there was none. Called often: keep it cheap."""
        ...

    def write(self, switch: RegionSwitch) -> None:
        """Record ``switch``, atomically: a reader sees the switch before it or this one."""
        ...


@dataclass(frozen=True, slots=True)
class FileSwitches:
    """The switches in ``<state_dir>/state/active_region.json``."""

    state_dir: Path

    def read(self) -> RegionSwitch | None:
        return read_switch(self.state_dir)

    def write(self, switch: RegionSwitch) -> None:
        write_switch(self.state_dir, switch)
