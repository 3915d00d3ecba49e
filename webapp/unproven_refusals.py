"""The audit records of the read API's refusals of unproven callers, complete and bounded.

Each refusal used to append its own record (about 750 bytes): a caller who proves nothing
could grow the audit log as fast as it could send requests. Now the first refusal of a
(reason, client address) is recorded at once, as before; its repeats are counted, and one
summary record per (reason, address) is written on the seal pacer's cadence (at most once per
``every`` seconds, just before the head is signed, :mod:`webapp.sealing`) and when the server
stops. Every record carries ``count``: the refusals it stands for, so the counts of the records
add up to the refusals. A (reason, address) quiet for a whole interval is forgotten (its next
refusal is recorded at once again); at most ``max_open`` are tracked, further ones share one
tally (reason and address ``other``), so memory and records per interval stay bounded too.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from governance.audit import AuditEvent, AuditLog
from webapp.sealing import SealPacer

#: How many (reason, address) pairs are tallied apart, by default.
MAX_OPEN = 256
OTHER = "other"


@dataclass(slots=True)
class _Tally:
    """The repeats of one (reason, address) since its last record."""

    repeats: int = 0
    fresh: bool = True  # opened in this interval: kept through its first summary time
    targets: Counter[str] = field(default_factory=Counter)
    claimed: Counter[str] = field(default_factory=Counter)


@dataclass
class UnprovenRefusals:
    """Records unproven callers' refusals in the audit log (module docstring) and paces the
    signing of its head after them."""

    every: float = 10.0
    max_open: int = MAX_OPEN
    _open: dict[tuple[str, str], _Tally] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _pacer: SealPacer = field(init=False, repr=False)
    _audit: AuditLog | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._pacer = SealPacer(self.every, before_seal=self.flush)

    def refused(self, audit: AuditLog, *, reason: str, client: str, target: str, claimed: str | None) -> None:
        """Account for one refusal of an unproven caller at ``client`` reading ``target``."""
        reason, client, claimed = reason[:500], client[:100], (claimed or "")[:200]
        with self._lock:
            self._audit = audit
            key = (reason, client)
            if key not in self._open and len(self._open) >= self.max_open:
                key = (OTHER, OTHER)
            tally = self._open.get(key)
            first = tally is None
            if tally is None:
                self._open[key] = _Tally()
            else:
                tally.repeats += 1
                tally.targets[target] += 1
                if claimed:
                    tally.claimed[claimed] += 1
        if first:
            audit.append(AuditEvent(actor="unknown", action="read", target=target, outcome="denied", source="api",
                                    details={"reason": key[0], "identity": "unproven", "client": key[1], "count": 1,
                                             **({"claimed_user": claimed} if claimed else {})}))
        self._pacer.seal_soon(audit)

    def seal_soon(self, audit: AuditLog) -> None:
        """Have the log's head signed soon, on the same pace (another refusal was recorded)."""
        self._pacer.seal_soon(audit)

    def flush(self, audit: AuditLog) -> None:
        """Write one summary record per (reason, address) refused again since its last record."""
        with self._lock:
            due = [(key, tally) for key, tally in self._open.items() if tally.repeats]
            for key, tally in list(self._open.items()):
                if tally.repeats:
                    self._open[key] = _Tally(fresh=False)
                elif tally.fresh:
                    tally.fresh = False
                else:
                    del self._open[key]  # quiet a whole interval
        for (reason, client), tally in due:
            [(target, _)] = tally.targets.most_common(1)
            audit.append(AuditEvent(
                actor="unknown", action="read", target=target if len(tally.targets) == 1 else "api/products",
                outcome="denied", source="api",
                details={"reason": reason, "identity": "unproven", "client": client, "count": tally.repeats,
                         "summary": "repeated refusals since this reason and address were last recorded",
                         "targets": _top(tally.targets), **({"claimed_users": _top(tally.claimed)} if tally.claimed else {})}))

    def close(self) -> None:
        """Write what is counted and sign the head now (the server stops)."""
        self._pacer.close()
        with self._lock:
            audit, pending = self._audit, any(t.repeats for t in self._open.values())
        if audit is not None and pending:  # counted after the last timer fired
            self.flush(audit)
            audit.seal()


def _top(counts: Counter[str], n: int = 5) -> str:
    """The ``n`` most frequent of ``counts``, with their counts, and how many others."""
    shown = ", ".join(f"{name} ×{count}" for name, count in counts.most_common(n))
    return shown + (f", and {len(counts) - n} more" if len(counts) > n else "")
