"""The dashboard in a real headless browser: Debian's chromium, driven by Playwright.

Used by the browser tests, by ``mesh serve --screenshot`` and by the README's screenshot, so the
picture in the README is made by the code the tests check. ``scripts/browser.sh`` installs
chromium when it is missing (no browser is downloaded from anywhere else); ``$MESH_CHROMIUM``
names another binary. Playwright is a development dependency (``uv sync`` installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assets.errors import MeshError

if TYPE_CHECKING:
    from fastapi import FastAPI

VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1400, 1000


class BrowserError(MeshError):
    """The headless browser is missing or the page could not be loaded."""


def chromium_path() -> str:
    """The chromium binary: ``$MESH_CHROMIUM``, else ``chromium`` on the PATH."""
    found = os.environ.get("MESH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise BrowserError("no chromium browser is installed", where="PATH",
                           fix="run `bash scripts/browser.sh` (installs Debian's chromium), or set MESH_CHROMIUM")
    return found


@contextmanager
def serving(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="mesh-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise BrowserError("the web app did not start", where=f"{host}:{port}", fix="read the log above")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True, slots=True)
class PageVisit:
    """What the browser saw on the dashboard: console errors, domains shown, charts with drawn
    traces, asset graph nodes, and the asset page a click reached."""

    console_errors: tuple[str, ...]
    domains: tuple[str, ...]
    charts_drawn: int
    graph_nodes: int
    asset_url: str | None
    asset_title: str | None
    screenshot: Path | None


@contextmanager
def _page() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserError("Playwright is not installed", where="python environment",
                           fix="run `uv sync` (Playwright is a development dependency)") from None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser.new_page(viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
        finally:
            browser.close()


def _picture_file(path: Path) -> Path:
    """``path``, checked before the browser starts: a PNG or JPEG file name (what Playwright
    writes) in a folder that exists or can be made, not a folder itself."""
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise BrowserError(f"'{path}' does not name a PNG or JPEG file", where="--screenshot",
                           fix="end the file name in .png (or .jpg)")
    if path.is_dir():
        raise BrowserError(f"'{path}' is a folder", where="--screenshot", fix="name a file in it, e.g. dashboard.png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BrowserError(f"cannot make the folder '{path.parent}': {exc.strerror or exc}", where="--screenshot",
                           fix="name a file in a folder you can write") from None
    return path


def visit_dashboard(url: str, *, screenshot: Path | None = None, click: str | None = None,
                    timeout_ms: int = 60_000) -> PageVisit:
    """Load the dashboard at ``url``, wait for its charts, save a full-page ``screenshot``, and
    click the graph node of asset ``click`` (the first node if ``click`` is ``""``)."""
    if screenshot is not None:
        _picture_file(screenshot)
    with _page() as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(timeout_ms)
        response = page.goto(url.rstrip("/") + "/", wait_until="load")
        if response is None or not response.ok:
            raise BrowserError(f"the dashboard answered {response.status if response else 'nothing'}", where=url,
                               fix="read the web app's log")
        page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 2")
        domains = tuple(page.eval_on_selector_all("#domains tr[data-domain]", "rows => rows.map(r => r.dataset.domain)"))
        charts = page.eval_on_selector_all(".chart", "els => els.filter(e => e.querySelectorAll('svg.main-svg g.trace').length > 0).length")
        nodes = page.eval_on_selector_all("svg.asset-graph a.node", "els => els.length")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        asset_url = title = None
        if click is not None:
            selector = f'svg.asset-graph a.node[data-key="{click}"]' if click else "svg.asset-graph a.node"
            page.locator(selector).first.click()
            page.wait_for_selector("#asset-key")
            asset_url, title = page.url, page.inner_text("#asset-key")
        return PageVisit(tuple(errors), domains, int(charts), int(nodes), asset_url, title, screenshot)


def take_screenshot(url: str, path: Path) -> PageVisit:
    """A full-page PNG of the dashboard at ``url``; refuses a page with console errors."""
    visit = visit_dashboard(url, screenshot=path)
    if visit.console_errors:
        raise BrowserError(f"the dashboard logged errors: {'; '.join(visit.console_errors)[:300]}", where=url,
                           fix="fix the page before taking its picture")
    return visit
