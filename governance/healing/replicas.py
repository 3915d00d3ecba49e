"""A replica missing from the standby region, or no longer matching its checksum: copy it again.

Replication copies each version when it is published; a copy that failed then (the standby was
unreachable) or that rotted since leaves the standby unable to take over. The remediation finds
the versions the standby lacks and the replicas whose data changed since they last verified
(hashed again only then; a pass looks again in full only at a replica whose file is gone or
changed, :mod:`~governance.healing.replica_index`), and copies them again from the active
region, verified, with an audit record per copy (:class:`~governance.replication.Replicator`).
Assets the standby's residency excludes are left out.
"""

from __future__ import annotations

import datetime as dt

from assets.mesh import Mesh
from governance.dr.status import protected_assets
from governance.healing.remediation import Finding, RemediationError
from governance.healing.replica_index import INDEX
from governance.identity import Actor
from governance.replication import Replicator
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
            scan = INDEX.scan(source, target, key)
            missing, corrupt = list(scan.missing), list(scan.corrupt)
            if missing or corrupt:
                found = ", ".join(part for part in (
                    f"{len(missing)} version(s) missing ({_newest(missing)})" if missing else "",
                    f"{len(corrupt)} replica(s) not matching their checksum ({_newest(corrupt)})" if corrupt else "",
                ) if part)
                findings.append(Finding(
                    remediation=self.name, subject=key, found=f"in standby region '{standby}': {found}",
                    action=f"copy them again from '{mesh.active_region}', verified",
                    why="a failover now would lose or serve broken data",
                    facts={"missing": tuple(missing), "corrupt": tuple(corrupt), "standby": standby}))
        return findings

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        replicator = Replicator.for_mesh(mesh, governed(mesh).audit, actor=actor.id)
        if replicator is None or replicator.target != finding.facts["standby"]:
            raise RemediationError("the standby region changed since the replicas were checked", where=finding.subject,
                            fix="run `mesh ops heal` again")
        result = replicator.replicate(finding.subject, verify=finding.facts["corrupt"])
        if result.refused:
            raise RemediationError(result.describe(), where=finding.subject, fix="see the residency of its domain")
        return result.describe()


def _newest(versions: list[str]) -> str:
    return f"newest {versions[-1]}"
