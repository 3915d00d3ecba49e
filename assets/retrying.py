"""Retries of transient failures of one asset's run, with exponential back-off (tenacity).

A run whose failure may pass on its own is tried again: an error raised by the user's function
(an API that answered 503, a database that timed out) and a storage I/O error. A failed
contract gate is never retried (the same data fails again), nor a refused access, a missing
input, an input whose data does not match its checksum (self-healing's, see
``governance.healing``), an output of the wrong type or a contract change without a version
bump: those need a person or a remediation. :class:`~assets.results.AssetResult` says which it was (``transient``).

Both runners call :func:`assets.step.run_asset`, which retries through :func:`run_with_retries`
as many times as the asset's ``retries`` says; the Airflow operator passes ``retries=0`` because
Airflow retries its task itself (the asset's ``retries``, with its own exponential back-off), so
no failure is retried twice over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt

from assets.results import AssetResult, Status

#: Called before each wait: the failed attempt (1-based), its result, and the seconds about to be waited.
BeforeWait = Callable[[int, AssetResult, float], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Waits between attempts: ``first`` seconds, multiplied by ``factor`` each time, at most ``cap``."""

    first: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def __post_init__(self) -> None:
        if not (self.first >= 0 and self.factor >= 1 and self.cap >= self.first):
            raise ValueError(f"back-off needs first >= 0, factor >= 1 and cap >= first, got {self}")

    def wait(self, failed_attempt: int) -> float:
        """Seconds to wait after the ``failed_attempt``-th attempt failed (1-based); ``cap`` however
        many attempts failed (an outbox row retried for weeks counts past a float's range)."""
        try:
            return float(min(self.cap, self.first * self.factor ** (failed_attempt - 1)))
        except OverflowError:
            return float(self.cap)


#: The in-process back-off: short, because a person or a simulation usually waits on it.
IN_PROCESS = Backoff()


def is_transient(result: AssetResult) -> bool:
    """Whether trying the run again may succeed (see the module docstring)."""
    return result.status is Status.ERROR and result.transient


def run_with_retries(attempt: Callable[[], AssetResult], *, retries: int, sleep: Callable[[float], None],
                     backoff: Backoff = IN_PROCESS, before_wait: BeforeWait | None = None) -> AssetResult:
    """Run ``attempt`` until it succeeds, fails for a reason that is not transient, or has been
    tried ``retries + 1`` times; the result of the last attempt, with ``attempts`` set.
    ``sleep`` waits (the mesh's; a simulated clock advances instead); ``before_wait`` hears of each
    retry before its wait."""
    if retries < 0:
        raise ValueError(f"retries must not be negative, got {retries}")

    def wait(state: RetryCallState) -> float:
        return backoff.wait(state.attempt_number)

    def tell(state: RetryCallState) -> None:
        if before_wait is not None and state.outcome is not None and state.next_action is not None:
            before_wait(state.attempt_number, state.outcome.result(), state.next_action.sleep)

    retrying = Retrying(stop=stop_after_attempt(retries + 1), wait=wait, sleep=sleep,
                        retry=retry_if_result(is_transient), before_sleep=tell,
                        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None)
    attempts = 0

    def counted() -> AssetResult:
        nonlocal attempts
        attempts += 1
        return attempt()

    result: AssetResult = retrying(counted)
    return replace(result, attempts=attempts)
