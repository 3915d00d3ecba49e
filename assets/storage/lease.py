"""Claims on S3: an exclusive lease held in one small object, created once, renewed while held.

S3 has no lock, but ``PutObject`` with ``If-None-Match: *`` creates an object only if it is
absent (:mod:`assets.storage.conditional`): of several claimants, the one whose create succeeds
holds the lease; the others wait, polling, until it is gone. The lease object names its holder
(``<host>.<pid>``, as staging folders do), a random token and an expiry. While the block runs
the holder renews the expiry every third of the lease (a compare-and-swap on its ETag); at the
end it deletes the lease (``If-Match`` its ETag, so never someone else's).

A holder killed without deleting its lease leaves it behind: a claimant takes it over, by a
compare-and-swap on the stale lease's ETag (so again one wins), once it has expired, or at once
if its holder is a process of this host that is gone. Expiry compares the hosts' clocks, which
must agree to well within ``LEASE_SECONDS``. A holder stalled longer than its lease (not
renewed) may overlap with the next one, so what a lease guards must stay correct if done twice:
replication copies verified bytes and writes the manifest last, so an overlap copies twice and
never corrupts.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator

import fsspec

from assets.storage.conditional import delete_if, pause, put_if, read_tagged
from assets.storage.staging import writer_gone, writer_id
from assets.stored_json import load_json

#: How long a lease lasts unless renewed; its holder renews it every third of that.
LEASE_SECONDS = 60.0


@contextlib.contextmanager
def held(fs: fsspec.AbstractFileSystem, path: str, *, lease_seconds: float = LEASE_SECONDS) -> Iterator[None]:
    """Hold the lease named by the object ``path`` for the block, waiting while another holds it."""
    lease = _Lease(fs, path, lease_seconds)
    lease.acquire()
    try:
        yield
    finally:
        lease.release()


class _Lease:
    def __init__(self, fs: fsspec.AbstractFileSystem, path: str, seconds: float) -> None:
        self.fs, self.path, self.seconds = fs, path, seconds
        self.token = uuid.uuid4().hex
        self.etag: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _body(self) -> bytes:
        return json.dumps({"holder": writer_id(), "token": self.token,
                           "expires": time.time() + self.seconds}).encode()

    def acquire(self) -> None:
        attempt = 0
        while True:
            etag = put_if(self.fs, self.path, self._body(), match=None)
            if etag is None:
                found = read_tagged(self.fs, self.path)
                if found is None:  # released meanwhile: try again at once
                    continue
                raw, other = found
                holder = _parse(raw)
                if holder.get("token") == self.token:  # our own create, its response lost
                    etag = other
                elif _abandoned(holder):
                    etag = put_if(self.fs, self.path, self._body(), match=other)
            if etag is not None:
                self.etag = etag
                self._renewer = threading.Thread(target=self._renew, name=f"lease:{self.path}", daemon=True)
                self._renewer.start()
                return
            pause(attempt, cap=0.5)
            attempt += 1

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            assert self.etag is not None
            try:
                renewed = put_if(self.fs, self.path, self._body(), match=self.etag)
            except OSError:  # unreachable for now: try again at the next beat, the lease has time
                continue
            if renewed is None:  # taken over: this holder stalled past its lease
                return
            self.etag = renewed

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.etag is not None:
            with contextlib.suppress(OSError):  # unreachable: the lease expires instead
                delete_if(self.fs, self.path, self.etag)


def _parse(raw: bytes) -> dict[str, object]:
    try:
        holder = load_json(raw)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _abandoned(holder: dict[str, object]) -> bool:
    """A lease no live holder keeps: expired, unreadable, or held by a gone process of this host."""
    expires = holder.get("expires")
    if not isinstance(expires, int | float) or expires < time.time():
        return True
    writer = holder.get("holder")
    return isinstance(writer, str) and writer_gone(writer)
