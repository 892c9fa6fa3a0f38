"""The case store: a case with its children read into the plain aggregate (handoff.domain.case),
and written back as it changed.

`load` reads the case row and each child list with a statement of its own (no statement's rows
multiply one child list by another), and notes each row's values as read; `save` then writes
exactly what the command changed: an UPDATE of the changed columns of each row read, an INSERT of
each new child. The SQL is plain text on the driver (handoff.store.sql), its values converted by
each column's kind.

Of the requests only the open ones are read, the settled ones counted (SPEC §14): loading a case
costs the same statements and a bounded number of rows whatever its size. `Loaded.request` reads a
settled one when a command names it.
"""

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table

from handoff.domain.case import (
    Agent,
    Attachment,
    Case,
    Handoff,
    JointSession,
    Participant,
    Request,
)
from handoff.domain.case import SessionParty as Party
from handoff.domain.vocabulary import OPEN_REQUEST_STATES, REQUEST_STATES
from handoff.store import models
from handoff.store.sql import Statement, rows_of_each
from handoff.store.values import Columns, Kind, from_db, is_sqlite


def table_of(cls: type[models.Base]) -> Table:
    table = cls.__table__
    assert isinstance(table, Table)
    return table


T = TypeVar("T")
CASES, PARTICIPANTS = table_of(models.CaseRow), table_of(models.ParticipantRow)
REQUESTS, HANDOFFS = table_of(models.RequestRow), table_of(models.HandoffRow)
SESSIONS, PARTIES = table_of(models.SessionRow), table_of(models.PartyRow)
AGENTS = table_of(models.AgentRow)
ATTACHMENTS = table_of(models.AttachmentRow)

# Each aggregate class and the table it is kept in; the parent key a new child is given.
TABLE_OF: dict[type, Table] = {
    Case: CASES,
    Participant: PARTICIPANTS,
    Request: REQUESTS,
    Handoff: HANDOFFS,
    JointSession: SESSIONS,
    Party: PARTIES,
    Agent: AGENTS,
}
COLUMNS = {table: Columns.of(table) for table in TABLE_OF.values()}
# An attachment's bytes are read only to be downloaded, never with its case.
ATTACHMENT_FACTS = Columns(
    *zip(
        *(
            (name, kind)
            for name, kind in zip(
                *(Columns.of(ATTACHMENTS).names, Columns.of(ATTACHMENTS).kinds), strict=True
            )
            if name != "content"
        ),
        strict=True,
    )
)
# Keys the database makes: read back after the INSERT.
GENERATED = {PARTIES: "id"}


def _select(table: Table, where: str, order: str = "") -> Statement:
    return Statement(
        f"SELECT {COLUMNS[table].listed()} FROM {table.name} WHERE {where} {order}".strip()
    )


LOCK_CASE = Statement("SELECT id FROM cases WHERE id = :case_id FOR UPDATE")
SETTLED_REQUEST_STATES = tuple(s for s in REQUEST_STATES if s not in OPEN_REQUEST_STATES)
OPEN_STATES_SQL = ", ".join(f"'{s}'" for s in OPEN_REQUEST_STATES)
SETTLED_COUNTS = ", ".join(
    f"(SELECT count(*) FROM requests r WHERE r.case_id = c.id AND r.state = '{state}')"
    for state in SETTLED_REQUEST_STATES
)
# The case row, then: its owner org's windows, whether any org taking part has a webhook
# subscription, whether it has handoffs and sessions at all (so a case without any costs no
# statement for them), how many files it has, and how many settled requests in each settled
# state (counted on ix_requests_case_state, never read).
LOAD_CASE = Statement(
    f"""SELECT {COLUMNS[CASES].listed("c.")},
        (SELECT o.windows FROM orgs o WHERE o.id = c.owner_org_id),
        EXISTS (SELECT 1 FROM participants p JOIN webhook_subscriptions w ON w.org_id = p.org_id
                WHERE p.case_id = c.id AND w.active),
        EXISTS (SELECT 1 FROM handoffs h WHERE h.case_id = c.id),
        EXISTS (SELECT 1 FROM joint_sessions s WHERE s.case_id = c.id),
        (SELECT count(*) FROM attachments a WHERE a.case_id = c.id),
        {SETTLED_COUNTS}
    FROM cases c WHERE c.id = :case_id"""
)
LOAD_PARTICIPANTS = _select(PARTICIPANTS, "case_id = :case_id", "ORDER BY added_at")
# The open requests only (at most HANDOFF_MAX_OPEN_REQUESTS), found on ix_requests_case_state;
# put in order here, not by the database, whose planner would rather walk every request of the
# case in the order they were made (ix_requests_case_order) than sort a few.
LOAD_REQUESTS = _select(REQUESTS, f"case_id = :case_id AND state IN ({OPEN_STATES_SQL})")
LOAD_REQUEST = _select(REQUESTS, "case_id = :case_id AND id = :request_id")
LOAD_HANDOFFS = Statement(  # each with its receiving org's own customer_presence
    f"SELECT {COLUMNS[HANDOFFS].listed('h.')}, o.customer_presence"
    " FROM handoffs h LEFT JOIN orgs o ON o.id = h.to_org_id"
    " WHERE h.case_id = :case_id ORDER BY h.created_at"
)
LOAD_SESSIONS = _select(SESSIONS, "case_id = :case_id", "ORDER BY started_at")
# The newest ATTACHMENTS_CARRIED files' facts (never their bytes), newest first.
ATTACHMENTS_CARRIED = 50
LOAD_ATTACHMENTS = Statement(
    f"SELECT {ATTACHMENT_FACTS.listed()} FROM attachments WHERE case_id = :case_id "
    f"ORDER BY created_at DESC, id DESC LIMIT {ATTACHMENTS_CARRIED}"
)
ATTACHMENT = Statement(
    f"SELECT {ATTACHMENT_FACTS.listed()} FROM attachments "
    "WHERE case_id = :case_id AND id = :attachment_id"
)
INSERT_ATTACHMENT = Statement(
    f"INSERT INTO attachments ({Columns.of(ATTACHMENTS).listed()}) VALUES "
    f"({', '.join(':' + n for n in Columns.of(ATTACHMENTS).names)})"
)
LOAD_PARTIES = _select(
    PARTIES, "session_id IN (SELECT id FROM joint_sessions WHERE case_id = :case_id)", "ORDER BY id"
)


@dataclass
class Loaded:
    """The case as read, and each row's values as read (by the object holding it): objects not
    in `read` are new."""

    case: Case
    windows: dict[str, Any] | None  # the owner org's overrides
    # The orgs taking part when the case was read, if none of them had a webhook subscription
    # (None: some had one).
    unsubscribed: frozenset[str] | None
    read: dict[int, dict[str, Any]] = field(default_factory=dict)
    conn: Connection | None = None  # where it was read: settled requests are read from it

    def keep(self, obj: object, values: dict[str, Any]) -> None:
        """The values as read, to tell later what changed: a command may change a JSON value
        (a dict or a list) in place, so those are copied; the rest cannot change."""
        self.read[id(obj)] = {
            k: copy.copy(v) if isinstance(v, (dict, list)) else v for k, v in values.items()
        }

    def request(self, request_id: str) -> Request | None:
        """The case's request `request_id`: one the case carries, or a settled one read now
        (and carried from then on, no longer counted among the settled)."""
        case = self.case
        found = next((r for r in case.requests if r.id == request_id), None)
        if found is not None or self.conn is None:
            return found
        rows = LOAD_REQUEST.rows(self.conn, {"case_id": case.id, "request_id": request_id})
        if not rows:
            return None
        request = _build(Request, REQUESTS, rows[0], self)
        if case.settled_requests.get(request.state):
            case.settled_requests[request.state] -= 1
        case.requests.append(request)
        return request


def _build(cls: type[T], table: Table, row: Sequence[Any], loaded: Loaded | None) -> T:
    values = COLUMNS[table].values(row)
    obj = cls(**values)
    if loaded is not None:
        loaded.keep(obj, values)
    return obj


def agent_of(row: Sequence[Any]) -> Agent:
    """An agent from a row of all the agents table's columns, in order."""
    return _build(Agent, AGENTS, row, None)


@functools.cache
def beside_the_lock(read: Statement, found: str) -> Statement:
    """`read`, a query of exactly one row, and the case's lock in one statement: the row, then
    the case's id if it exists and was locked (PostgreSQL: the lock's FOR UPDATE in a lateral
    subquery). The case is locked only when the row's column `found` is not null: a read that
    found nothing (a token that is not valid) locks nothing."""
    lock = LOCK_CASE.sql.replace(" FOR UPDATE", f" AND r.{found} IS NOT NULL FOR UPDATE")
    return Statement(f"SELECT r.*, l.id FROM ({read.sql}) r LEFT JOIN LATERAL ({lock}) l ON true")


def first_step(case_id: str, *, locking: bool) -> list[tuple[Statement, dict[str, Any]]]:
    """The statements `load` sends first, in one round trip (`locking`: the lock's first)."""
    key = {"case_id": case_id}
    first = [(LOCK_CASE, key)] if locking else []
    return [*first, (LOAD_CASE, key), (LOAD_PARTICIPANTS, key), (LOAD_REQUESTS, key)]


def load(
    conn: Connection, case_id: str, *, lock: bool, first: list[list[Any]] | None = None
) -> Loaded | None:
    """The case with its child lists (of the requests, the open ones); `lock`: also hold its
    row lock (FOR UPDATE; on SQLite, the write lock BEGIN IMMEDIATE took) until the
    transaction ends. `first`: the rows of `first_step`, if they were read already."""
    # The row lock in a statement of its own: under READ COMMITTED a statement sees what was
    # committed before it began, and one that waited for the lock began before the holder
    # committed. PostgreSQL is sent the statements of each step at once (one round trip).
    key, locking = {"case_id": case_id}, lock and not is_sqlite(conn)
    found = first if first is not None else rows_of_each(conn, first_step(case_id, locking=locking))
    if locking and not found.pop(0):
        return None
    rows, participant_rows, request_rows = found
    if not rows:
        return None
    width = len(COLUMNS[CASES].names)
    top = rows[0]
    windows, subscribed, has_handoffs, has_sessions, attachments = top[width : width + 5]
    values = COLUMNS[CASES].values(top[:width])
    case = Case(**values)
    settled = zip(SETTLED_REQUEST_STATES, top[width + 5 :], strict=True)
    case.settled_requests = {state: int(n) for state, n in settled if n}
    loaded = Loaded(case, from_db(Kind.JSON, windows), unsubscribed=None, conn=conn)
    loaded.keep(case, values)
    case.participants = [_build(Participant, PARTICIPANTS, r, loaded) for r in participant_rows]
    requests = [_build(Request, REQUESTS, r, loaded) for r in request_rows]
    case.requests = sorted(requests, key=lambda r: (r.created_at, r.id))
    then = [(LOAD_HANDOFFS, key)] if has_handoffs else []
    then += [(LOAD_SESSIONS, key), (LOAD_PARTIES, key)] if has_sessions else []
    then += [(LOAD_ATTACHMENTS, key)] if attachments else []
    more = iter(rows_of_each(conn, then))
    if has_handoffs:
        for *columns, presence in next(more):
            case.handoffs.append(_build(Handoff, HANDOFFS, columns, loaded))
            case.handoffs[-1].to_org_presence = presence
    if has_sessions:
        sessions = [_build(JointSession, SESSIONS, r, loaded) for r in next(more)]
        by_id = {s.id: s for s in sessions}
        for row in next(more):
            party = _build(Party, PARTIES, row, loaded)
            by_id[party.session_id].parties.append(party)
        case.sessions = sessions
    if attachments:
        newest = [Attachment(**ATTACHMENT_FACTS.values(r)) for r in next(more)]
        case.attachments = newest[::-1]
        case.older_attachments = int(attachments) - len(newest)
    if not subscribed:
        loaded.unsubscribed = frozenset(case.participant_org_ids)
    return loaded


PARTICIPANT_ORGS = Statement(
    "SELECT c.id, p.org_id FROM cases c LEFT JOIN participants p ON p.case_id = c.id "
    "WHERE c.id = :case_id"
)


def participant_orgs(conn: Connection, case_id: str) -> list[str] | None:
    """The orgs taking part in the case (who may see it), without loading it; None: no case."""
    rows = PARTICIPANT_ORGS.rows(conn, {"case_id": case_id})
    return [str(org) for _case, org in rows if org is not None] if rows else None


def add_attachment(conn: Connection, attachment: Attachment, content: bytes) -> None:
    """A file given for a case: written at once, never changed."""
    values = {name: getattr(attachment, name) for name in ATTACHMENT_FACTS.names}
    params = Columns.of(ATTACHMENTS).params(values | {"content": content}, conn)
    INSERT_ATTACHMENT.execute(conn, params)


ATTACHMENT_CONTENT = Statement(
    "SELECT content FROM attachments WHERE case_id = :case_id AND id = :attachment_id"
)


def attachment(conn: Connection, case_id: str, attachment_id: str) -> Attachment | None:
    """The facts of one file given for the case (the case carries only its newest)."""
    rows = ATTACHMENT.rows(conn, {"case_id": case_id, "attachment_id": attachment_id})
    return Attachment(**ATTACHMENT_FACTS.values(rows[0])) if rows else None


def attachment_content(conn: Connection, case_id: str, attachment_id: str) -> bytes | None:
    rows = ATTACHMENT_CONTENT.rows(conn, {"case_id": case_id, "attachment_id": attachment_id})
    return bytes(rows[0][0]) if rows else None


def add(conn: Connection, case: Case) -> Loaded:
    """A new case, to be written (with its children) by `save`."""
    return Loaded(case=case, windows=None, unsubscribed=None, conn=conn)


def save(conn: Connection, loaded: Loaded) -> None:
    """Write what the command changed: the changed columns of each row read, each new child.
    Once per transaction, just before its commit."""
    case = loaded.case
    _write(conn, loaded, case)
    children: list[Participant | Request | Handoff] = [
        *case.participants,
        *case.requests,
        *case.handoffs,
    ]
    for child in children:
        if not child.case_id:
            child.case_id = case.id
        _write(conn, loaded, child)
    for session in case.sessions:
        if not session.case_id:
            session.case_id = case.id
        _write(conn, loaded, session)
        for party in session.parties:
            if not party.session_id:
                party.session_id = session.id
            _write(conn, loaded, party)


def _write(conn: Connection, loaded: Loaded, obj: Any) -> None:
    table = TABLE_OF[type(obj)]
    columns = COLUMNS[table]
    now = {name: getattr(obj, name) for name in columns.names}
    before = loaded.read.get(id(obj))
    if before is not None:
        changed = tuple(name for name in columns.names if now[name] != before[name])
        if changed:
            keys = tuple(c.key for c in table.primary_key.columns)
            params = columns.params({name: now[name] for name in changed}, conn)
            params |= {f"pk_{k}": now[k] for k in keys}
            _update(table, changed, keys).execute(conn, params)
            loaded.keep(obj, now)
        return
    generated = GENERATED.get(table)
    names = tuple(n for n in columns.names if not (n == generated and now[n] is None))
    params = columns.params({n: now[n] for n in names}, conn)
    if generated is not None and generated not in names:
        rows = _insert(table, names, generated).rows(conn, params)
        setattr(obj, generated, rows[0][0])
        now[generated] = rows[0][0]
    else:
        _insert(table, names, None).execute(conn, params)
    loaded.keep(obj, now)


@functools.cache
def _update(table: Table, changed: tuple[str, ...], keys: tuple[str, ...]) -> Statement:
    sets = ", ".join(f"{name} = :{name}" for name in changed)
    where = " AND ".join(f"{k} = :pk_{k}" for k in keys)
    return Statement(f"UPDATE {table.name} SET {sets} WHERE {where}")


@functools.cache
def _insert(table: Table, names: tuple[str, ...], returning: str | None) -> Statement:
    listed, values = ", ".join(names), ", ".join(f":{n}" for n in names)
    tail = f" RETURNING {returning}" if returning else ""
    return Statement(f"INSERT INTO {table.name} ({listed}) VALUES ({values}){tail}")


_REQUEST_PAGES: dict[tuple[bool, bool], Statement] = {}


def requests_page(
    conn: Connection,
    case_id: str,
    *,
    state: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Request]:
    """Up to `limit` of the case's requests (those in `state`, if given) in the order they were
    made (created_at, then id), after the request `after` names by its (created_at, id)."""
    key = (state is not None, after is not None)
    statement = _REQUEST_PAGES.get(key)
    if statement is None:
        where = "case_id = :case_id"
        if state is not None:
            where += " AND state = :state"
        if after is not None:
            where += " AND (created_at, id) > (:at, :after_id)"
        statement = _select(REQUESTS, where, "ORDER BY created_at, id LIMIT :limit")
        _REQUEST_PAGES[key] = statement
    params: dict[str, Any] = {"case_id": case_id, "state": state, "limit": limit}
    if after is not None:
        at = COLUMNS[REQUESTS].params({"created_at": after[0]}, conn)["created_at"]
        params |= {"at": at, "after_id": after[1]}
    if state is None:
        del params["state"]
    return [_build(Request, REQUESTS, row, None) for row in statement.rows(conn, params)]
