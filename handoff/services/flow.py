"""The one way a case changes: lock it, check the table and guards, apply, record, commit."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from handoff.config import Windows
from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Agent, Case
from handoff.domain.errors import NotFound, Refusal
from handoff.domain.principals import Actor
from handoff.domain.views import CaseView
from handoff.domain.visibility import can_see
from handoff.history import chain
from handoff.store import casefile
from handoff.store.casefile import Loaded
from handoff.store.db import Database
from handoff.store.models import Org
from handoff.store.models import utcnow as now
from handoff.store.sql import Statement

# Applies the change a trigger makes and returns the data of its event.
Apply = Callable[["Tx", Attempt], dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    case: CaseView
    created: Any = None


AGENTS = casefile.AGENTS
# Agents who may become an owner are share-locked before the case: a deactivation locks the agent
# for update and then the agent's cases, so taking the agent first keeps one order everywhere.
_AGENT_COLUMNS = casefile.COLUMNS[AGENTS].listed()
_LOCK_AGENT = Statement(
    f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = :agent_id", postgres_tail="FOR SHARE"
)
_AGENT = Statement(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = :agent_id")
_ORG_EXISTS = Statement("SELECT id FROM orgs WHERE id = :org_id")


def lock_agents(conn: Connection, agent_ids: Sequence[str | None]) -> dict[str, Agent]:
    """The agents as they are now, held (FOR SHARE) until commit, one by one in id order: a
    deactivation waits for this transaction, or this one sees the agent inactive. On SQLite the
    write lock already holds."""
    held = {}
    for agent_id in sorted({a for a in agent_ids if a}):
        rows = _LOCK_AGENT.rows(conn, {"agent_id": agent_id})
        if rows:
            held[agent_id] = casefile.agent_of(rows[0])
    return held


@dataclass
class Tx:
    """One command's transaction: the Core connection it runs on, and the agents it holds.

    The command's own, or the caller's session's (the worker's, whose transaction already holds
    the case it picked with SKIP LOCKED): then committing commits that session.
    """

    conn: Connection
    session: Session | None = None
    agents: dict[str, Agent] = field(default_factory=dict)

    def agent(self, agent_id: str) -> Agent | None:
        """An agent held by this transaction (see `act(owners=…)`), or as it is now."""
        held = self.agents.get(agent_id)
        if held is not None:
            return held
        rows = _AGENT.rows(self.conn, {"agent_id": agent_id})
        return casefile.agent_of(rows[0]) if rows else None

    def org_exists(self, org_id: str) -> bool:
        return bool(_ORG_EXISTS.rows(self.conn, {"org_id": org_id}))

    def commit(self) -> None:
        if self.session is not None:
            self.session.commit()
        else:
            self.conn.commit()

    def start_over(self) -> None:
        """Undo everything, and begin again (taking the write lock again, on SQLite)."""
        self.agents = {}
        if self.session is not None:
            self.session.rollback()
            self.conn = self.session.connection()
        else:
            self.conn.rollback()
            self.conn.begin()


@contextmanager
def transaction(db: Database, within: Session | None = None) -> Iterator[Tx]:
    """A new transaction, rolled back unless committed; or the caller's session's, when it
    already began one (the caller then ends it, if the command does not commit)."""
    if within is not None:
        yield Tx(within.connection(), within)
        return
    with db.writing() as conn:
        yield Tx(conn)


def lock_case(conn: Connection, case_id: str, actor: Actor) -> Loaded:
    """Load the case and hold its row lock (FOR UPDATE; on SQLite, the write lock) until commit;
    `casefile.save` writes what is changed on it."""
    loaded = casefile.load(conn, case_id, lock=True)
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
    resolve: Callable[[Tx, Case], dict[str, Any]] | None = None,
    expected_version: int | None = None,
    within: Session | None = None,
    owners: Sequence[str | None] = (),
) -> Outcome:
    """Fire `trigger` on a case as `actor`, in one transaction with its event(s).

    `resolve` turns ids in the input into rows (agents, requests) once the case is locked.
    A refusal that would send the customer away is itself recorded, and the change is not made.
    `within` is a session whose transaction already holds the case (the worker's SKIP LOCKED pick).
    `owners`: the agents this change may make owner, locked before the case (see lock_agents).
    """
    with transaction(db, within) as tx:
        at = now()
        tx.agents = lock_agents(tx.conn, owners)  # `resolve` finds them held
        loaded = lock_case(tx.conn, case_id, actor)
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
                attempt.params.update(resolve(tx, case))
            lifecycle.fire(trigger, attempt)
            data = apply(tx, attempt)
        except Refusal as refusal:
            if refusal.is_recorded:
                _record_refusal(tx, case_id, actor, trigger, refusal)
            raise
        case.version += 1
        case.updated_at = at
        unsubscribed = loaded.unsubscribed
        chain.append(tx.conn, case, lifecycle.EVENT_OF[trigger], actor, at, data, unsubscribed)
        for event_type, followup in attempt.followups:
            chain.append(tx.conn, case, event_type, actor, at, followup, unsubscribed)
        casefile.save(tx.conn, loaded)
        view = view_of(case, actor, attempt.windows, at, db)
        tx.commit()
        return Outcome(case=view, created=attempt.created)


def _record_refusal(tx: Tx, case_id: str, actor: Actor, trigger: str, refusal: Refusal) -> None:
    """Undo the attempt, then put the refusal on the case's chain (SPEC §6)."""
    tx.start_over()
    loaded = lock_case(tx.conn, case_id, actor)
    data = {"trigger": trigger, "code": refusal.code, "message": refusal.message, **refusal.details}
    chain.append(tx.conn, loaded.case, "refused", actor, now(), data, loaded.unsubscribed)
    casefile.save(tx.conn, loaded)
    tx.commit()
