"""Replication of published versions from the active region to the standby region, verified.

On every asset update the ``replication`` handler copies each version the standby lacks. The
data files are copied several at once, on threads, each in one pass that hashes the bytes as
they are written (with the algorithm the manifest's checksum names, BLAKE3 for new versions)
and fsyncs them; a copy that does not match the manifest's checksum is dropped. The copies
become versions oldest first (so missed versions catch up in order, and none newer than a
failed one is published), each by writing its manifest last: a replica is complete or absent.
Replaying an update changes nothing; a replica that no longer matches its checksum is copied
again. A domain whose residency excludes the standby's jurisdiction is not replicated; the
refusal is audited. Every copy is audited with its checksum, size and regions. A partitioned
asset is replicated per partition (its versions, its ``CURRENT``): the one published, or, swept,
every partition the active region holds, each copy audited with its partition.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from typing import Literal, TypeVar

from assets.mesh import Mesh
from assets.storage import VersionStore
from governance.audit import AuditEvent, AuditLog
from governance.retention import ResidencyError, check_residency

Action = Literal["copied", "repaired", "refused"]
T = TypeVar("T")
#: Files of one asset copied at once when :meth:`Replicator.replicate` is given no pool.
COPIES_AT_ONCE = 4


@dataclass(frozen=True, slots=True)
class ReplicaCopy:
    """What replication did with one version."""

    key: str
    version: str
    action: Action
    bytes: int = 0
    reason: str = ""
    partition: str | None = None


@dataclass(frozen=True, slots=True)
class ReplicationResult:
    """The copies made for one asset: of its ``partitions`` (those swept, each on its own) for a
    partitioned asset, whose counts then add up its partitions' versions."""

    key: str
    source: str
    target: str
    copies: tuple[ReplicaCopy, ...] = ()
    present: int = 0
    partitions: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return any(c.action == "refused" for c in self.copies)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.copies)

    def describe(self) -> str:
        """``sales.products: us-east -> us-west: 1 copied, 0 repaired, 3 already there (1,234 bytes)``;
        a partitioned asset's line counts its partitions' versions and names the partitions
        copied or repaired, as ``mesh dr status`` names them (``sales.daily_orders/2026-11-20``),
        and one partition alone is named in the key."""
        label = f"{self.key}/{self.partitions[0]}" if len(self.partitions) == 1 else self.key
        if self.refused:
            return f"{label}: not replicated to {self.target}: {self.copies[0].reason}"
        copied = sum(c.action == "copied" for c in self.copies)
        repaired = sum(c.action == "repaired" for c in self.copies)
        line = (f"{label}: {self.source} -> {self.target}: {copied} copied, {repaired} repaired, "
                f"{self.present} already there ({self.bytes:,} bytes)")
        if len(self.partitions) > 1:
            line += f" in {len(self.partitions)} partitions"
            for action in ("copied", "repaired"):
                named = sorted({c.partition for c in self.copies if c.action == action and c.partition})
                if named:
                    line += f"; {action}: " + ", ".join(f"{self.key}/{p}" for p in named)
        return line


@dataclass(frozen=True)
class Replicator:
    """Copies versions from ``source`` region to ``target`` region of ``mesh``, with an audit
    record per copy. Use :meth:`for_mesh` for the active -> standby direction."""

    mesh: Mesh
    audit: AuditLog
    source: str
    target: str
    actor: str = "service:replication"

    @classmethod
    def for_mesh(cls, mesh: Mesh, audit: AuditLog, actor: str = "service:replication") -> Replicator | None:
        """Active region -> standby region, or ``None`` for a mesh with one region."""
        standby = mesh.standby_region
        return cls(mesh, audit, mesh.active_region, standby, actor) if standby else None

    def replicate(self, key: str, *, verify: Iterable[str] | bool = (), full: bool = True,
                  copier: Executor | None = None, partition: str | None = None) -> ReplicationResult:
        """Copy every version of ``key`` the target lacks, oldest first, then mirror ``CURRENT``.

        ``verify`` re-hashes existing replicas (``True``: all of them; or the versions named)
        and copies again any that no longer match. Without ``full``, only versions newer than
        the target's ``CURRENT`` are considered (every older one was copied before ``CURRENT``
        moved there), plus those named in ``verify``: what each update needs, at a cost that
        does not grow with the asset's history. Storage errors propagate: the caller reports
        them, and the next call catches up.

        The data files are copied on ``copier``'s threads, several at once (a pool of
        :data:`COPIES_AT_ONCE` of its own when not given), each hashed while it is written; the
        copies become versions in order, oldest first, so the replica's versions are always the
        source's up to some version: after a copy that fails, none newer is published.

        A partitioned asset is replicated partition by partition (each with its own versions and
        ``CURRENT``): ``partition`` alone (what a publish of it needs), or every partition with a
        ``CURRENT`` in the source (:func:`partitions_of`, as ``mesh dr status`` lists them).
        """
        verify = verify if isinstance(verify, bool) else tuple(verify)  # read once per partition
        try:
            check_residency(self.mesh.policy, key, self.target)
        except ResidencyError as exc:
            self._audit(key, "refused", {"reason": exc.args[0], "to": self.target})
            return ReplicationResult(key, self.source, self.target, (ReplicaCopy(key, "*", "refused", reason=str(exc)),),
                                     partitions=(partition,) if partition is not None else ())
        partitions = [partition] if partition is not None else partitions_of(self.mesh.store(self.source), key)
        copies: list[ReplicaCopy] = []
        present = 0
        for each in partitions:  # a partitioned asset: each partition on its own, as a publish replicates it
            made, there = self._replicate_one(key, each, verify, full, copier)
            copies += made
            present += there
        return ReplicationResult(key, self.source, self.target, tuple(copies), present,
                                 tuple(p for p in partitions if p is not None))

    def _replicate_one(self, key: str, partition: str | None, verify: Iterable[str] | bool, full: bool,
                       copier: Executor | None) -> tuple[list[ReplicaCopy], int]:
        """:meth:`replicate` of one partition (``None``: of an unpartitioned asset), under the
        target's claim: its copies, and how many versions were already there."""
        source, target = self.mesh.store(self.source), self.mesh.store(self.target)
        with target.claim(key, partition):  # concurrent copiers of this asset take turns: the second finds it done
            copies, present = self._copy(key, verify, full, copier, partition)
            current = source.current_version(key, partition)  # read under the claim, so never older than a mirror before
            if current is not None and target.has_version(key, current, partition) \
                    and target.current_version(key, partition) != current:
                target.set_current(key, current, partition, allow_backward=True)  # mirrors the source, its rollbacks too
        return copies, present

    def _copy(self, key: str, verify: Iterable[str] | bool, full: bool,
              copier: Executor | None, partition: str | None = None) -> tuple[list[ReplicaCopy], int]:
        """The copies :meth:`replicate` makes, and how many versions were already there."""
        source, target = self.mesh.store(self.source), self.mesh.store(self.target)
        todo: list[tuple[str, Action]] = []
        present = 0
        floor = None if full or verify is True else target.current_version(key, partition)
        versions = source.versions(key, partition, after=floor)
        if verify is True:
            check = set(versions)
        else:
            check = set(verify or ())
            versions = sorted(set(versions) | {v for v in check - set(versions) if source.has_version(key, v, partition)})
        for version in versions:
            if target.has_version(key, version, partition):
                if version not in check or target.verify(target.manifest(key, version, partition)):
                    present += 1
                    continue
                todo.append((version, "repaired"))
            else:
                todo.append((version, "copied"))
        copies: list[ReplicaCopy] = []
        with self.mesh.services.protector.hold_keys():  # a rotation rewraps the replicas' keys too
            jobs = [partial(target.receive_aside, source.manifest(key, version, partition), source) for version, _ in todo]
            with closing(_in_order(jobs, copier, target.discard_received)) as received_in_order:
                for (version, action), received in zip(todo, received_in_order, strict=True):
                    size = target.publish_received(received)
                    copies.append(ReplicaCopy(key, version, action, size, partition=partition))
                    self._audit(key, action, {"version": version, **({"partition": partition} if partition else {}),
                                              "bytes": size, "checksum": received.manifest.checksum,
                                              "from": self.source, "to": self.target})
        return copies, present

    def replicate_many(self, keys: Iterable[str], *, verify: bool = False,
                       workers: int = 4) -> list[ReplicationResult | Exception]:
        """:meth:`replicate` for ``workers`` assets at once, their files copied on one pool of
        ``workers`` threads (so at most that many files stream and hash at once); an asset whose
        copy fails gives its exception in place of a result."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replica-copy") as copier:
            def one(key: str) -> ReplicationResult | Exception:
                try:
                    return self.replicate(key, verify=verify, copier=copier)
                except Exception as exc:  # reported per asset; the others go on
                    return exc

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replicate") as pool:
                results = list(pool.map(one, list(keys)))
        self.audit.seal()  # the standby region also witnesses the head of what was copied
        return results

    def _audit(self, key: str, outcome: str, details: dict[str, object]) -> None:
        self.audit.append(AuditEvent(actor=self.actor, action="replicate", target=key, outcome=outcome,
                                     source="replication", where=f"region:{self.target}", details=details))


def partitions_of(store: VersionStore, key: str) -> list[str | None]:
    """The partitions of ``key`` in ``store`` (those with a ``CURRENT``), each replicated, checked
    and repaired on its own, or ``[None]`` for an unpartitioned asset (or one not materialized).
    Read from the store, not the graph: the DR commands load the mesh without domain code."""
    return list(store.partitions(key)) or [None]


def _in_order(jobs: Sequence[Callable[[], T]], executor: Executor | None,
              discard: Callable[[T], object]) -> Generator[T, None, None]:
    """Run ``jobs`` on ``executor``'s threads (a pool of :data:`COPIES_AT_ONCE` of its own when
    ``None``; none for a single job) and yield their results in order. When a job fails, or the
    caller stops early, the jobs not yet started are cancelled, the running ones awaited, and
    every result not yet yielded is given to ``discard``; a failure is raised after that."""
    if len(jobs) <= 1:
        yield from (job() for job in jobs)
        return
    if executor is None:
        with ThreadPoolExecutor(max_workers=COPIES_AT_ONCE, thread_name_prefix="replica-copy") as own:
            yield from _in_order(jobs, own, discard)
        return
    futures = [executor.submit(job) for job in jobs]
    taken = 0
    try:
        for future in futures:
            result = future.result()
            taken += 1
            yield result
    finally:
        left = futures[taken:]
        for future in left:
            future.cancel()
        wait(left)
        for future in left:
            if not future.cancelled() and future.exception() is None:
                discard(future.result())
