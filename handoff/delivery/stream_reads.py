"""What the streams read from the events table: short, blocking reads run in worker threads."""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Select, func, not_, or_, select

from handoff.domain.errors import NotFound
from handoff.domain.principals import Actor
from handoff.services.views import EventView
from handoff.services.visibility import sees, visible_cases
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event, ParticipantRow

PAGE = 200  # events per read: a stream catching up reads page after page
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


def _committed(
    rows: Iterable[Event], orgs: dict[str, frozenset[str]], render: Render
) -> list[Committed]:
    return [
        Committed(e.id, e.case_id, e.seq, e.type, orgs.get(e.case_id, frozenset()), render(view))
        for e in rows
        for view in (EventView.of(e),)
    ]


def newest_ids(db: Database, window: int) -> tuple[int, list[int]]:
    """The highest event id, and the ids up to `window` below it that are not (yet) there:
    on PostgreSQL a transaction may still commit one of them."""
    with db.read_connection() as conn:
        top = conn.scalar(select(func.max(Event.id))) or 0
        present = set(conn.scalars(select(Event.id).where(Event.id > top - window)))
    return top, [i for i in range(max(top - window, 0) + 1, top) if i not in present]


def events_after(
    db: Database, last_id: int, gaps: Collection[int], with_orgs: bool, render: Render
) -> list[Committed]:
    """Events with an id above `last_id` or among `gaps`, in id order, at most a page."""
    query = select(Event).order_by(Event.id).limit(PAGE)
    newer = Event.id > last_id
    query = query.where(or_(newer, Event.id.in_(sorted(gaps))) if gaps else newer)
    with db.reading() as session:
        rows = list(session.scalars(query))
        orgs = _orgs_of(session.connection(), {e.case_id for e in rows}) if with_orgs else {}
    return _committed(rows, orgs, render)


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
