"""The data product read API: a product's current version, or any version (time travel), as
Parquet or Arrow IPC, to authorised consumers only.

``GET <base>/api/products/<key>?format=parquet|arrow&version=<v>``. The caller proves who they
are as :mod:`governance.identity.signed_requests` says (a request signed with their key, or an
OIDC bearer token); access is then decided and audited by :func:`governance.access.read_asset`,
exactly as ``mesh read --as``. An unproven caller gets 401 and the refusal is audited (the
first of a reason and address at once, its repeats counted in a summary record); an
unauthorised one 403 (audited by ``read_asset``). Neither gets any data. A request that is wrong
whatever the data (a bad query parameter, a malformed version id or partition key, a partition
outside the product's) is 400; a product, version or partition that does not exist, 404. The
caller is authenticated before the product is looked up: an unproven caller gets the same 401
for a product that exists and one that does not, so it learns nothing of what the mesh holds.
A proven caller is a person the mesh registers, who may list its graph (``mesh list``): they are
told a product does not exist, with the closest names, rather than a 403 that would hide a typo. A
server whose replay memory is full of unexpired signatures refuses a signed request with 503,
audited once per filling up (:mod:`governance.identity.replays`). An unproven caller's
record names the actor ``unknown`` (the user it claimed is in its details, never its actor).
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assets.errors import CorruptDataError, MeshError, SelectionError
from assets.mesh import Mesh
from assets.storage.layout import VERSION_NAME
from governance.access import AccessDeniedError, read_asset
from governance.audit import AuditError, AuditEvent
from governance.identity import IdentityError, RequestAuthenticator
from governance.identity.replays import ReplayMemoryFullError
from governance.keys import KeyError_
from governance.services import governed
from webapp.problems import problem
from webapp.unproven_refusals import UnprovenRefusals

MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "arrow": "application/vnd.apache.arrow.stream"}
Format = Literal["parquet", "arrow"]


def product_router(mesh_of: Callable[[], Mesh], authenticator_of: Callable[[], RequestAuthenticator],
                   refusals: UnprovenRefusals) -> APIRouter:
    """The read API's routes; ``mesh_of()`` and ``authenticator_of()`` give the loaded mesh and
    its request authenticator; ``refusals`` records unproven callers' refusals, bounded, and
    paces the signing of heads after them (:mod:`webapp.unproven_refusals`)."""
    router = APIRouter()

    @router.get("/api/products/{key}")
    def read_product(key: str, request: Request, format: Format = "parquet", version: str | None = None,
                     partition: str | None = None, first: Annotated[str | None, Query(alias="from")] = None,
                     last: Annotated[str | None, Query(alias="to")] = None) -> Response:
        mesh = mesh_of()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        audit = governed(mesh).audit
        try:
            actor = authenticator_of().authenticate(dict(request.headers), request.method, target)
        except ReplayMemoryFullError as exc:  # proven, but no replay could be refused: the server's 503
            if exc.first:  # once per filling up, not per request
                audit.append(AuditEvent(actor="unknown", action="read", target=key[:200], outcome="refused", source="api",
                                        details={"reason": exc.what[:500], "identity": "replay memory full",
                                                 "claimed_user": request.headers.get("x-mesh-user", "")[:200]}))
                refusals.seal_soon(audit)
            raise problem(503, exc, mesh.root) from None
        except IdentityError as exc:  # the user it claims is a claim, never the actor: anyone can send it
            refusals.refused(audit, reason=exc.what, client=request.client.host if request.client else "unknown",
                             target=key[:200], claimed=request.headers.get("x-mesh-user"))
            raise problem(401, exc, mesh.root) from None
        if key not in mesh.graph:  # asked by a proven caller only: an unproven one learns nothing of what exists
            raise problem(404, no_product(key, mesh), mesh.root)
        try:
            check_selection(key, version=version, partition=partition, first=first, last=last)
            frame = read_asset(mesh, key, actor=actor, version=version, partition=partition, first=first,
                               last=last).collect()
        except AccessDeniedError as exc:
            raise problem(403, exc, mesh.root) from None
        except (AuditError, KeyError_, CorruptDataError):  # cannot be recorded, decrypted or trusted: the app's 503
            raise
        except SelectionError as exc:  # the caller's: a malformed version id, partition key or range
            named = exc if exc.where else SelectionError(exc.what, where=f"the query of {key}", fix=exc.fix)
            raise problem(400, named, mesh.root) from None
        except MeshError as exc:  # no such version, or nothing published
            raise problem(404, exc, mesh.root) from None
        finally:
            audit.seal()
        buffer = io.BytesIO()
        if format == "arrow":
            frame.write_ipc_stream(buffer)
        else:
            frame.write_parquet(buffer)
        return Response(buffer.getvalue(), media_type=MEDIA_TYPES[format],
                        headers={"X-Mesh-Version": version or _current(mesh, key, partition),
                                 "X-Mesh-Rows": str(frame.height)})

    return router


def no_product(key: str, mesh: Mesh, *, where: str = "the product key in the request's path") -> MeshError:
    """The error of a product ``key`` the mesh does not have, with the closest names it has."""
    close = difflib.get_close_matches(key, list(mesh.graph), n=3)
    return MeshError(f"no data product '{key[:200]}'", where=where,
                     fix=f"did you mean {', '.join(repr(k) for k in close)}?" if close else
                         "name one of the products `mesh list` shows (or the dashboard's asset graph)")


def check_selection(key: str, *, version: str | None, partition: str | None, first: str | None,
                    last: str | None) -> None:
    """Raise :class:`SelectionError` for what no product can have: a version id that is not one,
    or a partition together with a range."""
    if version is not None and not VERSION_NAME.fullmatch(version):
        raise SelectionError(f"{version[:80]!r} is not a version id (like 20261127T101500123456Z-a1b2c3)",
                             where="query parameter 'version'", fix=f"name one of the versions `mesh history {key}` lists")
    if partition is not None and (first is not None or last is not None):
        raise SelectionError("'partition' and a range ('from', 'to') are given together", where="query parameters",
                             fix="ask for one partition, or for a range from A to B")


def _current(mesh: Mesh, key: str, partition: str | None) -> str:
    """The version served: the asset's (or the partition's) current one; empty for several
    partitions read together (each has its own)."""
    if mesh.graph[key].spec.partitions is not None and partition is None:
        return ""
    return mesh.store().current_version(key, partition) or ""
