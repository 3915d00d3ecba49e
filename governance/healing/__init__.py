"""Self-healing: a runbook of automatic remediations, each bounded, audited and counted.

:func:`heal` runs it once: a current version that no longer verifies is rolled back and run
again, a missing or corrupt replica is copied again, a stuck lineage outbox is flushed, and a
failed gate is reported, never healed by publishing. Transient failures of a run are retried
where the run happens (:mod:`assets.retrying`), not here.
"""

from governance.healing.breaker import Bounds, Breakers, BreakerState
from governance.healing.outcome import HealAction, HealCounts, HealReport
from governance.healing.remediation import Finding, Remediation, RemediationError
from governance.healing.runbook import RUNBOOK, heal, runbook

__all__ = ["RUNBOOK", "Bounds", "BreakerState", "Breakers", "Finding", "HealAction", "HealCounts", "HealReport",
           "Remediation", "RemediationError", "heal", "runbook"]
