"""Reading cases and histories, as the principal asking may see them."""

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import history
from handoff.commands.flow import Loaded, load_case, now, view_of, windows_of
from handoff.config import Windows
from handoff.db import Database
from handoff.errors import InvalidInput, NotFound
from handoff.history import Verification
from handoff.models import Case, Event
from handoff.principals import Actor
from handoff.views import CaseView, EventView
from handoff.visibility import can_see, visible_cases

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor", "the cursor is not one this server gave out") from None
    # Positions are row numbers: anything else (or a number no database column holds) is forged.
    if (
        not isinstance(position, dict)
        or set(position) != set(keys)
        or not all(type(v) is int and 0 <= v < 2**53 for v in position.values())
    ):
        raise InvalidInput("cursor", "the cursor is not one this server gave out")
    return position


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _visible_case(session: Session, actor: Actor, case_id: str) -> Case:
    return _visible(session, actor, case_id).case


def _visible(session: Session, actor: Actor, case_id: str) -> Loaded:
    loaded = load_case(session, case_id, lock=False)
    if loaded is None or not can_see(loaded.case, actor):
        raise NotFound("case not found")
    return loaded


def get_case(db: Database, actor: Actor, case_id: str) -> CaseView:
    with db.reading() as session:
        loaded = _visible(session, actor, case_id)
        windows = Windows.for_org(db.settings, loaded.windows)
        return view_of(loaded.case, actor, windows, now(), db)


def case_by_link(db: Database, link: str) -> Case:
    """The case behind a customer's status-page link (the link is the customer's only key)."""
    with db.reading() as session:
        case = session.scalars(select(Case).where(Case.customer_link == link)).first()
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
    limit: int = 50,
    cursor: str | None = None,
) -> Page[CaseView]:
    """Visible cases, oldest first (a queue is worked from its oldest case)."""
    limit = check_limit(limit)
    position = decode_cursor(cursor, "after")
    query = visible_cases(actor).order_by(Case.number).limit(limit + 1)
    if state:
        query = query.where(Case.state == state)
    if owner_org:
        query = query.where(Case.owner_org_id == owner_org)
    if mine:
        query = query.where(Case.owner_agent_id == actor.id, Case.state != "closed")
    if unclaimed:
        query = query.where(Case.state == "unclaimed")
    if position:
        query = query.where(Case.number > int(position["after"]))
    with db.reading() as session:
        at = now()
        cases = list(session.scalars(query))
        items = [
            view_of(c, actor, windows_of(session, db, c.owner_org_id), at, db)
            for c in cases[:limit]
        ]
        more = len(cases) > limit
        return Page(items, encode_cursor({"after": cases[limit - 1].number}) if more else None)


def case_events(db: Database, actor: Actor, case_id: str) -> list[EventView]:
    with db.reading() as session:
        _visible_case(session, actor, case_id)
        return [EventView.of(e) for e in _events_of(session, case_id)]


def _events_of(session: Session, case_id: str) -> Iterator[Event]:
    return iter(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))


def verify_case(db: Database, actor: Actor, case_id: str) -> Verification:
    with db.reading() as session:
        case = _visible_case(session, actor, case_id)
        return history.verify(_events_of(session, case_id), (case.last_seq, case.last_hash))


# Chains are read a slice of cases at a time, each slice one short read transaction, its events
# streamed in one statement in (case number, seq) order as plain rows: constant memory, no ORM.
VERIFY_SLICE = 1000
EVENT_FIELDS = (
    Event.case_id,
    Event.seq,
    Event.type,
    Event.actor_kind,
    Event.actor_id,
    Event.org_id,
    Event.at,
    Event.data,
    Event.prev_hash,
    Event.hash,
)


def verify_all(db: Database) -> Iterator[tuple[str, Verification]]:
    """Every case's chain, in case number order, streamed in constant memory."""
    with db.reading() as session:
        heads = list(
            session.execute(select(Case.id, Case.last_seq, Case.last_hash).order_by(Case.number))
        )
    for start in range(0, len(heads), VERIFY_SLICE):
        yield from _verify_slice(db, heads[start : start + VERIFY_SLICE])


def _verify_slice(db: Database, heads: list[Any]) -> Iterator[tuple[str, Verification]]:
    ids = [case_id for case_id, _seq, _hash in heads]
    query = (
        select(*EVENT_FIELDS)
        .join(Case, Case.id == Event.case_id)
        .where(Event.case_id.in_(ids))
        .order_by(Case.number, Event.seq)
    )
    with db.reading() as session:
        rows = session.execute(query.execution_options(yield_per=VERIFY_SLICE))
        by_case = groupby(rows, key=itemgetter(0))
        current = next(by_case, None)
        for case_id, last_seq, last_hash in heads:
            events: Iterator[Any] = iter(())
            if current is not None and current[0] == case_id:
                events = current[1]
            yield case_id, history.verify(events, (last_seq, last_hash))
            if current is not None and current[0] == case_id:
                current = next(by_case, None)
