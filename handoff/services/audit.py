"""What auditors read (SPEC §6): a case's history page by page, a case as it stood at a time,
events searched or exported across cases, and every chain verified."""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, Select, case, null, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from handoff.domain.errors import Forbidden
from handoff.domain.events import Recorded
from handoff.domain.principals import Actor
from handoff.domain.vocabulary import REQUEST_STATES
from handoff.history.fold import HandoffState, RequestState, SessionState, fold
from handoff.history.verification import verify_cases
from handoff.services.queries import (
    Page,
    check_limit,
    decode_cursor,
    encode_cursor,
    get_case,
    require_visible,
)
from handoff.services.views import EventView, Owner
from handoff.services.visibility import visible_cases
from handoff.store import event_rows
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event

SHORT_ID = 8  # how many of a case id's first characters the pages show
REFERENCE = re.compile(r"(?i)^HC-?0*(\d{1,9})$")
HEX = re.compile(r"^[0-9a-fA-F]+$")
EXPORT_BATCH = 1000  # events per query of an export
CASE_BATCH = 200  # cases per statement when every chain is walked or verified
EXPORTED = tuple(getattr(Event, name) for name in event_rows.STORED_EVENT)


@dataclass(frozen=True)
class EventFilter:
    """Audit search: every given criterion must hold; `types` and `cases` match any of theirs.

    A case is named by its id, its reference (HC-000123) or the start of its id as pages show it
    (at least SHORT_ID characters): see `case_named`."""

    org: str | None = None
    types: list[str] = field(default_factory=list)
    actor: str | None = None
    cases: list[str] = field(default_factory=list)
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


@dataclass(frozen=True)
class CaseAsOf:
    """A case as it stood at `at`; state and owner are None if it did not exist yet."""

    case_id: str
    at: datetime
    state: str | None
    owner: Owner | None
    participants: list[str]
    requests: list[RequestState]  # every one made by then; past AS_OF_REQUESTS the open ones
    handoff: HandoffState | None  # pending then
    session: SessionState | None  # live then
    events: list[EventView]  # a page of the events up to then
    request_counts: dict[str, int] = field(default_factory=dict)  # by the state they were in
    next_cursor: str | None = None  # the next page of `events`


# As-of answers list every request made by then up to this many; past it, the open ones only.
AS_OF_REQUESTS = 100
# Events whose data the fold never reads, and which may be long: folded without their data.
WORDY_EVENTS = ("note_added", "session_message")


@dataclass(frozen=True)
class Head:
    """Where a case's row says its chain ends."""

    case_id: str
    last_seq: int
    last_hash: str


@dataclass(frozen=True)
class BrokenChain:
    case_id: str
    first_broken_seq: int


@dataclass(frozen=True)
class ChainsVerification:
    valid: bool
    chains: int
    events: int
    broken: list[BrokenChain]


def require_auditor(actor: Actor) -> None:
    if not actor.is_auditor:
        raise Forbidden("only an auditor may search and export events")


def case_history(
    db: Database, actor: Actor, case_id: str, *, limit: int = 50, cursor: str | None = None
) -> Page[EventView]:
    """One case's events in `seq` order, a page at a time."""
    limit = check_limit(limit)
    position = decode_cursor(cursor, "after")
    with db.read_connection() as conn:  # two plain reads: no ORM session, no transaction
        require_visible(conn, actor, case_id)  # not visible: not found
        after = position["after"] if position else 0
        rows = event_rows.case_page(conn, case_id, after, limit + 1)
    return _page_of_rows([(row[1], *row) for row in rows], limit)  # keyed by seq


def case_as_of(
    db: Database,
    actor: Actor,
    case_id: str,
    at: datetime,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> CaseAsOf:
    """The case after every event at or before `at` (an event at exactly `at` has happened),
    with those events a page at a time (SPEC §14): the answer is bounded whatever the case holds.
    The fold reads every event up to `at`, but notes and messages without their text."""
    limit = check_limit(limit)
    position = decode_cursor(cursor, "after")
    get_case(db, actor, case_id)
    until = (Event.case_id == case_id, Event.at <= at)
    folded = select(
        Event.seq, Event.at, Event.actor_kind, Event.actor_id, Event.org_id, Event.type,
        case((Event.type.in_(WORDY_EVENTS), null()), else_=Event.data).label("data"),
    ).where(*until).order_by(Event.seq)  # fmt: skip
    page = select(Event).where(*until).order_by(Event.seq).limit(limit + 1)
    if position:
        page = page.where(Event.seq > position["after"])
    with db.reading() as session:
        standing = fold(Recorded.of(_Stored(*row)) for row in session.execute(folded))
        events = list(session.scalars(page))
    more = len(events) > limit
    requests = list(standing.requests) if standing else []
    counts = dict.fromkeys(REQUEST_STATES, 0)
    for request in requests:
        counts[request.state] += 1
    if len(requests) > AS_OF_REQUESTS:
        requests = [r for r in requests if r.is_open]
    return CaseAsOf(
        case_id=case_id,
        at=at,
        state=standing.state if standing else None,
        owner=Owner(standing.owner_org, standing.owner_agent) if standing else None,
        participants=list(standing.participants) if standing else [],
        requests=requests,
        handoff=standing.handoff if standing else None,
        session=standing.session if standing else None,
        events=[EventView.of(e) for e in events[:limit]],
        request_counts=counts,
        next_cursor=encode_cursor({"after": events[limit - 1].seq}) if more else None,
    )


@dataclass(frozen=True)
class _Stored:
    """An event's row as the fold reads it (a note's or a message's data left out)."""

    seq: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    org_id: str | None
    type: str
    stored_data: dict[str, Any] | None

    @property
    def data(self) -> dict[str, Any]:
        return self.stored_data or {}


def _matching(actor: Actor, f: EventFilter) -> Select[Event]:
    query = select(Event).order_by(Event.id)
    if not (actor.is_auditor and actor.orgs is None):
        visible = visible_cases(actor).with_only_columns(CaseRow.id)
        query = query.where(Event.case_id.in_(visible))
    if f.org:
        query = query.where(Event.org_id == f.org)
    if f.types:
        query = query.where(Event.type.in_(f.types))
    if f.actor:
        query = query.where(Event.actor_id == f.actor)
    if f.cases:
        named = select(CaseRow.id).where(or_(*map(case_named, f.cases)))
        query = query.where(Event.case_id.in_(named))
    if f.start:
        query = query.where(Event.at >= f.start)
    if f.end:
        query = query.where(Event.at < f.end)
    return query


def case_named(name: str) -> ColumnElement[bool]:
    """The case(s) `name` stands for: the case with that id, the case with that reference
    (HC-000004, hc-4), and the cases whose id starts with it when it is a short id as the pages
    show one (hex, at least SHORT_ID characters)."""
    ways = [CaseRow.id == name]
    reference = REFERENCE.match(name)
    if reference:
        ways.append(CaseRow.number == int(reference.group(1)))
    if SHORT_ID <= len(name) < 32 and HEX.match(name):
        ways.append(CaseRow.id.startswith(name.lower(), autoescape=True))
    return or_(*ways) if len(ways) > 1 else ways[0]


def references(db: Database, case_ids: Iterable[str]) -> dict[str, str]:
    """The reference (HC-000123) of each of these cases, by id."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    with db.reading() as session:
        rows = session.execute(select(CaseRow.id, CaseRow.number).where(CaseRow.id.in_(wanted)))
        return {case_id: f"HC-{number:06d}" for case_id, number in rows}


def search_events(
    db: Database, actor: Actor, f: EventFilter, *, limit: int = 50, cursor: str | None = None
) -> Page[EventView]:
    """Events across the cases the auditor may see, in the order they were written."""
    require_auditor(actor)
    limit = check_limit(limit)
    position = decode_cursor(cursor, "after")
    return _page_after(db, _matching(actor, f), Event.id, limit, position)


def _page_after(
    db: Database,
    query: Select[Event],
    key: InstrumentedAttribute[int],
    limit: int,
    position: dict[str, Any] | None,
) -> Page[EventView]:
    """Up to `limit` events of `query` (ordered by `key`) after the cursor's position."""
    with db.reading() as session:
        return _page_in(session, query, key, limit, position)


def _page_in(
    session: Session,
    query: Select[Event],
    key: InstrumentedAttribute[int],
    limit: int,
    position: dict[str, Any] | None,
) -> Page[EventView]:
    """`_page_after`, read in the caller's session: plain rows, as the export reads them."""
    rows_query = query.with_only_columns(key, *EXPORTED).limit(limit + 1)
    if position:
        rows_query = rows_query.where(key > position["after"])
    return _page_of_rows(session.connection().execute(rows_query).all(), limit)


def _page_of_rows(rows: Sequence[Sequence[Any]], limit: int) -> Page[EventView]:
    """A page of events from rows of their key, then the `EXPORTED` columns, read one past
    `limit`: the next page starts after the key of the last row shown."""
    more = len(rows) > limit
    next_cursor = encode_cursor({"after": rows[limit - 1][0]}) if more else None
    return Page([_view_of_row(row[1:]) for row in rows[:limit]], next_cursor)


def _view_of_row(row: Sequence[Any]) -> EventView:
    """An event from a row of the `EXPORTED` columns (`event_rows.STORED_EVENT`), in order."""
    case_id, seq, type, actor_kind, actor_id, org_id, at, data, prev, hash = row
    return EventView(
        case_id=case_id,
        seq=seq,
        type=type,
        actor={"kind": actor_kind, "id": actor_id},
        org_id=org_id,
        at=at,
        data=data,
        prev_hash=prev,
        hash=hash,
    )


def export_events(db: Database, actor: Actor, f: EventFilter) -> Iterator[EventView]:
    """Every matching event, read in batches so memory stays flat however many there are.

    Access is checked now, before the first event is asked for.
    """
    require_auditor(actor)
    return _batches(db, _matching(actor, f))


def _batches(db: Database, query: Select[Event]) -> Iterator[EventView]:
    # Keyset pages on the event id: each query reads at most one batch, on every database, and
    # no session stays open while the caller writes a batch out. Plain rows, not mapped events:
    # an export reads each event once, and a model object per event would cost most of its time.
    rows_query = query.with_only_columns(Event.id, *EXPORTED)
    after = 0
    while True:
        with db.reading() as session:
            page = rows_query.where(Event.id > after).limit(EXPORT_BATCH)
            batch = session.connection().execute(page).all()
        for row in batch:
            yield _view_of_row(row[1:])
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1][0]


def case_histories(db: Database, cases: Select[str]) -> Iterator[tuple[Head, Iterator[Event]]]:
    """Each chosen case's head with its events in `seq` order, one case at a time.

    `cases` selects case ids. They are taken CASE_BATCH at a time, and each batch's heads and
    events are read by one streamed statement: memory stays flat, and a head is always read in
    the same snapshot as its events (a case written to meanwhile is not mistaken for a broken one).
    """
    after = None
    while True:
        with db.reading() as session:
            page = cases.order_by(CaseRow.number).limit(CASE_BATCH)
            if after is not None:
                page = page.where(CaseRow.number > after)
            numbers = dict(
                session.execute(page.with_only_columns(CaseRow.id, CaseRow.number)).all()
            )
            if not numbers:
                return
            rows = session.execute(
                select(CaseRow.id, CaseRow.last_seq, CaseRow.last_hash, Event)
                .outerjoin(Event, Event.case_id == CaseRow.id)
                .where(CaseRow.id.in_(list(numbers)))
                .order_by(CaseRow.number, Event.seq)
                .execution_options(yield_per=EXPORT_BATCH)
            )
            for (case_id, last_seq, last_hash), group in groupby(rows, key=lambda r: r[:3]):
                events = (event for *_, event in group if event is not None)
                yield Head(case_id, last_seq, last_hash), events
        if len(numbers) < CASE_BATCH:
            return
        after = max(numbers.values())


def verify_chains(db: Database, actor: Actor) -> ChainsVerification:
    """Walk the chain of every case the auditor may see; name each broken one and where."""
    require_auditor(actor)
    chains = events = 0
    broken = []
    # In this process: a request's work stays in the server, not in worker processes of its own.
    for case_id, verification in verify_cases(db, visible_cases(actor), slice_size=CASE_BATCH):
        chains, events = chains + 1, events + verification.events
        if verification.first_broken_seq is not None:
            broken.append(BrokenChain(case_id, verification.first_broken_seq))
    return ChainsVerification(not broken, chains, events, broken)
