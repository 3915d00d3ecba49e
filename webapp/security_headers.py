"""The security headers every answer of the web app carries, pages and API alike.

- ``X-Content-Type-Options: nosniff``: a browser takes each answer as the type it says it is.
- ``Content-Security-Policy``: the pages load scripts, styles, images and data from the app
  itself only (``default-src 'self'``); no inline script runs (the dashboard's chart data is a
  ``<script type="application/json">`` block, which is data, not code); styles may be inline
  (the pages' ``<style>`` block, the legend's colours, and what plotly.js sets on its charts);
  no plug-in, no ``<base>``, no form posting elsewhere; and who may frame the pages.
- ``X-Frame-Options``: the same framing rule, for browsers that ignore ``frame-ancestors``.
- ``Referrer-Policy: no-referrer``: a link followed from a page tells nobody where it came from.
- ``Cache-Control: no-store`` on every ``/api/`` answer: a product's rows, or the overview's
  figures, are never kept by a browser or a proxy.

The answer to an unforeseen error (500) is made outside this middleware, by Starlette's
outermost one; :mod:`webapp.server_errors` gives it the same headers (:func:`headers_for`).

Framing is refused altogether (``frame-ancestors 'none'``, ``DENY``) unless ``framing="self"``:
Airflow's UI shows the app in an iframe of its own origin (the plugin's navigation entry), so
the plugin allows its own origin (``'self'``, ``SAMEORIGIN``) and still no other site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Framing = Literal["none", "self"]

_SOURCES = ("default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:", "font-src 'self' data:", "connect-src 'self'", "object-src 'none'",
            "base-uri 'none'", "form-action 'self'")


def content_security_policy(framing: Framing) -> str:
    """The ``Content-Security-Policy`` of the app's answers, framed as ``framing`` allows."""
    return "; ".join((*_SOURCES, f"frame-ancestors '{framing}'"))


def security_headers(framing: Framing) -> dict[str, str]:
    """The headers every answer carries (``Cache-Control`` is added to the API's only)."""
    return {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": content_security_policy(framing),
            "X-Frame-Options": "DENY" if framing == "none" else "SAMEORIGIN", "Referrer-Policy": "no-referrer"}


def headers_for(scope: Scope, framing: Framing) -> dict[str, str]:
    """The headers of the answer to the request of ``scope``: :func:`security_headers`, and
    ``Cache-Control: no-store`` under ``/api/`` (below the app's ``root_path``)."""
    added = security_headers(framing)
    if str(scope.get("path", "")).removeprefix(str(scope.get("root_path", ""))).startswith("/api/"):
        added["Cache-Control"] = "no-store"
    return added


@dataclass(frozen=True, slots=True)
class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP answer of ``app``, and
    ``Cache-Control: no-store`` to those under ``/api/``."""

    app: ASGIApp
    framing: Framing = "none"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = headers_for(scope, self.framing)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
