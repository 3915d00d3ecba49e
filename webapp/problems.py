"""The body of an API error or an error page: the mesh error's what, where and fix, without the
server's paths.

A caller of the read API learns which product, version or file is wrong and what to do, never
where the mesh lives on the server: a path under the mesh root is shown relative to it, any
other absolute path by its last two parts.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from assets.errors import MeshError

_ABSOLUTE = re.compile(r"(?<![\w.~:/-])(?:/[^\s/'\"`:,;()]+)+")


def public_text(text: str, root: Path) -> str:
    """``text`` with every absolute path made relative to ``root``, or cut to its last two parts."""
    for prefix in {str(root.absolute()), str(root.resolve())}:  # a relative root ("."): its absolute path
        text = text.replace(prefix.rstrip("/") + "/", "").replace(prefix, ".")
    return _ABSOLUTE.sub(lambda m: "…/" + "/".join(m.group(0).split("/")[-2:]).lstrip("/"), text)


def unreadable(error: OSError) -> MeshError:
    """``error`` (a mesh file that cannot be read) as a mesh error naming the file and the fix."""
    return MeshError(error.strerror or str(error), where=str(error.filename or "the mesh's files"),
                     fix="restore the file (mesh dr restore) or correct its permissions, then reload the page")


def public_fields(error: MeshError, root: Path) -> dict[str, str]:
    """``error``'s what, where and fix, each without the server's paths."""
    return {"error": public_text(error.what, root), "where": public_text(error.where, root),
            "fix": public_text(error.fix, root)}


def unavailable(error: MeshError | OSError, root: Path, *, html: bool) -> Response:
    """The 503 answer of a page or API call that cannot be made because the mesh cannot be loaded
    or its records read: the error's what, where and fix (as an HTML page when ``html``)."""
    fields = public_fields(error if isinstance(error, MeshError) else unreadable(error), root)
    if not html:
        return JSONResponse({"detail": fields}, status_code=503)
    return error_page(fields, 503, title="unavailable", heading="The mesh cannot be shown")


def error_page(fields: dict[str, str], status: int, *, title: str, heading: str) -> HTMLResponse:
    """A page saying an error's what, where and fix (``fields``, already without server paths)."""
    what, where, fix = (escape(fields[k]) for k in ("error", "where", "fix"))
    return HTMLResponse(f"<!doctype html><title>Data mesh: {escape(title)}</title><h1>{escape(heading)}</h1>"
                        f"<p id=\"error\">{what}</p><p>Where: <code>{where}</code></p><p>Fix: {fix}</p>",
                        status_code=status)


def problem(status: int, error: MeshError, root: Path) -> HTTPException:
    """An HTTP error carrying ``error``'s what, where and fix (never a traceback or a server path)."""
    return HTTPException(status, detail=public_fields(error, root))


def bad_request(error: RequestValidationError) -> JSONResponse:
    """The 400 answer of a request whose parameters are wrong (a format that is not one): which
    parameter, what is wrong with it and what it takes, without echoing the value at length."""
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ())]
    name = location[-1] if location else "the request"
    kind = f"{location[0]} parameter '{name}'" if len(location) > 1 else name
    allowed = (first.get("ctx") or {}).get("expected")
    return JSONResponse({"detail": {"error": f"{kind}: {str(first.get('msg', 'is not valid'))[:200]}",
                                    "where": kind, "fix": f"send {name} as {allowed}" if allowed else f"correct {name}"}},
                        status_code=400)
