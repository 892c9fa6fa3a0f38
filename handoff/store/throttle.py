"""Tokens that were not valid, counted per client address in the database (SPEC §14).

The count lives in the database, not in a process, so every API process (`serve --workers`, many
machines on one PostgreSQL) slows the same address down alike. A fixed window: an address's
first failure opens a minute, each failure in it counts, and past `MOST_FAILURES` the address
is slowed until that minute ends; its next failure after that opens a new minute.

Only a failure writes: a valid token costs no write here (the authentication statement reads
the address's row beside the credential's, see handoff.services.authentication).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from handoff.store.db import Database
from handoff.store.models import TokenFailures
from handoff.store.sql import Statement
from handoff.store.values import Kind, Target, from_db, to_db

WINDOW = timedelta(minutes=1)
MOST_FAILURES = 20  # in one window; the next one is refused (429)
ADDRESS_LENGTH = 100  # the column's

# One statement, whatever the address's row holds: counted in its window, or a new window.
# (In an upsert's SET, bare column names are the row as it was, on SQLite and on PostgreSQL.)
_FAILED = Statement(
    """INSERT INTO token_failures (address, window_start, failures)
       VALUES (:address, :at, 1)
       ON CONFLICT (address) DO UPDATE SET
         failures = CASE WHEN token_failures.window_start > :opened_after
                         THEN token_failures.failures + 1 ELSE 1 END,
         window_start = CASE WHEN token_failures.window_start > :opened_after
                             THEN token_failures.window_start ELSE :at END
       RETURNING failures, window_start"""
)


@dataclass(frozen=True)
class Failures:
    """An address's failed tokens in its current window."""

    count: int
    window_start: datetime

    def slowed(self, at: datetime) -> bool:
        return self.count > MOST_FAILURES and at < self.window_start + WINDOW

    def retry_after(self, at: datetime) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, ceil((self.window_start + WINDOW - at).total_seconds()))

    @classmethod
    def of(cls, count: Any, window_start: Any) -> "Failures | None":
        """From the columns as read (None: the address has no row)."""
        if count is None or window_start is None:
            return None
        return cls(int(count), from_db(Kind.TIME, window_start))


def address_key(address: str) -> str:
    return address[:ADDRESS_LENGTH]


def failed(db: Database, address: str, at: datetime) -> Failures:
    """Count one token that was not valid from `address`; its window's failures so far."""
    with db.writing() as conn:
        target = Target.of(conn)
        params = {
            "address": address_key(address),
            "at": to_db(Kind.TIME, at, target),
            "opened_after": to_db(Kind.TIME, at - WINDOW, target),
        }
        rows = _FAILED.rows(conn, params)
        conn.commit()
    failures = Failures.of(*rows[0])
    assert failures is not None  # the upsert returns its row
    return failures


def forget_expired(db: Database, at: datetime) -> int:
    """Drop the rows of windows that have ended (the worker's housekeeping)."""
    return db.forget_before(TokenFailures.window_start, at - WINDOW)
