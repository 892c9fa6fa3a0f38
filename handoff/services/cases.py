"""Creating a case and working it within the owner org."""

import secrets
from typing import Any

from handoff.config import Windows
from handoff.domain import events as ev
from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Case, Participant
from handoff.domain.errors import Forbidden, InvalidInput
from handoff.domain.principals import Actor
from handoff.domain.vocabulary import PRIORITIES, VISIBILITIES
from handoff.history import chain
from handoff.services.flow import agent_param, changing, view_of
from handoff.services.ports import Store
from handoff.services.views import CaseView
from handoff.store.models import utcnow as now


def create_case(
    db: Store,
    actor: Actor,
    *,
    customer: dict[str, Any],
    subject: str,
    description: str = "",
    participants: list[str] | None = None,
    priority: str = "normal",
) -> CaseView:
    """A partner system opens an unclaimed case; an agent's case is claimed by them at once."""
    if not (actor.works_cases or actor.kind == "system") or actor.org_id is None:
        raise Forbidden("cases are created by a rep, supervisor or partner system of an org")
    if not str(customer.get("name") or "").strip():
        raise InvalidInput("customer.name", "the customer's name must not be empty")
    if not subject.strip():
        raise InvalidInput("subject", "subject must not be empty")
    if priority not in PRIORITIES:
        raise InvalidInput("priority", f"priority must be one of {', '.join(PRIORITIES)}")
    with db.work() as work:
        at = now()
        work.hold_agents([actor.id] if actor.kind == "agent" else [])
        orgs = list(dict.fromkeys([actor.org_id, *(participants or [])]))
        unknown = [o for o in orgs if not work.org_exists(o)]
        if unknown:
            raise InvalidInput("participants", f"unknown org: {', '.join(unknown)}", orgs=unknown)
        windows = Windows.for_org(db.settings, work.org_windows(actor.org_id))
        case = Case(
            number=work.next_case_number(),
            state="unclaimed",
            version=1,
            subject=subject.strip(),
            description=description,
            priority=priority,
            customer={k: v for k, v in customer.items() if v is not None},
            owner_org_id=actor.org_id,
            owner_agent_id=None,
            first_contact_org_id=actor.org_id,
            customer_link=secrets.token_urlsafe(24),
            claim_due_at=at + windows.claim,
            created_at=at,
            updated_at=at,
            participants=[Participant(org_id=o, added_at=at) for o in orgs],
        )
        created = ev.CaseCreated(subject=case.subject, priority=priority, participants=tuple(orgs))
        events = [chain.next_event(case, created, actor, at)]
        if actor.kind == "agent":
            claimer = work.agent(actor.id)
            attempt = Attempt(case, actor, at, windows, {"agent": claimer}, db.rules)
            lifecycle.fire("claim", attempt)
            case.owner_agent_id, case.claim_due_at = actor.id, None
            claimed = ev.Claimed(agent_id=actor.id, on_create=True)
            events.append(chain.next_event(case, claimed, actor, at))
            case.version += 1
        work.save(work.new_case(case), events)
        view = view_of(case, actor, windows, at, db)
        work.commit()
        return view


def claim(
    db: Store, actor: Actor, case_id: str, *, expected_version: int | None = None
) -> CaseView:
    with changing(
        db, actor, case_id, "claim", expected_version=expected_version, owners=[actor.id]
    ) as change:
        change.check(agent=change.work.agent(actor.id))  # the table asks who first
        change.case.owner_agent_id, change.case.claim_due_at = actor.id, None
        change.record(ev.Claimed(agent_id=actor.id, on_create=False))
        return change.done()


def assign(
    db: Store, actor: Actor, case_id: str, agent_id: str, *, expected_version: int | None = None
) -> CaseView:
    with changing(
        db, actor, case_id, "assign", expected_version=expected_version, owners=[agent_id]
    ) as change:
        change.check(agent=agent_param(change.work, agent_id))
        previous, change.case.owner_agent_id = change.case.owner_agent_id, agent_id
        change.record(ev.Assigned(from_agent=previous, to_agent=agent_id))
        return change.done()


def add_participant(
    db: Store,
    actor: Actor,
    case_id: str,
    org_id: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    params = {"reason": reason}
    with changing(
        db, actor, case_id, "add_participant", params=params, expected_version=expected_version
    ) as change:
        if not change.work.org_exists(org_id):
            raise InvalidInput("org_id", f"unknown org: {org_id}")
        if org_id in change.case.participant_org_ids:
            raise InvalidInput("org_id", f"{org_id} already takes part in this case")
        change.check()
        reason = change.text("reason")
        change.case.participants.append(
            Participant(org_id=org_id, reason=reason, added_at=change.now)
        )
        change.record(ev.ParticipantAdded(org_id=org_id, reason=reason))
        return change.done()


def await_customer(
    db: Store, actor: Actor, case_id: str, needed: str, *, expected_version: int | None = None
) -> CaseView:
    params = {"needed": needed}
    with changing(
        db, actor, case_id, "await_customer", params=params, expected_version=expected_version
    ) as change:
        change.check()
        change.record(ev.AwaitingCustomer(needed=change.text("needed")))
        return change.done()


def customer_responded(
    db: Store,
    actor: Actor,
    case_id: str,
    note: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    params = {"note": note}
    with changing(
        db, actor, case_id, "customer_responded", params=params, expected_version=expected_version
    ) as change:
        change.check()
        change.record(ev.CustomerResponded(note=change.text("note") or None))
        return change.done()


def add_note(
    db: Store,
    actor: Actor,
    case_id: str,
    text: str,
    visibility: str = "internal",
    *,
    expected_version: int | None = None,
) -> CaseView:
    if visibility not in VISIBILITIES:
        raise InvalidInput("visibility", "visibility must be internal or customer")
    if not text.strip():
        raise InvalidInput("text", "text must not be empty")
    params = {"text": text, "visibility": visibility}
    with changing(
        db, actor, case_id, "add_note", params=params, expected_version=expected_version
    ) as change:
        change.check()
        change.record(ev.NoteAdded(text=change.text("text"), visibility=visibility))
        return change.done()
