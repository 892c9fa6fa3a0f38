"""A case and its collections, read and written without the ORM's session on the commands' hot
path.

The ORM's loading and its unit of work cost most of a command's time (the benchmarks' profile):
for one case row and a handful of children they are far more machinery than needed. So a command
reads the case with one statement (sent straight to the driver, handoff.direct) into instances of
the mapped classes that belong to no session, its collections plain lists, and the ORM's own
attribute instrumentation records which columns the command changes. `save` then writes exactly
that: an UPDATE of the changed columns of each loaded row, an INSERT of each new child. The rules
(lifecycle, guards, views) see the same `Case`, `Request` … objects as ever.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, exists, insert, inspect, select, update

from handoff.store import outbox
from handoff.store.direct import Direct
from handoff.store.models import (
    Base,
    Case,
    Handoff,
    JointSession,
    Org,
    Participant,
    Request,
    SessionParty,
)


def table_of(cls: type[Base]) -> Table:
    table = cls.__table__
    assert isinstance(table, Table)
    return table


T = TypeVar("T", bound=Base)
CASES, PARTICIPANTS, REQUESTS = table_of(Case), table_of(Participant), table_of(Request)
HANDOFFS, SESSIONS, PARTIES = table_of(Handoff), table_of(JointSession), table_of(SessionParty)
TABLES = (CASES, PARTICIPANTS, REQUESTS, HANDOFFS, SESSIONS, PARTIES)

# The case row, its owner org's windows, whether anyone subscribed, whether it has handoffs and
# sessions at all, and a row per participant and request (ordered as the relationships order them).
_EXTRAS = (
    select(Org.windows).where(Org.id == CASES.c.owner_org_id).scalar_subquery(),
    outbox.SUBSCRIBED.correlate(CASES),  # not to the participant row joined below
    exists().where(HANDOFFS.c.case_id == CASES.c.id),
    exists().where(SESSIONS.c.case_id == CASES.c.id),
)
LOAD_CASE = (
    select(*CASES.c, *_EXTRAS, *PARTICIPANTS.c, *REQUESTS.c)
    .select_from(
        CASES.outerjoin(PARTICIPANTS, PARTICIPANTS.c.case_id == CASES.c.id).outerjoin(
            REQUESTS, REQUESTS.c.case_id == CASES.c.id
        )
    )
    .where(CASES.c.id == bindparam("case_id"))
    .order_by(PARTICIPANTS.c.added_at, REQUESTS.c.created_at)
)
LOCK_CASE = select(CASES.c.id).where(CASES.c.id == bindparam("case_id")).with_for_update()
LOAD_HANDOFFS = (
    select(HANDOFFS)
    .where(HANDOFFS.c.case_id == bindparam("case_id"))
    .order_by(HANDOFFS.c.created_at)
)
LOAD_SESSIONS = (
    select(SESSIONS)
    .where(SESSIONS.c.case_id == bindparam("case_id"))
    .order_by(SESSIONS.c.started_at)
)
# Every command sends these: straight to the driver (handoff.direct).
_LOCK_CASE, _LOAD_CASE = Direct(LOCK_CASE), Direct(LOAD_CASE)
_LOAD_HANDOFFS, _LOAD_SESSIONS = Direct(LOAD_HANDOFFS), Direct(LOAD_SESSIONS)
LOAD_PARTIES = (
    select(PARTIES)
    .where(PARTIES.c.session_id.in_(bindparam("session_ids", expanding=True)))
    .order_by(PARTIES.c.id)
)


_ATTRIBUTES = {t: tuple(c.key for c in t.c) for t in TABLES}
_COLUMN_KEYS = {t: frozenset(keys) for t, keys in _ATTRIBUTES.items()}


def _spans(*tables: Table) -> list[tuple[tuple[str, ...], slice]]:
    """Where each table's columns sit in a row of LOAD_CASE."""
    spans, start = [], 0
    for table in tables:
        keys = _ATTRIBUTES[table]
        spans.append((keys, slice(start, start + len(keys))))
        start += len(keys) + (len(_EXTRAS) if table is CASES else 0)
    return spans


(_CASE_KEYS, _CASE_AT), (_PART_KEYS, _PART_AT), (_REQ_KEYS, _REQ_AT) = _spans(
    CASES, PARTICIPANTS, REQUESTS
)
_EXTRAS_AT = slice(_CASE_AT.stop, _CASE_AT.stop + len(_EXTRAS))


@dataclass
class Loaded:
    """The case as read, and which of its objects came from the database (the others are new)."""

    case: Case
    windows: dict[str, Any] | None  # the owner org's overrides
    # The orgs taking part when the case was read, if none of them had a webhook subscription
    # (None: some had one).
    unsubscribed: frozenset[str] | None
    known: set[int] = field(default_factory=set)


def _new_instance(cls: type[Base]) -> Base:
    maker = _MAKERS.get(cls)
    if maker is None:
        maker = _MAKERS[cls] = inspect(cls).class_manager.new_instance
    return maker()


_MAKERS: dict[type[Base], Any] = {}


def _instance(cls: type[T], keys: Sequence[str], values: Sequence[Any], known: set[int]) -> T:
    """An instance of a mapped class holding a row's values as committed state, as the ORM's own
    loader leaves them: changes made afterwards show in `inspect(obj).committed_state`."""
    obj = cast(T, _new_instance(cls))
    obj.__dict__.update(zip(keys, values, strict=True))
    known.add(id(obj))
    return obj


def detached(cls: type[T], row: Sequence[Any]) -> T:
    """A row of `cls`'s table (all columns, in order) as an instance that belongs to no session."""
    return _instance(cls, _ATTRIBUTES.get(table_of(cls)) or _keys(cls), row, set())


def _keys(cls: type[Base]) -> tuple[str, ...]:
    return tuple(c.key for c in table_of(cls).c)


def _holds(obj: Base, collection: str, items: list[Any]) -> None:
    """A collection as read: a plain list, since nothing flushes it (`save` writes new children
    itself), so appending to it costs no ORM event."""
    obj.__dict__[collection] = items


def load(conn: Connection, case_id: str, *, lock: bool) -> Loaded | None:
    """The case with every collection; `lock`: also hold its row lock (FOR UPDATE; on SQLite,
    the write lock BEGIN IMMEDIATE took) until the transaction ends."""
    # The row lock in a statement of its own: under READ COMMITTED a statement sees what was
    # committed before it began, and one that waited for the lock began before the holder
    # committed.
    row_locks = lock and conn.dialect.name != "sqlite"
    if row_locks and not _LOCK_CASE.rows(conn, {"case_id": case_id}):
        return None
    rows = _LOAD_CASE.rows(conn, {"case_id": case_id})
    if not rows:
        return None
    known: set[int] = set()
    first = rows[0]
    case = _instance(Case, _CASE_KEYS, first[_CASE_AT], known)
    windows, subscribed, has_handoffs, has_sessions = first[_EXTRAS_AT]
    participants: dict[Any, Participant] = {}
    requests: dict[Any, Request] = {}
    for row in rows:
        org_id = row[_PART_AT][1]
        if org_id is not None and org_id not in participants:
            participants[org_id] = _instance(Participant, _PART_KEYS, row[_PART_AT], known)
        request_id = row[_REQ_AT][0]
        if request_id is not None and request_id not in requests:
            requests[request_id] = _instance(Request, _REQ_KEYS, row[_REQ_AT], known)
    _holds(case, "participants", list(participants.values()))
    _holds(case, "requests", list(requests.values()))
    _holds(
        case,
        "handoffs",
        _rows(conn, Handoff, _LOAD_HANDOFFS, case_id, known) if has_handoffs else [],
    )
    sessions = _rows(conn, JointSession, _LOAD_SESSIONS, case_id, known) if has_sessions else []
    parties: dict[str, list[SessionParty]] = {s.id: [] for s in sessions}
    if sessions:
        keys = _ATTRIBUTES[PARTIES]
        for party_row in conn.execute(LOAD_PARTIES, {"session_ids": list(parties)}):
            party = _instance(SessionParty, keys, party_row, known)
            parties[party.session_id].append(party)
    for session in sessions:
        _holds(session, "parties", parties[session.id])
    _holds(case, "sessions", sessions)
    unsubscribed = None if subscribed else frozenset(case.participant_org_ids)
    return Loaded(case, windows, unsubscribed, known)


def _rows(conn: Connection, cls: type[T], query: Direct, case_id: str, known: set[int]) -> list[T]:
    keys = _ATTRIBUTES[table_of(cls)]
    return [_instance(cls, keys, row, known) for row in query.rows(conn, {"case_id": case_id})]


def save(conn: Connection, loaded: Loaded) -> None:
    """Write what the command changed: the changed columns of each loaded row, each new child.
    Once per transaction, just before its commit."""
    case, known = loaded.case, loaded.known
    _write(conn, CASES, case, known)
    for child in (*case.participants, *case.requests, *case.handoffs):
        _write(conn, table_of(type(child)), child, known, case_id=case.id)
    for session in case.sessions:
        _write(conn, SESSIONS, session, known, case_id=case.id)
        for party in session.parties:
            _write(conn, PARTIES, party, known, session_id=session.id)


# Built once per table: the SET clause of an UPDATE (and the columns of an INSERT) follow the
# keys of the parameters it is executed with, so each shape is compiled once. A row whose key
# the database makes (a session's parties) goes through SQLAlchemy, which reads the key back.
_UPDATE = {
    t: Direct(
        update(t).where(*(c == bindparam(f"pk_{c.key}") for c in t.primary_key.columns)),
        sets_columns=True,
    )
    for t in TABLES
}
_INSERT = {t: insert(t) for t in TABLES}
_DIRECT_INSERT = {t: Direct(statement, sets_columns=True) for t, statement in _INSERT.items()}


def _write(conn: Connection, table: Table, obj: Base, known: set[int], **parent: Any) -> None:
    values = obj.__dict__
    if id(obj) in known:
        # The ORM keeps each changed attribute's value as read in `committed_state`.
        changed = [k for k in inspect(obj).committed_state if k in _COLUMN_KEYS[table]]
        if changed:
            keys = {f"pk_{c.key}": values[c.key] for c in table.primary_key.columns}
            _UPDATE[table].execute(conn, {k: values[k] for k in changed} | keys)
        return
    for name, value in parent.items():
        setattr(obj, name, value)  # the foreign key the relationship would have synchronised
    for column in table.c:  # the Python-side defaults, so the object holds what the row holds
        default = column.default
        if column.key not in values and default is not None:
            value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
            setattr(obj, column.key, value)
    row = {c.key: values[c.key] for c in table.c if c.key in values}
    if all(c.key in row for c in table.primary_key.columns):
        _DIRECT_INSERT[table].execute(conn, row)
        return
    result = conn.execute(_INSERT[table], row)
    inserted = result.inserted_primary_key or ()
    for column, value in zip(table.primary_key.columns, inserted, strict=True):
        if column.key not in values:
            setattr(obj, column.key, value)
