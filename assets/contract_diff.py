"""Contract evolution: what changed between two versions of a contract, and the semver bump
it needs (the analogue of ``datacontract breaking``).

Breaking (a major bump): a removed column, a changed type, a nullable column made required, a
column made unique, a new or tightened check. Compatible (a minor bump): an added column, a
loosened or removed check. The last published contract is kept in each version's manifest, so
the comparison needs nothing but the store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandera.polars as pa

from assets.errors import MeshError
from assets.storage.manifest import Manifest

if TYPE_CHECKING:
    from assets.storage.version_store import VersionStore

Description = dict[str, dict[str, Any]]


class ContractVersionError(MeshError):
    """A contract changed without the version bump its changes need."""


@dataclass(frozen=True, slots=True)
class Change:
    breaking: bool
    text: str

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'compatible'}: {self.text}"


def describe(contract: type[pa.DataFrameModel]) -> Description:
    """A JSON-able description of a contract's columns and checks (stored in manifests).
    Checks declared ``raise_warning=True`` are under ``warnings``: they never block."""
    schema = contract.to_schema()
    described: Description = {}
    for name, col in schema.columns.items():
        described[name] = {"dtype": str(col.dtype), "nullable": bool(col.nullable), "unique": bool(col.unique),
                           "checks": {c.name: _plain(c.statistics) for c in col.checks if not c.raise_warning}}
        if any(c.raise_warning for c in col.checks):
            described[name]["warnings"] = {c.name: _plain(c.statistics) for c in col.checks if c.raise_warning}
    return described


def diff(old: Description, new: Description) -> list[Change]:
    changes: list[Change] = []
    for name in old.keys() - new.keys():
        changes.append(Change(True, f"column '{name}' removed"))
    for name in new.keys() - old.keys():
        changes.append(Change(False, f"column '{name}' added"))
    for name in sorted(old.keys() & new.keys()):
        before, after = old[name], new[name]
        if before["dtype"] != after["dtype"]:
            changes.append(Change(True, f"column '{name}' type {before['dtype']} -> {after['dtype']}"))
        if before["nullable"] and not after["nullable"]:
            changes.append(Change(True, f"column '{name}' made required (was nullable)"))
        elif after["nullable"] and not before["nullable"]:
            changes.append(Change(False, f"column '{name}' made nullable"))
        if after["unique"] and not before["unique"]:
            changes.append(Change(True, f"column '{name}' made unique"))
        for check in sorted(before["checks"].keys() | after["checks"].keys()):
            was, now = before["checks"].get(check), after["checks"].get(check)
            if was == now:
                continue
            if was is None:
                changes.append(Change(True, f"column '{name}' gained check {check}{now}"))
            elif now is None:
                changes.append(Change(False, f"column '{name}' lost check {check}{was}"))
            else:
                tighter = _tighter(check, was, now)
                changes.append(Change(tighter, f"column '{name}' check {check} {'tightened' if tighter else 'loosened'}"
                                               f": {was} -> {now}"))
        changes += _warning_changes(name, before.get("warnings", {}), after.get("warnings", {}))
    return changes


def _warning_changes(column: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Warning checks never block a publish, so changing them breaks no consumer."""
    changes: list[Change] = []
    for check in sorted(before.keys() | after.keys()):
        was, now = before.get(check), after.get(check)
        if was == now:
            continue
        what = "gained" if was is None else "lost" if now is None else "changed"
        changes.append(Change(False, f"column '{column}' {what} warning check {check}"
                                     f"{'' if what == 'lost' else now if what == 'gained' else f': {was} -> {now}'}"))
    return changes


def needed_bump(old_version: str, changes: list[Change]) -> str | None:
    """The lowest version ``changes`` to a contract at ``old_version`` need (None: no changes)."""
    old_major, old_minor = (int(p) for p in old_version.split(".")[:2])
    if any(c.breaking for c in changes):
        return f"{old_major + 1}.0.0"
    return f"{old_major}.{old_minor + 1}.0" if changes else None


def bump_problem(key: str, old_version: str, new_version: str, changes: list[Change]) -> ContractVersionError | None:
    """The refusal of a version that does not match the changes, listing them (None: it matches)."""
    needed = needed_bump(old_version, changes)
    if needed is None:
        return None
    old_major, old_minor = (int(p) for p in old_version.split(".")[:2])
    new_major, new_minor = (int(p) for p in new_version.split(".")[:2])
    breaking = any(c.breaking for c in changes)
    if new_major > old_major if breaking else (new_major, new_minor) > (old_major, old_minor):
        return None
    listed = "; ".join(map(str, changes))
    return ContractVersionError(
        f"contract of '{key}' changed since version {old_version} but is still {new_version}: {listed}",
        where=f"@asset(contract_version=...) of {key}",
        fix=f"set contract_version='{needed}' (see `mesh contract diff {key}`)")


def check_bump(key: str, old_version: str, new_version: str, changes: list[Change]) -> None:
    """Refuse a version that does not match the changes, listing them."""
    if (problem := bump_problem(key, old_version, new_version, changes)) is not None:
        raise problem


@dataclass(frozen=True, slots=True)
class Comparison:
    """A contract against the one a published version stored in its manifest: the changes, and
    the refusal a publish would meet (``problem``; None when the version matches them)."""

    published: Manifest
    changes: tuple[Change, ...]
    problem: ContractVersionError | None

    @property
    def needed(self) -> str | None:
        """The lowest contract version the changes need (None: nothing changed)."""
        return needed_bump(self.published.contract_version, list(self.changes))


def compare(key: str, published: Manifest | None, contract: Description, version: str) -> Comparison | None:
    """``contract`` (described) at ``version`` against ``published``'s stored contract; None when
    nothing published stores one. No data is read: the manifest is enough."""
    if published is None or published.contract is None:
        return None
    changes = diff(dict(published.contract), contract)
    return Comparison(published, tuple(changes), bump_problem(key, published.contract_version, version, changes))


@dataclass(frozen=True, slots=True)
class PartitionsCompared:
    """The current versions (of ``partitions``; empty for an unpartitioned asset) that stored the
    same contract, compared once with the code's: a publish of any of them meets ``comparison``."""

    partitions: tuple[str, ...]
    comparison: Comparison


def compare_current(key: str, store: VersionStore, *, partitioned: bool, contract: Description,
                    version: str) -> list[PartitionsCompared]:
    """``contract`` at ``version`` against every current version of ``key``: the asset's, or each
    partition's (a partition's next run is checked against its own). Partitions whose current
    versions stored the same contract are compared once, as one group, in key order of their
    newest partition. Only pointers and manifests are read, never data; empty when nothing
    published stores a contract."""
    groups: dict[str, list[Manifest]] = {}
    for partition in sorted(store.partitions(key)) if partitioned else [None]:
        manifest = store.current(key, partition)
        if manifest is not None and manifest.contract is not None:
            same = json.dumps([manifest.contract_version, manifest.contract], sort_keys=True, default=str)
            groups.setdefault(same, []).append(manifest)
    found = []
    for manifests in sorted(groups.values(), key=lambda group: group[-1].partition or ""):
        comparison = compare(key, manifests[-1], contract, version)
        assert comparison is not None  # each stores a contract
        found.append(PartitionsCompared(tuple(m.partition for m in manifests if m.partition), comparison))
    return found


def needed_version(found: Sequence[PartitionsCompared]) -> str | None:
    """The lowest contract version every group in ``found`` accepts, when one refuses the code's
    (``None`` when none does): the highest version one of them needs, since any version at least
    what a group needs is one it accepts."""
    if all(c.comparison.problem is None for c in found):
        return None
    needs = [need for c in found if (need := c.comparison.needed) is not None]
    return max(needs, key=lambda v: tuple(int(p) for p in v.split(".")[:3]))


def partition_names(partitions: Sequence[str], *, most: int = 10) -> str:
    """``partitions`` for a message: each named, or the first ``most`` and how many more."""
    named = ", ".join(partitions[:most])
    return named if len(partitions) <= most else f"{named} and {len(partitions) - most} more"


def check_published(key: str, published: Manifest | None, contract: Description, version: str) -> None:
    """Refuse ``contract`` at ``version`` when it changed since ``published`` without the bump
    its changes need: the check a run makes before publishing, and ``mesh check`` ahead of it."""
    found = compare(key, published, contract, version)
    if found is not None and found.problem is not None:
        raise found.problem


def _tighter(check: str, was: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether ``now`` accepts fewer values than ``was`` (unknown changes count as tighter)."""
    try:
        if check in ("greater_than", "greater_than_or_equal_to"):
            return bool(now["min_value"] > was["min_value"])
        if check in ("less_than", "less_than_or_equal_to"):
            return bool(now["max_value"] < was["max_value"])
        if check in ("in_range", "str_length"):
            low = lambda s: s.get("min_value") if s.get("min_value") is not None else -math.inf  # noqa: E731
            high = lambda s: s.get("max_value") if s.get("max_value") is not None else math.inf  # noqa: E731
            return bool(low(now) > low(was) or high(now) < high(was))
        if check == "isin":
            return not set(was["allowed_values"]) <= set(now["allowed_values"])
        if check == "notin":
            return not set(now["forbidden_values"]) <= set(was["forbidden_values"])
    except (KeyError, TypeError):  # a bound of another type (a date for a number), a statistic missing
        return True
    return True


def _plain(stats: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (sorted(v, key=str) if isinstance(v, (set, frozenset, list, tuple)) else
                (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))) for k, v in stats.items()}
