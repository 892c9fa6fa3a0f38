"""The commands' hot statements, compiled by SQLAlchemy once per dialect and sent straight to the
driver.

For a one-row statement, SQLAlchemy's execution context, result object and events cost several
times what the driver itself takes (the benchmarks' profile: 61 µs against 18 µs to load a case
on SQLite). For the few statements every command sends, a `Direct` keeps what SQLAlchemy compiled
(the SQL in the driver's paramstyle, each parameter's bind processor, each column's result
processor) and runs it on the DBAPI connection under the caller's `Connection`, inside the
transaction that connection began. Values go in and come out converted exactly as SQLAlchemy
converts them. A driver error comes out as SQLAlchemy's `DBAPIError` (so callers see the same
errors as from `Connection.execute`), and a connection found lost is invalidated. Listeners of the
engine's `before_cursor_execute` event see these statements too (with no execution context), so
whatever watches the SQL an engine sends (the benchmarks' recording, tests) still sees all of it.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Bind:
    name: str  # as the SQL names it
    key: str  # as the caller's parameters name it
    value: Any  # the value a literal in the statement was given
    required: bool  # the caller must give it
    process: Processor | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[_Bind, ...]
    positional: bool
    results: tuple[tuple[int, Processor], ...]  # the columns that need converting

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
    binds = []
    for name in names or ():
        bind = by_name[name]
        if bind.callable is not None:
            raise ValueError(f"{name}: a Direct statement takes plain parameters only")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append(_Bind(name, bind.key, bind.value, bind.required, process))
    results: list[tuple[int, Processor]] = []
    for index, column in enumerate(getattr(statement, "selected_columns", ())):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
    return _Compiled(compiled.string, tuple(binds), compiled.positional, tuple(results))


class Direct:
    """A Core statement run on the driver. For an INSERT or UPDATE, the columns it sets follow
    the keys of the parameters given (each set of keys is compiled once)."""

    def __init__(self, statement: ClauseElement, *, sets_columns: bool = False) -> None:
        self.statement = statement
        self.sets_columns = sets_columns
        # Per dialect object: its processors follow the engine's settings (its JSON serializer).
        self._compiled: WeakKeyDictionary[Dialect, dict[tuple[str, ...], _Compiled]] = (
            WeakKeyDictionary()
        )

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        keys = tuple(sorted(params)) if self.sets_columns else ()
        shapes = self._compiled.get(dialect)
        if shapes is None:
            shapes = self._compiled[dialect] = {}
        found = shapes.get(keys)
        if found is None:
            found = shapes[keys] = _compile(self.statement, dialect, keys)
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run the statement (an INSERT, UPDATE or the like: no rows come back)."""
        compiled = self._for(conn.dialect, params)
        _run(conn, compiled, compiled.parameters(params)).close()

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[list[Any]]:
        """Every row, each value converted as SQLAlchemy converts it."""
        compiled = self._for(conn.dialect, params)
        cursor = _run(conn, compiled, compiled.parameters(params))
        rows = [list(row) for row in cursor.fetchall()]
        cursor.close()
        for row in rows:
            for index, process in compiled.results:
                row[index] = process(row[index])
        return rows


def run_driver_sql(conn: Connection, sql: str) -> None:
    """A statement with no parameters (BEGIN IMMEDIATE), sent as `Direct` sends its own."""
    _run(conn, _Compiled(sql, (), True, ()), ()).close()


def _run(conn: Connection, compiled: _Compiled, parameters: Any) -> Any:
    dialect = conn.dialect
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    if conn.dispatch.before_cursor_execute:
        conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, parameters, None, False)
    try:
        cursor.execute(compiled.sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi_connection, cursor)
        with suppress(dialect.loaded_dbapi.Error):
            cursor.close()
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
    return cursor
