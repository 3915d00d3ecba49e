"""The council's approval of trust: who is who and who may do what.

Once the council has approved the trust sections of ``mesh.toml`` (people, roles, domain
owners, identity settings, the council's quorum, and ``[state]``, the database that holds the
audit log and the revoked grants), a change of them takes effect only when a
quorum of ``approve_policy`` holders, as the last approved trust names them, has signed it.
Until then the mesh runs on the last approved trust; a ``[state]`` the council never approved
stops it instead (:meth:`TrustStanding.refuse_unapproved_state`). Approvals are kept beside ``mesh.toml``
in ``mesh.approvals.jsonl`` and, whole, in the audit log.
"""

from governance.council.anchor import TRUST_APPROVED
from governance.council.approvals import APPROVALS_FILE, TrustApproval, read_approvals
from governance.council.approve import (
    TRUST_SIGNED,
    CouncilError,
    TrustApprovalResult,
    approve_trust,
)
from governance.council.chain import Chain, verify_chain
from governance.council.recovery import (
    approvals_in_log,
    log_disagreement,
    recover_approvals,
)
from governance.council.standing import (
    TrustStanding,
    describe_changes,
    state_predates_trust,
    trust_standing,
    unapproved_state_error,
)

__all__ = [
    "APPROVALS_FILE",
    "TRUST_APPROVED",
    "TRUST_SIGNED",
    "Chain",
    "CouncilError",
    "TrustApproval",
    "TrustApprovalResult",
    "TrustStanding",
    "approvals_in_log",
    "approve_trust",
    "describe_changes",
    "log_disagreement",
    "read_approvals",
    "recover_approvals",
    "state_predates_trust",
    "trust_standing",
    "unapproved_state_error",
    "verify_chain",
]
