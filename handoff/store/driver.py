"""psycopg's own connection under a SQLAlchemy `Connection`, for the few calls the case store makes
on it (handoff.store.sql): the same calls whether the connection is psycopg's blocking one (in a
worker thread, the CLI, the worker) or its asyncio one (a request's work on the event loop, see
`Database.on_the_loop`).

The asyncio connection is reached from synchronous code through SQLAlchemy's public
`AdaptedConnection.run_async`, which awaits each call on the event loop while the synchronous
caller waits, as SQLAlchemy's own asyncio dialects do for every statement.
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from psycopg import AsyncConnection
from psycopg.pq import PipelineStatus, TransactionStatus
from sqlalchemy import Connection

T = TypeVar("T")


class Driver:
    """The psycopg connection of `conn` (PostgreSQL only)."""

    def __init__(self, conn: Connection) -> None:
        fairy = conn.connection
        self.raw: Any = fairy.driver_connection
        self._adapted: Any = fairy.dbapi_connection
        self.is_async = isinstance(self.raw, AsyncConnection)

    def _call(self, sync: Callable[[], T], on_loop: Callable[[], Awaitable[T]]) -> T:
        if self.is_async:
            return cast(T, self._adapted.run_async(lambda _driver: on_loop()))
        return sync()

    def cursor(self) -> Any:
        return self.raw.cursor()

    def execute(self, cursor: Any, sql: str, params: Any = None) -> None:
        self._call(lambda: cursor.execute(sql, params), lambda: cursor.execute(sql, params))

    def fetchall(self, cursor: Any) -> list[Any]:
        return cast(list[Any], self._call(cursor.fetchall, cursor.fetchall))

    def close(self, cursor: Any) -> None:
        self._call(cursor.close, cursor.close)

    def send(self, statement: str) -> None:
        """A statement of no parameters and no rows (BEGIN, COMMIT)."""
        self._call(lambda: self.raw.execute(statement), lambda: self.raw.execute(statement))

    @property
    def in_pipeline(self) -> bool:
        return bool(self.raw.pgconn.pipeline_status != PipelineStatus.OFF)

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """psycopg's pipeline mode while inside (see `sql.pipelined`; on the event loop the store
        sends one query text instead, handoff.store.one_text)."""
        assert not self.is_async, "no pipeline on the event loop"
        with self.raw.pipeline():
            yield

    @property
    def autocommit(self) -> bool:
        return bool(self.raw.autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if self.is_async:
            self._adapted.run_async(lambda driver: driver.set_autocommit(value))
        else:
            self.raw.autocommit = value

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)

    @property
    def idle(self) -> bool:
        """No transaction open on the server."""
        return bool(self.raw.info.transaction_status == TransactionStatus.IDLE)
