"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

import asyncio
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, closing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, delete, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from handoff.config import Settings
from handoff.domain.canonical import canonical_json
from handoff.domain.send_away import PhraseRules, load_rules
from handoff.store import connecting, sql
from handoff.store.sql import Statement
from handoff.store.values import JSON_SERIALIZER
from handoff.store.work import SqlWork, joined, offering, take_opened
from handoff.store.writer import FairLock, writer_of

# Nothing waits on PostgreSQL for long: connecting, a connection from the pool, a row lock, a
# statement, and a server that went silent (TCP keepalives) each give up within a stated time,
# so a request fails fast (503 over HTTP) instead of hanging, and a stuck client's transaction
# cannot hold its row locks for ever. A URL that names any of these keeps its own value.
CONNECT_TIMEOUT = 5  # seconds to open a connection
POOL_TIMEOUT = 5  # seconds to wait for a pooled connection
SERVER_TIMEOUTS = {  # milliseconds, as the server's settings for each of our sessions
    "lock_timeout": 5_000,
    "statement_timeout": 30_000,
    "idle_in_transaction_session_timeout": 60_000,
}
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def make_engine(url: str, *, on_loop: bool = False, **kwargs: Any) -> Engine:
    """The engine for `url`; `on_loop` (PostgreSQL): one whose connections are psycopg's asyncio
    ones, used from synchronous code on the event loop (`Database.on_the_loop`)."""
    # JSON is stored as the hash chain encodes it, so verify hashes an event's `data` text as it
    # is, without decoding it.
    kwargs.setdefault("json_serializer", canonical_json)
    # The case store writes JSON itself (handoff.store.sql): it reads the serializer from here.
    options = {JSON_SERIALIZER: kwargs["json_serializer"]}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _make_sqlite_serialize_writers(engine)
        return engine.execution_options(**options)
    kwargs["connect_args"] = _postgres_connect_args(parsed.query) | kwargs.get("connect_args", {})
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
    if on_loop:  # where the store prepares its statements itself (handoff.store.driver)
        kwargs["connect_args"]["prepare_threshold"] = None
    engine = (
        create_async_engine(url, **kwargs).sync_engine if on_loop else create_engine(url, **kwargs)
    )
    connecting.watch(engine, CONNECT_TIMEOUT)
    return engine.execution_options(**options)


def _postgres_connect_args(query: Mapping[str, Any]) -> dict[str, Any]:
    options = " ".join(f"-c {name}={ms}" for name, ms in SERVER_TIMEOUTS.items())
    defaults = {"connect_timeout": CONNECT_TIMEOUT, "options": options, **KEEPALIVES}
    return {name: value for name, value in defaults.items() if name not in query}


LONE_READ = "handoff_lone_read"  # an execution option: reads of one statement, no BEGIN


def _make_sqlite_serialize_writers(engine: Engine) -> None:
    """SQLite has no row locks: a writing transaction takes the database's write lock at BEGIN
    (BEGIN IMMEDIATE), so read-check-write on a case is atomic. WAL lets readers go on meanwhile."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(LONE_READ, False):  # one statement: SQLite's own implicit transaction
            return
        sql.begin_immediate(conn, read_only=options.get("handoff_read_only", False))


def _pool_of(settings: Settings) -> dict[str, Any]:
    """The pool sizing settings, for PostgreSQL (SQLite keeps SQLAlchemy's defaults)."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return {}
    return {
        "pool_size": settings.pool_size,
        "max_overflow": settings.pool_max_overflow,
        "pool_timeout": settings.pool_timeout,
    }


@dataclass(frozen=True)
class Engines:
    """An engine, and the sessions and read-only variants made from it."""

    engine: Engine
    sessions: sessionmaker[Session]
    read_engine: Engine
    read_sessions: sessionmaker[Session]
    lone_reads: Engine

    @classmethod
    def of(cls, engine: Engine) -> "Engines":
        read_engine = engine.execution_options(handoff_read_only=True)
        # One-statement reads (a token, a revocation) need no transaction: no BEGIN and no
        # ROLLBACK round trips around them. They share the commands' pool (a pool of their own
        # was tried: after an outage each pool found its lost connections apart, and the first
        # request back waited out two connect timeouts instead of one).
        lone_reads = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else read_engine.execution_options(**{LONE_READ: True})
        )
        return cls(
            engine,
            sessionmaker(engine, expire_on_commit=False),
            read_engine,
            sessionmaker(read_engine, expire_on_commit=False),
            lone_reads,
        )


P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Served:
    """An event loop that runs a database's work: the engines it uses there, how many requests
    work at once, and how many apps it serves (each from `serve_on_this_loop` to its stop)."""

    engines: Engines
    turns: asyncio.Semaphore
    # What runs the work (its `run_sync`; its session is never used, so one serves them all).
    entry: AsyncSession = field(default_factory=AsyncSession)
    apps: int = 1


# The database whose work runs on the event loop here, and the engines it uses there.
_on_loop: ContextVar[tuple["Database", Engines] | None] = ContextVar(
    "handoff_on_loop", default=None
)


class Database:
    """One deployment's database, settings and send-away rules: what every command is given.

    On PostgreSQL a request's work can run on the event loop that serves it (`on_the_loop`),
    through psycopg's asyncio connections, instead of in a worker thread: the same code, whose
    engine (`engine`) is then the loop's."""

    def __init__(self, settings: Settings | None = None, engine: Engine | None = None) -> None:
        self.settings = settings or Settings()
        engine = engine or make_engine(self.settings.database_url, **_pool_of(self.settings))
        self._threads = Engines.of(engine)
        self.is_postgres = engine.dialect.name == "postgresql"
        # The event loops that run this database's work: the engines each uses, and how many
        # requests work at once on each (as many as the pool keeps connections: any more would
        # open and close a connection of the pool's overflow each).
        self._loops: dict[asyncio.AbstractEventLoop, Served] = {}

    @property
    def _engines(self) -> Engines:
        here = _on_loop.get()
        return here[1] if here is not None and here[0] is self else self._threads

    @property
    def engine(self) -> Engine:
        return self._engines.engine

    @property
    def serves_this_loop(self) -> bool:
        """Whether the running event loop runs this database's work (`serve_on_this_loop`)."""
        try:
            return asyncio.get_running_loop() in self._loops
        except RuntimeError:
            return False

    def serve_on_this_loop(self) -> None:
        """PostgreSQL: until `stop_serving_on_this_loop` (as often as this was called), the
        running event loop may run this database's work itself (`on_the_loop`), on connections
        of its own. SQLite: nothing (its work runs on the loop already, see api.deps)."""
        loop = asyncio.get_running_loop()
        if not self.is_postgres:
            return
        if loop in self._loops:
            self._loops[loop].apps += 1
            return
        threads = self._threads.engine
        serializer = threads.get_execution_options().get(JSON_SERIALIZER, canonical_json)
        engine = make_engine(
            threads.url.render_as_string(hide_password=False),
            on_loop=True,
            json_serializer=serializer,
            **_pool_of(self.settings),
        ).execution_options(**{sql.PREPARES: self.settings.prepared_statements})
        # As many requests work at once as there would be worker threads (the pool is sized
        # for them: a request may hold two connections at a time).
        at_once = asyncio.Semaphore(self.settings.api_threads or 4)
        self._loops[loop] = Served(Engines.of(engine), at_once)

    async def stop_serving_on_this_loop(self) -> None:
        loop = asyncio.get_running_loop()
        served = self._loops.get(loop)
        if served is None:
            return
        served.apps -= 1
        if not served.apps:
            del self._loops[loop]
            await served.entry.run_sync(lambda _session: served.engines.engine.dispose())
            await served.entry.close()

    async def on_the_loop(self, work: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `work` here, on the event loop that serves this database: each wait on the
        database lets the loop go on with other work (SQLAlchemy's public `run_sync` runs it, as
        it runs synchronous code for its asyncio extension), and no worker thread is woken."""
        served = self._loops[asyncio.get_running_loop()]
        async with served.turns:
            token = _on_loop.set((self, served.engines))
            try:
                return await served.entry.run_sync(lambda _session: work(*args, **kwargs))
            finally:
                _on_loop.reset(token)

    @cached_property
    def rules(self) -> PhraseRules:
        return load_rules(self.settings.send_away_rules)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: it rolls back unless the command commits. Inside a request's own
        transaction (handoff.store.work.joining) it is a savepoint of that transaction."""
        request = joined(self.engine)
        if request is not None:
            with self._engines.sessions(
                bind=request, join_transaction_mode="create_savepoint"
            ) as joining:
                yield joining
            return
        with self._one_writer_at_a_time(), self._engines.sessions() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A Core connection in a write transaction (on SQLite, BEGIN IMMEDIATE: the write lock),
        for the commands' own statements; it rolls back unless the command commits."""
        with self._one_writer_at_a_time(), self.engine.connect() as conn:
            conn.begin()
            yield conn

    @contextmanager
    def work(self, within: Session | None = None) -> Iterator[SqlWork]:
        """One command's transaction, rolled back unless committed; or the caller's session's,
        when it already began one (the caller then ends it, if the command does not commit)."""
        if within is not None:
            yield SqlWork(within.connection(), within)
            return
        opened = take_opened(self.engine)
        if opened is not None:  # begun by the request (`opening_change`), which ends it
            yield opened
            return
        request = joined(self.engine)
        if request is not None:  # a savepoint of the request's transaction
            with closing(SqlWork(request, nested=True)) as work:
                yield work
            return
        with self.writing() as conn, closing(SqlWork(conn)) as work:
            yield work

    @property
    def opens_changes_ahead(self) -> bool:
        """Whether `opening_change` begins a command's transaction ahead (PostgreSQL, outside a
        request's own transaction)."""
        return self.is_postgres and joined(self.engine) is None

    @contextmanager
    def opening_change(
        self, case_id: str, read: Statement, params: dict[str, Any], *, found: str
    ) -> Iterator[tuple[Any, ...]]:
        """`read`'s one row, read in the same round trip that begins the transaction of a command
        about to run on `case_id`, locks the case (only if the row's column `found` is not null)
        and reads its first rows (PostgreSQL only, see `opens_changes_ahead`): a request's check
        of its caller costs no round trip of its own. The first command inside takes that
        transaction; what is not committed when the block ends is rolled back."""
        assert self.opens_changes_ahead, "a change is opened ahead only on PostgreSQL"
        with self.writing() as conn, closing(SqlWork(conn)) as work:
            row = work.lock_case_ahead(case_id, read, params, found)
            with offering(self.engine, work):
                yield row

    def one_writer_at_a_time(self) -> AbstractContextManager[None]:
        """This process's turn to write (a request's own transaction holds it throughout)."""
        return self._one_writer_at_a_time()

    @contextmanager
    def _one_writer_at_a_time(self) -> Iterator[None]:
        """SQLite has one write lock, and a thread refused it sleeps in the driver's busy handler
        (1, 2, 5, 10 … 100 ms) rather than being woken when it is free; so this process's
        writers queue on a lock of their own first. PostgreSQL locks rows and needs none of this."""
        if self.is_postgres:
            yield
            return
        with self._writer:
            yield

    @cached_property
    def _writer(self) -> FairLock:
        return writer_of(self.engine.url.render_as_string())

    @property
    def writer_is_busy(self) -> bool:
        """On SQLite: another thread of this process writes, or waits to."""
        return not self.is_postgres and not self._writer.is_free

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session to read in; inside a request's own transaction, that transaction (which
        sees what the request changed, and takes no second connection)."""
        request = joined(self.engine)
        if request is not None:
            with self._engines.sessions(
                bind=request, join_transaction_mode="create_savepoint"
            ) as joining:
                yield joining
            return
        with self._engines.read_sessions() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A plain connection for one or two Core reads (no ORM session), each seeing what is
        committed when it runs (outside any transaction: no BEGIN, no ROLLBACK); inside a
        request's own transaction, that transaction's."""
        request = joined(self.engine)
        if request is not None:
            yield request
            return
        with self._engines.lone_reads.connect() as conn:
            yield conn

    def forget_before(self, column: InstrumentedAttribute[datetime], cutoff: datetime) -> int:
        """Delete the rows of `column`'s table whose `column` is before `cutoff` (the worker's
        housekeeping); returns how many went."""
        with self.session() as session:
            result = session.execute(delete(column.class_).where(column < cutoff))
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    def dispose(self) -> None:
        self._threads.engine.dispose()
