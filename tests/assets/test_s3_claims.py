"""Claims on S3 (a real moto server): a lease object, exclusive, released at the end, and taken
over when its holder is gone or its lease expired."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from assets import StorageRoot


@pytest.fixture
def root(s3_bucket: str) -> StorageRoot:
    return StorageRoot(f"s3://{s3_bucket}/region")


def test_a_claim_on_s3_is_exclusive_and_released(root: StorageRoot) -> None:
    lock = root.path("sales", "orders", ".replica.lock")
    holding: list[int] = []
    overlaps: list[int] = []
    start = threading.Barrier(4)

    def claim(n: int) -> None:
        start.wait()
        for _ in range(5):
            with root.lock(lock):
                holding.append(n)
                overlaps.append(len(holding))
                root.write_atomic(root.path("probe"), str(n).encode())  # a request while holding it
                holding.remove(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1] * 20
    assert not root.exists(lock)


_KILLED_HOLDER = textwrap.dedent("""
    import os, sys
    from assets import StorageRoot
    root = StorageRoot(sys.argv[1])
    with root.lock(root.path("sales", "orders", ".replica.lock")):
        os._exit(9)  # killed while holding the claim: its lease object stays
""")


def test_a_claim_left_by_a_killed_process_of_this_host_is_taken_over_at_once(root: StorageRoot) -> None:
    subprocess.run([sys.executable, "-c", _KILLED_HOLDER, root.url], check=False)
    lock = root.path("sales", "orders", ".replica.lock")
    left = json.loads(root.read_bytes(lock))
    assert left["expires"] > time.time() + 30  # not expired: its holder is provably gone
    with root.lock(lock):
        assert json.loads(root.read_bytes(lock))["token"] != left["token"]
    assert not root.exists(lock)


@pytest.mark.parametrize("left", [
    pytest.param(json.dumps({"holder": "otherhost.1", "token": "t", "expires": time.time() - 1}).encode(),
                 id="expired-lease-of-another-host"),
    pytest.param(b"\x00garbage", id="unreadable-lease"),
])
def test_an_expired_or_unreadable_claim_on_s3_is_taken_over(root: StorageRoot, left: bytes) -> None:
    lock = root.path("sales", "orders", ".replica.lock")
    root.write_atomic(lock, left)
    with root.lock(lock):
        assert json.loads(root.read_bytes(lock))["holder"] != "otherhost.1"
    assert not root.exists(lock)


def test_a_live_claim_of_another_host_is_waited_for(root: StorageRoot) -> None:
    lock = root.path("sales", "orders", ".replica.lock")
    root.write_atomic(lock, json.dumps({"holder": "otherhost.1", "token": "t", "expires": time.time() + 600}).encode())
    got = threading.Event()

    def claim() -> None:
        with root.lock(lock):
            got.set()

    waiter = threading.Thread(target=claim, daemon=True)
    waiter.start()
    assert not got.wait(1.5)  # still held by the other host
    root.remove(lock)  # the other host releases it
    assert got.wait(30)
    waiter.join()
