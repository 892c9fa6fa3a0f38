"""The one way a case changes: lock it, check the table and guards, apply, record, commit."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from handoff import history, lifecycle, outbox
from handoff.attempt import Attempt
from handoff.config import Windows
from handoff.db import Database
from handoff.errors import NotFound, Refusal
from handoff.models import Case, Handoff, JointSession, Org
from handoff.principals import Actor
from handoff.views import CaseView
from handoff.visibility import can_see

# Applies the change a trigger makes and returns the data of its event.
Apply = Callable[[Session, Attempt], dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    case: CaseView
    created: Any = None


def now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def unit_of_work(db: Database, within: Session | None = None) -> Iterator[Session]:
    """A new session, or the caller's when it already began the transaction."""
    if within is not None:
        yield within
        return
    with _one_writer_at_a_time(db), db.session() as session:
        yield session


_writers: dict[str, threading.RLock] = {}
_writers_guard = threading.Lock()


@contextmanager
def _one_writer_at_a_time(db: Database) -> Iterator[None]:
    """SQLite has one write lock, and a thread refused it sleeps in the driver's busy handler
    (1, 2, 5, 10 … 100 ms) rather than being woken when it is free; so this process's writers
    queue on a lock of their own first. PostgreSQL locks rows and needs none of this."""
    if db.is_postgres:
        yield
        return
    key = db.engine.url.render_as_string()
    with _writers_guard:
        writer = _writers.setdefault(key, threading.RLock())
    with writer:
        yield


# One statement brings the case, its participants and requests, its owner org's windows and
# whether it has handoffs and sessions at all: an empty collection is then set without asking the
# database again. Built once, so SQLAlchemy computes its cache key once.
OWNER_WINDOWS = select(Org.windows).where(Org.id == Case.owner_org_id).scalar_subquery()
RARE = (
    ("handoffs", exists().where(Handoff.case_id == Case.id)),
    ("sessions", exists().where(JointSession.case_id == Case.id)),
)
LOAD_CASE = (
    select(Case, OWNER_WINDOWS, outbox.SUBSCRIBED, *(has for _name, has in RARE))
    .where(Case.id == bindparam("case_id"))
    .options(
        joinedload(Case.participants),
        joinedload(Case.requests),
        *(lazyload(getattr(Case, name)) for name, _has in RARE),
    )
    .execution_options(populate_existing=True)
)
LOCK_CASE = select(Case.id).where(Case.id == bindparam("case_id")).with_for_update()


@dataclass(frozen=True)
class Loaded:
    case: Case
    windows: dict[str, Any] | None  # the owner org's overrides


def load_case(session: Session, case_id: str, *, lock: bool) -> Loaded | None:
    """The case with every collection loaded, as the relationships' own loaders would leave it;
    `lock`: also hold its row lock (FOR UPDATE; on SQLite, the write lock) until commit."""
    # The row lock first, the rest in a statement of its own: under READ COMMITTED a statement
    # sees what was committed before it began, and one that waited for the lock began before the
    # holder committed (on SQLite, BEGIN IMMEDIATE already holds the lock).
    row_locks = lock and session.get_bind().dialect.name != "sqlite"
    if row_locks and session.execute(LOCK_CASE, {"case_id": case_id}).first() is None:
        return None
    # A row per participant and request; the windows (JSON) cannot be hashed, so rows are told
    # apart by their case.
    row = session.execute(LOAD_CASE, {"case_id": case_id}).unique(_by_case).one_or_none()
    if row is None:
        return None
    case, windows, subscribed, *present = row
    for (name, _has), has_rows in zip(RARE, present, strict=True):
        if has_rows:
            getattr(case, name)  # loads it, in the relationship's order
        else:
            set_committed_value(case, name, [])
    outbox.note_subscribers(session, case, bool(subscribed))
    return Loaded(case, windows)


def _by_case(row: Any) -> int:
    return id(row[0])


def lock_case(session: Session, case_id: str, actor: Actor) -> Case:
    """Load the case and hold its row lock (FOR UPDATE; on SQLite, the write lock) until commit."""
    return _locked(session, case_id, actor).case


def _locked(session: Session, case_id: str, actor: Actor) -> Loaded:
    loaded = load_case(session, case_id, lock=True)
    if loaded is None or not can_see(loaded.case, actor):
        raise NotFound("case not found")
    return loaded


def windows_of(session: Session, db: Database, org_id: str) -> Windows:
    org = session.get(Org, org_id)
    return Windows.for_org(db.settings, org.windows if org else None)


def view_of(case: Case, actor: Actor, windows: Windows, at: datetime, db: Database) -> CaseView:
    attempt = Attempt(case=case, actor=actor, now=at, windows=windows, rules=db.rules)
    show_link = actor.org_id == case.owner_org_id and actor.kind in ("agent", "system")
    return CaseView.of(case, lifecycle.allowed_actions(attempt), at, show_link=show_link)


def act(
    db: Database,
    actor: Actor,
    case_id: str,
    trigger: str,
    apply: Apply,
    *,
    params: dict[str, Any] | None = None,
    resolve: Callable[[Session, Case], dict[str, Any]] | None = None,
    expected_version: int | None = None,
    within: Session | None = None,
) -> Outcome:
    """Fire `trigger` on a case as `actor`, in one transaction with its event(s).

    `resolve` turns ids in the input into rows (agents, requests) once the case is locked.
    A refusal that would send the customer away is itself recorded, and the change is not made.
    `within` is a session whose transaction already holds the case (the worker's SKIP LOCKED pick).
    """
    with unit_of_work(db, within) as session:
        at = now()
        loaded = _locked(session, case_id, actor)
        case = loaded.case
        attempt = Attempt(
            case=case,
            actor=actor,
            now=at,
            windows=Windows.for_org(db.settings, loaded.windows),
            params=dict(params or {}),
            rules=db.rules,
        )
        try:
            if expected_version is not None and case.version != expected_version:
                raise Refusal(
                    "version_conflict",
                    f"The case is at version {case.version}, not {expected_version}; "
                    "reload it and try again.",
                    current_version=case.version,
                )
            lifecycle.check_source(trigger, case)
            if resolve is not None:
                attempt.params.update(resolve(session, case))
            lifecycle.fire(trigger, attempt)
            data = apply(session, attempt)
        except Refusal as refusal:
            if refusal.is_recorded:
                _record_refusal(db, session, case_id, actor, trigger, refusal)
            raise
        case.version += 1
        case.updated_at = at
        history.append(session, case, lifecycle.EVENT_OF[trigger], actor, at, data)
        for event_type, followup in attempt.followups:
            history.append(session, case, event_type, actor, at, followup)
        view = view_of(case, actor, attempt.windows, at, db)
        session.commit()
        return Outcome(case=view, created=attempt.created)


def _record_refusal(
    db: Database, session: Session, case_id: str, actor: Actor, trigger: str, refusal: Refusal
) -> None:
    """Undo the attempt, then put the refusal on the case's chain (SPEC §6)."""
    session.rollback()
    case = lock_case(session, case_id, actor)
    data = {"trigger": trigger, "code": refusal.code, "message": refusal.message, **refusal.details}
    history.append(session, case, "refused", actor, now(), data)
    session.commit()
