"""What the streams read from the events table: short reads, each one statement or two."""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, func, not_, or_, select

from handoff.domain.errors import NotFound
from handoff.domain.principals import Actor
from handoff.services.views import EventView
from handoff.services.visibility import sees, visible_cases
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event, ParticipantRow

PAGE = 200  # events per read: a stream catching up reads page after page
ID_PAGE = 2000  # new events' ids per read of the hub (it renders only those watched)
Render = Callable[[EventView], str]


@dataclass(frozen=True, slots=True)
class Committed:
    """One committed event as the streams send it: rendered once, for every stream."""

    id: int  # the events table's global id
    case_id: str
    seq: int
    type: str
    orgs: frozenset[str]  # the orgs taking part in its case when it was read
    json: str
    tail: bytes = field(repr=False)  # its `event:` and `data:` lines and the blank line
    frame: bytes = field(repr=False)  # as a case stream sends it: `id:` its seq, then `tail`


@dataclass(frozen=True, slots=True)
class Viewer:
    """A kind of caller who sees the same cases (`sees` tells them apart by nothing else): an
    org's agents and systems, an auditor's scope, a case's customer. `actor` is one of them."""

    key: tuple[object, ...]
    actor: Actor = field(compare=False, hash=False)


def viewer_of(actor: Actor) -> Viewer:
    if actor.kind == "timer":
        return Viewer(("timer",), actor)
    if actor.kind == "customer":
        return Viewer(("customer", actor.case_id), actor)
    if actor.is_auditor:
        return Viewer(("auditor", actor.orgs), actor)
    if actor.kind in ("agent", "system"):
        return Viewer(("member", actor.org_id), actor)
    return Viewer(("nobody",), actor)


@dataclass(frozen=True, slots=True)
class Batch:
    ids: list[int]  # every new id read, watched or not, in order
    events: list[Committed]  # the watched ones, rendered
    full: bool  # there may be more


def committed(e: Event, orgs: frozenset[str], render: Render) -> Committed:
    data = render(EventView.of(e))
    tail = f"event: {e.type}\ndata: {data}\n\n".encode()
    return Committed(e.id, e.case_id, e.seq, e.type, orgs, data, tail, b"id: %d\n" % e.seq + tail)


def _committed(
    rows: Iterable[Event], orgs: dict[str, frozenset[str]], render: Render
) -> list[Committed]:
    return [committed(e, orgs.get(e.case_id, frozenset()), render) for e in rows]


def newest_ids(db: Database, window: int) -> tuple[int, list[int]]:
    """The highest event id, and the ids up to `window` below it that are not (yet) there:
    on PostgreSQL a transaction may still commit one of them."""
    with db.read_connection() as conn:
        top = conn.scalar(select(func.max(Event.id))) or 0
        present = set(conn.scalars(select(Event.id).where(Event.id > top - window)))
    return top, [i for i in range(max(top - window, 0) + 1, top) if i not in present]


def new_events(
    db: Database,
    last_id: int,
    gaps: Collection[int],
    cases: Collection[str],
    viewers: Collection[Viewer],
    render: Render,
) -> Batch:
    """The events with an id above `last_id` or among `gaps`, by id: all their ids, and those
    of the `cases` or seen by one of the `viewers` whole (one read: their ids and cases, with
    the orgs taking part when there are viewers; then the watched rows, if any)."""
    columns: list[Any] = [Event.id, Event.case_id]
    if viewers:
        orgs = select(func.aggregate_strings(ParticipantRow.org_id, ","))
        columns.append(orgs.where(ParticipantRow.case_id == Event.case_id).scalar_subquery())
    newer = Event.id > last_id
    query = select(*columns).where(or_(newer, Event.id.in_(sorted(gaps))) if gaps else newer)
    with db.reading() as session:
        rows = session.execute(query.order_by(Event.id).limit(ID_PAGE)).all()
        wanted: dict[int, frozenset[str]] = {}
        for row in rows:
            taking_part = frozenset(row[2].split(",")) if viewers and row[2] else frozenset()
            if row[1] in cases or any(sees(v.actor, row[1], taking_part) for v in viewers):
                wanted[row[0]] = taking_part
        watched = []
        if wanted:
            full = select(Event).where(Event.id.in_(sorted(wanted))).order_by(Event.id)
            watched = [committed(e, wanted[e.id], render) for e in session.scalars(full)]
    return Batch([row[0] for row in rows], watched, len(rows) == ID_PAGE)


def case_events_after(
    db: Database, actor: Actor, case_id: str, after_seq: int, render: Render
) -> list[Committed]:
    """A page of a case's events after `after_seq`; NotFound when `actor` may not see the case."""
    with db.reading() as session:
        orgs = _orgs_of(session.connection(), {case_id}).get(case_id, frozenset())
        exists = session.scalar(select(CaseRow.id).where(CaseRow.id == case_id))
        if exists is None or not sees(actor, case_id, orgs):
            raise NotFound("case not found")
        query = select(Event).where(Event.case_id == case_id, Event.seq > after_seq)
        rows = list(session.scalars(query.order_by(Event.seq).limit(PAGE)))
    return _committed(rows, {case_id: orgs}, render)


def visible_events_after(
    db: Database, actor: Actor, after_id: int, sent: Collection[int], render: Render
) -> list[Committed]:
    """A page of the events of every case `actor` may see, above `after_id` and not in `sent`."""
    cases = visible_cases(actor).with_only_columns(CaseRow.id).scalar_subquery()
    query: Select[Event] = select(Event).where(Event.id > after_id, Event.case_id.in_(cases))
    if sent:
        query = query.where(not_(Event.id.in_(sorted(sent))))
    with db.reading() as session:
        rows = list(session.scalars(query.order_by(Event.id).limit(PAGE)))
        orgs = _orgs_of(session.connection(), {e.case_id for e in rows})
    return _committed(rows, orgs, render)


def _orgs_of(conn: Connection, case_ids: set[str]) -> dict[str, frozenset[str]]:
    if not case_ids:
        return {}
    query = select(ParticipantRow.case_id, ParticipantRow.org_id).where(
        ParticipantRow.case_id.in_(sorted(case_ids))
    )
    found: dict[str, set[str]] = defaultdict(set)
    for case_id, org_id in conn.execute(query):
        found[case_id].add(org_id)
    return {case_id: frozenset(orgs) for case_id, orgs in found.items()}
