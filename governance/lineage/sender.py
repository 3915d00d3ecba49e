"""Delivery in the background while a run of many assets (or partitions) goes on.

:class:`BackgroundSender` sends an outbox from a thread of its own: each recorded event pokes
it, and every :data:`GATHER_SECONDS` at most it sends everything pending in one pass (one read
and one update of the outbox for many events, instead of each run waiting for its own).
:meth:`BackgroundSender.close` sends what is left and waits: when a run returns, its events
were sent (or kept in the outbox with their error, as always).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from assets.errors import MeshError

log = logging.getLogger(__name__)

#: How often the sender looks for poked events, so one pass sends them together (the longest
#: an event waits more than it would have).
GATHER_SECONDS = 0.05


class BackgroundSender:
    """Calls ``flush`` from its own thread, every ``gather`` seconds at most, when something was
    poked since its last pass. A poke only sets a flag: waking the sender for each event would
    hand it the interpreter at every run, the cost this saves."""

    def __init__(self, flush: Callable[[], object], gather: float = GATHER_SECONDS) -> None:
        if gather <= 0:
            raise ValueError("the sender gathers for some time (a pass per poke is what it avoids)")
        self._flush = flush
        self._gather = gather
        self._closed = threading.Condition()
        self._poked = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="lineage-sender", daemon=True)
        self._thread.start()

    def poke(self) -> bool:
        """Something was recorded: send it with the next pass. ``False`` once closed (the caller
        sends it)."""
        with self._closed:
            if self._closing:
                return False
            self._poked = True
        return True

    def close(self) -> None:
        """Send what is still to send, then stop."""
        with self._closed:
            self._closing = True
            self._closed.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._closed:
                self._closed.wait_for(lambda: self._closing, timeout=self._gather)
                poked, closing, self._poked = self._poked, self._closing, False
            if poked:
                try:
                    self._flush()
                except MeshError as exc:  # the outbox's database (a full disk...): one line, with the fix
                    log.error("lineage events could not be sent: %s", exc)
                except Exception:  # the outbox keeps what it could not send; the next pass tries again
                    log.exception("lineage events could not be sent")
            elif closing:  # no poke is taken once closing: nothing more can come
                return
