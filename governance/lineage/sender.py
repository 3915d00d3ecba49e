"""Delivery in the background while a run of many assets (or partitions) goes on.

:class:`BackgroundSender` sends an outbox from a thread of its own: each recorded event pokes
it; it gathers what else arrives for a moment (:data:`GATHER_SECONDS`), then sends everything
pending in one pass (one read and one update of the outbox for many events, instead of each
run waiting for its own). :meth:`BackgroundSender.close` sends what is left and waits: when a
run returns, its events were sent (or kept in the outbox with their error, as always).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: How long the sender waits after a poke for more events, so one pass sends them together
#: (the longest an event waits more than it would have).
GATHER_SECONDS = 0.05


class BackgroundSender:
    """Calls ``flush`` from its own thread after each :meth:`poke` (several pokes, one call)."""

    def __init__(self, flush: Callable[[], object], gather: float = GATHER_SECONDS) -> None:
        self._flush = flush
        self._gather = gather
        self._changed = threading.Condition()
        self._poked = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="lineage-sender", daemon=True)
        self._thread.start()

    def poke(self) -> bool:
        """Something was recorded: send it soon. ``False`` once closed (the caller sends it)."""
        if self._poked and not self._closing:  # the next pass, not begun yet, reads it: no need to wake anyone
            return True
        with self._changed:
            if self._closing:
                return False
            self._poked = True
            self._changed.notify_all()
        return True

    def close(self) -> None:
        """Send what is still to send, then stop."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._poked or self._closing)
                if not self._poked:  # closing, nothing more to send
                    return
                self._changed.wait_for(lambda: self._closing, timeout=self._gather)  # gather what comes next
                self._poked = False
            try:
                self._flush()
            except Exception:  # the outbox keeps what it could not send; the next pass tries again
                log.exception("lineage events could not be sent")
