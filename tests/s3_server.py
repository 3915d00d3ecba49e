"""moto's S3 server as the tests run it: writes applied one at a time, as S3 applies them.

S3 checks a conditional write (``If-None-Match: *``, ``If-Match``) and applies it atomically:
of two creates of one key, one gets 412. moto's threaded server checks the condition, then
writes, without a lock between the two, so on a busy machine two creates of one lease both
succeeded (``test_a_claim_on_s3_is_exclusive_and_released`` failed in CI). This runs moto's own
application, with every request that changes the bucket (all but GET and HEAD) applied under
one lock; reads stay concurrent. Run as ``python tests/s3_server.py HOST PORT``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

_READS = frozenset({"GET", "HEAD"})


class OneWriteAtATime:
    """A WSGI application that runs ``app``'s changing requests one at a time."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in _READS:
            return self.app(environ, start_response)
        with self.lock:  # the whole response, so that the write is done when the lock is let go
            return list(self.app(environ, start_response))


def main(host: str, port: int) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))  # as moto_server sets it: the port of the URLs it makes
    run_simple(host, port, OneWriteAtATime(DomainDispatcherApplication(create_backend_app)), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
