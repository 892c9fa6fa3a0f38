"""The SQL the engine sends, recorded as it goes, and replayed through the bare driver.

The recording keeps each statement with its parameters as the driver got them, in the order they
were sent, whichever way they went: through SQLAlchemy (its `before_cursor_execute` event) or
straight to the driver by the case store (`handoff.store.sql.watching`, which also sees the
pool's ping on PostgreSQL); and the commits and rollbacks, so a replay runs the same statements
with the same transaction boundaries and nothing else: the reference the engine's rate is
compared with.
"""

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine, PoolResetState, event
from sqlalchemy.engine import make_url

from handoff.store import sql


@dataclass(frozen=True)
class Step:
    kind: str  # execute, commit, rollback or ping
    statement: str = ""
    parameters: Any = None
    many: bool = False


Replay = Callable[[Sequence[Step]], None]


@contextmanager
def recording(engine: Engine) -> Iterator[list[Step]]:
    """Every step `engine` takes inside the block, in order."""
    steps: list[Step] = []

    def on_execute(
        _c: Any, _cur: Any, statement: str, parameters: Any, _x: Any, many: bool
    ) -> None:
        steps.append(Step("execute", statement, parameters, many))

    def on_driver(statement: str, parameters: Mapping[str, Any]) -> None:
        if statement.startswith("BEGIN") or statement == "COMMIT":
            # A command's own transaction on PostgreSQL (handoff.store.sql): the replay's driver
            # begins by itself, and SQLAlchemy's commit event records the commit.
            return
        kind = "ping" if statement == sql.PING else "execute"
        steps.append(Step(kind, statement, dict(parameters)))

    def on_commit(_conn: Any) -> None:
        steps.append(Step("commit"))

    def on_rollback(_conn: Any) -> None:
        steps.append(Step("rollback"))

    def on_reset(_dbapi: Any, _record: Any, state: PoolResetState) -> None:
        # A connection back in the pool is rolled back, unless its transaction was ended already
        # (statements sent straight to the driver begin one that SQLAlchemy does not know of).
        if not state.transaction_was_reset:
            steps.append(Step("rollback"))

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (engine, "before_cursor_execute", on_execute),
        (engine, "commit", on_commit),
        (engine, "rollback", on_rollback),
        (engine.pool, "reset", on_reset),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        with sql.watching(on_driver):
            yield steps
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def substituted(steps: Sequence[Step], mapping: dict[str, str]) -> list[Step]:
    """The steps with ids swapped inside every text parameter (ids also sit inside JSON text)."""

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in mapping.items():
                value = value.replace(old, new)
        elif isinstance(value, Json):  # JSON as the case store hands it to psycopg
            text = (value.dumps or json.dumps)(value.obj)
            value = Json(json.loads(swap(text)), dumps=value.dumps)
        return value

    def swap_set(parameters: Any) -> Any:
        if isinstance(parameters, dict):
            return {k: swap(v) for k, v in parameters.items()}
        if isinstance(parameters, list | tuple):
            return type(parameters)(swap(v) for v in parameters)
        return parameters

    out = []
    for step in steps:
        if step.kind == "execute":
            parameters = (
                [swap_set(p) for p in step.parameters] if step.many else swap_set(step.parameters)
            )
            step = Step(step.kind, step.statement, parameters, step.many)
        out.append(step)
    return out


def statements_in(steps: Sequence[Step]) -> int:
    return sum(1 for s in steps if s.kind != "rollback")


def _run(cursor: Any, connection: Any, steps: Sequence[Step]) -> None:
    for step in steps:
        if step.kind == "execute":
            if step.many:
                cursor.executemany(step.statement, step.parameters)
            else:
                cursor.execute(step.statement, step.parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        elif step.kind == "commit":
            connection.commit()
        elif step.kind == "rollback":
            connection.rollback()
        elif step.kind == "ping":  # outside any transaction, as handoff.store.sql.ping sends it
            connection.autocommit = True
            cursor.execute(step.statement)
            connection.autocommit = False


@contextmanager
def bare_driver(url: str) -> Iterator[Replay]:
    """A replayer over one raw connection: stdlib `sqlite3` (same pragmas as the engine's
    connections) or `psycopg` with its defaults, as SQLAlchemy's dialect uses it."""
    parsed = make_url(url)
    connection: Any
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(
            parsed.database or "", timeout=30, isolation_level=None, check_same_thread=False
        )
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("PRAGMA synchronous=NORMAL")
    else:
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = psycopg.connect(conninfo)
    cursor = connection.cursor()
    try:
        yield lambda steps: _run(cursor, connection, steps)
    finally:
        cursor.close()
        connection.close()
