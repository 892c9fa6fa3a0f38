"""Creating a case and working it within the owner org."""

import secrets
from typing import Any

from sqlalchemy import insert

from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Agent, Case, Participant
from handoff.domain.errors import Forbidden, InvalidInput
from handoff.domain.principals import Actor
from handoff.domain.views import CaseView
from handoff.history import chain
from handoff.services.flow import Tx, act, lock_agents, view_of, windows_of
from handoff.store import casefile
from handoff.store.db import Database
from handoff.store.models import CaseNumber, Org
from handoff.store.models import utcnow as now

PRIORITIES = ("low", "normal", "high", "urgent")
VISIBILITIES = ("internal", "customer")


def create_case(
    db: Database,
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
    with db.session() as session:
        at = now()
        orgs = list(dict.fromkeys([actor.org_id, *(participants or [])]))
        unknown = [o for o in orgs if session.get(Org, o) is None]
        if unknown:
            raise InvalidInput("participants", f"unknown org: {', '.join(unknown)}", orgs=unknown)
        windows = windows_of(session, db, actor.org_id)
        number = session.execute(insert(CaseNumber).returning(CaseNumber.number)).scalar_one()
        case = Case(
            number=number,
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
            requests=[],
            handoffs=[],
            sessions=[],
        )
        conn = session.connection()
        created = {"subject": case.subject, "priority": priority, "participants": orgs}
        events = [chain.next_event(case, "case_created", actor, at, created)]
        if actor.kind == "agent":
            claimer = lock_agents(conn, [actor.id]).get(actor.id)
            attempt = Attempt(
                case=case,
                actor=actor,
                now=at,
                windows=windows,
                params={"agent": claimer},
                rules=db.rules,
            )
            lifecycle.fire("claim", attempt)
            claimed = _claimed(case, attempt, auto=True)
            events.append(chain.next_event(case, "claimed", actor, at, claimed))
            case.version += 1
        casefile.save(conn, casefile.add(conn, case))
        chain.write(conn, case, events)
        view = view_of(case, actor, windows, at, db)
        session.commit()
        return view


def _claimed(case: Case, a: Attempt, auto: bool = False) -> dict[str, Any]:
    case.owner_agent_id = a.actor.id
    case.claim_due_at = None
    return {"agent_id": a.actor.id, "on_create": auto}


def claim(
    db: Database, actor: Actor, case_id: str, *, expected_version: int | None = None
) -> CaseView:
    return act(
        db,
        actor,
        case_id,
        "claim",
        lambda _s, a: _claimed(a.case, a),
        resolve=lambda tx, _c: {"agent": tx.agent(actor.id)},  # the table asks who first
        expected_version=expected_version,
        owners=[actor.id],
    ).case


def agent_param(tx: Tx, agent_id: str | None, field: str = "agent_id") -> Agent:
    """The agent named in the input; one who may become owner was locked by `act(owners=…)`
    already, so this finds it held."""
    agent = tx.agent(agent_id) if agent_id else None
    if agent is None:
        raise InvalidInput(field, f"unknown agent: {agent_id}")
    return agent


def assign(
    db: Database, actor: Actor, case_id: str, agent_id: str, *, expected_version: int | None = None
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        previous, a.case.owner_agent_id = a.case.owner_agent_id, agent_id
        return {"from_agent": previous, "to_agent": agent_id}

    return act(
        db,
        actor,
        case_id,
        "assign",
        apply,
        resolve=lambda tx, _c: {"agent": agent_param(tx, agent_id)},
        expected_version=expected_version,
        owners=[agent_id],
    ).case


def add_participant(
    db: Database,
    actor: Actor,
    case_id: str,
    org_id: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    def resolve(tx: Tx, case: Case) -> dict[str, Any]:
        if not tx.org_exists(org_id):
            raise InvalidInput("org_id", f"unknown org: {org_id}")
        if org_id in case.participant_org_ids:
            raise InvalidInput("org_id", f"{org_id} already takes part in this case")
        return {}

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        a.case.participants.append(
            Participant(org_id=org_id, reason=a.text("reason"), added_at=a.now)
        )
        return {"org_id": org_id, "reason": a.text("reason")}

    return act(
        db,
        actor,
        case_id,
        "add_participant",
        apply,
        params={"reason": reason},
        resolve=resolve,
        expected_version=expected_version,
    ).case


def await_customer(
    db: Database, actor: Actor, case_id: str, needed: str, *, expected_version: int | None = None
) -> CaseView:
    return act(
        db,
        actor,
        case_id,
        "await_customer",
        lambda _s, a: {"needed": a.text("needed")},
        params={"needed": needed},
        expected_version=expected_version,
    ).case


def customer_responded(
    db: Database,
    actor: Actor,
    case_id: str,
    note: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    return act(
        db,
        actor,
        case_id,
        "customer_responded",
        lambda _s, a: {"note": a.text("note") or None},
        params={"note": note},
        expected_version=expected_version,
    ).case


def add_note(
    db: Database,
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
    return act(
        db,
        actor,
        case_id,
        "add_note",
        lambda _s, a: {"text": a.text("text"), "visibility": visibility},
        params={"text": text, "visibility": visibility},
        expected_version=expected_version,
    ).case
