"""A storage root on any fsspec filesystem, with the few atomic primitives publishing needs.

Local folders are the default. On a local filesystem a file is written under a temporary
name, flushed to disk and renamed into place, so a reader sees the old bytes or the new ones,
never a part. On object stores (``s3://``) a single ``put`` is atomic per object; callers keep
that in mind by writing the object that makes a version visible last. Object stores are listed
fresh every time (no listings cache): other processes write there too. ``s3://`` roots use
:class:`assets.storage.s3.S3FileSystem`, whose failures (an unreachable endpoint too) are all
``OSError``, as a local folder's are.

Two primitives serialise concurrent writers, on both: :meth:`StorageRoot.update` (a
read-modify-write of one small file: a lock file locally, conditional writes on S3) and
:meth:`StorageRoot.lock` (an exclusive lock for a block: ``flock`` locally, a lease on S3).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

from assets.atomic import (
    Prepared,
    atomic_write,
    discard,
    install,
    prepare,
    sync_together,
)
from assets.named_files import NotRegularFile, TooLarge, open_regular, require_regular
from assets.storage import lease
from assets.storage.conditional import compare_and_swap, read_tagged
from assets.storage.digest import DEFAULT_ALGORITHM, checksum_of_stream, new_hasher
from assets.storage.layout import CURRENT_FILE, MANIFEST_FILE

_CHUNK = 4 * 1024 * 1024
#: The buffer of one copy: small enough to stay in the CPU's cache between the read, the hash and
#: the write of a chunk.
_COPY_CHUNK = 1024 * 1024
#: The smallest read buffer of a checksum or a copy (see :func:`_buffer_size`).
_MIN_BUFFER = 64 * 1024
#: Reads of a file that keeps changing before :meth:`StorageRoot.read_stamped` gives up.
_STABLE_READ_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class StorageRoot:
    """A folder or bucket prefix, addressed by fsspec URL (``/path``, ``file://``, ``s3://b/p``)."""

    url: str
    storage_options: dict[str, object] = field(default_factory=dict, compare=False)
    fs: fsspec.AbstractFileSystem = field(init=False, repr=False, compare=False)
    root: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        options = dict(self.storage_options)
        protocol = fsspec.core.split_protocol(self.url)[0]
        if protocol not in (None, "file", "local"):
            options.setdefault("use_listings_cache", False)  # see the module docstring
        if protocol in ("s3", "s3a"):
            from assets.storage.s3 import (
                S3FileSystem,  # imports s3fs and botocore: only when used
            )

            fs: fsspec.AbstractFileSystem = S3FileSystem(**options)
            root = fs._strip_protocol(self.url)
        else:
            fs, root = fsspec.core.url_to_fs(self.url, **options)
        object.__setattr__(self, "fs", fs)
        object.__setattr__(self, "root", root.rstrip("/"))

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def uri_of(self, path: str) -> str:
        """The full URL of a path under this root, as lineage and error messages show it."""
        return path if self.is_local else self.fs.unstrip_protocol(path)

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def read_bytes(self, path: str) -> bytes:
        """The bytes of a stored file; raises ``FileNotFoundError`` (``OSError``) as reading does.
        A local file is read directly (fsspec's local ``cat_file`` opens the same file, after
        normalising a path this root made already)."""
        if self.is_local:
            with open(path, "rb") as fh:
                return fh.read()
        return bytes(self.fs.cat_file(path))

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        return self.fs.open(path, mode)

    def makedirs(self, path: str) -> None:
        if self.is_local:  # what fsspec's local makedirs calls, without normalising the path again
            os.makedirs(path, exist_ok=True)
            return
        self.fs.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        """Names (not paths) of the entries of a folder; empty if it does not exist."""
        try:
            entries = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries)

    def size(self, path: str) -> int:
        if self.is_local:
            return os.stat(path).st_size
        return int(self.fs.size(path))

    def stamp(self, path: str) -> tuple[int, object]:
        """(size, state) of a stored file, changed by any rewrite: on a local filesystem the
        modification time in ns, the inode and the change time in ns (which, unlike the
        modification time, cannot be set back); on an object store the ETag (else the
        modification time), read fresh. Raises ``FileNotFoundError``."""
        if self.is_local:
            return _stamp_of(os.stat(path))
        self.fs.invalidate_cache(path)
        info = self.fs.info(path)
        state = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified") \
            or info.get("last_modified")
        return int(info["size"]), str(state)

    def data_stamp(self, path: str) -> tuple[int, object]:
        """:meth:`stamp` of a stored data file, which must be a regular file: on a local
        filesystem the link itself is stamped (``lstat``, no more syscalls than ``stat``) and
        anything but a regular file raises :class:`NotRegularFile`."""
        if not self.is_local:
            return self.stamp(path)
        st = os.lstat(path)
        require_regular(st, path)
        return _stamp_of(st)

    def read_regular(self, path: str, most: int) -> tuple[bytes, tuple[int, object]]:
        """At most ``most`` bytes of the local regular file ``path`` and the :meth:`stamp` of the
        file opened (``fstat`` of its descriptor): opened without following a link or waiting on
        a FIFO, so a link, a device or a FIFO raises :class:`NotRegularFile` instead of being
        read forever or blocking."""
        with self._open_to_read(path) as fh:
            st = os.fstat(fh.fileno())
            chunks, left = [], most
            while left > 0 and (chunk := fh.read(left)):  # one read, unless the kernel returns less
                chunks.append(chunk)
                left -= len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return data, _stamp_of(st)

    def read_small(self, path: str, most: int) -> bytes:
        """The bytes of a small file the mesh writes itself (a ``CURRENT`` pointer, a manifest),
        of at most ``most`` bytes. A local one is opened as :meth:`read_regular` opens it, so a
        link, a folder, a device or a FIFO raises :class:`NotRegularFile` instead of being
        followed, read forever or waited on; a larger file (a sparse 10 GB one) raises
        :class:`~assets.named_files.TooLarge` after reading ``most + 1`` bytes, never all of it.
        Raises ``FileNotFoundError`` (``OSError``) as reading does."""
        if self.is_local:
            data, _ = self.read_regular(path, most + 1)
        else:
            data = bytes(self.fs.cat_file(path, start=0, end=most + 1))
        if len(data) > most:
            raise TooLarge(errno.EFBIG, f"more than {most:,} bytes, more than the mesh ever writes there",
                           self.uri_of(path))
        return data

    def read_stamped(self, path: str) -> tuple[bytes, tuple[int, object]]:
        """The bytes of a stored file and the :meth:`stamp` of exactly those bytes. On S3 both
        come from one ``GetObject`` (the bytes and their ETag), so a replacement between a
        check of the stamp and the read cannot slip in; elsewhere the file is stamped before
        and after the read, and read again if it changed meanwhile. Raises ``FileNotFoundError``."""
        if not self.is_local and "s3" in self.fs.protocol:
            found = read_tagged(self.fs, path)
            if found is None:
                raise FileNotFoundError(errno.ENOENT, "no such object", self.uri_of(path))
            return found[0], (len(found[0]), found[1])
        for _ in range(_STABLE_READ_ATTEMPTS):
            before = self.stamp(path)
            data = self.read_bytes(path)
            if self.stamp(path) == before:
                return data, before
        raise OSError(errno.EAGAIN, f"changed while read, {_STABLE_READ_ATTEMPTS} times in a row", self.uri_of(path))

    def checksum(self, path: str, algorithm: str = DEFAULT_ALGORITHM) -> str:
        """``<algorithm>:<hex>`` of a stored file, streamed (see :mod:`assets.storage.digest`)."""
        with self._open_to_read(path) as fh:
            return checksum_of_stream(fh, algorithm, chunk=_buffer_size(fh, _CHUNK))

    def copy_from(self, source: StorageRoot, source_path: str, path: str, *,
                  algorithm: str = DEFAULT_ALGORITHM) -> tuple[str, int]:
        """Copy ``source_path`` of ``source`` to ``path`` here in one pass, hashing what is
        written; returns (``<algorithm>:<hex>``, size). Works between any two fsspec filesystems.

        Each chunk is read once into a private buffer, hashed from that buffer and written from
        it, so the checksum is of exactly the bytes written, whatever the source does meanwhile.
        The copy is not read back: on a local filesystem it is fsync-ed before this returns, so
        the write is known to have reached the disk (write-back errors surface at ``fsync``, not
        at ``write``), and the caller's manifest, written after, never names data a crash could
        still lose; on an object store, closing the file completes the upload. What happens to
        the stored bytes later is what verified reads and ``mesh dr replicate --verify`` check.
        Hashing and writing release the GIL, so copies on several threads use several cores.
        """
        hasher, size = new_hasher(algorithm), 0
        with source._open_to_read(source_path) as src, self._open_to_write(path) as dst:
            buffer = bytearray(_buffer_size(src, _COPY_CHUNK))
            view = memoryview(buffer)
            while count := src.readinto(buffer):
                chunk = view[:count]
                hasher.update(chunk)
                _write_all(dst, chunk)
                size += count
            if self.is_local:
                os.fsync(dst.fileno())
        return f"{algorithm}:{hasher.hexdigest()}", size

    def _open_to_read(self, path: str) -> io.RawIOBase | io.BufferedIOBase:
        """A stored file opened to read. A local one must be a regular file (see
        :class:`NotRegularFile`): it is opened without following a link nor waiting on a FIFO,
        and its descriptor checked."""
        if not self.is_local:
            return self.fs.open(path, "rb")
        fh = open(open_regular(path, os.O_RDONLY), "rb", buffering=0)  # noqa: SIM115 - the caller closes it
        with contextlib.suppress(OSError):  # a hint: read ahead further
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        return fh

    def _open_to_write(self, path: str) -> IO[bytes]:
        return open(path, "wb", buffering=0) if self.is_local else self.fs.open(path, "wb")  # noqa: SIM115

    def write_atomic(self, path: str, data: bytes) -> None:
        """Replace ``path`` with ``data`` in one step: readers see all of it or none."""
        if not self.is_local:
            self.fs.pipe_file(path, data)
            return
        atomic_write(path, data)

    def write_parquet(self, path: str, frame: pl.DataFrame) -> None:
        """Write ``frame`` as Parquet (with statistics) to ``path``. An object store gets it in
        one upload of the encoded bytes (:meth:`write_atomic`): Parquet is encoded in memory
        first, so a failed upload is an ``OSError`` like any other, never an error from inside
        polars' writer (which reports an upload that fails mid-write as a ``ComputeError``)."""
        if self.is_local:
            try:
                frame.write_parquet(path, statistics=True)
            except pl.exceptions.ComputeError as exc:  # polars' writer reports a full disk or a file limit so
                raise OSError(f"{exc}".splitlines()[0] or "the Parquet writer failed") from exc
            return
        encoded = io.BytesIO()
        frame.write_parquet(encoded, statistics=True)
        self.write_atomic(path, encoded.getvalue())

    def finish_folder(self, folder: str, files: Mapping[str, bytes], *, ahead: Prepared | None = None) -> None:
        """Write ``files`` (name -> bytes) into ``folder``, a folder no reader looks at yet (it
        is renamed into place or made visible by what is written last), and make the folder
        durable with everything in it. Locally each file is written in place (the folder is
        invisible, so there is nothing to replace atomically), then every file of the folder,
        the folder itself and ``ahead`` (a :meth:`prepare`-d write to install next) are fsync-ed
        together (:func:`~assets.atomic.sync_together`): one wait for the disk, not one per
        file. On object stores each file is one ``put``, durable when it returns."""
        if not self.is_local:
            for name, data in files.items():
                self.fs.pipe_file(f"{folder}/{name}", data)
            return
        for name, data in files.items():
            with open(f"{folder}/{name}", "xb") as fh:
                fh.write(data)
        sync_together([*(f"{folder}/{name}" for name in sorted(os.listdir(folder))), folder,
                       *([ahead.tmp] if ahead is not None else [])])

    def prepare(self, path: str, data: bytes) -> Prepared | None:
        """Locally, ``data`` written beside ``path`` to be synced with other files
        (:meth:`finish_folder`) and put in place by :meth:`update`; ``None`` on object stores,
        where one ``put`` is atomic and durable anyway."""
        return prepare(path, data) if self.is_local else None

    def rename(self, src: str, dst: str) -> None:
        """Move the folder ``src`` to ``dst`` (which must not exist yet). On a local filesystem
        one ``rename``. Object stores have no folder rename: every object is copied in the store
        (server-side), then the originals are deleted, so the move is not atomic there. The
        copies are made in the order that makes a version visible (data, then manifests, then
        ``CURRENT`` pointers) and the originals deleted in the reverse order, so whenever the
        move stops, each side holds whole versions or files no reader takes for one (a version
        folder without a manifest, which ``mesh gc`` removes). Raises ``FileNotFoundError`` if
        ``src`` holds nothing."""
        if self.is_local:
            os.rename(src, dst)
            return
        src, dst = src.rstrip("/"), dst.rstrip("/")
        files = [f for f in self.fs.find(src) if f.startswith(f"{src}/")]
        if not files:
            raise FileNotFoundError(errno.ENOENT, "nothing to move", self.uri_of(src))
        batches = [[f for f in files if _visibility(f) == rank] for rank in range(3)]
        for batch in batches:
            if batch:
                self.fs.copy(batch, [f"{dst}{f[len(src):]}" for f in batch])
        for batch in reversed(batches):
            if batch:
                self.fs.rm(batch)

    def update(self, path: str, change: Callable[[bytes | None], bytes | None], *,
               prepared: Prepared | None = None) -> bytes | None:
        """Replace the small file ``path`` with ``change(old)`` (``old`` None if it is missing;
        ``change`` returns None to leave it) as one step against concurrent updaters, and return
        the bytes there afterwards. Local folders hold a lock file beside it (``.<name>.lock``)
        for the read and the write; on S3 the write is conditional on the ETag read (or on
        absence), and a write that lost to another one reads again and calls ``change`` again,
        so ``change`` must decide from ``old`` alone.

        ``prepared`` (from :meth:`prepare`, already synced) is installed when ``change``
        returns its bytes, instead of writing and syncing them again; it is dropped otherwise."""
        if not self.is_local:
            return compare_and_swap(self.fs, path, change)
        folder, name = os.path.split(path)
        try:
            with self.lock(os.path.join(folder, f".{name}.lock")):
                try:
                    old: bytes | None = self.read_bytes(path)
                except FileNotFoundError:
                    old = None
                new = change(old)
                if new is None:
                    return old
                if prepared is not None and prepared.data == new and str(prepared.path) == path:
                    install(prepared)
                else:
                    atomic_write(path, new)
                return new
        finally:
            if prepared is not None:
                discard(prepared)

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        """Hold an exclusive lock named by the file ``path`` (created if missing), across
        threads and processes of this host and others sharing the filesystem. On S3 the lock is
        a lease object, created once (see :mod:`assets.storage.lease`) and removed at the end."""
        if not self.is_local:
            with lease.held(self.fs, path):
                yield
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # read and write, as the audit log's lock: a FIFO put there neither blocks nor fails as unseekable
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def remove(self, path: str) -> None:
        if self.exists(path):
            self.fs.rm(path, recursive=True)

    def walk_files(self, path: str) -> Iterator[str]:
        for folder, _dirs, files in self.fs.walk(path):
            for name in files:
                yield f"{folder.rstrip('/')}/{name}"


def _stamp_of(st: os.stat_result) -> tuple[int, object]:
    """The local :meth:`StorageRoot.stamp` of a file's status."""
    return st.st_size, (st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def _visibility(path: str) -> int:
    """When a file of a moved folder is copied: data first (0), then manifests (1), then the
    ``CURRENT`` pointers (2), which name versions that must be whole by then."""
    name = path.rsplit("/", 1)[-1]
    return 2 if name == CURRENT_FILE else 1 if name == MANIFEST_FILE else 0


def _write_all(dst: IO[bytes], chunk: memoryview) -> None:
    """Write all of ``chunk``: a raw file's ``write`` may take part of it."""
    while chunk:
        written = dst.write(chunk)
        if not written:
            raise OSError(errno.EIO, f"writing {dst.name!r} took no bytes")
        chunk = chunk[written:]


def _buffer_size(fh: object, most: int) -> int:
    """The read buffer for hashing or copying ``fh``: ``most`` bytes, or, for a smaller local
    file, a little more than its size (a 4 MiB buffer costs 50 us to make, ten times the hash
    of a 2 KiB file). Only a buffer's size: whatever it is, the file is read to its end."""
    try:
        size = os.fstat(fh.fileno()).st_size  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # an object store's file: no descriptor
        return most
    return min(most, max(_MIN_BUFFER, size + 1))
