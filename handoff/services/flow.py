"""How a use case changes a case, top to bottom: lock it, check the table and guards, change it,
record the event, commit. Each service reads:

    with changing(db, actor, case_id, "claim", owners=[actor.id]) as change:
        change.check(agent=change.work.agent(actor.id))
        change.case.owner_agent_id = actor.id
        change.record(ev.Claimed(agent_id=actor.id, on_create=False))
        return change.done()
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handoff.config import Windows
from handoff.domain import events as ev
from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Agent, Case
from handoff.domain.errors import InvalidInput, NotFound, Refusal
from handoff.domain.events import DomainEvent
from handoff.domain.principals import Actor
from handoff.history import chain
from handoff.services.ports import LockedCase, Store, Work
from handoff.services.views import CaseView
from handoff.services.visibility import can_see
from handoff.store.models import utcnow as now


@dataclass
class Change:
    """One trigger fired on one locked case by one actor, inside one transaction."""

    db: Store
    work: Work
    loaded: LockedCase
    trigger: str
    attempt: Attempt
    event: DomainEvent | None = None
    # Further events this change causes (each request a withdrawal cancels), after its own.
    followups: list[DomainEvent] = field(default_factory=list)

    @property
    def case(self) -> Case:
        return self.attempt.case

    @property
    def now(self) -> datetime:
        return self.attempt.now

    @property
    def windows(self) -> Windows:
        return self.attempt.windows

    def text(self, name: str) -> str:
        return self.attempt.text(name)

    def check(self, **params: Any) -> None:
        """The table's row for the trigger: who may fire it and its named guards, which read the
        case and `params`; the case moves to the row's state."""
        self.attempt.params.update(params)
        lifecycle.fire(self.trigger, self.attempt)

    def record(self, event: DomainEvent) -> None:
        """The trigger's event (the one its row in the table names), written with the change."""
        expected = lifecycle.EVENT_OF[self.trigger]
        assert event.type == expected, f"{self.trigger} records {expected}, not {event.type}"
        self.event = event

    def follow(self, event: DomainEvent) -> None:
        """A further event this change causes, written after the trigger's own."""
        self.followups.append(event)

    def done(self) -> CaseView:
        """Commit the change with its events, and answer the case as it now stands."""
        case, actor, at = self.case, self.attempt.actor, self.now
        assert self.event is not None, "a change records its event"
        case.version += 1
        case.updated_at = at
        events = [chain.next_event(case, e, actor, at) for e in (self.event, *self.followups)]
        self.work.save(self.loaded, events)
        view = view_of(case, actor, self.windows, at, self.db)
        self.work.commit()
        return view


@contextmanager
def changing(
    db: Store,
    actor: Actor,
    case_id: str,
    trigger: str,
    *,
    params: dict[str, Any] | None = None,
    expected_version: int | None = None,
    owners: Sequence[str | None] = (),
    within: Any = None,
) -> Iterator[Change]:
    """Lock the case for `trigger`, refuse a stale version or a state the table does not fire
    from, and hand the change to the use case; it rolls back unless the use case calls `done`.

    A refusal that would send the customer away is itself recorded (SPEC §6), the change not made.
    `params`: the input the guards read. `owners`: the agents the change may make owner, held
    before the case (see SqlWork.hold_agents). `within`: a session whose transaction already
    holds the case (the worker's SKIP LOCKED pick).
    """
    with db.work(within) as work:
        work.hold_agents(owners)
        loaded = locked_case(work, case_id, actor)
        case = loaded.case
        windows = Windows.for_org(db.settings, loaded.windows)
        attempt = Attempt(case, actor, now(), windows, dict(params or {}), db.rules)
        try:
            _check_version(case, expected_version)
            lifecycle.check_source(trigger, case)
            yield Change(db, work, loaded, trigger, attempt)
        except Refusal as refusal:
            if refusal.is_recorded:
                _record_refusal(work, case_id, actor, trigger, refusal)
            raise


def locked_case(work: Work, case_id: str, actor: Actor) -> LockedCase:
    loaded = work.lock_case(case_id)
    if loaded is None or not can_see(loaded.case, actor):
        raise NotFound("case not found")
    return loaded


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise Refusal(
            "version_conflict",
            f"The case is at version {case.version}, not {expected_version}; "
            "reload it and try again.",
            current_version=case.version,
        )


def _record_refusal(work: Work, case_id: str, actor: Actor, trigger: str, refusal: Refusal) -> None:
    """Undo the attempt, then put the refusal on the case's chain (SPEC §6)."""
    work.start_over()
    loaded = locked_case(work, case_id, actor)
    refused = ev.Refused(trigger, refusal.code, refusal.message, dict(refusal.details))
    work.save(loaded, [chain.next_event(loaded.case, refused, actor, now())])
    work.commit()


def view_of(case: Case, actor: Actor, windows: Windows, at: datetime, db: Store) -> CaseView:
    """The case as `actor` sees it at `at`, by `db`'s rules and settings."""
    attempt = Attempt(case=case, actor=actor, now=at, windows=windows, rules=db.rules)
    # The status page lets whoever holds it act as the customer: the owner org's people and
    # system only, never its auditor, who reads and does nothing (SPEC §7).
    show_link = actor.org_id == case.owner_org_id and (actor.works_cases or actor.kind == "system")
    allowed = lifecycle.allowed_actions(attempt)
    presence = db.settings.customer_presence  # for a receiving org without its own
    return CaseView.of(case, allowed, at, show_link=show_link, presence=presence)


def agent_param(work: Work, agent_id: str | None, field: str = "agent_id") -> Agent:
    """The agent named in the input; one who may become owner was held by `changing(owners=…)`
    already, so this finds it held."""
    agent = work.agent(agent_id) if agent_id else None
    if agent is None:
        raise InvalidInput(field, f"unknown agent: {agent_id}")
    return agent
