"""The one way a case changes: lock it, check the table and guards, apply, record, commit."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import history, lifecycle
from handoff.attempt import Attempt
from handoff.config import Windows
from handoff.db import Database
from handoff.errors import NotFound, Refusal
from handoff.models import Case, Org
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
    with db.session() as session:
        yield session


def lock_case(session: Session, case_id: str, actor: Actor) -> Case:
    """Load the case and hold its row lock (FOR UPDATE; on SQLite, the write lock) until commit."""
    case = session.scalars(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if case is None or not can_see(case, actor):
        raise NotFound("case not found")
    return case


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
        case = lock_case(session, case_id, actor)
        attempt = Attempt(
            case=case,
            actor=actor,
            now=at,
            windows=windows_of(session, db, case.owner_org_id),
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
