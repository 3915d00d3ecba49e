"""A failed contract gate: never healed by publishing; the asset is run again, bounded.

The data an asset produced broke its contract; publishing it, or anything made up in its place,
would hand bad data to every consumer. The last good version stays current and downstream keeps
reading it; the owners are alerted with the quarantine report (the failed run's alert).

Bad data usually comes from a source that is corrected some time later, and nobody tells the
mesh when. So the runbook runs the asset again, through the same gate, on a bounded back-off
after its last failed run (:data:`RERUN_AFTER`: 5, 10, 10, 15, 15, 30, 30, then 60 minutes,
about three hours in all: often at first, when a correction is most likely to come and a re-run
found soon after it ends the incident minutes after the source is corrected, then seldom; one
re-run of one asset each): a re-run whose data now passes publishes it and runs its downstream
(the incident ends); one that fails its gate again publishes nothing and counts as a failed fix.
The back-off is this remediation's bound, so its breaker opens only when the schedule is used
up (:attr:`FailedGates.open_after`), not after the usual few failed passes, which would stop
the re-runs in the first half hour. After the last wait the asset is left to its owners and its
next scheduled run. Between re-runs, and for an asset whose code is not
loaded, the finding is reported and left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from assets.mesh import Mesh
from assets.partition_reads import input_label
from assets.results import Status
from governance.healing.remediation import Finding, RemediationError
from governance.healing.rerun import rerun
from governance.identity import Actor
from governance.runs.records import RunRecord, RunRecords, run_records

#: How long after the n-th gate failure in a row the asset is run again (then it is left).
RERUN_AFTER = tuple(dt.timedelta(minutes=m) for m in (5, 10, 10, 15, 15, 30, 30, 60))
_GATE_FAILED = str(Status.GATE_FAILED)


class FailedGates:
    """See the module docstring; a re-run runs with ``params``."""

    name = "failed gate"
    #: A re-run is tried once per pass: its own back-off is :data:`RERUN_AFTER`.
    retry_in_pass = False

    def __init__(self, params: Mapping[str, Any] | None = None,
                 rerun_after: tuple[dt.timedelta, ...] = RERUN_AFTER) -> None:
        self.params = dict(params or {})
        self.rerun_after = rerun_after
        #: Failed passes in a row after which the breaker opens: when every re-run was used.
        self.open_after = len(rerun_after)

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        # the latest ended run of each asset, and of each partition whose last run failed, from the
        # run records (aggregate queries), not the whole audit log read again every pass: both
        # runners record every run in both
        records = run_records(mesh)
        failed = [run for key, run in sorted(records.latest().ended.items()) if run.partition is None]
        failed += [run for _, runs in sorted(records.failed_partitions().items()) for run in runs]
        return [self._finding(mesh, records, run, now) for run in failed
                if run.status == _GATE_FAILED and run.ended_at is not None]

    def _finding(self, mesh: Mesh, records: RunRecords, run: RunRecord, now: dt.datetime) -> Finding:
        assert run.ended_at is not None
        key, partition = run.key, run.partition
        # a partitioned asset's run recorded without its partition (before revision 0007) cannot be re-run
        loaded = key in mesh.graph and (partition is not None) == (mesh.graph[key].spec.partitions is not None)
        current = mesh.store().current_version(key, partition)
        why = next(iter((run.error or "").splitlines()), "")[:300] or "its contract"  # the error may be empty
        failed = _failures_in_a_row(records.for_asset(key, limit=len(self.rerun_after) + 2, partition=partition))
        stays = f"{current or 'no version'} stays current and downstream keeps reading it"
        due = run.ended_at + self.rerun_after[failed - 1] if failed <= len(self.rerun_after) else None
        fixable = due is not None and now >= due and loaded
        subject = input_label(key, partition)
        if fixable:
            action = f"run {subject} again through its gate (re-run {failed} of {len(self.rerun_after)}); {stays} " \
                     "unless the new data passes"
        elif due is not None and loaded:
            action = f"nothing: {stays}; run again at {due:%Y-%m-%d %H:%M} (re-run {failed} of " \
                     f"{len(self.rerun_after)}) in case its source is corrected"
        else:
            action = f"nothing: {stays}; its owners fix the data or the contract"
        return Finding(
            remediation=self.name, subject=subject, fixable=fixable,
            found=f"run {run.run_id} failed its gate at {run.ended_at.isoformat()} ({failed} in a row): {why}",
            action=action,
            why="publishing data that broke its contract would hand it to every consumer; a source is often "
                "corrected later, and only a run through the gate shows it",
            facts={"current": current, "failed": failed, "due": due.isoformat() if due is not None else None,
                   "key": key, "partition": partition})

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        key, subject = finding.facts.get("key", finding.subject), finding.subject
        again = rerun(mesh, key, self.params, partition=finding.facts.get("partition"))
        result = again.result
        if result.ok:
            version = result.manifest.version if result.manifest else finding.facts.get("current")
            return f"ran {subject} again: its data passes its contract now ({result.status}, version {version})" \
                + again.downstream()
        raise RemediationError(f"ran '{subject}' again: {result.status}: {(result.error or '').splitlines()[0][:300]}",
                               where=key, fix="the domain's owners fix the data or the contract, then materialize "
                                              "it again; the runbook tries again later")


def _failures_in_a_row(newest_first: list[Any]) -> int:
    """How many of the latest ended runs failed their gate in a row."""
    count = 0
    for run in newest_first:
        if run.ended_at is None:
            continue
        if run.status != _GATE_FAILED:
            break
        count += 1
    return count
