"""Plain SQL on the driver's own connection, with explicit converters.

A command sends a handful of one-row statements; through SQLAlchemy's execution context and result
objects each costs several times what the driver takes (the benchmarks' profile). So the case store
writes its few statements as SQL text with `:name` parameters and runs them on the DBAPI
connection under the caller's SQLAlchemy `Connection` (its public `connection.driver_connection`),
inside the transaction that connection began. Values are converted here, per column kind and per
database, explicitly: nothing of SQLAlchemy's compiler or instrumentation is used.

Driver errors come out as SQLAlchemy's (`DBAPIError.instance`), and a connection found lost is
invalidated, as with `Connection.execute`. Whoever wants to see these statements (tests, the
benchmarks) registers with `watching`.

A request's work on PostgreSQL runs on the event loop (`Database.on_the_loop`): the connection is
then psycopg's asyncio one (reached through `driver.Driver`), and each round trip's statements go
as one query text of prepared statements (handoff.store.driver) instead of a pipeline.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import IsolationLevel
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from handoff.store.driver import Driver, Numbered, bound, prepared_on, send_together
from handoff.store.values import is_sqlite

Watcher = Callable[[str, Mapping[str, Any]], None]
_watchers: list[Watcher] = []


@contextmanager
def watching(watcher: Watcher) -> Iterator[None]:
    """Call `watcher(sql, params)` before each statement this module sends, while inside."""
    _watchers.append(watcher)
    try:
        yield
    finally:
        _watchers.remove(watcher)


class Statement:
    """One SQL text with `:name` parameters, sent as it is to SQLite and in psycopg's
    `%(name)s` style to PostgreSQL."""

    def __init__(self, sql: str, *, postgres_tail: str = "") -> None:
        """`postgres_tail`: what PostgreSQL alone is sent at the end (a row lock's FOR SHARE)."""
        self.sql = " ".join(sql.split())
        postgres = f"{self.sql} {postgres_tail}".strip()
        self.numbered = Numbered.of(postgres)  # its text for psycopg, and for PREPARE (driver)

    def text_for(self, conn: Connection) -> str:
        return self.sql if is_sqlite(conn) else self.numbered.pyformat

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        return list(run(conn, self, params or {}, fetch=True))

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        return int(run(conn, self, params or {}, fetch=False))


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements sent inside go at once (psycopg's pipeline mode) and are
    answered on leaving, where a failed one raises; a statement whose rows are asked for waits
    for its answer. Rows counts are unknown inside (-1). On the event loop, the statements of no
    rows are held and sent with the next that has rows, or on leaving, as one query text. SQLite
    runs them one by one."""
    if is_sqlite(conn) or _BATCH in conn.info:
        yield
        return
    driver = Driver(conn)
    if driver.is_async:  # one query text (handoff.store.driver)
        info = conn.info  # (a connection found lost has none to give any more)
        info[_BATCH] = []
        try:
            yield
            held = _held(conn)
            if held:
                _send_together(conn, driver, held)
        finally:
            info.pop(_BATCH, None)
        return
    try:
        with driver.pipeline():
            begin = conn.info.pop(_BEGIN_OWED, None)
            if begin is not None:
                _send(driver, begin)
            yield
    except conn.dialect.loaded_dbapi.Error as error:
        raise _wrapped(conn, error, "(pipelined statements)", {}, None) from error


def commit_in_pipeline(conn: Connection) -> None:
    """Inside `pipelined`: COMMIT goes with the statements before it, in the same round trip
    (psycopg's own `commit()` would wait for its answer there, and again on leaving). The
    driver's transaction is then over, so the caller's `conn.commit()` that follows only ends
    SQLAlchemy's (psycopg sends nothing for a connection with no transaction open)."""
    held = conn.info.get(_BATCH)
    if held is not None:
        for watcher in _watchers:
            watcher("COMMIT", {})
        held.append("COMMIT")
        return
    _send(Driver(conn), "COMMIT")


# An engine's execution option: False where the server may not keep prepared statements between
# transactions (PgBouncer in transaction mode), so statements are sent in full.
PREPARES = "handoff_prepares"
_BATCH = "handoff_batch"  # on the event loop, inside `pipelined`: the statements not sent yet


def _held(conn: Connection) -> list[str]:
    """The statements to go in the next round trip on the event loop (`pipelined`'s, or a new
    list), starting with the transaction's BEGIN, if one is owed."""
    held: list[str] = conn.info.get(_BATCH, [])
    begin = conn.info.pop(_BEGIN_OWED, None)
    if begin is not None:
        for watcher in _watchers:
            watcher(begin, {})
        held.append(begin)
    return held


def _bound(conn: Connection, driver: Driver, statement: Statement, params: Any) -> str:
    for watcher in _watchers:
        watcher(statement.text_for(conn), params)
    prepares = conn.get_execution_options().get(PREPARES, True)
    return bound(driver, prepared_on(conn.info), statement.numbered, params, prepares=prepares)


def _send_together(conn: Connection, driver: Driver, texts: list[str]) -> list[Any]:
    sent = "; ".join(texts)
    try:
        return send_together(driver, prepared_on(conn.info), texts)
    except conn.dialect.loaded_dbapi.Error as error:
        raise _wrapped(conn, error, sent, {}, None) from error


# A command's own transaction on PostgreSQL sends its BEGIN with its first statements, in their
# round trip. Left to itself, psycopg sends BEGIN alone and waits for its answer (in a pipeline
# too): a round trip more for every command. So for such a transaction the driver is put in
# autocommit (it then sends no BEGIN of its own) and the BEGIN it would have sent is owed here,
# in the connection's `info`, until the first statement goes.
_BEGIN_OWED = "handoff_begin_owed"


def begin_with_first_statements(conn: Connection) -> None:
    """On PostgreSQL, until `end_own_transaction`: `conn`'s transaction begins with the first
    statement this module sends, in the same round trip. SQLite: nothing changes."""
    if is_sqlite(conn):
        return
    driver = Driver(conn)
    driver.autocommit = True
    parts = ["BEGIN"]  # what psycopg itself would send
    if driver.raw.isolation_level is not None:
        level = IsolationLevel(driver.raw.isolation_level)
        parts += ["ISOLATION LEVEL", level.name.replace("_", " ")]
    if driver.raw.read_only is not None:
        parts.append("READ ONLY" if driver.raw.read_only else "READ WRITE")
    conn.info[_BEGIN_OWED] = " ".join(parts)


def end_own_transaction(conn: Connection) -> None:
    """After `begin_with_first_statements`: what was not committed is rolled back, and the
    driver begins its transactions itself again (as the pool's other users expect)."""
    if is_sqlite(conn) or conn.closed or conn.invalidated:
        return
    conn.info.pop(_BEGIN_OWED, None)
    driver = Driver(conn)
    if driver.closed:
        return
    if not driver.idle:
        conn.rollback()
    driver.autocommit = False


def _send(driver: Driver, statement: str) -> None:
    """A statement of no parameters and no rows (BEGIN, COMMIT), seen by the watchers."""
    for watcher in _watchers:
        watcher(statement, {})
    driver.send(statement)


def rows_of_each(
    conn: Connection, queries: Sequence[tuple[Statement, Mapping[str, Any]]]
) -> list[list[Any]]:
    """Each query's rows, in order; PostgreSQL is sent them all at once (`pipelined`: one round
    trip), and still runs them one after the other, each seeing what was committed when it began."""
    if is_sqlite(conn) or len(queries) < 2:
        return [statement.rows(conn, params) for statement, params in queries]
    driver = Driver(conn)
    if driver.is_async:
        held = _held(conn)
        held += [_bound(conn, driver, statement, params) for statement, params in queries]
        answers = _send_together(conn, driver, held)[-len(queries) :]
        return [rows if isinstance(rows, list) else [] for rows in answers]
    cursors = [driver.cursor() for _ in queries]
    try:
        with pipelined(conn):
            for cursor, (statement, params) in zip(cursors, queries, strict=True):
                for watcher in _watchers:
                    watcher(statement.text_for(conn), params)
                driver.execute(cursor, statement.text_for(conn), params)
        return [driver.fetchall(cursor) for cursor in cursors]
    finally:
        for cursor in cursors:
            driver.close(cursor)


def run(conn: Connection, statement: Statement, params: Mapping[str, Any], *, fetch: bool) -> Any:
    """Run one statement on the driver in `conn`'s transaction: its rows, or its row count
    (on the event loop, inside `pipelined`, one of no rows waits for the next round trip: -1)."""
    sql = statement.text_for(conn)
    if is_sqlite(conn):
        return _run_sqlite(conn, sql, params, fetch=fetch)
    driver = Driver(conn)
    if driver.is_async:
        held = _held(conn)
        held.append(_bound(conn, driver, statement, params))
        if not fetch and _BATCH in conn.info:
            return -1
        *_, last = _send_together(conn, driver, held)
        if fetch:
            return last if isinstance(last, list) else []
        return last
    cursor = driver.cursor()
    try:
        if _BEGIN_OWED in conn.info:  # (`pipelined` sends it on entering: none is owed inside)
            with pipelined(conn):  # the transaction's BEGIN first, in the same round trip
                _execute(driver, cursor, sql, params)
        else:
            _execute(driver, cursor, sql, params)
        if not fetch:
            return cursor.rowcount
        # Inside `pipelined` a statement's description is known only once answered: fetching
        # waits for the answer.
        if cursor.description is None and not driver.in_pipeline:
            return []
        return driver.fetchall(cursor)
    except conn.dialect.loaded_dbapi.Error as error:
        raise _wrapped(conn, error, sql, params, cursor) from error
    finally:
        driver.close(cursor)


def _run_sqlite(conn: Connection, sql: str, params: Mapping[str, Any], *, fetch: bool) -> Any:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for watcher in _watchers:
            watcher(sql, params)
        cursor.execute(sql, params)
        if not fetch:
            return cursor.rowcount
        return cursor.fetchall() if cursor.description is not None else []
    except conn.dialect.loaded_dbapi.Error as error:
        raise _wrapped(conn, error, sql, params, cursor) from error
    finally:
        cursor.close()


def _execute(driver: Driver, cursor: Any, sql: str, params: Mapping[str, Any]) -> None:
    for watcher in _watchers:  # (after the BEGIN it follows, if one was owed)
        watcher(sql, params)
    driver.execute(cursor, sql, params)


def _wrapped(
    conn: Connection, error: Any, sent: str, params: Mapping[str, Any], cursor: Any
) -> Exception:
    """The driver's error as SQLAlchemy's, the connection invalidated if it was found lost."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor)
    if lost:
        conn.invalidate(error)
    errors = dialect.loaded_dbapi.Error
    wrapped: Exception = DBAPIError.instance(
        sent, params, error, errors, connection_invalidated=lost, dialect=dialect
    )
    return wrapped


PING = "SELECT 1"


def ping(driver: Any) -> None:
    """Whether a pooled driver connection still reaches its server (it raises the driver's
    error if not): one round trip, outside any transaction (so psycopg sends no BEGIN)."""
    for watcher in _watchers:
        watcher(PING, {})
    was_autocommit = driver.autocommit
    driver.autocommit = True
    try:
        cursor = driver.cursor()
        try:
            cursor.execute(PING)
        finally:
            cursor.close()
    finally:
        if not driver.closed:
            driver.autocommit = was_autocommit


def begin_immediate(conn: Connection, *, read_only: bool) -> None:
    """SQLite's write lock taken at BEGIN (see handoff.store.db)."""
    run(conn, Statement("BEGIN" if read_only else "BEGIN IMMEDIATE"), {}, fetch=False)
