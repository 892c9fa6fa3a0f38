"""Web UI sessions: how long one lasts, and the ones signed out.

A session lasts SESSION_HOURS from signing in, however often it is used: its cookie carries the
time of signing in (signed, so it cannot be moved), and the pages refuse it once that is
SESSION_HOURS ago. Signing out records the session's id here, and the pages refuse it from then
on, even from a copy of its cookie. The worker forgets an id SESSION_HOURS after it was signed
out: by then the session it names has run out by its own sign-in time, so no copy of its cookie
can come back.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff.store.db import Database
from handoff.store.models import EndedSession, utcnow

SESSION_HOURS = 12
SESSION_LENGTH = timedelta(hours=SESSION_HOURS)


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def is_current(signed_in_at: datetime, at: datetime) -> bool:
    """Whether a session signed in then still runs at `at` (never once SESSION_HOURS are up)."""
    return at < signed_in_at + SESSION_LENGTH


def end(db: Database, session_id: str) -> None:
    """Sign the session out for good (signing out twice is the same as once)."""
    with db.session() as session:
        session.add(EndedSession(id=session_id, ended_at=utcnow()))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def has_ended(db: Database, session_id: str) -> bool:
    with db.read_connection() as conn:
        found = conn.execute(select(EndedSession.id).where(EndedSession.id == session_id))
        return found.first() is not None


def forget_ended(db: Database, at: datetime | None = None) -> int:
    """Drop ids no cookie can carry any more (each worker pass does); returns how many went."""
    cutoff = (at or utcnow()) - SESSION_LENGTH
    return db.forget_before(EndedSession.ended_at, cutoff)
