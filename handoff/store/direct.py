"""The commands' hot statements, compiled by SQLAlchemy once per dialect and sent straight to the
driver.

For a one-row statement, SQLAlchemy's execution context, result object and events cost several
times what the driver itself takes (the benchmarks' profile: 61 µs against 18 µs to load a case
on SQLite). For the few statements every command sends, a `Direct` keeps what SQLAlchemy compiled
(the SQL in the driver's paramstyle, each parameter's bind processor, each column's result
processor, the latter built from the driver's own column types as SQLAlchemy builds them) and runs
it on the DBAPI connection under the caller's `Connection`, inside the transaction that
connection began. Values go in and come out converted as SQLAlchemy converts them.

What stays as with `Connection.execute`: a driver error, while executing or fetching, comes out as
SQLAlchemy's `DBAPIError` subclass, and a connection found lost is invalidated; listeners of the
engine's `before_cursor_execute` event see these statements (with no execution context), so
whatever watches the SQL an engine sends (the benchmarks' recording, tests) still sees all of it.
What is left out: `after_cursor_execute` and `handle_error` events, `echo` logging, and the
pool-wide invalidation after a disconnect (PostgreSQL's pool pings each connection it hands out).
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]
_CACHE = "_handoff_direct"  # where a dialect keeps its compiled Direct statements


@dataclass(frozen=True)
class _Bind:
    name: str  # as the SQL names it
    key: str  # as the caller's parameters name it
    value: Any  # the value a literal in the statement was given
    required: bool  # the caller must give it
    process: Processor | None


@dataclass
class _Compiled:
    sql: str
    binds: tuple[_Bind, ...]
    positional: bool
    types: tuple[TypeEngine[Any], ...] = ()  # of the selected columns
    # (index, processor) of the columns that need converting; made at the first fetch, from
    # the column types the driver describes (SQLAlchemy's numeric processors depend on them).
    results: list[tuple[int, Processor]] | None = field(default=None)

    def parameters(self, given: Mapping[str, Any]) -> Any:
        """The driver's parameters: a missing one the statement needs is a KeyError, as a
        missing one is an error in `Connection.execute`, never a NULL."""
        values = [given[b.key] if b.required else given.get(b.key, b.value) for b in self.binds]
        values = [
            value if b.process is None else b.process(value)
            for value, b in zip(values, self.binds, strict=True)
        ]
        if self.positional:
            return values
        return dict(zip((b.name for b in self.binds), values, strict=True))

    def processors(self, dialect: Dialect, description: Sequence[Any]) -> list[tuple[int, Any]]:
        if self.results is None and not self.types:  # plain SQL: values as the driver gives them
            self.results = []
        if self.results is None:
            made = (
                (i, t.dialect_impl(dialect).result_processor(dialect, column[1]))
                for i, (t, column) in enumerate(zip(self.types, description, strict=True))
            )
            self.results = [(i, process) for i, process in made if process is not None]
        return self.results


def _compile(statement: ClauseElement, dialect: Dialect, keys: Sequence[str]) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError(f"a Direct statement is compiled once, for any values: {compiled.string}")
    if compiled.insert_prefetch or compiled.update_prefetch:
        # A Python-side default SQLAlchemy would compute at execution: give every column instead.
        raise ValueError(f"give every column with a default: {compiled.string}")
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    names = compiled.positiontup if compiled.positional else list(by_name)
    escaped: Mapping[str, str] = compiled.escaped_bind_names or {}
    binds = []
    for name in names or ():
        bind = by_name[name]
        if bind.callable is not None:
            raise ValueError(f"{name}: a Direct statement takes plain parameters only")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append(_Bind(escaped.get(name, name), bind.key, bind.value, bind.required, process))
    types = tuple(c.type for c in getattr(statement, "selected_columns", ()))
    return _Compiled(compiled.string, tuple(binds), compiled.positional, types)


class Direct:
    """A Core statement run on the driver. For an INSERT or UPDATE, the columns it sets follow
    the keys of the parameters given (each set of keys is compiled once)."""

    def __init__(self, statement: ClauseElement, *, sets_columns: bool = False) -> None:
        self.statement = statement
        self.sets_columns = sets_columns

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        # Kept on the dialect (its processors follow the engine's settings, its JSON serializer),
        # so they go when the engine goes.
        cache: dict[tuple[Direct, tuple[str, ...]], _Compiled] = dialect.__dict__.setdefault(
            _CACHE, {}
        )
        shape = (self, tuple(sorted(params)) if self.sets_columns else ())
        found = cache.get(shape)
        if found is None:
            found = cache[shape] = _compile(self.statement, dialect, shape[1])
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run a statement that changes rows, in the transaction `conn` began."""
        if not conn.in_transaction():
            # The driver would run it on its own (SQLite) or have it rolled back (PostgreSQL).
            raise RuntimeError("a Direct write needs a connection that began a transaction")
        compiled = self._for(conn.dialect, params)
        _run(conn, compiled, compiled.parameters(params), fetch=False)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[list[Any]]:
        """Every row, each value converted as SQLAlchemy converts it."""
        compiled = self._for(conn.dialect, params)
        rows: list[list[Any]] = _run(conn, compiled, compiled.parameters(params), fetch=True)
        return rows


def run_driver_sql(conn: Connection, sql: str) -> None:
    """A statement with no parameters (BEGIN IMMEDIATE), sent as `Direct` sends its own."""
    _run(conn, _Compiled(sql, (), True), (), fetch=False)


def _run(conn: Connection, compiled: _Compiled, parameters: Any, *, fetch: bool) -> Any:
    dialect = conn.dialect
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, parameters, None, False)
        cursor.execute(compiled.sql, parameters)
        if not fetch:
            return None
        rows = [list(row) for row in cursor.fetchall()]
        if rows:
            for index, process in compiled.processors(dialect, cursor.description):
                for row in rows:
                    row[index] = process(row[index])
        return rows
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi_connection, cursor)
        if lost:
            conn.invalidate(error)
        raise DBAPIError.instance(
            compiled.sql,
            parameters,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
    finally:
        with suppress(dialect.loaded_dbapi.Error):  # the connection is gone: the error says so
            cursor.close()
