"""Idempotency keys: a retried mutation gets the first answer back instead of acting twice.

A request with a key runs in one transaction of its own (`hold`): the key's row is inserted first,
the request's commands join that transaction (handoff.store.work.joining), and its answer is
written to the row and committed with them (`HeldKey.answer`), before the answer is sent. So a
change and the answer kept for it are committed together or not at all, and the claim on a key is
never more than an open transaction: a concurrent retry waits on it (PostgreSQL's lock on the new
row; SQLite's one writer), and if the process dies the database ends the transaction, which frees
the key at once. Keys are kept per principal and forgotten after a day.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Row, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from handoff.store.db import Database
from handoff.store.models import IdempotencyKey, utcnow
from handoff.store.work import joining

KEEP_FOR = timedelta(hours=24)
# How long a retry waits for a request with its key still running before it answers "in progress"
# (SPEC §14: a key is never blocked for longer than a request may take, 10 s at most).
WAIT_FOR_FIRST = 10.0
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out
KEYS = IdempotencyKey.__table__


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What became of an attempt to claim a key.

    claimed: the caller runs the request in the held transaction, then answers or abandons it;
    answered: the answer to replay; in_progress: another request with this key is still running
    after the wait; reused: the key was used for a different request.
    """

    outcome: Literal["claimed", "answered", "in_progress", "reused"]
    answer: StoredAnswer | None = None


class _Turn:
    """On SQLite, this process's turn to write, held for as long as a request's transaction is
    open. The turn belongs to a thread (handoff.store.db.FairLock) while the request's work moves
    between threads, so a thread of its own takes it, holds it and gives it back."""

    def __init__(self, db: Database) -> None:
        self._taken, self._done = threading.Event(), threading.Event()
        holder = threading.Thread(target=self._hold, args=(db,), name="key-turn", daemon=True)
        holder.start()

    def _hold(self, db: Database) -> None:
        with db.one_writer_at_a_time():
            self._taken.set()
            self._done.wait()

    def wait(self) -> None:
        self._taken.wait()

    def give_back(self) -> None:
        self._done.set()


class HeldKey:
    """A claimed key and the open transaction holding it, which the request's commands join."""

    def __init__(self, db: Database, conn: Connection, turn: _Turn | None, where: Any) -> None:
        self._db, self._conn, self._turn, self._where = db, conn, turn, where

    @contextmanager
    def joined(self) -> Iterator[None]:
        """While inside, the request's commands run in this transaction."""
        with joining(self._db.engine, self._conn):
            yield

    def answer(self, answer: StoredAnswer) -> None:
        """Keep the answer and commit it with the request's change."""
        try:
            values = {"status": answer.status, "headers": answer.headers, "body": answer.body}
            self._conn.execute(update(IdempotencyKey).where(self._where).values(values))
            self._conn.commit()
        finally:
            self._end()

    def abandon(self) -> None:
        """No answer worth keeping (a failure): the change and the claim both go."""
        self._end()

    def _end(self) -> None:
        try:
            self._conn.close()  # rolls back whatever was not committed
        finally:
            if self._turn is not None:
                self._turn.give_back()


def hold(
    db: Database, principal: str, key: str, fingerprint: str, wait: float = WAIT_FOR_FIRST
) -> tuple[Claim, HeldKey | None]:
    """Claim the key in a transaction of its own, waiting (on PostgreSQL at most `wait` seconds)
    while another request holds it; the held key comes with the claim, to answer or abandon.
    On SQLite the request holding the key holds the writer, so waiting for the writer is waiting
    for it."""
    deadline = time.monotonic() + wait
    turn = None if db.is_postgres else _Turn(db)
    if turn is not None:
        turn.wait()  # in the queue of this process's writers, as every command waits for it
    try:
        conn = db.engine.connect()
    except BaseException:
        if turn is not None:
            turn.give_back()
        raise
    where = (IdempotencyKey.principal == principal) & (IdempotencyKey.key == key)
    held = HeldKey(db, conn, turn, where)
    try:
        conn.begin()
        claim = _claim(conn, where, principal, key, fingerprint, deadline)
    except BaseException:
        held.abandon()
        raise
    if claim.outcome != "claimed":
        held.abandon()
        return claim, None
    return claim, held


def _claim(
    conn: Connection, where: Any, principal: str, key: str, fingerprint: str, deadline: float
) -> Claim:
    at = utcnow()
    row = conn.execute(select(KEYS).where(where)).first()
    if row is not None:
        if not _lapsed(row, at):
            return _outcome(row, fingerprint)
        conn.execute(delete(IdempotencyKey).where(where))
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # wait for a concurrent request with this key no longer than the deadline
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        conn.execute(text(f"SET LOCAL lock_timeout = {remaining}"))
    try:
        with conn.begin_nested():
            values = {"principal": principal, "key": key, "fingerprint": fingerprint}
            conn.execute(insert(IdempotencyKey).values(values | {"created_at": at}))
    except IntegrityError:  # a concurrent request with this key committed first: theirs
        row = conn.execute(select(KEYS).where(where)).first()
        return Claim("in_progress") if row is None else _outcome(row, fingerprint)
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return Claim("in_progress")
        raise
    if postgres:
        conn.execute(text("SET LOCAL lock_timeout = DEFAULT"))
    return Claim("claimed")


def _lapsed(row: Row[Any], at: datetime) -> bool:
    """Kept for more than a day; or claimed without an answer, which only a version before the
    claim lived in a transaction could leave behind."""
    return bool(at - row.created_at > KEEP_FOR or row.status is None)


def _outcome(row: Row[Any], fingerprint: str) -> Claim:
    if row.fingerprint != fingerprint:
        return Claim("reused")
    return Claim("answered", StoredAnswer(row.status, dict(row.headers or {}), row.body or b""))


def forget_expired(db: Database, at: datetime | None = None) -> int:
    """Drop keys older than a day (each worker pass does); returns how many went."""
    return db.forget_before(IdempotencyKey.created_at, (at or utcnow()) - KEEP_FOR)
