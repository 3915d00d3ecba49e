"""The runs that tell subscribers: a run's start announces a breaking contract change of the
code against the published contract (before a version with it is published) and the asset's
deprecation; a run that published a version announces it. Both runners call
:func:`assets.step.run_asset`, which tells this observer once per run, so in-process runs and
Airflow tasks notify alike. Breaking changes and deprecations are told once per subscriber
(:meth:`SubscriptionStore.notify` with ``once``); a deprecated asset is also logged as a warning."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assets.contract_diff import describe, diff
from assets.ports import RunEnded, RunStarted
from assets.results import Status
from governance.access import user_may_read
from governance.subscriptions.store import SubscriptionStore

if TYPE_CHECKING:
    import datetime as dt

    from assets.definition import AssetSpec
    from assets.mesh import Mesh
    from governance.alerts import AlertSink

log = logging.getLogger(__name__)


def deprecation_text(spec: AssetSpec) -> str:
    """``sales.orders is deprecated: kept up until 2027-03-31, replaced by sales.orders_v2``."""
    text = f"{spec.key} is deprecated: kept up until {spec.deprecated}"
    return text + (f", replaced by {spec.replaced_by}" if spec.replaced_by else "")


@dataclass(frozen=True, slots=True)
class SubscriptionObserver:
    """Notices for the subscribers of each run's asset, sent through ``sink``'s outbox."""

    mesh: Mesh
    store: SubscriptionStore
    sink: AlertSink
    #: The deprecated assets already warned of on this mesh: a run of many partitions warns once.
    warned: set[str] = field(default_factory=set)

    def run_started(self, run: RunStarted) -> None:
        spec = self.mesh.graph[run.key].spec
        if spec.deprecated is not None and spec.key not in self.warned:
            self.warned.add(spec.key)
            log.warning("%s", deprecation_text(spec))
        if not self.store.of(run.key):
            return
        told = self._deprecation(spec, run.started_at) + self._breaking(spec, run.started_at)
        if told:
            self.sink.flush()

    def run_ended(self, run: RunEnded) -> None:
        manifest = run.result.manifest
        if run.result.status is not Status.MATERIALIZED or manifest is None:
            return
        summary = (f"{run.key} published version {manifest.version} ({manifest.rows} rows, contract "
                   f"{manifest.contract_version})")
        told = self.store.notify(run.key, "new_version", summary, run.ended_at, may_read=self._reader_of(run.key),
                                 details={"version": manifest.version, "rows": manifest.rows,
                                          "contract_version": manifest.contract_version, "run_id": run.run_id})
        if told:
            self.sink.flush()

    def _deprecation(self, spec: AssetSpec, at: dt.datetime) -> int:
        if spec.deprecated is None:
            return 0
        return self.store.notify(spec.key, "deprecation", deprecation_text(spec), at, once=spec.deprecated.isoformat(),
                                 may_read=self._reader_of(spec.key),
                                 details={"deprecated": spec.deprecated.isoformat(), "replaced_by": spec.replaced_by})

    def _breaking(self, spec: AssetSpec, at: dt.datetime) -> int:
        previous = self.mesh.store().current(spec.key)
        if previous is None or previous.contract is None:
            return 0
        breaking = [c.text for c in diff(dict(previous.contract), describe(spec.contract)) if c.breaking]
        if not breaking:
            return 0
        digest = hashlib.sha256("\n".join([spec.contract_version, *breaking]).encode()).hexdigest()[:16]
        summary = (f"{spec.key}: a breaking contract change is coming (published {previous.contract_version}, "
                   f"code {spec.contract_version}): " + "; ".join(breaking))
        return self.store.notify(spec.key, "breaking_change", summary, at, once=digest, may_read=self._reader_of(spec.key),
                                 details={"published": previous.contract_version, "code": spec.contract_version,
                                          "changes": breaking})

    def _reader_of(self, key: str) -> Callable[[str], bool]:
        """Whether a subscriber may read ``key`` today: one who lost access since subscribing
        is told nothing more about it."""
        spec, today = self.mesh.graph[key].spec, self.mesh.services.clock().date()
        return lambda consumer: user_may_read(self.mesh.policy, consumer, spec, today).allowed
