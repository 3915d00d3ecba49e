"""The answer to an error nobody foresaw: a 500 with the security headers and a body that says
what failed and what to do, never a traceback or a server path.

Starlette answers an exception no route or handler caught in its outermost middleware
(``ServerErrorMiddleware``), outside every middleware the app adds, so that answer used to lack
the security headers (:mod:`webapp.security_headers`) and was plain text. The handler made here
is the one that middleware calls: it logs the exception with a short reference, and answers
JSON that names the request and the reference (for the operators, who find the traceback in the
server's log by it), with the headers the other answers carry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from webapp.security_headers import Framing, headers_for

_log = logging.getLogger(__name__)


def unexpected_error(framing: Framing) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The app's handler of any exception not otherwise handled, its pages framed as ``framing``."""

    async def handle(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        _log.error("unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
        asked = f"{request.method} {request.url.path[:200]}"
        return JSONResponse(
            {"detail": {"error": f"the server failed to answer {asked}: an unexpected error (reference {reference})",
                        "where": asked,
                        "fix": f"try again in a moment; if it fails again, give the mesh's operators the reference "
                               f"{reference}: the server's log has the details"}},
            status_code=500, headers=headers_for(request.scope, framing))

    return handle
