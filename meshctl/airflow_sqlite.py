"""Connection arguments for Airflow's SQLite metadata database (the embedded profile).

Airflow imports :data:`CONNECT_ARGS` and :data:`CONNECT_ARGS_ASYNC` by name (``[database]
sql_alchemy_connect_args`` and ``sql_alchemy_connect_args_async``). The scheduler, API server,
dag-processor and triggerers all write to the one SQLite file; with sqlite3's default 5-second
busy timeout, a writer that waits longer on a busy machine gets ``database is locked`` and the
scheduler exits. A minute's wait keeps it alive instead.
"""

#: How long a connection waits for another's write lock, in seconds, before giving up.
BUSY_TIMEOUT_SECONDS = 60.0

#: The ``connect_args`` of Airflow's engine (Airflow adds ``check_same_thread`` to it).
CONNECT_ARGS: dict[str, object] = {"timeout": BUSY_TIMEOUT_SECONDS}

#: The same for its async engine (aiosqlite hands them to ``sqlite3.connect``).
CONNECT_ARGS_ASYNC: dict[str, object] = {"timeout": BUSY_TIMEOUT_SECONDS}
