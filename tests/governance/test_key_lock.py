"""The key lock prefers its writer: a waiting rotation is never starved by a stream of publishers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from assets import Mesh
from governance.protection.key_lock import KeyLock
from governance.protection.rotation import rotate_keys
from governance.services import governed
from tests.conftest import person

TIMEOUT = 120  # seconds, for the whole test: states are awaited, not times

#: A publisher that holds the key lock shared in a loop, and lets go of it only when the kernel
#: (``/proc/locks``) shows that another publisher holds it too, or that another publisher is
#: blocked on one of the key lock's files: the shared lock is never free while publishers can
#: enter, and a rotation that only waits for a free moment waits forever.
_PUBLISHER = textwrap.dedent("""
    import fcntl, os, sys, time
    from pathlib import Path
    from governance.protection.key_lock import KeyLock

    lock_path, folder, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    pids, stop, baton = folder / "pids", folder / "stop", folder / "baton"
    (pids / str(os.getpid())).touch()

    def kernel_locks():
        for line in open("/proc/locks"):
            parts = line.split()
            blocked = parts[1] == "->"
            parts = parts[:1] + parts[2:] if blocked else parts
            try:
                yield blocked, parts[3], int(parts[4]), int(parts[5].rsplit(":", 1)[1])
            except (IndexError, ValueError):
                continue

    def may_let_go():
        others = {int(p.name) for p in pids.iterdir()} - {os.getpid()}
        lock_files = set()
        for p in lock_path.parent.iterdir():  # a rotation's temporary files come and go meanwhile
            try:
                lock_files.add(p.stat().st_ino)
            except FileNotFoundError:
                continue
        inode = lock_path.stat().st_ino
        return stop.exists() or any(
            pid in others and ino in lock_files and (blocked or (mode == "READ" and ino == inode))
            for blocked, mode, pid, ino in kernel_locks())

    rounds = 0
    while not stop.exists():
        with KeyLock(lock_path).shared():
            rounds += 1
            tmp = folder / f".rounds-{name}.tmp"
            tmp.write_text(str(rounds))
            os.replace(tmp, folder / f"rounds-{name}")
            while True:  # one publisher at a time decides to let go, so two never leave each other
                held = os.open(baton, os.O_RDWR | os.O_CREAT)
                fcntl.flock(held, fcntl.LOCK_EX)
                if may_let_go():
                    break
                os.close(held)
                time.sleep(0.001)  # polls the kernel's lock table: a state, not a time
        os.close(held)  # the baton goes only once the key lock is let go
""")



def _rounds(folder: Path, name: str) -> int:
    path = folder / f"rounds-{name}"
    return int(path.read_text()) if path.exists() else 0


def _wait_for(state: Callable[[], bool], deadline: threading.Event) -> bool:
    """Poll ``state`` until it holds or ``deadline`` is set."""
    while not state():
        if deadline.wait(0.01):
            return state()
    return True


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads the kernel's lock table (Linux)")
def test_a_stream_of_overlapping_publishers_does_not_starve_rotation(example_mesh: Mesh, tmp_path: Path) -> None:
    keyring, audit = governed(example_mesh).keyring, governed(example_mesh).audit
    lock = keyring.lock
    folder = tmp_path / "publishers"
    (folder / "pids").mkdir(parents=True)
    names = ["a", "b", "c"]
    with lock.shared():  # creates the lock file (and its folder) the publishers open
        pass
    deadline = threading.Event()
    timer = threading.Timer(TIMEOUT, deadline.set)
    timer.start()
    publishers = [subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(lock.path), str(folder), name])
                  for name in names]
    rotated: list[str] = []
    waited = threading.Event()
    try:
        assert _wait_for(lambda: all(_rounds(folder, n) >= 2 for n in names), deadline), "the publishers run"
        old = keyring.provider.active_kek_id()
        rotation = threading.Thread(target=lambda: rotated.append(rotate_keys(
            example_mesh, keyring, audit, actor=person("platform@acme.example"), on_wait=waited.set).kek_id),
            daemon=True)
        rotation.start()
        assert _wait_for(lambda: not rotation.is_alive(), deadline), \
            "the rotation finishes while publishers keep taking the shared lock"
        assert waited.is_set(), "it had to wait for the publishers"
        assert rotated == [keyring.provider.active_kek_id()] and rotated[0] != old
        after = {n: _rounds(folder, n) for n in names}
        assert _wait_for(lambda: all(_rounds(folder, n) > after[n] for n in names), deadline), \
            "the publishers go on after the rotation"
        (folder / "stop").touch()
        for publisher in publishers:
            assert publisher.wait(timeout=TIMEOUT) == 0
    finally:
        timer.cancel()
        (folder / "stop").touch()
        for publisher in publishers:
            if publisher.poll() is None:
                publisher.kill()
                publisher.wait()


def test_a_publisher_nested_in_a_publish_does_not_wait_for_a_waiting_rotation(tmp_path: Path) -> None:
    lock = KeyLock(tmp_path / "keys.lock")
    waiting, rotated = threading.Event(), threading.Event()

    def rotate() -> None:
        with lock.exclusive(on_wait=waiting.set):
            rotated.set()

    with lock.shared():
        rotation = threading.Thread(target=rotate, daemon=True)
        rotation.start()
        assert waiting.wait(TIMEOUT)
        with lock.shared():  # the same thread again (a publish inside a publish): it already holds the lock
            assert not rotated.is_set()
    rotation.join(TIMEOUT)
    assert rotated.is_set()


def test_the_lock_files_are_owner_only(tmp_path: Path) -> None:
    lock = KeyLock(tmp_path / "keys" / "keys.lock")
    with lock.exclusive():
        pass
    for path in (tmp_path / "keys").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    assert os.stat(tmp_path / "keys").st_mode & 0o077 == 0
