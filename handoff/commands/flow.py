"""The one way a case changes: lock it, check the table and guards, apply, record, commit."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handoff import casefile, history, lifecycle, outbox
from handoff.attempt import Attempt
from handoff.casefile import Loaded
from handoff.config import Windows
from handoff.db import Database
from handoff.errors import NotFound, Refusal
from handoff.models import Agent, Case, Org
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


# Agents who may become an owner are share-locked before the case: a deactivation locks the agent
# for update and then the agent's cases, so taking the agent first keeps one order everywhere.
LOCK_AGENTS = (
    select(Agent)
    .where(Agent.id.in_(bindparam("agent_ids", expanding=True)))
    .order_by(Agent.id)
    .with_for_update(read=True)
    .execution_options(populate_existing=True)
)


def lock_agents(session: Session, agent_ids: Sequence[str | None]) -> dict[str, Agent]:
    """The agents as they are now, held (FOR SHARE) until commit: a deactivation waits for this
    transaction, or this one sees the agent inactive. On SQLite the write lock already holds."""
    wanted = sorted({a for a in agent_ids if a})
    if not wanted:
        return {}
    return {a.id: a for a in session.scalars(LOCK_AGENTS, {"agent_ids": wanted})}


def load_case(session: Session, case_id: str, *, lock: bool) -> Loaded | None:
    """The case with every collection (see handoff.casefile); `lock`: also hold its row lock
    (FOR UPDATE; on SQLite, the write lock) until commit."""
    loaded = casefile.load(session.connection(), case_id, lock=lock)
    if loaded is not None:
        outbox.note_subscribers(session, loaded.case, loaded.subscribed)
    return loaded


def lock_case(session: Session, case_id: str, actor: Actor) -> Loaded:
    """Load the case and hold its row lock (FOR UPDATE; on SQLite, the write lock) until commit;
    `casefile.save` writes what is changed on it."""
    loaded = load_case(session, case_id, lock=True)
    if loaded is None or not can_see(loaded.case, actor):
        raise NotFound("case not found")
    return loaded


def windows_of(session: Session, db: Database, org_id: str) -> Windows:
    org = session.get(Org, org_id)
    return Windows.for_org(db.settings, org.windows if org else None)


def view_of(case: Case, actor: Actor, windows: Windows, at: datetime, db: Database) -> CaseView:
    attempt = Attempt(case=case, actor=actor, now=at, windows=windows, rules=db.rules)
    # The status page lets whoever holds it act as the customer: the owner org's people and
    # system only, never its auditor, who reads and does nothing (SPEC §7).
    show_link = actor.org_id == case.owner_org_id and (actor.works_cases or actor.kind == "system")
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
    owners: Sequence[str | None] = (),
) -> Outcome:
    """Fire `trigger` on a case as `actor`, in one transaction with its event(s).

    `resolve` turns ids in the input into rows (agents, requests) once the case is locked.
    A refusal that would send the customer away is itself recorded, and the change is not made.
    `within` is a session whose transaction already holds the case (the worker's SKIP LOCKED pick).
    `owners`: the agents this change may make owner, locked before the case (see LOCK_AGENTS).
    """
    with unit_of_work(db, within) as session:
        at = now()
        _held = lock_agents(session, owners)  # kept, so `resolve` finds them in the session
        loaded = lock_case(session, case_id, actor)
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
        casefile.save(session.connection(), loaded)
        view = view_of(case, actor, attempt.windows, at, db)
        session.commit()
        return Outcome(case=view, created=attempt.created)


def _record_refusal(
    db: Database, session: Session, case_id: str, actor: Actor, trigger: str, refusal: Refusal
) -> None:
    """Undo the attempt, then put the refusal on the case's chain (SPEC §6)."""
    session.rollback()
    loaded = lock_case(session, case_id, actor)
    data = {"trigger": trigger, "code": refusal.code, "message": refusal.message, **refusal.details}
    history.append(session, loaded.case, "refused", actor, now(), data)
    casefile.save(session.connection(), loaded)
    session.commit()
