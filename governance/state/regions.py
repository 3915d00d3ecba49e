"""The switches of the active region in the state database, for a mesh whose ``[state] url``
names one: every host's processes follow a failover the moment it commits.

Each switch is a row of ``region_switches``; the newest is in force. The switch file an earlier
mesh (or this one before ``[state]`` was set) wrote, ``.mesh/state/active_region.json``, is
imported on first use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select

from assets.regions import ACTIVE_REGION_FILE, RegionSwitch, read_switch
from governance.state.database import StateDatabase
from governance.state.legacy import import_once
from governance.state.schema import region_switches


@dataclass(frozen=True, slots=True)
class DatabaseSwitches:
    """The active-region switches in ``database``; ``state_dir`` holds a switch file to import."""

    database: StateDatabase
    state_dir: Path | None = None

    def read(self) -> RegionSwitch | None:
        self._import()
        with self.database.read() as conn:
            row = conn.execute(select(region_switches.c.region, region_switches.c.previous, region_switches.c.at,
                                      region_switches.c.reason)
                               .order_by(region_switches.c.seq.desc()).limit(1)).mappings().first()
        return RegionSwitch(**row) if row is not None else None

    def write(self, switch: RegionSwitch) -> None:
        self._import()
        with self.database.write(lock="active-region") as conn:
            conn.execute(insert(region_switches).values(**asdict(switch)))

    def _import(self) -> None:
        if self.state_dir is not None:
            import_once(self.database, "active-region", self.state_dir / ACTIVE_REGION_FILE, self._copy_legacy)

    def _copy_legacy(self, conn: Connection) -> int:
        """The file's switch, unless the database already has a switch of its own."""
        assert self.state_dir is not None
        switch = read_switch(self.state_dir)
        if switch is None or conn.execute(select(region_switches.c.seq).limit(1)).first() is not None:
            return 0
        conn.execute(insert(region_switches).values(**asdict(switch)))
        return 1
