"""Disaster recovery: replication lag as RPO, backups, failover and failback, recovery drills.

See :mod:`governance.replication` for the copies themselves and :mod:`assets.regions` for the
active-region switch every process follows.
"""

from governance.dr.audit_loss import acknowledge_audit_loss
from governance.dr.backup import (
    BackupError,
    BackupReport,
    RestoreReport,
    backup,
    latest_backup,
    restore,
    restore_config,
    verify_backup,
)
from governance.dr.drill import DrillReport, drill
from governance.dr.failover import (
    FailoverRefusedError,
    FailoverReport,
    Loss,
    failback,
    failover,
)
from governance.dr.status import AssetLag, DrStatus, dr_status

__all__ = ["AssetLag", "acknowledge_audit_loss", "BackupError", "BackupReport", "DrStatus", "DrillReport", "FailoverRefusedError",
           "FailoverReport", "Loss", "RestoreReport", "backup", "dr_status", "drill", "failback", "failover",
           "latest_backup", "restore", "restore_config", "verify_backup"]
