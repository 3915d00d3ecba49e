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
from governance.dr.backup_keys import backup_kek_usage, rewrap_backups
from governance.dr.drill import DrillReport, drill
from governance.dr.failover import (
    Checked,
    FailoverRefusedError,
    FailoverReport,
    Loss,
    failback,
    failover,
)
from governance.dr.status import AssetLag, DrStatus, dr_status

__all__ = ["AssetLag", "BackupError", "BackupReport", "Checked", "DrStatus", "DrillReport", "FailoverRefusedError",
           "FailoverReport", "Loss", "RestoreReport", "acknowledge_audit_loss", "backup", "backup_kek_usage",
           "dr_status", "drill", "failback", "failover", "latest_backup", "restore", "restore_config",
           "rewrap_backups", "verify_backup"]
