"""A real S3 API for tests: a moto server process, reached through s3fs as production is.

The fixtures ``s3_server`` (one moto process per session) and ``s3_bucket`` (a new bucket, the
``AWS_*`` variables pointing at it) are in ``tests/conftest.py``; :class:`Relay` puts a TCP hop
the test can cut between the client and the server, and :func:`standby_on_s3` and
:func:`primary_on_s3` move one of the example mesh's regions into a bucket.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit

from meshctl.local_airflow import free_port


@contextlib.contextmanager
def moto_server() -> Iterator[int]:
    """A moto S3 server on a free loopback port, for the block; yields the port."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("s3_server.py")), "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def point_s3_at(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """Send this process's (and its children's) S3 calls to 127.0.0.1:``port``."""
    import s3fs

    for name, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_MAX_ATTEMPTS": "2"}.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()


def new_bucket() -> str:
    """Create a bucket with a fresh name where ``AWS_ENDPOINT_URL`` points."""
    import s3fs

    bucket = f"mesh-{uuid.uuid4().hex[:10]}"
    s3fs.S3FileSystem().mkdir(bucket)
    return bucket


def region_on_s3(example_root: Path, bucket: str, region: str) -> None:
    """Put the example mesh's region ``region`` at ``s3://<bucket>/<region>``."""
    document = tomlkit.parse((example_root / "mesh.toml").read_text())
    document["regions"][region]["storage"] = f"s3://{bucket}/{region}"  # type: ignore[index]
    (example_root / "mesh.toml").write_text(tomlkit.dumps(document))


def standby_on_s3(example_root: Path, bucket: str) -> None:
    """Put the example mesh's standby region (us-west) at ``s3://<bucket>/us-west``."""
    region_on_s3(example_root, bucket, "us-west")


def primary_on_s3(example_root: Path, bucket: str) -> None:
    """Put the example mesh's primary region (us-east) at ``s3://<bucket>/us-east``; the
    standby (us-west) stays a local folder."""
    region_on_s3(example_root, bucket, "us-east")


class Relay:
    """Forwards 127.0.0.1:<port> to the S3 server while up. Down, it refuses new connections and
    cuts the ones it relays, as an unreachable endpoint does: a client's kept-alive connection
    does not outlive the outage (a request on it would otherwise still reach the server)."""

    def __init__(self, target: int) -> None:
        self.target, self.port = target, free_port()
        self._server: socket.socket | None = None
        self._relayed: set[socket.socket] = set()
        self._guard = threading.Lock()

    def up(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        with self._guard:
            server, self._server = self._server, None
            relayed, self._relayed = self._relayed, set()
        if server is not None:
            server.close()
        for connection in relayed:
            self._cut(connection)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._guard:
                cut = self._server is not server  # went down meanwhile
                if not cut:
                    self._relayed |= {client, upstream}
            if cut:
                for connection in (client, upstream):
                    self._cut(connection)
                return
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._cut(s)
            with self._guard:
                self._relayed -= {src, dst}

    @staticmethod
    def _cut(connection: socket.socket) -> None:
        """Shut a relayed connection down both ways (its pipe threads then end and close it)."""
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
