"""One command's transaction on the database: everything a use case asks of the store.

The services see it through `handoff.services.ports.Work`; unit tests give them an in-memory
twin instead. It rolls back unless the command commits.

A request that carries an `Idempotency-Key` runs in one transaction of its own, which its commands
join (`joining`): a command's commit then releases its savepoint, and the request's transaction
commits the command's change together with the answer kept for the key (handoff.store.idempotency).
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, NestedTransaction
from sqlalchemy.orm import Session

from handoff.domain.case import Agent, Attachment, Case
from handoff.store import casefile, event_rows, sql
from handoff.store.casefile import COLUMNS, Loaded
from handoff.store.models import Event
from handoff.store.sql import Statement
from handoff.store.values import Kind, from_db, is_sqlite

_AGENT_COLUMNS = COLUMNS[casefile.AGENTS].listed()
# Agents who may become an owner are share-locked before the case: a deactivation locks the agent
# for update and then the agent's cases, so taking the agent first keeps one order everywhere.
LOCK_AGENT = Statement(
    f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = :agent_id", postgres_tail="FOR SHARE"
)
AGENT = Statement(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = :agent_id")
ORG_WINDOWS = Statement("SELECT windows FROM orgs WHERE id = :org_id")
# The org's first active supervisor by name, failing that its first active rep.
FALLBACK_OWNER = Statement(
    f"""SELECT {_AGENT_COLUMNS} FROM agents
        WHERE org_id = :org_id AND role = :role AND active AND id != :excluding
        ORDER BY name, id LIMIT 1""",
    postgres_tail="FOR SHARE",
)
NEXT_CASE_NUMBER = Statement("INSERT INTO case_numbers DEFAULT VALUES RETURNING number")

# The open transaction of the request being answered, and its engine (see `joining`).
_request_transaction: ContextVar[tuple[Engine, Connection] | None] = ContextVar(
    "handoff_request_transaction", default=None
)


@contextmanager
def joining(engine: Engine, conn: Connection) -> Iterator[None]:
    """While inside, the commands on `engine` run in `conn`'s transaction, each in a savepoint
    (threads started meanwhile inherit this, as they copy the context)."""
    token = _request_transaction.set((engine, conn))
    try:
        yield
    finally:
        _request_transaction.reset(token)


def joined(engine: Engine) -> Connection | None:
    """The request's transaction the commands on `engine` join, if there is one."""
    joined = _request_transaction.get()
    return joined[1] if joined is not None and joined[0] is engine else None


@dataclass
class Opened:
    """A command's transaction begun before the command ran (`Database.opening_change`)."""

    engine: Engine
    work: "SqlWork | None"  # None once a command took it


_opened: ContextVar[Opened | None] = ContextVar("handoff_opened_change", default=None)


@contextmanager
def offering(engine: Engine, work: "SqlWork") -> Iterator[None]:
    """While inside, the first command on `engine` runs in `work`, begun already."""
    token = _opened.set(Opened(engine, work))
    try:
        yield
    finally:
        _opened.reset(token)


def take_opened(engine: Engine) -> "SqlWork | None":
    """The transaction `offering` offers, to the first command on `engine` that asks."""
    opened = _opened.get()
    if opened is None or opened.engine is not engine:
        return None
    work, opened.work = opened.work, None
    return work


class SqlWork:
    """The store's side of one command: on the command's own connection, or on the worker's
    session whose transaction already holds the case (then committing commits that session), or
    in a savepoint of the request's transaction (`nested`: committing releases the savepoint)."""

    def __init__(
        self, conn: Connection, session: Session | None = None, *, nested: bool = False
    ) -> None:
        self._conn, self.session = conn, session
        self._held: dict[str, Agent] = {}
        self._savepoint: NestedTransaction | None = conn.begin_nested() if nested else None
        # On PostgreSQL, a command's own transaction sends what it saves with its COMMIT, in one
        # round trip (see `commit`), and its BEGIN with its first statements
        # (`sql.begin_with_first_statements`); anything else writes at once.
        self._sends_with_commit = session is None and not nested and not is_sqlite(conn)
        self._staged: list[tuple[Loaded, list[Event]]] = []
        # A case locked before the command ran, with its first rows (`lock_case_ahead`).
        self._ahead: tuple[str, list[list[Any]]] | None = None
        if self._sends_with_commit:
            sql.begin_with_first_statements(conn)

    def connection(self) -> Connection:
        """The connection, to send a statement on: what `save` staged is sent first, so that
        the statement sees it."""
        if self._staged:
            self._write_staged()
        return self._conn

    def hold_agents(self, agent_ids: Sequence[str | None]) -> None:
        """The agents as they are now, held (FOR SHARE) until commit, one by one in id order: a
        deactivation waits for this transaction, or this one sees the agent inactive. On SQLite
        the write lock already holds. A case locked ahead is let go first (begun again): agents are
        held before cases, in every transaction."""
        if self._ahead is not None and any(agent_ids):
            self.start_over()
        for agent_id in sorted({a for a in agent_ids if a}):
            rows = LOCK_AGENT.rows(self.connection(), {"agent_id": agent_id})
            if rows:
                self._held[agent_id] = casefile.agent_of(rows[0])

    def agent(self, agent_id: str) -> Agent | None:
        """An agent held by this transaction, or as it is now."""
        held = self._held.get(agent_id)
        if held is not None:
            return held
        rows = AGENT.rows(self.connection(), {"agent_id": agent_id})
        return casefile.agent_of(rows[0]) if rows else None

    def fallback_owner(self, org_id: str, excluding: str | None = None) -> Agent | None:
        for role in ("supervisor", "rep"):
            params = {"org_id": org_id, "role": role, "excluding": excluding or ""}
            rows = FALLBACK_OWNER.rows(self.connection(), params)
            if rows:
                return casefile.agent_of(rows[0])
        return None

    def org_exists(self, org_id: str) -> bool:
        return bool(ORG_WINDOWS.rows(self.connection(), {"org_id": org_id}))

    def org_windows(self, org_id: str) -> dict[str, Any] | None:
        """The org's overrides of the deployment's windows (None: none)."""
        rows = ORG_WINDOWS.rows(self.connection(), {"org_id": org_id})
        windows: dict[str, Any] | None = from_db(Kind.JSON, rows[0][0]) if rows else None
        return windows

    def next_case_number(self) -> int:
        return int(NEXT_CASE_NUMBER.rows(self.connection())[0][0])

    def add_attachment(self, attachment: Attachment, content: bytes) -> None:
        casefile.add_attachment(self.connection(), attachment, content)

    def lock_case(self, case_id: str) -> Loaded | None:
        """Load the case and hold its row lock (FOR UPDATE; on SQLite, the write lock) until
        commit; `save` writes what changed on it."""
        if self._ahead is not None and self._ahead[0] != case_id:
            self.start_over()  # another case was locked ahead: one case a transaction
        ahead, self._ahead = self._ahead, None
        first = ahead[1] if ahead is not None else None
        return casefile.load(self.connection(), case_id, lock=True, first=first)

    def lock_case_ahead(
        self, case_id: str, read: Statement, params: dict[str, Any], found: str
    ) -> tuple[Any, ...]:
        """PostgreSQL, before the command is known to run: `read`'s one row, read in the statement
        that locks the case (when the row's column `found` is not null), and the case's first
        rows, in one round trip. (PostgreSQL runs them in order, each seeing what was committed
        when it began: the case's, once its lock is held.)"""
        first = casefile.first_step(case_id, locking=False)
        locking = (casefile.beside_the_lock(read, found), {**params, "case_id": case_id})
        (row, *_), *rows = sql.rows_of_each(self.connection(), [locking, *first])
        *read_row, locked_id = row
        self._ahead = (case_id, [[(locked_id,)] if locked_id is not None else [], *rows])
        return tuple(read_row)

    def new_case(self, case: Case) -> Loaded:
        return casefile.add(self.connection(), case)

    def save(self, loaded: Loaded, events: Iterable[Event]) -> None:
        """What changed on the case, then its new events (after the row they belong to): written
        now, or staged to go with the COMMIT (anything that uses the connection first writes it)."""
        self._staged.append((loaded, list(events)))
        if not self._sends_with_commit:
            self._write_staged()

    def _write_staged(self, *, commit: bool = False) -> None:
        staged, self._staged = self._staged, []
        with sql.pipelined(self._conn):
            for loaded, events in staged:
                casefile.save(self._conn, loaded)
                event_rows.write(self._conn, loaded.case, events, loaded.unsubscribed)
            if commit:
                sql.commit_in_pipeline(self._conn)

    def commit(self) -> None:
        if self.session is not None:
            self.session.commit()
        elif self._savepoint is not None:
            self._savepoint.commit()
        else:
            if self._staged:
                self._write_staged(commit=True)
            self._conn.commit()

    def start_over(self) -> None:
        """Undo everything, and begin again (taking the write lock again, on SQLite)."""
        self._held, self._staged, self._ahead = {}, [], None
        if self.session is not None:
            self.session.rollback()
            self._conn = self.session.connection()
        elif self._savepoint is not None:
            self._savepoint.rollback()
            self._savepoint = self._conn.begin_nested()
        else:
            self._conn.rollback()
            self._conn.begin()
            if self._sends_with_commit:
                sql.begin_with_first_statements(self._conn)

    def close(self) -> None:
        """Undo what was not committed: in a savepoint, the request's transaction goes on."""
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.rollback()
        if self._sends_with_commit:
            sql.end_own_transaction(self._conn)
