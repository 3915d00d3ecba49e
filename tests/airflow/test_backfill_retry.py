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

from assets.backoff import Backoff
from meshctl.airflow_backfill import (
    BackfillError,
    BackfillRefused,
    backfill_or_runs,
    create_backfill,
)
from meshctl.local_airflow import AirflowApiError, AirflowClient

DAY = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
#: A trigger answer: the run is made, then the server answers 500 anyway.
MADE_THEN_500 = -500


class ApiServer(ThreadingHTTPServer):
    """Answers each ``POST /api/v2/backfills`` with the next status of ``answers`` (then 200),
    and ``GET /api/v2/backfills`` with no backfill running."""

    def __init__(self, answers: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.posts: list[dict[str, object]] = []
        self.refusal = "Service Unavailable"
        self.runs: list[dict[str, object]] = []  # the DAG's runs, as GET dagRuns lists them
        self.triggered: list[dict[str, object]] = []
        self.get_answers: list[int] = []  # statuses of the next GETs (then 200)
        self.trigger_answers: list[int] = []  # statuses of the next POST dagRuns (then 200)
        self.gets = 0


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/dagRuns") and any(t.get("dag_run_id") == body.get("dag_run_id")
                                                  for t in self.server.triggered):
            self._answer(409, {"detail": "the run already exists"})
            return
        if self.path.endswith("/dagRuns") and self.server.trigger_answers:
            status = self.server.trigger_answers.pop(0)
            if status == MADE_THEN_500:  # the run was made, then the answer was lost to an error
                self.server.triggered.append(body)
            self._answer(500 if status == MADE_THEN_500 else status, {"detail": {"reason": "Database error"}})
            return
        if self.path.endswith("/dagRuns"):
            self.server.triggered.append(body)
            self._answer(200, {"dag_run_id": f"manual__{len(self.server.triggered)}", **body})
            return
        self.server.posts.append(body)
        status = self.server.answers.pop(0) if self.server.answers else 200
        text = {"id": len(self.server.posts), **body} if status == 200 else {"detail": self.server.refusal}
        self._answer(status, text)

    def do_GET(self) -> None:  # noqa: N802
        self.server.gets += 1
        if self.server.get_answers:
            self._answer(self.server.get_answers.pop(0), {"detail": "Database is locked"})
            return
        if "/dagRuns" in self.path:
            self._answer(200, {"dag_runs": self.server.runs, "total_entries": len(self.server.runs)})
            return
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


SQLITE_503 = ("Database is locked. Backfill creation is not supported on SQLite under concurrent access. "
              "Please use PostgreSQL or MySQL.")
DAYS = ["2026-11-16", "2026-11-17", "2026-11-18"]


def _backfill_or_runs(client: AirflowClient) -> dict[str, object]:
    return backfill_or_runs(client, "sales.daily_orders", DAYS, DAY, DAY + dt.timedelta(days=2), max_parallel=4,
                            conf={"seed": 3}, attempts=2, backoff=Backoff(first=0, factor=1, cap=0),
                            sleep=lambda _: None)


def test_when_sqlite_refuses_the_backfill_each_missing_partition_gets_a_run(
        api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    server.answers[:], server.refusal = [503] * 10, SQLITE_503
    server.runs[:] = [{"partition_key": "2026-11-17", "state": "success"}]  # already done: not run again
    made = _backfill_or_runs(client)
    assert len(server.posts) == 2, "the backfill was asked for first, with its retries"
    assert [(t["partition_key"], t["conf"]) for t in server.triggered] == [("2026-11-16", {"seed": 3}),
                                                                           ("2026-11-18", {"seed": 3})]
    assert made["partitions"] == ["2026-11-16", "2026-11-18"] and "SQLite" in str(made["refused"])


def test_a_backfill_made_at_last_is_used_and_other_refusals_are_not_replaced_by_runs(
        api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    server.answers[:], server.refusal = [503], SQLITE_503
    assert _backfill_or_runs(client) == {"backfill_id": 2, "partitions": DAYS} and server.triggered == []
    server.answers[:], server.refusal = [503] * 10, "Service Unavailable"  # an overloaded proxy, not SQLite
    with pytest.raises(BackfillRefused) as refused:
        _backfill_or_runs(client)
    assert not refused.value.on_sqlite and server.triggered == [] and "run the same command again" in str(refused.value)


def test_a_read_or_an_unpause_is_asked_again_after_a_database_error(api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    waits: list[float] = []
    retrying = AirflowClient(client.http, sleep=waits.append)
    server.get_answers[:] = [500, 503]
    assert retrying.backfills("sales.daily_orders")[0]["id"] == 1
    assert server.gets == 3 and waits == [1.0, 2.0]
    server.get_answers[:] = [503] * 5
    with pytest.raises(AirflowApiError) as failed:
        retrying.backfills("sales.daily_orders")
    assert failed.value.status == 503 and server.gets == 6, "three tries in all, then the last answer"


def test_a_triggered_run_is_asked_again_after_a_database_error_and_made_once(
        api: tuple[ApiServer, AirflowClient]) -> None:
    server, client = api
    waits: list[float] = []
    retrying = AirflowClient(client.http, sleep=waits.append)
    server.trigger_answers[:] = [500]  # not made: the second try makes it
    run_id = retrying.trigger("sales.orders", {"scale": 10})
    assert [t["dag_run_id"] for t in server.triggered] == [run_id] and waits == [1.0]
    server.trigger_answers[:] = [MADE_THEN_500]  # made, but answered 500: the second try is told 409
    again = retrying.trigger("sales.orders", {"scale": 10})
    assert again != run_id and [t["dag_run_id"] for t in server.triggered] == [run_id, again]
    server.trigger_answers[:] = [503] * 5
    with pytest.raises(AirflowApiError) as failed:
        retrying.trigger("sales.orders")
    assert failed.value.status == 503 and len(server.triggered) == 2
