"""In-memory cases for unit tests: ORM objects never attached to a database."""

from datetime import UTC, datetime, timedelta
from typing import Any

from handoff.config import Settings, Windows
from handoff.domain.attempt import Attempt
from handoff.domain.case import (
    Agent,
    Case,
    Handoff,
    JointSession,
    Participant,
    Request,
    SessionParty,
)
from handoff.domain.principals import Actor

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WINDOWS = Windows.for_org(Settings(), None)

DANA = Actor(kind="agent", id="dana", org_id="acme", role="rep")
DAVE = Actor(kind="agent", id="dave", org_id="acme", role="rep")
SAM = Actor(kind="agent", id="sam", org_id="acme", role="supervisor")
BEN = Actor(kind="agent", id="ben", org_id="firstbank", role="rep")
ACME_CRM = Actor(kind="system", id="acme-crm", org_id="acme")
BANK_SYSTEM = Actor(kind="system", id="firstbank-disputes", org_id="firstbank")
AUDITOR = Actor(kind="agent", id="ada", org_id="acme", role="auditor")


def agent(agent_id: str, org_id: str, role: str = "rep", active: bool = True) -> Agent:
    return Agent(id=agent_id, org_id=org_id, name=agent_id.title(), role=role, active=active)


def case(state: str = "active", owner_org: str = "acme", owner_agent: str | None = "dana") -> Case:
    return Case(
        id="c1",
        number=1,
        state=state,
        version=1,
        subject="Pending charge",
        owner_org_id=owner_org,
        owner_agent_id=owner_agent if state != "unclaimed" else None,
        first_contact_org_id=owner_org,
        customer={"name": "Carla"},
        participants=[Participant(org_id="acme"), Participant(org_id="firstbank")],
        requests=[],
        handoffs=[],
        sessions=[],
    )


def attempt(c: Case, actor: Actor, **params: Any) -> Attempt:
    return Attempt(case=c, actor=actor, now=NOW, windows=WINDOWS, params=params)


def open_request(c: Case, to_org: str = "firstbank") -> Request:
    request = Request(
        id="r1",
        case_id=c.id,
        from_org_id=c.owner_org_id,
        to_org_id=to_org,
        action="Release the hold",
        state="open",
        respond_by=NOW + timedelta(days=1),
    )
    c.requests.append(request)
    return request


def pending_handoff(c: Case, to_org: str = "firstbank") -> Handoff:
    handoff = Handoff(
        id="h1",
        case_id=c.id,
        from_org_id=c.owner_org_id,
        from_agent_id=c.owner_agent_id,
        to_org_id=to_org,
        summary="context",
        state="proposed",
        expires_at=NOW + timedelta(days=1),
    )
    c.handoffs.append(handoff)
    return handoff


def live_session(
    c: Case, handoff: Handoff | None, *present: tuple[str, str | None]
) -> JointSession:
    session = JointSession(
        id="s1",
        case_id=c.id,
        handoff_id=handoff.id if handoff else None,
        state="live",
        started_at=NOW,
    )
    session.parties = [SessionParty(party=p, agent_id=a, joined_at=NOW) for p, a in present]
    c.sessions.append(session)
    return session
