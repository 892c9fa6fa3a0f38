"""Idempotency keys: a retried mutation gets the first answer back instead of acting twice.

A key is claimed by inserting its row under a unique primary key, in a transaction of its own,
before the mutation runs; a concurrent retry with the same key finds the row in progress and waits
for the stored answer. Keys are kept per principal and forgotten after a day.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from handoff.store.db import Database
from handoff.store.models import IdempotencyKey, utcnow

KEEP_FOR = timedelta(hours=24)
# A key still in progress after this long belongs to a process that died mid-request.
ABANDONED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What became of an attempt to claim a key.

    claimed: the caller runs the request and then stores its answer (or releases the key);
    answered: the answer to replay; in_progress: another request with this key is running;
    reused: the key was used for a different request.
    """

    outcome: Literal["claimed", "answered", "in_progress", "reused"]
    answer: StoredAnswer | None = None


def claim(db: Database, principal: str, key: str, fingerprint: str) -> Claim:
    at = utcnow()
    with db.session() as session:
        row = session.get(IdempotencyKey, (principal, key), with_for_update=True)
        if row is None:
            session.add(
                IdempotencyKey(principal=principal, key=key, fingerprint=fingerprint, created_at=at)
            )
            try:
                session.commit()
            except IntegrityError:
                # A concurrent request inserted it first (PostgreSQL); look at theirs.
                session.rollback()
                return _existing(db, principal, key, fingerprint)
            return Claim("claimed")
        if _lapsed(row, at):
            row.fingerprint, row.created_at = fingerprint, at
            row.status = row.headers = row.body = None
            session.commit()
            return Claim("claimed")
        return _outcome(row, fingerprint)


def _existing(db: Database, principal: str, key: str, fingerprint: str) -> Claim:
    with db.reading() as session:
        row = session.get(IdempotencyKey, (principal, key))
        return Claim("in_progress") if row is None else _outcome(row, fingerprint)


def _lapsed(row: IdempotencyKey, at: datetime) -> bool:
    age = at - row.created_at
    return age > KEEP_FOR or (row.status is None and age > ABANDONED_AFTER)


def _outcome(row: IdempotencyKey, fingerprint: str) -> Claim:
    if row.fingerprint != fingerprint:
        return Claim("reused")
    if row.status is None:
        return Claim("in_progress")
    return Claim("answered", StoredAnswer(row.status, dict(row.headers or {}), row.body or b""))


def store(db: Database, principal: str, key: str, answer: StoredAnswer) -> None:
    with db.session() as session:
        row = session.get(IdempotencyKey, (principal, key), with_for_update=True)
        if row is not None:
            row.status, row.headers, row.body = answer.status, answer.headers, answer.body
            session.commit()


def release(db: Database, principal: str, key: str) -> None:
    """The request failed without an answer worth keeping: a retry may run it afresh."""
    with db.session() as session:
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.principal == principal,
                IdempotencyKey.key == key,
                IdempotencyKey.status.is_(None),
            )
        )
        session.commit()


def forget_expired(db: Database, at: datetime | None = None) -> int:
    """Drop keys older than a day (each worker pass does); returns how many went."""
    return db.forget_before(IdempotencyKey.created_at, (at or utcnow()) - KEEP_FOR)
