"""A replica missing from the standby region, or no longer matching its checksum: copy it again.

Replication copies each version when it is published; a copy that failed then (the standby was
unreachable) or that rotted since leaves the standby unable to take over. The remediation finds
the versions the standby lacks and the replicas whose data changed since they last verified
(hashed again only then; a pass looks again in full only at a replica whose file is gone or
changed, :mod:`~governance.healing.replica_index`), and copies them again from the active
region, verified, with an audit record per copy (:class:`~governance.replication.Replicator`).
A partitioned asset is checked and repaired partition by partition, each its own finding
(subject ``sales.daily_orders/2026-11-20``, as ``mesh dr status`` names it). Assets the
standby's residency excludes are left out.
"""

from __future__ import annotations

import datetime as dt

from assets.mesh import Mesh
from assets.partition_reads import input_label
from governance.dr.status import protected_assets
from governance.healing.remediation import Finding, RemediationError
from governance.healing.replica_index import INDEX, ReplicaScan
from governance.identity import Actor
from governance.replication import Replicator, partitions_of
from governance.retention import ResidencyError, check_residency
from governance.services import governed


class MissingReplicas:
    """See the module docstring."""

    name = "missing or corrupt replica"

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        standby = mesh.standby_region
        if standby is None:
            return []
        source, target, findings = mesh.store(), mesh.store(standby), []
        for key in protected_assets(mesh):
            try:
                check_residency(mesh.policy, key, standby)
            except ResidencyError:
                continue
            for partition in partitions_of(source, key):
                scan = INDEX.scan(source, target, key, partition)
                if scan.missing or scan.corrupt:
                    findings.append(self._finding(mesh, key, partition, scan, standby))
        return findings

    def _finding(self, mesh: Mesh, key: str, partition: str | None, scan: ReplicaScan, standby: str) -> Finding:
        missing, corrupt = list(scan.missing), list(scan.corrupt)
        found = ", ".join(part for part in (
            f"{len(missing)} version(s) missing ({_newest(missing)})" if missing else "",
            f"{len(corrupt)} replica(s) not matching their checksum ({_newest(corrupt)})" if corrupt else "",
        ) if part)
        return Finding(
            remediation=self.name, subject=input_label(key, partition), found=f"in standby region '{standby}': {found}",
            action=f"copy them again from '{mesh.active_region}', verified",
            why="a failover now would lose or serve broken data",
            facts={"missing": tuple(missing), "corrupt": tuple(corrupt), "standby": standby, "key": key,
                   "partition": partition})

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        replicator = Replicator.for_mesh(mesh, governed(mesh).audit, actor=actor.id)
        if replicator is None or replicator.target != finding.facts["standby"]:
            raise RemediationError("the standby region changed since the replicas were checked", where=finding.subject,
                            fix="run `mesh ops heal` again")
        result = replicator.replicate(finding.facts["key"], verify=finding.facts["corrupt"],
                                      partition=finding.facts["partition"])
        if result.refused:
            raise RemediationError(result.describe(), where=finding.subject, fix="see the residency of its domain")
        return result.describe()


def _newest(versions: list[str]) -> str:
    return f"newest {versions[-1]}"
