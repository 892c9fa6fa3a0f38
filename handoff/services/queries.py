"""Reading cases and histories, as the principal asking may see them."""

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, func, or_, select
from sqlalchemy.orm import Session

from handoff.config import Windows
from handoff.domain.case import Attachment, Case
from handoff.domain.errors import InvalidInput, NotFound
from handoff.domain.principals import Actor
from handoff.domain.vocabulary import REQUEST_STATES
from handoff.history import chain
from handoff.history.chain import Verification
from handoff.history.verification import verify_all as verify_all  # its callers know it from here
from handoff.services.flow import view_of
from handoff.services.views import CaseView, EventView, RequestView
from handoff.services.visibility import can_see, sees, visible_cases
from handoff.store import casefile
from handoff.store.casefile import Loaded
from handoff.store.db import Database
from handoff.store.models import OPEN_REQUEST_STATES, CaseRow, Event, HandoffRow, RequestRow
from handoff.store.models import utcnow as now

T = TypeVar("T")
MAX_LIMIT = 200
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, *keys: str, ids: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """The position a cursor this server gave out names: numbers under `keys`, ids under `ids`."""
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor", "the cursor is not one this server gave out") from None
    # Positions are row numbers and ids: anything else (or a number no database column holds,
    # an id no id could be) is forged.
    if (
        not isinstance(position, dict)
        or set(position) != {*keys, *ids}
        or not all(type(position[k]) is int and 0 <= position[k] < 2**53 for k in keys)
        or not all(isinstance(position[k], str) and ID.fullmatch(position[k]) for k in ids)
    ):
        raise InvalidInput("cursor", "the cursor is not one this server gave out")
    return position


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def visible_case(session: Session, actor: Actor, case_id: str) -> Case:
    """The case as read in `session`; NotFound when `actor` may not see it."""
    return _visible(session, actor, case_id).case


def require_visible(conn: Connection, actor: Actor, case_id: str) -> None:
    """`visible_case`, for a read that needs only to know: the case is not loaded."""
    orgs = casefile.participant_orgs(conn, case_id)
    if orgs is None or not sees(actor, case_id, orgs):
        raise NotFound("case not found")


def _visible(session: Session, actor: Actor, case_id: str) -> Loaded:
    loaded = casefile.load(session.connection(), case_id, lock=False)
    if loaded is None or not can_see(loaded.case, actor):
        raise NotFound("case not found")
    return loaded


def get_case(db: Database, actor: Actor, case_id: str) -> CaseView:
    with db.reading() as session:
        loaded = _visible(session, actor, case_id)
        windows = Windows.for_org(db.settings, loaded.windows)
        return view_of(loaded.case, actor, windows, now(), db)


def case_requests(
    db: Database,
    actor: Actor,
    case_id: str,
    *,
    state: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[RequestView]:
    """Every request of the case (or those now in `state`), in the order they were made, a page
    at a time: the case itself carries only the open ones (SPEC §14)."""
    limit = check_limit(limit)
    if state is not None and state not in REQUEST_STATES:
        raise InvalidInput("state", f"state must be one of {', '.join(REQUEST_STATES)}")
    position = decode_cursor(cursor, "at", ids=("id",))
    after = (EPOCH + timedelta(microseconds=position["at"]), position["id"]) if position else None
    with db.reading() as session:
        _visible(session, actor, case_id)
        found = casefile.requests_page(
            session.connection(), case_id, state=state, after=after, limit=limit + 1
        )
    at = now()
    items = [RequestView.of(r, at) for r in found[:limit]]
    if len(found) <= limit:
        return Page(items, None)
    last = found[limit - 1]
    micros = (last.created_at - EPOCH) // timedelta(microseconds=1)
    return Page(items, encode_cursor({"at": micros, "id": last.id}))


def case_by_link(db: Database, link: str) -> CaseRow:  # the row: its id is what callers need
    """The case behind a customer's status-page link (the link is the customer's only key)."""
    with db.reading() as session:
        case = session.scalars(select(CaseRow).where(CaseRow.customer_link == link)).first()
        if case is None:
            raise NotFound("case not found")
        return case


def list_cases(
    db: Database,
    actor: Actor,
    *,
    state: str | None = None,
    owner_org: str | None = None,
    mine: bool = False,
    unclaimed: bool = False,
    waiting_on: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[CaseView]:
    """Visible cases, oldest first (a queue is worked from its oldest case). `mine`: those the
    caller owns, open ones unless `state` is given. `waiting_on`: only those with an open
    request or a pending handoff addressed to that org."""
    limit = check_limit(limit)
    position = decode_cursor(cursor, "after")
    query = visible_cases(actor).order_by(CaseRow.number).limit(limit + 1)
    if waiting_on:
        query = query.where(addressed_to(waiting_on))
    if state:
        query = query.where(CaseRow.state == state)
    if owner_org:
        query = query.where(CaseRow.owner_org_id == owner_org)
    if mine:  # the caller's open cases; their closed ones when `state` asks for them
        query = query.where(CaseRow.owner_agent_id == actor.id)
        if not state:
            query = query.where(CaseRow.state != "closed")
    if unclaimed:
        query = query.where(CaseRow.state == "unclaimed")
    if position:
        query = query.where(CaseRow.number > int(position["after"]))
    with db.reading() as session:
        at = now()
        rows = list(session.execute(query.with_only_columns(CaseRow.id, CaseRow.number)))
        items = []
        for case_id, _number in rows[:limit]:
            loaded = casefile.load(session.connection(), case_id, lock=False)
            assert loaded is not None  # read in the same transaction
            windows = Windows.for_org(db.settings, loaded.windows)
            items.append(view_of(loaded.case, actor, windows, at, db))
        more = len(rows) > limit
        return Page(items, encode_cursor({"after": rows[limit - 1][1]}) if more else None)


def addressed_to(org_id: str) -> ColumnElement[bool]:
    """The case has an open request to `org_id`, or a handoff to it waiting for its answer."""
    # Driven from the few open requests and pending handoffs, not from every case.
    return or_(
        CaseRow.id.in_(
            select(RequestRow.case_id).where(
                RequestRow.to_org_id == org_id, RequestRow.state.in_(OPEN_REQUEST_STATES)
            )
        ),
        CaseRow.id.in_(
            select(HandoffRow.case_id).where(
                HandoffRow.to_org_id == org_id, HandoffRow.state == "proposed"
            )
        ),
    )


def case_events(db: Database, actor: Actor, case_id: str) -> list[EventView]:
    with db.reading() as session:
        require_visible(session.connection(), actor, case_id)
        return [EventView.of(e) for e in _events_of(session, case_id)]


def newest_events(
    db: Database, actor: Actor, case_id: str, *, before: int | None = None, limit: int = 50
) -> tuple[list[EventView], int | None]:
    """A page of the case's timeline: its newest `limit` events (before seq `before`, if given),
    in seq order, and the seq to ask `before` for the page older than this one (None: none)."""
    limit = check_limit(limit)
    query = select(Event).where(Event.case_id == case_id).order_by(Event.seq.desc())
    if before is not None:
        query = query.where(Event.seq < before)
    with db.reading() as session:
        require_visible(session.connection(), actor, case_id)
        found = list(session.scalars(query.limit(limit + 1)))
    page = [EventView.of(e) for e in reversed(found[:limit])]
    return page, page[0].seq if len(found) > limit else None


def session_messages(
    db: Database, case_id: str, session_id: str, *, limit: int = 100
) -> list[EventView]:
    """What was said in the joint session, oldest first: at most its newest `limit` messages (its
    caller checked that the reader may see the case)."""
    query = (
        select(Event)
        .where(Event.case_id == case_id, Event.type == "session_message")
        .order_by(Event.seq.desc())
        .limit(limit)
    )
    with db.reading() as session:
        said = [e for e in session.scalars(query) if e.data.get("session_id") == session_id]
    return [EventView.of(e) for e in reversed(said)]


def last_seq(db: Database, case_id: str) -> int:
    """The seq of the case's latest event (0 before any): where a page's stream starts."""
    with db.reading() as session:
        found = session.scalar(select(func.max(Event.seq)).where(Event.case_id == case_id))
        return int(found or 0)


def _events_of(session: Session, case_id: str) -> Iterator[Event]:
    return iter(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))


def verify_case(db: Database, actor: Actor, case_id: str) -> Verification:
    with db.reading() as session:
        case = visible_case(session, actor, case_id)
        return chain.verify(_events_of(session, case_id), (case.last_seq, case.last_hash))


def attachment(
    db: Database, actor: Actor, case_id: str, attachment_id: str
) -> tuple[Attachment, bytes]:
    """A file given for a case, to whoever may read the case."""
    with db.reading() as session:
        _visible(session, actor, case_id)
        found = casefile.attachment(session.connection(), case_id, attachment_id)
        content = casefile.attachment_content(session.connection(), case_id, attachment_id)
    if found is None or content is None:
        raise NotFound("attachment not found")
    return found, content
