"""The dashboard in a real headless browser (Debian's chromium driven by Playwright), served by
the app in a thread and by `mesh serve` in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from meshctl.local_airflow import free_port
from tests.webapp.conftest import ServedMesh
from webapp import create_app
from webapp.browser import serving, visit_dashboard

MESH = str(Path(sys.executable).parent / "mesh")


def test_the_dashboard_in_chromium(served_mesh: ServedMesh, tmp_path: Path) -> None:
    shot = tmp_path / "dashboard.png"
    with serving(create_app(served_mesh.root)) as url:
        visit = visit_dashboard(url, screenshot=shot, click="finance.revenue")
    assert visit.console_errors == ()
    assert set(visit.domains) == set(served_mesh.mesh.policy.active_domains)
    assert visit.charts_drawn >= 2
    assert visit.graph_nodes == len(served_mesh.mesh.graph)
    assert visit.asset_url is not None and visit.asset_url.endswith("/assets/finance.revenue")
    assert visit.asset_title == "finance.revenue"
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "mesh serve exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"mesh serve did not answer at {url}"
        time.sleep(0.2)


def test_mesh_serve_serves_the_dashboard_on_loopback(served_mesh: ServedMesh) -> None:
    port = free_port(1)
    process = subprocess.Popen([MESH, "serve", "--root", str(served_mesh.root),
                                "--port", str(port)], env=os.environ.copy(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", process)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=60)
        assert page.status_code == 200
        assert all(f'data-domain="{d}"' in page.text for d in served_mesh.mesh.policy.active_domains)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_mesh_serve_screenshot_writes_the_png_the_readme_shows(served_mesh: ServedMesh, tmp_path: Path) -> None:
    shot = tmp_path / "readme.png"
    done = subprocess.run([MESH, "serve", "--root", str(served_mesh.root),
                           "--screenshot", str(shot)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("where", "says"), [("shot.txt", "PNG or JPEG"), ("folder.png", "is a folder"),
                                             ("/proc/nope/shot.png", "cannot make the folder")],
                         ids=["not a picture", "a folder", "cannot be made"])
def test_mesh_serve_screenshot_to_a_place_it_cannot_write_is_one_error(served_mesh: ServedMesh, tmp_path: Path,
                                                                       where: str, says: str) -> None:
    (tmp_path / "folder.png").mkdir()
    done = subprocess.run([MESH, "serve", "--root", str(served_mesh.root), "--screenshot", str(tmp_path / where)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1 and says in done.stderr and "Fix:" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("prefix", ["/mesh"])
def test_links_follow_the_mount_prefix(served_mesh: ServedMesh, prefix: str) -> None:
    """Mounted under a prefix (as in Airflow's API server), every link and script keeps it."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    outer = FastAPI()
    outer.mount(prefix, create_app(served_mesh.root))
    with TestClient(outer) as http:
        page = http.get(f"{prefix}/").text
        assert f'src="{prefix}/static/plotly.min.js"' in page and f'href="{prefix}/assets/sales.orders"' in page
        assert http.get(f"{prefix}/static/plotly.min.js").status_code == 200
        assert http.get(f"{prefix}/assets/sales.orders").status_code == 200
