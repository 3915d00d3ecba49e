"""Statements every run of an asset executes, compiled once and, on SQLite, handed straight to
the driver.

SQLAlchemy caches a statement's compiled form, but each execution still builds an execution
context, dispatches events and wraps the cursor in a result: on SQLite that costs several
times SQLite's own work for a one-row insert or lookup, and an asset's run executes several
(its run record at the start and the end, its START lineage event, its subscribers, its open
incidents, the lineage outbox's pass). :class:`Prepared` keeps such a statement compiled per
dialect and set of parameter names; on SQLite it executes the compiled SQL on the connection's
driver cursor, with the parameters SQLAlchemy would have sent (expanded ``IN`` lists, bind
processors), in the transaction the connection is in. On any other database (PostgreSQL) it is
executed by SQLAlchemy as any statement: the same rows either way.

A driver error is raised as SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError`, as
``Connection.execute`` raises it, so the state database's messages and retries see no difference.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

#: What :class:`Prepared` executes: a ``SELECT``, or an ``INSERT``, ``UPDATE`` or ``DELETE``.
Statement = Select[Any] | UpdateBase


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a statement returned: its rows (tuples, in the statement's column order) and how
    many rows it changed (an ``UPDATE``'s ``rowcount``)."""

    rows: Sequence[Sequence[Any]]
    rowcount: int

    def first(self) -> Sequence[Any] | None:
        return self.rows[0] if self.rows else None

    def scalars(self) -> list[Any]:
        """The first column of every row."""
        return [row[0] for row in self.rows]


class Prepared:
    """``statement`` (or, when it differs by database, ``statement(dialect_name)``), compiled
    once per dialect and set of parameter names (and length of each list an ``IN`` expands),
    executed with :meth:`execute`."""

    def __init__(self, statement: Statement | Callable[[str], Statement]) -> None:
        self._statement = statement
        self._plans: dict[tuple[str, tuple[str, ...], tuple[int, ...]], _Plan] = {}
        self._lock = threading.Lock()

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Outcome:
        """Execute with ``params`` in ``conn``'s transaction."""
        plan = self._plan(conn.dialect, params)
        if plan.compiled is None:  # not SQLite: SQLAlchemy executes it
            result = conn.execute(plan.statement, dict(params))
            return Outcome(result.all() if result.returns_rows else [], result.rowcount)
        sql, arguments = plan.arguments(params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # pysqlite: the sqlite3 connection
        try:
            cursor.execute(sql, arguments)
            rows = cursor.fetchall() if cursor.description is not None else []
            return Outcome(rows, cursor.rowcount)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, arguments, exc, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect) from exc
        finally:
            cursor.close()

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        keys = tuple(sorted(params))
        shape = tuple(len(value) if isinstance(value := params[key], list | tuple) else -1 for key in keys)
        found = self._plans.get((dialect.name, keys, shape))
        if found is not None:
            return found
        with self._lock:
            statement = self._statement if isinstance(self._statement, Select | UpdateBase) else self._statement(dialect.name)
            compiled = statement.compile(dialect=dialect, column_keys=list(keys)) \
                if dialect.name == "sqlite" and _plain_results(statement, dialect) else None
            assert compiled is None or isinstance(compiled, SQLCompiler)
            found = self._plans[(dialect.name, keys, shape)] = _Plan.of(statement, compiled, params)
        return found


#: Where a positional parameter's value comes from: the caller's parameter ``name``
#: (``index`` None), the ``index``-th item of its list (an expanded ``IN``), or, ``name`` None,
#: the ``value`` the statement holds.
_Source = tuple[str | None, int | None, Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement, its compiled form when the driver runs it (``None``: SQLAlchemy does), and,
    for parameters of the names and list lengths it was made for, its SQL and where each
    positional parameter comes from (``None``: SQLAlchemy's expansion is asked each time)."""

    statement: Statement
    compiled: SQLCompiler | None
    sql: str = ""
    order: tuple[_Source, ...] | None = None

    @classmethod
    def of(cls, statement: Statement, compiled: SQLCompiler | None, params: Mapping[str, Any]) -> _Plan:
        if compiled is None or compiled.literal_execute_params or compiled.escaped_bind_names:
            return cls(statement, compiled)
        try:
            state = compiled.construct_expanded_state(params)
        except InvalidRequestError:  # a parameter is missing: SQLAlchemy's own expansion says which, each call
            return cls(statement, compiled)
        if state.processors or state.positiontup is None \
                or any(bind.callable is not None for bind in compiled.binds.values()):  # values known only per call
            return cls(statement, compiled)
        expanded: dict[str, _Source] = {item: (name, index, None) for name, items in state.parameter_expansion.items()
                                        for index, item in enumerate(items)}
        order: list[_Source] = []
        for name in state.positiontup:
            if name in expanded:
                order.append(expanded[name])
            elif name in params:
                order.append((name, None, None))
            else:
                order.append((None, None, compiled.binds[name].effective_value))
        return cls(statement, compiled, state.statement, tuple(order))

    def arguments(self, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """The SQL and positional parameters the driver executes for ``params``."""
        assert self.compiled is not None
        if self.order is not None:
            return self.sql, tuple(value if name is None else params[name] if index is None else params[name][index]
                                   for name, index, value in self.order)
        state = self.compiled.construct_expanded_state(params)
        values = state.parameters
        if state.processors:
            values = {name: state.processors[name](value) if name in state.processors else value
                      for name, value in values.items()}
        return state.statement, tuple(values[name] for name in state.positiontup or ())


def _plain_results(statement: Statement, dialect: Dialect) -> bool:
    """Whether the driver's values of every column ``statement`` returns are the values
    SQLAlchemy would return (no result processor: text, numbers), so its rows can be used as the
    driver gives them."""
    columns = getattr(statement, "exported_columns", ())  # a SELECT's columns, a DML statement's RETURNING
    return all(column.type.dialect_impl(dialect).result_processor(dialect, None) is None for column in columns)
