"""A current version whose data no longer matches its manifest: roll back, then run again.

Such a version is not served (reads refuse it), so everything downstream of it fails. The
remediation makes the newest older version that verifies current (an audited rollback,
replicated like any other), then materializes the asset again so it is fresh; with no older
version that verifies, it copies the version back from the standby region (verified, audited)
when the standby holds a good copy, then materializes again. A run again that leaves a current
version that still does not verify (an observed source with nothing new arrived says
``unchanged`` and keeps the broken one) is a failed fix, not a healed one. Its downstream runs again with it (as a new
version triggers it on Airflow), so a consumer whose run failed on the unreadable version
recovers in the same pass. An asset whose code is not loaded (a mesh
loaded without domain code) is rolled back only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from assets.errors import StorageError
from assets.mesh import Mesh
from governance.dr.status import protected_assets
from governance.healing.remediation import Finding, RemediationError
from governance.healing.rerun import rerun
from governance.identity import Actor
from governance.rollback import last_good_version, move_back
from governance.services import governed


class CorruptCurrent:
    """See the module docstring; the asset runs again with ``params``."""

    name = "corrupt current version"

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = dict(params or {})

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        store, findings = mesh.store(), []
        for key in protected_assets(mesh):
            try:
                manifest = store.current(key)
                if manifest is None:
                    continue
                store.check(manifest)  # hashed again only if the file changed since it last verified
            except StorageError as exc:
                version = _current_or_none(mesh, key)
                good = last_good_version(store, key, before=version)
                action = (f"roll back to {good}, then materialize {key} again" if good
                          else f"materialize {key} again (no older version verifies)")
                findings.append(Finding(
                    remediation=self.name, subject=key, found=f"current version {version} does not verify: {exc.what}",
                    action=action, why="a version whose data does not match its checksum is never served, so "
                                       "every reader of it fails", facts={"version": version, "good": good}))
        return findings

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        key, done = finding.subject, []
        version = finding.facts.get("version")
        good = last_good_version(mesh.store(), key, before=version)
        if good is not None:
            report = move_back(mesh, key, good, governed(mesh).audit, actor=actor, why=finding.found)
            done.append(f"rolled back {key} from {report.previous} to {report.version}")
        elif version is not None and (restored := _from_standby(mesh, key, version, actor)):
            done.append(restored)
        if key not in mesh.graph:
            if not done:
                raise RemediationError(f"'{key}' has no older version that verifies and its code is not loaded",
                                where=key, fix=f"run `mesh ops heal` with the domain's code, or mesh materialize {key}")
            return "; ".join([*done, "not run again (its domain's code is not loaded)"])
        again = rerun(mesh, key, self.params)
        result = again.result
        if not result.ok:
            if done:  # the served data is good again; the new run's failure is its own incident
                return "; ".join([*done, f"running it again failed ({result.status}): {result.error}"])
            raise RemediationError(f"running '{key}' again failed ({result.status}): {result.error}", where=key,
                            fix=f"see `mesh history {key}` and the run's error")
        assert result.manifest is not None
        if not _verifies(mesh, key):  # e.g. an observed source with nothing new: "unchanged", still the broken one
            raise RemediationError(
                f"ran '{key}' again ({result.status}) but its current version {result.manifest.version} still does not "
                "verify", where=key, fix=f"copy it back from the other region (`mesh dr replicate --verify`), or "
                                         f"materialize {key} from new data")
        return "; ".join([*done, f"materialized {key} again as {result.manifest.version}"]) + again.downstream()


def _verifies(mesh: Mesh, key: str) -> bool:
    try:
        manifest = mesh.store().current(key)
        if manifest is not None:
            mesh.store().check(manifest)
    except StorageError:
        return False
    return True


def _from_standby(mesh: Mesh, key: str, version: str, actor: Actor) -> str | None:
    """Copy ``version`` of ``key`` back from the standby region, verified (what to do when no
    older version verifies: the replica of the broken version itself); ``None`` when there is no
    standby or its copy cannot be had."""
    from governance.replication import Replicator

    standby = mesh.standby_region
    if standby is None or not mesh.store(standby).has_version(key, version):
        return None
    back = Replicator(mesh, governed(mesh).audit, standby, mesh.active_region, actor=actor.id)
    try:
        back.replicate(key, verify=[version], full=False)
    except Exception:  # any failure of the copy (a broken replica too): the asset is run again instead
        return None
    return f"copied {key} {version} back from '{standby}' (no older version verifies)" if _verifies(mesh, key) else None


def _current_or_none(mesh: Mesh, key: str) -> str | None:
    try:
        return mesh.store().current_version(key)
    except StorageError:  # an unreadable pointer: every version is a candidate
        return None
