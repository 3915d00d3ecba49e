"""Creating an Airflow backfill when the API server answers 503 (SQLite under load): asked again
a bounded number of times, then a clear error. Airflow cannot be made to answer 503 on demand,
so a small HTTP server on loopback answers ``/api/v2/backfills`` as its API server does."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from assets.retrying import Backoff
from meshctl.airflow_backfill import BackfillError, create_backfill
from meshctl.local_airflow import AirflowApiError, AirflowClient

DAY = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)


class ApiServer(ThreadingHTTPServer):
    """Answers each ``POST /api/v2/backfills`` with the next status of ``answers`` (then 200),
    and ``GET /api/v2/backfills`` with no backfill running."""

    def __init__(self, answers: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.posts: list[dict[str, object]] = []


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posts.append(body)
        status = self.server.answers.pop(0) if self.server.answers else 200
        text = {"id": len(self.server.posts), **body} if status == 200 else {"detail": "Service Unavailable"}
        self._answer(status, text)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(200, {"backfills": [{"id": 1, "completed_at": "2026-11-27T10:00:00Z"}], "total_entries": 1})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[ApiServer, AirflowClient]]:
    server = ApiServer([])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}", timeout=10) as http:
            yield server, AirflowClient(http)
    finally:
        server.shutdown()
        server.server_close()


def _create(client: AirflowClient, waits: list[float]) -> dict[str, object]:
    return create_backfill(client, "sales.daily_orders", DAY, DAY, max_parallel=4, attempts=4,
                           backoff=Backoff(first=2, factor=2, cap=30), sleep=waits.append)


def test_a_503_is_asked_again_with_back_off_until_the_backfill_is_made(api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    server.answers[:] = [503, 503]
    waits: list[float] = []
    backfill = _create(client, waits)
    assert backfill["id"] == 3 and len(server.posts) == 3
    assert waits == [2.0, 4.0]
    assert {p["reprocess_behavior"] for p in server.posts} == {"failed"}, "a retry makes only what is missing"


def test_after_the_last_503_the_error_says_what_happened_and_what_to_do(api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    server.answers[:] = [503] * 10
    waits: list[float] = []
    with pytest.raises(BackfillError) as refused:
        _create(client, waits)
    assert len(server.posts) == 4 and waits == [2.0, 4.0, 8.0]
    message = str(refused.value)
    assert "Airflow refused all 4 requests to create the backfill of sales.daily_orders, the last with 503" in message
    assert "run the same command again" in message and "Service Unavailable" in message


def test_an_error_that_asking_again_cannot_fix_is_raised_at_once(api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    server.answers[:] = [409]
    waits: list[float] = []
    with pytest.raises(AirflowApiError) as refused:
        _create(client, waits)
    assert refused.value.status == 409 and len(server.posts) == 1 and waits == []
