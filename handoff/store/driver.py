"""psycopg's own connection under a SQLAlchemy `Connection`, for the few calls the case store makes
on it (handoff.store.sql): the same calls whether the connection is psycopg's blocking one (in a
worker thread, the CLI, the worker) or its asyncio one (a request's work on the event loop, see
`Database.on_the_loop`).

The asyncio connection is reached from synchronous code through SQLAlchemy's public
`AdaptedConnection.run_async`, which awaits each call on the event loop while the synchronous
caller waits, as SQLAlchemy's own asyncio dialects do for every statement.

On the event loop, PostgreSQL is sent each round trip's statements as one query text. psycopg's
asyncio connection waits on the event loop for each statement of a pipeline, and each wait costs
a turn of the loop (a future, a reader registered and removed): more than the statement. So on
the loop the store sends a round trip's statements as one text, in the simple query protocol,
which takes several, and waits for it once; PostgreSQL still runs them one after the other, each
seeing what was committed when it began, and stops at the first that fails.

Values are written into the text by psycopg's client-side binding (`mogrify`). Each statement
is PREPAREd on its connection the first time it goes there, in the same text, then sent as
EXECUTE: the server plans it once per connection, as psycopg's own prepared statements do
(which the loop's connections therefore do not use: psycopg deallocates every prepared
statement, ours too, at each rollback when it has prepared any itself).
"""

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from psycopg import AsyncClientCursor, AsyncConnection
from psycopg.pq import ExecStatus, PipelineStatus, TransactionStatus
from sqlalchemy import Connection


class Driver:
    """The psycopg connection of `conn` (PostgreSQL only)."""

    def __init__(self, conn: Connection) -> None:
        fairy = conn.connection
        self.raw: Any = fairy.driver_connection
        self._adapted: Any = fairy.dbapi_connection
        self.is_async = isinstance(self.raw, AsyncConnection)

    def _call(self, call: Callable[[], Any]) -> Any:
        """`call()`'s result: the same call gives it on the blocking connection, and an
        awaitable of it on the asyncio one, awaited here on the event loop."""
        if self.is_async:
            return self._adapted.run_async(lambda _driver: call())
        return call()

    def cursor(self) -> Any:
        return self.raw.cursor()

    def execute(self, cursor: Any, sql: str, params: Any = None) -> None:
        self._call(lambda: cursor.execute(sql, params))

    def fetchall(self, cursor: Any) -> list[Any]:
        return cast(list[Any], self._call(cursor.fetchall))

    def close(self, cursor: Any) -> None:
        self._call(cursor.close)

    def send(self, statement: str) -> None:
        """A statement of no parameters and no rows (BEGIN, COMMIT)."""
        self._call(lambda: self.raw.execute(statement))

    @property
    def in_pipeline(self) -> bool:
        return bool(self.raw.pgconn.pipeline_status != PipelineStatus.OFF)

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """psycopg's pipeline mode while inside (see `sql.pipelined`; on the event loop the store
        sends one query text instead, `send_together`)."""
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


_NAMED = re.compile(r"(?<![:\w]):(\w+)")
MOST_PREPARED = 200  # statements prepared on one connection; any more are sent in full
PREPARED = "handoff_prepared"  # in a pooled connection's info: its `Prepared`


@dataclass(frozen=True)
class Numbered:
    """A statement's text for PREPARE: its `:name` parameters numbered in order of first
    appearance; its name on the server; and its text as psycopg binds it (`%(name)s`)."""

    text: str
    parameters: tuple[str, ...]
    digest: str
    pyformat: str

    @classmethod
    def of(cls, sql: str) -> "Numbered":
        parameters = tuple(dict.fromkeys(_NAMED.findall(sql)))
        numbers = {name: f"${i}" for i, name in enumerate(parameters, 1)}
        text = _NAMED.sub(lambda m: numbers[m.group(1)], sql)
        pyformat = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
        return cls(text, parameters, hashlib.sha1(text.encode()).hexdigest()[:20], pyformat)


@dataclass
class Prepared:
    """The statements PREPAREd on one connection (by digest: how EXECUTE names each), and the
    PREPAREs to go with its next round trip. A round trip that fails may have prepared some of
    its statements, or not: their names are not used again (`generation` is in every name)."""

    executes: dict[str, str] = field(default_factory=dict)
    preparing: list[str] = field(default_factory=list)  # PREPARE texts, not sent yet
    pending: list[str] = field(default_factory=list)  # their digests
    generation: int = 0
    binder: AsyncClientCursor[Any] | None = None  # psycopg's client-side binding, for `bound`

    def sent(self, *, ok: bool) -> None:
        if not ok:
            for digest in self.pending:
                self.executes.pop(digest, None)
            self.generation += bool(self.pending)
        self.preparing, self.pending = [], []


def prepared_on(info: dict[Any, Any]) -> Prepared:
    found: Prepared | None = info.get(PREPARED)
    if found is None:
        found = info[PREPARED] = Prepared()
    return found


def bound(
    driver: Driver,
    prepared: Prepared,
    numbered: Numbered,
    params: Mapping[str, Any],
    *,
    prepares: bool = True,
) -> str:
    """The statement as EXECUTE of its prepared statement (to be PREPAREd with the round trip,
    the first time on this connection), its values written in; or, unless it `prepares`, the
    statement itself with its values written in."""
    if prepared.binder is None:
        prepared.binder = AsyncClientCursor(driver.raw)
    execute = prepared.executes.get(numbered.digest)
    if execute is None:
        if not prepares or len(prepared.executes) >= MOST_PREPARED:
            return prepared.binder.mogrify(numbered.pyformat, params)
        name = f"h{prepared.generation}_{numbered.digest}"
        prepared.preparing.append(f"PREPARE {name} AS {numbered.text}")
        prepared.pending.append(numbered.digest)
        listed = ", ".join(["%s"] * len(numbered.parameters))
        execute = f"EXECUTE {name}({listed})" if listed else f"EXECUTE {name}"
        prepared.executes[numbered.digest] = execute
    if not numbered.parameters:
        return execute
    return prepared.binder.mogrify(execute, [params[name] for name in numbered.parameters])


def send_together(driver: Driver, prepared: Prepared, texts: list[str]) -> list[Any]:
    """Send the statements (each `bound` already, or BEGIN or COMMIT) as one query text, with
    the PREPAREs they need first (after a BEGIN), and forget them. Each statement's rows (a
    list), or for one that returns none its row count, in order."""
    at = 1 if texts and texts[0].startswith("BEGIN") else 0
    before = len(prepared.preparing)
    text = "; ".join([*texts[:at], *prepared.preparing, *texts[at:]])
    texts.clear()
    cursor = driver.cursor()
    try:
        driver.execute(cursor, text)  # no parameters: the simple query protocol
        answers: list[Any] = []
        while True:
            # (whether rows came, without `description`, which builds every column's facts)
            has_rows = cursor.pgresult.status == ExecStatus.TUPLES_OK
            rows = driver.fetchall(cursor) if has_rows else cursor.rowcount
            answers.append(rows)
            if not cursor.nextset():
                break
    except BaseException:
        prepared.sent(ok=False)
        raise
    finally:
        driver.close(cursor)
    prepared.sent(ok=True)
    return answers[:at] + answers[at + before :]
