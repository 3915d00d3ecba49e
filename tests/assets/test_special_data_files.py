"""A stored data file that is a symbolic link, a device or a FIFO is refused at once, never read
forever (``/dev/zero``) nor waited on (a FIFO): reads, checks, verification and replication."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from assets import StorageError, StorageRoot, VersionStore
from assets.errors import CorruptDataError
from assets.storage import Manifest, PublishRequest
from assets.named_files import NotRegularFile, open_regular
from assets.storage.verified import VerifiedFiles
from tests.watchdog import at_most

KEY = "sales.products"


def _symlink_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _symlink_to_a_good_copy(path: Path) -> None:
    copy = path.with_name("copy.parquet")
    path.rename(copy)
    path.symlink_to(copy)


SPECIAL: dict[str, tuple[Callable[[Path], None], str]] = {
    "link to /dev/zero": (_symlink_to_dev_zero, "a symbolic link"),
    "fifo": (_fifo, "a FIFO"),
    "link to the right bytes": (_symlink_to_a_good_copy, "a symbolic link"),
}


@pytest.fixture
def store(tmp_path: Path) -> VersionStore:
    return VersionStore(StorageRoot(str(tmp_path / "region")), verified=VerifiedFiles())


def publish(store: VersionStore) -> Manifest:
    return store.publish(pl.DataFrame({"n": list(range(1000))}),
                         PublishRequest(key=KEY, contract_version="1.0.0", code_version="abc", run_id="run-1",
                                        input_versions={}, protection={}))


def replace_data(store: VersionStore, manifest: Manifest, make: Callable[[Path], None]) -> Path:
    data = Path(store.data_path(KEY, manifest.version))
    if make is not _symlink_to_a_good_copy:
        data.unlink()
    make(data)
    return data


_READ = """
import resource, sys
from assets import StorageRoot, VersionStore
from assets.errors import CorruptDataError
from assets.storage.verified import VerifiedFiles
from tests.watchdog import at_most
status = open("/proc/self/status").read().split("VmData:")[1].split()[0]
resource.setrlimit(resource.RLIMIT_DATA, (int(status) * 1024 + 2**30, resource.RLIM_INFINITY))  # no machine-wide OOM
store = VersionStore(StorageRoot(sys.argv[1]), verified=VerifiedFiles())
manifest = store.require_current(sys.argv[2])
for attempt in (lambda: store.scan(sys.argv[2]), lambda: store.check(manifest)):
    try:
        attempt()
    except CorruptDataError as exc:
        print(exc)
    else:
        sys.exit("served")
print("verify:", store.verify(manifest))
"""


@pytest.mark.parametrize("kind", SPECIAL)
def test_a_read_refuses_a_data_file_that_is_not_a_regular_file(store: VersionStore, kind: str) -> None:
    """Read in another process, bounded in time and memory: without the fix it reads ``/dev/zero``
    until memory runs out and waits on the FIFO for ever."""
    manifest = publish(store)
    store.scan(KEY).collect()  # verified and remembered: the replacement must still be noticed
    make, named = SPECIAL[kind]
    data = replace_data(store, manifest, make)
    done = subprocess.run([sys.executable, "-c", _READ, store.root.root, KEY], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parents[2], check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    refusals = done.stdout.splitlines()
    assert len(refusals) == 3 and refusals[2] == "verify: False"
    for message in refusals[:2]:
        assert str(data) in message and f"is {named}, not a regular file" in message
        assert "mesh dr restore" in message and "mesh dr replicate --verify" in message


@pytest.mark.parametrize("kind", SPECIAL)
def test_replication_refuses_a_source_file_that_is_not_a_regular_file(store: VersionStore, tmp_path: Path,
                                                                      kind: str) -> None:
    manifest = publish(store)
    replace_data(store, manifest, SPECIAL[kind][0])
    standby = VersionStore(StorageRoot(str(tmp_path / "standby")), verified=VerifiedFiles())
    with at_most(20), pytest.raises(StorageError, match="not a regular file"):
        standby.receive(manifest, store)
    assert not standby.has_version(KEY, manifest.version)


def test_a_data_file_larger_than_its_manifest_is_refused_before_it_is_read(store: VersionStore) -> None:
    manifest = publish(store)
    data = Path(store.data_path(KEY, manifest.version))
    with data.open("r+b") as fh:
        fh.truncate(50 * 1024**3)  # sparse: 50 GB that would take minutes to hash
    with at_most(20), pytest.raises(CorruptDataError, match=f"found {50 * 1024**3} bytes"):
        store.scan(KEY)


def test_a_regular_data_file_reads_as_before(store: VersionStore) -> None:
    publish(store)
    assert store.scan(KEY).collect()["n"].sum() == sum(range(1000))
    assert store.scan(KEY).collect().height == 1000  # from the memory of verified files


OPEN_FLAGS = {"to read": os.O_RDONLY, "to append": os.O_WRONLY | os.O_APPEND | os.O_CREAT,
              "to update": os.O_RDWR | os.O_CREAT}
KINDS: dict[str, tuple[Callable[[Path], None], str]] = {
    "dangling link": (lambda path: path.symlink_to(path.with_name("nowhere")), "a symbolic link"),
    "link to a regular file": (lambda path: path.symlink_to(Path(path.with_name("target")).resolve()),
                               "a symbolic link"),
    "fifo": (_fifo, "a FIFO"),
    "folder": (lambda path: path.mkdir(), "a folder"),
}


@pytest.mark.parametrize("how", sorted(OPEN_FLAGS))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_open_regular_refuses_what_is_not_a_regular_file_and_says_what_it_is(tmp_path: Path, kind: str,
                                                                              how: str) -> None:
    (tmp_path / "target").write_bytes(b"kept")
    path = tmp_path / "file"
    make, what = KINDS[kind]
    make(path)
    with at_most(30), pytest.raises(NotRegularFile) as raised:
        open_regular(path, OPEN_FLAGS[how])
    assert raised.value.strerror.startswith(what), raised.value.strerror
    assert raised.value.filename == str(path)
    assert (tmp_path / "target").read_bytes() == b"kept"  # nothing written through a link
    assert not (tmp_path / "nowhere").exists()


def test_open_regular_opens_and_creates_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "log"
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"one\n")
    finally:
        os.close(fd)
    assert path.stat().st_mode & 0o777 == 0o600
    fd = open_regular(path, os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"one\n"
    finally:
        os.close(fd)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing", os.O_RDONLY)
