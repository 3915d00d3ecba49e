"""The state database: one SQLAlchemy engine per process, migrated on first use, and the three
ways the stores use it.

- :meth:`StateDatabase.read`: a transaction that only reads.
- :meth:`StateDatabase.write`: a transaction that writes, serialised where it must be: on
  SQLite it begins ``IMMEDIATE`` (the database's write lock, taken at once, so two writers never
  deadlock upgrading their read locks); on PostgreSQL a ``lock`` name takes a transaction-scoped
  advisory lock (``pg_advisory_xact_lock``), released by the commit or rollback.
- :meth:`StateDatabase.exclusive`: one holder at a time across processes and hosts for work
  that is not one transaction (sending the lineage outbox): a session advisory lock on
  PostgreSQL, an ``flock`` beside the file on SQLite (which is on one machine anyway).
- :meth:`StateDatabase.joined`: a block in which one thread's reads and writes that need no
  sync to disk share one transaction (the records of one run's start, or of its end).

The first process to open a database brings it to the newest revision
(:mod:`governance.state.revisions`) under the same kind of lock, so concurrent starters migrate
it once; a database newer than the code is refused, never written.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from assets.atomic import atomic_write
from assets.errors import StorageError
from assets.named_files import NotRegularFile, read_named_file, require_regular
from governance.state.revisions import HEAD, REVISIONS, current_revision, upgrade
from assets.stored_json import load_json

_T = TypeVar("_T")
#: How long a writer waits for a busy SQLite database before giving up.
BUSY_SECONDS = 30.0
MIGRATION_LOCK = "migrate"
#: The ``sqlite_synchronous`` of a transaction that only reads: whatever the connection has.
_UNCHANGED = "unchanged"
#: The most bytes of the ``.created`` marker read (a timestamp and a revision; a larger file is no marker).
_MAX_MARKER_BYTES = 4096


class StateError(StorageError):
    """The state database cannot be reached, read or written."""


class SchemaVersionError(StateError):
    """The state database was written by a newer version of the mesh than this one."""


@dataclass(frozen=True, slots=True)
class StateDatabase:
    """The database at SQLAlchemy ``url`` (its password, if any, in the environment variable
    ``password_env``). ``where`` names it in messages (never with a password)."""

    url: str
    where: str
    password_env: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file this database is kept in (``None``: a server's, or SQLite in memory)."""
        return _sqlite_file_of(self.url)

    def engine(self) -> Engine:
        """This process's engine, the database migrated to the newest revision."""
        return _engine(self.url, self.where, self.password_env)

    def ready(self) -> None:
        """Raise :class:`StateError` unless the database can take records now: opened (and
        migrated) once per process, and, for a SQLite file, still the file it opened (one
        deleted or replaced since is opened again, and refused if this mesh made it)."""
        key = _engine_key(self.url, self.where, self.password_env)
        self.engine()
        path = self.sqlite_path
        if path is None:
            return
        try:
            same = _identity_of(path) == _OPENED.get(key)
        except OSError:
            same = False
        if not same:
            with _ENGINES_LOCK:
                gone = _ENGINES.pop(key, None)
                _OPENED.pop(key, None)
            if gone is not None:
                gone.dispose()
            self.engine()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reading (in a :meth:`joined` block, the block's)."""
        block = _joined_block(self.url)
        if block is not None:
            with self._errors(), block.using() as conn:
                yield conn
            return
        _count(self.url)
        with self._errors(), self.engine().connect() as conn:
            with conn.execution_options(sqlite_synchronous=_UNCHANGED).begin():  # a read syncs nothing
                yield conn

    @contextmanager
    def write(self, *, lock: str | None = None, durable: bool = True) -> Iterator[Connection]:
        """A transaction for writing, committed when the block ends without an error. With
        ``lock``, writers naming the same lock run one after the other (on SQLite every writer
        does). A commit that is not ``durable`` survives a crash of the process but maybe not a
        power cut (no sync to disk: SQLite's ``synchronous=NORMAL``, PostgreSQL's
        ``synchronous_commit = off``); never for the audit log or the run history.

        In a :meth:`joined` block, a write that is not ``durable`` is one savepoint of the block's
        transaction (an error undoes that write's changes, not the block's); a ``durable`` one
        first commits what the block wrote so far, then takes a transaction of its own (inside an
        open read or write of the block it cannot: :class:`RuntimeError`)."""
        block = _joined_block(self.url)
        if block is not None and not (durable and block.commit_if_idle()):
            if durable:  # SQLite cannot make a begun transaction sync its commit: never a silent downgrade
                raise RuntimeError("a durable write inside an open read or write of a joined block: "
                                   "end that read or write first")
            with self._errors(), block.savepoint(lock) as conn:
                yield conn
            return
        _count(self.url)
        with self._errors(), self.engine().connect() as conn:
            with self._begin_write(conn, lock=lock, durable=durable):
                yield conn

    def _begin_write(self, conn: Connection, *, lock: str | None, durable: bool) -> Any:
        """Begin the write transaction of ``conn`` (returned, to commit or roll back)."""
        conn = conn.execution_options(sqlite_begin="IMMEDIATE", sqlite_synchronous="FULL" if durable else "NORMAL")
        transaction = conn.begin()
        if not self.is_sqlite:
            if not durable:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            take_lock(conn, lock)
        return transaction

    @contextmanager
    def joined(self) -> Iterator[None]:
        """A block in which this thread's reads and writes on this database that need no sync to
        disk share one transaction, begun by the first of them (as a write) and committed when the
        block ends, or rolled back if it raises. It saves transactions and promises nothing more:
        a ``durable`` write, or an :meth:`exclusive` lock, in the block first commits what the
        block wrote so far (taking that cross-process lock while holding the database's write lock
        could deadlock with a holder of it waiting to write); the block goes on in a new
        transaction. A block inside a block is the outer one."""
        blocks = _joined_blocks()
        if self.url in blocks:
            yield
            return
        block = blocks[self.url] = _Joined(self)
        try:
            with self._errors():
                try:
                    yield
                except BaseException:
                    block.end(commit=False)
                    raise
                then = block.end(commit=True)
        finally:
            del blocks[self.url]
        for call in then:  # the block is gone: what they read or write takes transactions of its own
            call()

    def after_commit(self, then: Callable[[], object]) -> None:
        """Call ``then`` once what this thread wrote is committed: at once, or, in a :meth:`joined`
        block with a transaction open, after its commit (not at all if it is rolled back)."""
        block = _joined_block(self.url)
        if block is None or not block.open:
            then()
        else:
            block.then.append(then)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` across processes (and hosts, on PostgreSQL) for the block. In a
        :meth:`joined` block, what the block wrote so far is committed first, and the block's
        reads and writes take transactions of their own until the lock is released (so an
        outbox commits what it recorded before it sends, and marks what it sent, as it says)."""
        blocks = _joined_blocks()
        block = blocks.get(self.url)
        if block is not None:
            with self._errors():
                if block.commit_if_idle():
                    del blocks[self.url]
                else:
                    block = None
        try:
            with self._exclusive(name):
                yield
        finally:
            if block is not None:
                blocks[self.url] = block

    @contextmanager
    def _exclusive(self, name: str) -> Iterator[None]:
        path = self.sqlite_path
        if self.is_sqlite and path is None:  # SQLite in memory is this process's alone
            with _IN_MEMORY_LOCK:
                yield
            return
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(f"{path}.{name}.lock", "a+b") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            return
        with self._errors(), self.engine().connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(name)})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)})

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            raise _state_error(exc, self.where) from None


def take_lock(conn: Connection, lock: str | None) -> None:
    """On PostgreSQL, take the transaction-scoped advisory lock ``lock`` (SQLite's writers are
    serialised already)."""
    if lock is not None and conn.dialect.name != "sqlite":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(lock)})


def run_sql(conn: Connection, sql: str) -> None:
    """Execute ``sql``, a statement without parameters or rows (``BEGIN``, ``SAVEPOINT``, a
    ``PRAGMA`` that sets), on ``conn``: on SQLite by the driver itself (SQLAlchemy's execution
    costs more than SQLite's own work for these, and every run of an asset executes several),
    a failure raised as SQLAlchemy raises it; elsewhere by SQLAlchemy."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(sql)
        return
    try:
        conn.connection.dbapi_connection.execute(sql)  # type: ignore[union-attr]  # pysqlite: the sqlite3 connection
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


class _Joined:
    """The transaction of one :meth:`StateDatabase.joined` block: begun when first used, on one
    pooled connection; ``uses`` counts the reads and writes open in it."""

    def __init__(self, database: StateDatabase) -> None:
        self.database = database
        self.uses = 0
        self.then: list[Callable[[], object]] = []  # called after the commit
        self._conn: Connection | None = None
        self._transaction: Any = None

    @property
    def open(self) -> bool:
        return self._conn is not None

    @contextmanager
    def using(self) -> Iterator[Connection]:
        if self._conn is None:
            _count(self.database.url)
            conn = self.database.engine().connect()
            try:
                self._transaction = self.database._begin_write(conn, lock=None, durable=False)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        self.uses += 1
        try:
            yield self._conn
        finally:
            self.uses -= 1

    @contextmanager
    def savepoint(self, lock: str | None) -> Iterator[Connection]:
        with self.using() as conn:
            take_lock(conn, lock)
            name = f"joined_{self.uses}"
            run_sql(conn, f"SAVEPOINT {name}")
            try:
                yield conn
            except BaseException:
                try:
                    run_sql(conn, f"ROLLBACK TO SAVEPOINT {name}")
                    run_sql(conn, f"RELEASE SAVEPOINT {name}")
                except DBAPIError:  # the database ended the whole transaction itself: the block's commit says so
                    pass
                raise
            run_sql(conn, f"RELEASE SAVEPOINT {name}")

    def commit_if_idle(self) -> bool:
        """Commit what the block wrote so far, unless a read or write of it is still open (then
        what comes next joins it); whether it was committed."""
        if self.uses:
            return False
        for call in self.end(commit=True):
            call()
        return True

    def end(self, *, commit: bool) -> list[Callable[[], object]]:
        """Commit or roll back; what waits for the commit, to call once it is done."""
        conn, transaction, self._conn, self._transaction = self._conn, self._transaction, None, None
        then, self.then = self.then, []
        if conn is None:
            return []
        try:
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
        finally:
            conn.close()
        return then if commit else []


_LOCAL = threading.local()


def _joined_blocks() -> dict[str, _Joined]:
    """This thread's open :meth:`StateDatabase.joined` blocks, by database URL."""
    blocks: dict[str, _Joined] | None = getattr(_LOCAL, "blocks", None)
    if blocks is None:
        blocks = _LOCAL.blocks = {}
    return blocks


def _joined_block(url: str) -> _Joined | None:
    blocks: dict[str, _Joined] | None = getattr(_LOCAL, "blocks", None)
    return blocks.get(url) if blocks else None


_TRANSACTIONS: dict[str, int] = {}
_TRANSACTIONS_LOCK = threading.Lock()


def _count(url: str) -> None:
    with _TRANSACTIONS_LOCK:
        _TRANSACTIONS[url] = _TRANSACTIONS.get(url, 0) + 1


def transactions(database: StateDatabase) -> int:
    """How many transactions (reads and writes) this process has begun on ``database``: what
    the engine's cost per asset is counted in (tests, benchmarks)."""
    with _TRANSACTIONS_LOCK:
        return _TRANSACTIONS.get(database.url, 0)


def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of a lock name (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(b"mesh-state:" + name.encode()).digest()[:8], "big", signed=True)


#: How SQLite (SQLITE_FULL, SQLITE_IOERR: the write-ahead log or its index cannot grow) and
#: PostgreSQL say a write found no room on the disk.
_DISK_FAILED = ("database or disk is full", "disk I/O error", "No space left on device", "could not extend file")


def _state_error(exc: DBAPIError, where: str) -> StateError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    if "not a database" in reason or "malformed" in reason:
        return StateError(f"the state database is not a readable SQLite database ({reason})", where=where,
                          fix="restore it from a copy; or move the file and its .created marker aside and run again: "
                              "a new, empty database is made (the run history and undelivered lineage events it "
                              "held are lost)")
    if any(sign in reason for sign in _DISK_FAILED):
        return StateError(f"the state database could not be written ({reason}): its disk is full or failing",
                          where=where, fix="free space on the disk that holds it (df; the database server's data "
                                           "disk for PostgreSQL) and check the system log for disk errors, then run "
                                           "the command again: what failed was not committed")
    if isinstance(exc, OperationalError) and ("connect" in reason or "connection" in reason):
        return StateError(f"the state database cannot be reached ({reason})", where=where,
                          fix="start the database server (scripts/services.sh start), or correct [state].url and "
                              "[state].password_env in mesh.toml")
    return StateError(f"the state database failed: {reason}", where=where,
                      fix="check the database server's log; run the command again once it answers")


_ENGINES: dict[tuple[str, str, str | None, int], Engine] = {}
#: The SQLite file each engine opened (:meth:`StateDatabase.ready` checks it is still there).
_OPENED: dict[tuple[str, str, str | None, int], tuple[int, int]] = {}
_ENGINES_LOCK = threading.Lock()
_IN_MEMORY_LOCK = threading.RLock()
_FORK_HOOK: list[bool] = []


def _engine_key(url: str, where: str, password_env: str | None) -> tuple[str, str, str | None, int]:
    """The key of this process's engine of a database in :data:`_ENGINES` and :data:`_OPENED`."""
    return url, where, password_env, os.getpid()


@lru_cache(maxsize=64)
def _sqlite_file_of(url: str) -> Path | None:
    """:func:`_sqlite_file` of a URL given as text, worked out once (every run of an asset asks
    :meth:`StateDatabase.ready`, which needs it)."""
    return _sqlite_file(url)


def _sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite URL names; ``None`` for another database or SQLite in memory."""
    target = make_url(url)
    if not target.drivername.startswith("sqlite") or target.database in (None, "", ":memory:"):
        return None
    return Path(target.database)


def _engine(url: str, where: str, password_env: str | None) -> Engine:
    """One engine per database and process: a forked child makes its own (:func:`_after_fork`)."""
    key = _engine_key(url, where, password_env)
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            if not _FORK_HOOK:
                os.register_at_fork(after_in_child=_after_fork)
                _FORK_HOOK.append(True)
            _ENGINES[key] = _new_engine(url, where, password_env)
            path = _sqlite_file(url)
            if path is not None:
                try:
                    _OPENED[key] = _identity_of(path)
                except OSError:
                    pass
        return _ENGINES[key]


def _identity_of(path: Path) -> tuple[int, int]:
    """Which file ``path`` is (device, inode): a file deleted and made again is another."""
    found = path.stat()
    return found.st_dev, found.st_ino


def _after_fork() -> None:
    """A forked child must not use its parent's pooled connections: it leaves them alone."""
    for key, engine in list(_ENGINES.items()):
        if key[3] != os.getpid():
            engine.dispose(close=False)
            del _ENGINES[key]
            _OPENED.pop(key, None)


def _new_engine(url: str, where: str, password_env: str | None) -> Engine:
    target = make_url(url)
    if password_env is not None:
        password = os.environ.get(password_env)
        if password is None:
            raise StateError(f"the environment variable {password_env} that [state].password_env names is not set",
                             where=where, fix=f"export {password_env} with the state database's password")
        target = target.set(password=password)
    if (path := _sqlite_file(target)) is not None:
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            _refuse_special(file, where=str(file) if file != path else where)
    engine = _sqlite_engine(target) if target.drivername.startswith("sqlite") else \
        create_engine(target, pool_pre_ping=True, pool_size=2, max_overflow=8, connect_args={"connect_timeout": 10})
    try:
        _migrate(engine, where)
    except DBAPIError as exc:
        engine.dispose()
        raise _state_error(exc, where) from None
    except BaseException:
        engine.dispose()
        raise
    return engine


def _refuse_special(path: Path, where: str) -> None:
    """Refuse a SQLite state file (the database, its -wal or its -shm file) that is a FIFO, a
    folder, a device or a symbolic link, before SQLite opens it: SQLite reports a FIFO as a
    failing disk and a folder as a server that does not answer, and reads or writes through a
    link (to /dev/zero, or to a file elsewhere)."""
    try:
        require_regular(os.lstat(path), str(path))
    except FileNotFoundError:  # made by the first use
        return
    except NotRegularFile as exc:
        fix = ("move it aside (mv it to a .bak name): SQLite makes its shared-memory file again" if
               path.name.endswith("-shm") else
               "move it aside (mv it to a .bak name) and restore the state database (its file and -wal file) from "
               "your copy of .mesh/state; to keep the state elsewhere, name that file in [state] url in mesh.toml "
               "instead of linking it")
        raise StateError(f"it is {exc.strerror}, so the state database cannot be kept in it", where=where,
                         fix=fix) from None
    except OSError as exc:
        raise StateError(f"the state database cannot be opened: {exc.strerror}", where=where,
                         fix="check the folder that holds it exists and is readable") from None


def _sqlite_engine(url: URL) -> Engine:
    """SQLite in WAL mode (readers beside a writer), transactions begun by the mesh itself
    (``BEGIN IMMEDIATE`` for writers), each commit synced unless the writer said it need not be."""
    Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN: the "begin" event below does it
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
        # Switching to WAL while another connection writes fails at once ("database is locked"),
        # without waiting on the busy timeout: retry until it is free.
        patiently(lambda: dbapi_connection.execute("PRAGMA journal_mode=WAL"))

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        synchronous = options.get("sqlite_synchronous", "FULL")
        info = conn.connection.info  # kept with the pooled connection: set again only when it changes
        if synchronous != _UNCHANGED and info.get("synchronous") != synchronous:
            run_sql(conn, f"PRAGMA synchronous = {synchronous}")
            info["synchronous"] = synchronous
        run_sql(conn, f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")

    return engine


def _migrate(engine: Engine, where: str) -> None:
    """Bring the database to :data:`HEAD`, once across concurrent starters."""
    marker = _created_marker(engine)
    # before the revision: a concurrent first use may mark it. A link there counts, dangling or
    # not (exists() follows it: a dangling one would turn this guard off for good).
    marked = marker is not None and os.path.lexists(marker)
    with engine.connect() as conn:
        with conn.begin():
            found = current_revision(conn)
        if found == HEAD:
            _mark_created(marker)
            return
        _refuse_newer(found, where)
        if marked and found is None and marker is not None:
            _refuse_emptied(marker, where)
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(MIGRATION_LOCK)})
            found = current_revision(conn)  # another process may have migrated it meanwhile
            _refuse_newer(found, where)
            if found != HEAD:
                upgrade(conn)
    _mark_created(marker)  # only once the schema is committed: a marker never stands for an empty file


def _created_marker(engine: Engine) -> Path | None:
    """The file beside a SQLite state database that says it was made (``<file>.created``).

    SQLite opens an emptied or deleted file as a new, empty database; without this marker the
    run history, audit log and outboxes it held would be silently started afresh. (A
    PostgreSQL database is the server's to keep: a dropped one fails to connect.)"""
    path = _sqlite_file(engine.url)
    return None if path is None else Path(f"{path}.created")


def _mark_created(marker: Path | None) -> None:
    if marker is None or os.path.lexists(marker):
        return
    stamp = json.dumps({"created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "revision": HEAD})
    try:
        atomic_write(marker, stamp.encode(), mode=0o600, exclusive=True)  # another process's marker may win
    except OSError:  # a read-only or full folder: the database works without it, marked by the next writer
        pass


def _refuse_emptied(marker: Path, where: str) -> None:
    try:
        made = str(load_json(read_named_file(marker, _MAX_MARKER_BYTES)).get("created_at", "?"))[:40]
    except (OSError, ValueError, AttributeError):
        made = "?"
    raise StateError(
        f"the state database is empty or missing, but this mesh made it (at {made}): the run history and the "
        "lineage and alert outboxes it held were deleted or emptied, and are not started afresh silently",
        where=where, fix="restore the file (and its -wal file) from your copy of .mesh/state (`mesh dr backup` does "
                         f"not hold it); or, to start the state afresh and lose what it held, move {marker.name} aside")


def _refuse_newer(found: str | None, where: str) -> None:
    if found is not None and found not in REVISIONS:
        raise SchemaVersionError(
            f"the state database is at schema revision {found}, which this mesh does not know (its newest is {HEAD})",
            where=where, fix="run the newer mesh version that wrote it (uv sync in an up-to-date checkout); or, to "
                             "start the state afresh and lose it, point [state].url at a new database")


def patiently(step: Callable[[], _T], seconds: float = BUSY_SECONDS) -> _T:
    """Run ``step``, again while SQLite answers that the database is locked or busy (for up to
    ``seconds``), so a write waits for another writer instead of being dropped."""
    deadline, pause = time.monotonic() + seconds, 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def dispose_engines() -> None:
    """Close every connection this process holds to any state database (tests, and a command
    that is done with its mesh)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _OPENED.clear()
