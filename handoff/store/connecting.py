"""How PostgreSQL connections are opened and taken from the pool while the server may be away.

Two things keep a request from waiting on a database that is not there longer than the stated
connect timeout:

- A pooled connection is pinged before use when it sat idle or may have been cut, and one that
  fails is replaced together with every connection pooled before it (the server went away), so
  service resumes by itself.
- A request's time queued for a worker thread counts against its connect timeout (`asked_at`).
  With the server silent, the requests that find every thread busy connecting would otherwise
  wait their turn and then a whole connect timeout of their own: twice the stated time, or more
  behind a longer queue. A request that was asked before a connection attempt failed, with none
  succeeding since, is refused at once; any other opens its connection within what is left of
  its timeout (libpq's least, 2 s, at worst).
"""

import math
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry

from handoff.store import sql

# When the request being served reached the API (time.monotonic()); None outside a request.
asked_at: ContextVar[float | None] = ContextVar("handoff_asked_at", default=None)

RETURNED_AT = "handoff_returned_at"  # in a pooled connection's info: when it came back
# A connection used this recently, with no connection lost since, is taken without a ping: under
# steady load that saves a round trip per checkout; after a pause, or once any connection was
# found lost (the server went away), every older connection is pinged before it is used.
PING_AFTER_IDLE = 1.0  # seconds
LEAST_CONNECT_TIMEOUT = 2  # seconds: libpq (and psycopg) wait at least this long to connect


@dataclass
class Outage:
    """What this engine last saw of its server (time.monotonic() values)."""

    lost: float = float("-inf")  # a pooled connection last found cut
    failed: float = float("-inf")  # a connection last failed to open
    opened: float = float("-inf")  # a connection last opened

    def is_known_since(self, asked: float) -> bool:
        """Whether the server was found unreachable after `asked`, and not reached since."""
        return self.failed > asked and self.failed > self.opened


def watch(engine: Engine, connect_timeout: float) -> None:
    """Ping pooled connections before use when they may be cut, and open new ones within what
    is left of the asking request's connect timeout (see the module's docstring)."""
    outage = Outage()
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine.pool, "invalidate")
    def on_invalidate(_dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        outage.lost = time.monotonic()

    @event.listens_for(engine.pool, "checkin")
    def on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned = record.info.get(RETURNED_AT)
        if returned is None:  # just opened (the pool clears info on reconnecting)
            return
        if time.monotonic() - returned < PING_AFTER_IDLE and returned > outage.lost:
            return
        try:
            sql.ping(dbapi_connection)
        except dbapi_error as error:
            raise InvalidatePoolError(f"a pooled connection failed its ping: {error}") from error

    @event.listens_for(engine, "do_connect")
    def on_connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        asked = asked_at.get()
        if asked is not None:
            if outage.is_known_since(asked):
                raise dialect.loaded_dbapi.OperationalError(
                    "the database was found unreachable while this request waited for its turn"
                )
            stated = float(cparams.get("connect_timeout", connect_timeout))
            if stated > 0:  # 0: no timeout, as the URL asked
                left = stated - (time.monotonic() - asked)
                cparams["connect_timeout"] = max(LEAST_CONNECT_TIMEOUT, math.floor(left))
        try:
            connection = dialect.connect(*cargs, **cparams)
        except dbapi_error:
            outage.failed = time.monotonic()
            raise
        outage.opened = time.monotonic()
        return connection
