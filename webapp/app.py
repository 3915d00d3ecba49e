"""The mesh's web app: the executive dashboard, asset pages and the data product read API.

One FastAPI app, served two ways: mounted in Airflow's API server by the plugin
(:mod:`webapp.airflow_plugin`, at ``/mesh``) and standalone by ``mesh serve``. Every link is
made from the request's ``root_path``, so the same pages work under either prefix. The mesh is
loaded on the first request (from ``root``, else ``$MESH_ROOT`` or the working folder) and
again when ``mesh.toml`` changes; the run history and the audit log are read on every page. A
mesh that cannot be loaded, or records that cannot be read, make a page a 503 saying what, where
and the fix (:func:`webapp.problems.unavailable`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.identity import RequestAuthenticator
from governance.identity.replays import DEFAULT_LIMIT, SeenSignatures
from governance.identity.signed_requests import canonical_host, replay_memory
from governance.ops import OperationsView, operations_view
from governance.services import governed
from governance.wiring import load_mesh
from webapp.asset_view import asset_view
from webapp.figures import FiguresCache
from webapp.graph_svg import STATE_COLOURS, graph_svg
from webapp.health import check_available
from webapp.overview import FAILED, WINDOW_DAYS, Overview, RunIndex, overview
from webapp.problems import bad_request, error_page, public_fields, unavailable, unreadable
from webapp.products import no_product, product_router
from webapp.security_headers import Framing, SecurityHeaders
from webapp.server_errors import unexpected_error
from webapp.unproven_refusals import UnprovenRefusals

_log = logging.getLogger(__name__)


@dataclass
class MeshSource:
    """The loaded mesh, loaded once and again when its ``mesh.toml`` changes."""

    root: Path | None = None
    replays: SeenSignatures = field(default_factory=replay_memory)
    hosts: frozenset[str] = frozenset()
    _mesh: Mesh | None = field(default=None, init=False)
    _stamp: float = field(default=0.0, init=False)
    _authenticator: RequestAuthenticator | None = field(default=None, init=False)
    runs: RunIndex = field(default_factory=RunIndex, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def mesh(self) -> Mesh:
        with self._lock:
            if self._mesh is not None and self._policy_stamp(self._mesh) == self._stamp:
                return self._mesh
            mesh = load_mesh(self.root, strict=False)
            self._mesh, self._stamp = mesh, self._policy_stamp(mesh)
            self._authenticator = RequestAuthenticator(mesh.policy, seen=self.replays,  # a reload forgets none
                                                       hosts=self.hosts)
            self.runs = RunIndex()
            return mesh

    def prepare(self) -> Mesh:
        """Load the mesh and read the audit log into the run index now, not on the first page."""
        mesh = self.mesh()  # first: loading a mesh starts a new index
        self.runs.update(governed(mesh).audit)
        return mesh

    def where(self) -> Path:
        """The mesh's folder: the loaded mesh's, else the one given, else ``$MESH_ROOT`` or the working folder."""
        return self._mesh.root if self._mesh is not None else self.root or Path(os.environ.get("MESH_ROOT", "."))

    def authenticator(self) -> RequestAuthenticator:
        self.mesh()
        assert self._authenticator is not None
        return self._authenticator

    @staticmethod
    def _policy_stamp(mesh: Mesh) -> float:
        return mesh.policy.path.stat().st_mtime


def _size(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("webapp", "templates"), autoescape=select_autoescape(["html"]))
    env.globals.update(size=_size, duration=_duration, pct=_pct, failed=FAILED, colours=STATE_COLOURS)
    return env


def trends_json(o: Overview) -> str:
    """The charts' data, safe to embed in a ``<script type="application/json">``."""
    data: dict[str, object] = {"days": list(o.trends.days), "runs": o.trends.runs, "failures": o.trends.failures}
    if o.trends.operations:
        data["sla"] = {d: [None if v is None else round(v * 100, 2) for v in ops.sla_compliance]
                       for d, ops in o.trends.operations.items()}
        data["incidents"] = {d: list(ops.incidents) for d, ops in o.trends.operations.items()}
    return json.dumps(data).replace("<", "\\u003c")


def create_app(root: Path | None = None, *,
               operations: Callable[[Mesh], OperationsView] = operations_view,
               seal_refusals_every: float = 10.0, framing: Framing = "none",
               replay_limit: int = DEFAULT_LIMIT, hosts: Collection[str] = ()) -> FastAPI:
    """The web app of the mesh at ``root``; ``operations`` gives the operational figures (by
    default the operations layer's :func:`governance.ops.operations_view`); the audit log's head
    is signed after unproven callers' refusals at most once per ``seal_refusals_every`` seconds,
    when their repeats are written as summary records (:mod:`webapp.unproven_refusals`). The
    server remembers at most ``replay_limit`` signed requests of the replay window and refuses
    new ones (503) while that many are unexpired. Every answer carries the security headers of
    :mod:`webapp.security_headers`, an unforeseen error's 500 too (:mod:`webapp.server_errors`);
    ``framing="self"`` lets pages of the same origin frame it (Airflow's UI), else no page may.
    ``hosts`` (``name:port``): the only hosts signed requests may be for; none, any.
    Nothing is loaded until the first request."""
    source = MeshSource(root, replay_memory(replay_limit), frozenset(canonical_host(h) for h in hosts))
    refusals = UnprovenRefusals(seal_refusals_every)
    templates = _templates()
    figures = FiguresCache(operations, days=WINDOW_DAYS)

    def current_overview(mesh: Mesh) -> Overview:
        now = dt.datetime.now(dt.UTC)
        snapshot = figures.get(mesh, now)
        return overview(mesh, snapshot, now=now, index=source.runs, usage=snapshot.usage, figures_at=snapshot.at)

    @asynccontextmanager
    async def prepared(_: FastAPI) -> AsyncIterator[None]:
        """Standalone, the server loads the mesh and indexes the audit log before it accepts a
        request. (Mounted in Airflow, where a sub-app's lifespan does not run, the first request does.)"""
        try:
            await asyncio.to_thread(source.prepare)
            await asyncio.to_thread(lambda: figures.refresh(source.mesh(), dt.datetime.now(dt.UTC)))
        except (MeshError, OSError) as exc:  # served anyway: each page says why (see `unavailable`)
            _log.warning("the mesh cannot be shown yet: %s", exc)
        except Exception:  # a fault of the app's own: served anyway, each page a 500 (`server_errors`)
            _log.exception("the dashboard's figures could not be computed")
        for name in ("dashboard.html", "asset.html"):
            templates.get_template(name)  # compiled once, now
        try:
            yield
        finally:
            refusals.close()

    app = FastAPI(title="Data mesh", docs_url=None, redoc_url=None, openapi_url=None, lifespan=prepared)
    app.add_middleware(SecurityHeaders, framing=framing)
    app.add_exception_handler(Exception, unexpected_error(framing))  # the 500: headers, what and the fix

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> Response:
        """A query parameter the route cannot take (``format=xml``): the caller's error, 400."""
        return bad_request(exc)

    @app.exception_handler(MeshError)
    @app.exception_handler(OSError)
    async def mesh_unavailable(request: Request, exc: Exception) -> Response:
        """A mesh that cannot be loaded (a damaged mesh.toml) or records that cannot be read (a
        damaged audit log): 503 with what, where and the fix, never a traceback."""
        assert isinstance(exc, MeshError | OSError)
        _log.warning("%s %s: %s", request.method, request.url.path, exc)
        return unavailable(exc, source.where(), html="/api/" not in request.url.path)

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> str:
        mesh = source.mesh()
        o = current_overview(mesh)
        prefix = base(request)
        return templates.get_template("dashboard.html").render(
            o=o, mesh=o.mesh, base=prefix, regions=list(mesh.regions.storage), trends_json=trends_json(o),
            measured=any(d.health is not None for d in o.domains),
            broken={d: public_fields(e, mesh.root) for d, e in sorted(mesh.errors.items())},
            graph=graph_svg(mesh.graph, o.states, f"{prefix}/assets/"))

    @app.get("/assets/{key}", response_class=HTMLResponse)
    def asset_page(key: str, request: Request) -> Response:
        """An asset's page; an unknown key, a page saying so with the closest names (the
        dashboard names every asset to whoever reaches it, so this tells nothing more)."""
        mesh = source.mesh()
        if key not in mesh.graph:
            error = no_product(key, mesh, where="the asset key in the page's address")
            return error_page(public_fields(error, mesh.root), 404, title="no such asset", heading="No such asset")
        return HTMLResponse(templates.get_template("asset.html").render(
            a=asset_view(mesh, key, index=source.runs), mesh=mesh.policy.settings.name, base=base(request)))

    @app.get("/api/overview")
    def overview_json() -> Response:
        o = current_overview(source.mesh())
        return Response(json.dumps({"mesh": o.mesh, "totals": o.totals(), "domains": [d.name for d in o.domains],
                                    "states": o.states, "trends": json.loads(trends_json(o))}),
                        media_type="application/json")

    @app.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(str(resources.files("plotly") / "package_data" / "plotly.min.js"),
                            media_type="text/javascript")

    @app.get("/static/dashboard.js")
    def dashboard_js() -> FileResponse:
        return FileResponse(str(resources.files("webapp") / "static" / "dashboard.js"), media_type="text/javascript")

    @app.get("/health")
    def health() -> Response:
        """``ok`` only while the mesh is available (:mod:`webapp.health`); else 503 with what is
        wrong, where and the fix."""
        try:
            check_available(source.prepare)
        except (MeshError, OSError) as exc:
            _log.warning("health: %s", exc)
            fields = public_fields(exc if isinstance(exc, MeshError) else unreadable(exc), source.where())
            return JSONResponse({"status": "unavailable", **fields}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.include_router(product_router(source.mesh, source.authenticator, refusals))
    return app
