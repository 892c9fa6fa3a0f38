"""A customer present by their link stays present while their page holds its stream open: the
stream keeps a heartbeat in the database (so any process may serve it), and the worker ends a
presence whose heartbeat went quiet (SPEC §12)."""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, select, update

from handoff.store.db import Database
from handoff.store.models import CaseRow, PartyRow, SessionRow

# How long a link presence outlives the last heartbeat of its page's stream.
LINK_PRESENCE_LASTS = timedelta(seconds=60)


def _open_link_presence() -> tuple[ColumnElement[bool], ...]:
    return (PartyRow.party == "customer", PartyRow.via == "link", PartyRow.left_at.is_(None))


def customer_seen(db: Database, case_id: str, at: datetime) -> int:
    """The heartbeat: the customer's open link presence in the case's live session was seen at
    `at`; returns how many presences that was (0 or 1)."""
    live = select(SessionRow.id).where(SessionRow.case_id == case_id, SessionRow.state == "live")
    with db.session() as session:
        done = session.execute(
            update(PartyRow)
            .where(*_open_link_presence(), PartyRow.session_id.in_(live))
            .values(seen_at=at)
        )
        session.commit()
        return int(getattr(done, "rowcount", 0) or 0)


def lost_connections(at: datetime) -> Select[str, str]:
    """(case id, session id) of live sessions whose customer's page went quiet before `at` less
    the grace period, the longest quiet first. Driven from the sessions that are live (few),
    each with its parties by their indexed session id."""
    return (
        select(SessionRow.case_id, SessionRow.id)
        .join(PartyRow, PartyRow.session_id == SessionRow.id)
        .join(CaseRow, CaseRow.id == SessionRow.case_id)
        .where(SessionRow.state == "live", *_open_link_presence())
        .where(PartyRow.seen_at <= at - LINK_PRESENCE_LASTS)
        .order_by(PartyRow.seen_at)
    )
