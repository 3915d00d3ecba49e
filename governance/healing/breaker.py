"""Circuit breakers: a remediation that keeps failing on a subject stops being tried, and says so.

Each (remediation, subject) counts the passes of the runbook in a row whose remediation failed.
After :attr:`Bounds.open_after` of them the breaker opens: the runbook no longer tries, and
reports ``breaker open`` with the last error, until :attr:`Bounds.cool_down` has passed (then
one pass tries again: a success closes it, a failure opens it for another cool-down). A success
closes it at once. The state is kept in ``<state>/healing/breakers.json`` (written atomically,
under the runbook's lock), so it lasts across passes and processes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets.atomic import atomic_write
from assets.backoff import Backoff
from assets.stored_json import load_json

#: Where the breakers are kept, under the mesh's state folder.
BREAKERS_FILE = Path("state") / "healing" / "breakers.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """How hard a remediation tries: ``attempts`` per pass, waiting with ``backoff`` between
    them; its breaker opens after ``open_after`` failed passes in a row, for ``cool_down``."""

    attempts: int = 3
    backoff: Backoff = Backoff(first=1.0, factor=2.0, cap=30.0)
    open_after: int = 3
    cool_down: dt.timedelta = dt.timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.open_after < 1 or self.cool_down < dt.timedelta(0):
            raise ValueError(f"bounds need attempts >= 1, open_after >= 1 and a cool-down >= 0, got {self}")


@dataclass(frozen=True, slots=True)
class BreakerState:
    """Failed passes in a row, when the breaker opened (``None``: closed), and the last error."""

    failures: int = 0
    opened_at: str | None = None
    last_error: str | None = None

    def is_open(self, now: dt.datetime, bounds: Bounds) -> bool:
        if self.opened_at is None:
            return False
        return now < dt.datetime.fromisoformat(self.opened_at) + bounds.cool_down


class Breakers:
    """The breakers of a mesh, kept in the file ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._states: dict[str, BreakerState] = self._read()

    def state(self, remediation: str, subject: str) -> BreakerState:
        return self._states.get(_key(remediation, subject), BreakerState())

    def succeeded(self, remediation: str, subject: str) -> None:
        """Close the breaker: the remediation worked."""
        if self._states.pop(_key(remediation, subject), None) is not None:
            self._write()

    def failed(self, remediation: str, subject: str, error: str, now: dt.datetime, bounds: Bounds) -> bool:
        """Count a failed pass; ``True`` if the breaker opens now."""
        before = self.state(remediation, subject)
        failures = before.failures + 1
        opens = failures >= bounds.open_after
        self._states[_key(remediation, subject)] = BreakerState(
            failures, now.isoformat() if opens else None, error[:500])
        self._write()
        return opens

    def open(self, now: dt.datetime, bounds: Bounds) -> dict[str, BreakerState]:
        """The breakers open at ``now``, by ``remediation:subject``."""
        return {k: s for k, s in self._states.items() if s.is_open(now, bounds)}

    def _read(self) -> dict[str, BreakerState]:
        try:
            raw: Any = load_json(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):  # a damaged file forgets the counts: the runbook tries again, bounded
            return {}
        if not isinstance(raw, dict):
            return {}
        states = {}
        for key, value in raw.items():
            if isinstance(value, dict) and isinstance(value.get("failures"), int):
                states[str(key)] = BreakerState(value["failures"], value.get("opened_at"), value.get("last_error"))
        return states

    def _write(self) -> None:
        data = {k: {"failures": s.failures, "opened_at": s.opened_at, "last_error": s.last_error}
                for k, s in sorted(self._states.items())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(data, indent=1).encode(), mode=0o600)


def _key(remediation: str, subject: str) -> str:
    return f"{remediation}:{subject}"
