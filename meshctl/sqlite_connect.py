"""``[database] sql_alchemy_connect_args`` of the embedded profile's SQLite metadata DB.

SQLite lets one writer at a time in; a connection that finds the database locked waits for
``timeout`` seconds, then fails (Python's default: 5). With four Airflow processes and the
tasks they run sharing two cores, a write of the API server (a triggered DAG run) can wait
longer than that behind the scheduler's, and it answered 500 "Database error". A minute
covers a busy machine; a lock held that long is a fault worth its error.
"""

from __future__ import annotations

#: Seconds a connection waits for another's write before it fails.
BUSY_TIMEOUT_SECONDS = 60.0

#: The sync engine's connect args (``sqlite3.connect``); Airflow adds ``check_same_thread``.
CONNECT_ARGS: dict[str, object] = {"timeout": BUSY_TIMEOUT_SECONDS}
#: The async engine's (``aiosqlite.connect``, which passes them on to ``sqlite3.connect``).
ASYNC_CONNECT_ARGS: dict[str, object] = {"timeout": BUSY_TIMEOUT_SECONDS}
