"""A bound on how long a block of a test may run: for the cases that used to hang (a FIFO opened
to read waits for a writer for ever)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hung(BaseException):
    """The block ran past its watchdog. Not an ``OSError`` (as ``TimeoutError`` is), which the
    code under test may catch as an unreadable file, and not an ``Exception``, which CliRunner
    would keep as the result: it ends the test."""


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fail the test with :class:`Hung` instead of hanging when the block runs past ``seconds``."""
    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise Hung(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
