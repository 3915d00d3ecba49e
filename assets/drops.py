"""Drops: where an observed source's files arrive from outside the mesh, and which of them are complete.

A drop is declared as one string: a folder (relative to the mesh root, or absolute) or an
``s3://bucket/prefix`` followed by a file-name glob ending in ``.csv`` or ``.parquet``:
``drops/marketing/web_leads/*.csv``, ``s3://acme-inbox/leads/*.parquet``. Only the last part may
hold wildcards; the format is the glob's extension.

**When a file counts as arrived** (so that a half-written file is never read):

1. its name matches the glob and is not a temporary name: names starting with ``.``, ``_`` or
   ``~``, and names ending in ``.tmp``, ``.part``, ``.partial``, ``.crdownload``, ``.filepart``,
   ``.inprogress`` or ``.uploading`` are never read. Writers write under such a name and rename
   the file into place when it is complete (a rename is atomic within a folder; an S3 object
   appears only when its upload completes);
2. it was last modified at least ``settle`` seconds ago (2 s by default): a writer that writes
   in place under the final name still modifies the file while it grows, so a growing file is
   not read until its size has stayed the same for ``settle``.

**Identity**: an arrived file is known by its name, size and SHA-256 checksum
(:class:`Arrival`), taken of the very bytes that are then parsed: the file is opened once (a local
one without following a symbolic link, and only if it is still the regular file listed: same
inode, modification time and size), read once into memory, hashed, and parsed from those bytes;
an S3 object is fetched in one request. A file replaced or changed between listing and reading
raises :class:`ChangedWhileRead`. The manifest of the version made from it records them (``observed``); a later
observation publishes only a newest file whose identity differs from that record, so observing
twice with nothing new publishes nothing. The newest file is the one modified last (ties broken
by name); older unpublished files are superseded by it.

This module imports neither polars nor pandera: Airflow's triggerer lists drops with it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from assets.named_files import NotRegularFile, TooLarge, open_regular

FORMATS: dict[str, Literal["csv", "parquet"]] = {".csv": "csv", ".parquet": "parquet"}
TEMPORARY_PREFIXES = (".", "_", "~")
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart", ".inprogress", ".uploading")
#: Seconds a file must stay unmodified before it is read, unless a source says otherwise.
DEFAULT_SETTLE = 2.0
_WILDCARD = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class Drop:
    """A parsed drop location: ``folder`` (a path, or ``bucket/prefix`` on S3) and the file-name
    ``pattern``; ``settle`` seconds a file must stay unmodified (module docstring)."""

    location: str
    settle: float = DEFAULT_SETTLE

    def __post_init__(self) -> None:
        problem = drop_problem(self.location)
        if problem:
            raise ValueError(problem)
        if not isinstance(self.settle, int | float) or self.settle < 0:
            raise ValueError(f"settle={self.settle!r} is not a number of seconds of zero or more")

    @property
    def on_s3(self) -> bool:
        return self.location.startswith("s3://")

    @property
    def folder(self) -> str:
        return self.location.removeprefix("s3://").rsplit("/", 1)[0]

    @property
    def pattern(self) -> str:
        return self.location.rsplit("/", 1)[1]

    @property
    def format(self) -> Literal["csv", "parquet"]:
        return FORMATS[PurePosixPath(self.pattern).suffix]

    def folder_at(self, root: Path) -> Path:
        """The local folder, relative paths taken from the mesh ``root``."""
        return Path(self.folder) if os.path.isabs(self.folder) else root / self.folder

    def uri_of(self, name: str) -> str:
        """Where file ``name`` of the drop is, as declared (``s3://...``, or the folder as written)."""
        return f"s3://{self.folder}/{name}" if self.on_s3 else f"{self.folder}/{name}"

    def matches(self, name: str) -> bool:
        """Whether a file named ``name`` may be read: it matches and is not a temporary name."""
        return (fnmatchcase(name, self.pattern) and not name.startswith(TEMPORARY_PREFIXES)
                and not name.lower().endswith(TEMPORARY_SUFFIXES))


def drop_problem(location: object) -> str | None:
    """What is wrong with a declared drop location, or ``None``."""
    if not isinstance(location, str) or "/" not in location:
        return f"{location!r} is not '<folder>/<glob>' or 's3://<bucket>/<prefix>/<glob>'"
    folder, pattern = location.removeprefix("s3://").rsplit("/", 1)
    if not folder or not pattern:
        return f"{location!r} has no folder or no file-name glob"
    if _WILDCARD.search(folder):
        return f"{location!r} has a wildcard before its last part; only file names may be globs"
    if ".." in PurePosixPath(folder).parts:
        return f"{location!r} climbs out of its folder with '..'"
    if location.startswith("s3://") and not folder.split("/", 1)[0]:
        return f"{location!r} names no bucket"
    if "://" in location and not location.startswith("s3://"):
        return f"{location!r} is neither a local folder nor s3://"
    if PurePosixPath(pattern).suffix not in FORMATS:
        return f"{location!r} does not end in {' or '.join(FORMATS)}"
    return None


@dataclass(frozen=True, slots=True)
class Seen:
    """A file listed in a drop: its ``name``, ``size`` and modification time."""

    name: str
    size: int
    mtime: float
    #: A local file's (inode, modification time in ns) when listed; ``None`` on S3.
    identity: tuple[int, int] | None = None


class ChangedWhileRead(OSError):
    """A drop's file was replaced or changed between its listing and its read (renamed over,
    replaced by a symbolic link, still growing): what was listed is not what would be read."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """An arrival and its bytes, read once: ``arrival.sha256`` is their checksum."""

    arrival: Arrival
    data: bytes


@dataclass(frozen=True, slots=True)
class Arrival:
    """A complete file chosen for observation, with its identity (module docstring)."""

    name: str
    uri: str
    size: int
    sha256: str

    def record(self) -> dict[str, Any]:
        """What the manifest's ``observed`` keeps."""
        return {"file": self.name, "uri": self.uri, "bytes": self.size, "sha256": self.sha256}

    def same_as(self, observed: Any) -> bool:
        """Whether ``observed`` (a manifest's record) names this very file: name, size and checksum."""
        return (isinstance(observed, Mapping) and observed.get("file") == self.name and observed.get("bytes") == self.size
                and observed.get("sha256") == self.sha256)


def complete_files(drop: Drop, root: Path, *, now: float) -> list[Seen]:
    """The files of ``drop`` that have arrived completely by ``now`` (a ``time.time()``), oldest
    first. A missing folder has none. Raises ``OSError`` when the drop cannot be listed."""
    listed = list(_list_s3(drop) if drop.on_s3 else _list_local(drop, root))
    done = [s for s in listed if drop.matches(s.name) and now - s.mtime >= drop.settle]
    return sorted(done, key=lambda s: (s.mtime, s.name))


def fetch_newest(drop: Drop, root: Path, *, observed: Any, now: float) -> Fetched | None:
    """The newest complete file of ``drop`` and its bytes, unless it is the one ``observed``
    records; ``None`` when nothing new arrived. The file is read once (:func:`read_listed`) and
    its checksum is of exactly the bytes returned. Raises ``OSError``, :class:`ChangedWhileRead`
    when the file changed since it was listed."""
    files = complete_files(drop, root, now=now)
    if not files:
        return None
    newest = files[-1]
    data = read_listed(drop, root, newest)
    arrival = Arrival(name=newest.name, uri=drop.uri_of(newest.name), size=len(data),
                      sha256=hashlib.sha256(data).hexdigest())
    return None if arrival.same_as(observed) else Fetched(arrival, data)


def newest_arrival(drop: Drop, root: Path, *, observed: Any, now: float) -> Arrival | None:
    """:func:`fetch_newest`'s arrival, without its bytes."""
    fetched = fetch_newest(drop, root, observed=observed, now=now)
    return fetched.arrival if fetched is not None else None


def read_listed(drop: Drop, root: Path, seen: Seen) -> bytes:
    """The bytes of the listed file ``seen``, read in one open: a local file without following a
    symbolic link and only if it is still the regular file listed (inode, modification time,
    size), at most its listed size plus one byte; an S3 object in one request. Raises
    :class:`ChangedWhileRead` when it is not the file listed any more, and
    :class:`~assets.named_files.TooLarge` when its bytes do not fit in memory."""
    try:
        if drop.on_s3:
            data = bytes(_s3().cat_file(f"{drop.folder}/{seen.name}"))
        else:
            data = _read_local(drop.folder_at(root) / seen.name, seen)
    except MemoryError:  # read whole, as it is parsed: a sparse 10 GB file, or one larger than the memory left
        raise TooLarge(errno.ENOMEM, f"its {seen.size:,} bytes do not fit in the memory this process may take",
                       drop.uri_of(seen.name)) from None
    if len(data) != seen.size:
        raise ChangedWhileRead(errno.ESTALE, f"its size changed from {seen.size} to {len(data)} bytes since it was "
                                             "listed", drop.uri_of(seen.name))
    return data


def _read_local(path: Path, seen: Seen) -> bytes:
    """Read the local file ``path`` if it is still the regular file ``seen`` (see :func:`read_listed`)."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except NotRegularFile as exc:
        raise ChangedWhileRead(errno.ESTALE, f"it was replaced since it was listed: it is now {exc.strerror}",
                               str(path)) from None
    try:
        st = os.fstat(fd)
        if (st.st_ino, st.st_mtime_ns) != seen.identity or st.st_size != seen.size:
            raise ChangedWhileRead(errno.ESTALE, "it was replaced or modified since it was listed", str(path))
        chunks, left = [], seen.size + 1  # one byte more tells a file that grew
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 30))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _list_local(drop: Drop, root: Path) -> Iterator[Seen]:
    folder = drop.folder_at(root)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # renamed or removed while listed
            continue
        if stat.S_ISREG(st.st_mode):  # not a symbolic link: one to /etc/passwd or another drop is no arrival
            yield Seen(entry.name, st.st_size, st.st_mtime, (st.st_ino, st.st_mtime_ns))


def _list_s3(drop: Drop) -> Iterator[Seen]:
    try:
        found = _s3().ls(drop.folder, detail=True, refresh=True)
    except FileNotFoundError:
        return
    for item in found:
        if item.get("type") != "file":
            continue
        key = str(item["name"])
        modified = item.get("LastModified")
        yield Seen(key.rsplit("/", 1)[-1], int(item.get("size") or 0),
                   modified.timestamp() if modified is not None else 0.0)


def _s3() -> Any:
    from assets.storage.s3 import S3FileSystem  # only drops on S3 need s3fs

    return S3FileSystem()
