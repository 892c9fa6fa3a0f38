"""Web UI sessions that were signed out: the session cookie is signed and lasts SESSION_HOURS,
so a copy taken before signing out would still work; signing out records the session's id here,
and the pages refuse it from then on. The worker forgets ids older than any cookie can be."""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff.store.db import Database
from handoff.store.models import EndedSession, utcnow

SESSION_HOURS = 12


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


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
    cutoff = (at or utcnow()) - timedelta(hours=SESSION_HOURS)
    return db.forget_before(EndedSession.ended_at, cutoff)
