"""Joint sessions: a live conference on a case, where a handoff is accepted warm (SPEC §5)."""

from typing import Any

from handoff.domain import events as ev
from handoff.domain import lifecycle
from handoff.domain.authority import presence_via
from handoff.domain.case import Case, JointSession, SessionParty
from handoff.domain.errors import NotFound
from handoff.domain.principals import Actor, timer
from handoff.services.flow import agent_param, changing
from handoff.services.ports import Store
from handoff.services.views import CaseView, SessionView
from handoff.store import presence
from handoff.store.db import Database
from handoff.store.models import new_id
from handoff.store.models import utcnow as now


def start_session(
    db: Store,
    actor: Actor,
    case_id: str,
    handoff_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> SessionView:
    params = {"handoff_id": handoff_id}
    with changing(
        db, actor, case_id, "start_session", params=params, expected_version=expected_version
    ) as change:
        change.check()
        session = JointSession(
            id=new_id(), case_id=case_id, handoff_id=handoff_id, state="live", started_at=change.now
        )
        change.case.sessions.append(session)
        change.record(ev.SessionStarted(session_id=session.id, handoff_id=handoff_id))
        change.done()
        return SessionView.of(session)


def session_of(case: Case, session_id: str) -> JointSession:
    session = next((s for s in case.sessions if s.id == session_id), None)
    if session is None:
        raise NotFound("session not found")
    return session


def _agent_of(actor: Actor, party: str, agent_id: str | None) -> str | None:
    """The agent a join or leave is for: the one named, or an agent calling for itself (SPEC §12:
    "an agent joins itself"); none for the customer."""
    if party == "customer":
        return None
    return agent_id or (actor.id if actor.kind == "agent" else None)


def join_session(
    db: Store,
    actor: Actor,
    case_id: str,
    session_id: str,
    party: str,
    agent_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    agent_of_party = _agent_of(actor, party, agent_id)
    with changing(db, actor, case_id, "join_session", expected_version=expected_version) as change:
        session = session_of(change.case, session_id)
        agent = agent_param(change.work, agent_of_party) if agent_of_party else None
        change.check(session=session, party=party, agent=agent)
        lifecycle.fire_session("join", session, change.attempt)
        via = presence_via(actor.kind, party)
        seen = change.now if via == "link" else None
        attested = session.presence_of(party, agent_of_party)
        if attested is not None:  # the customer proves what the owner said (guards.proves_presence)
            attested.via, attested.seen_at = via, seen
        else:
            session.parties.append(
                SessionParty(party, agent_of_party, change.now, via=via, seen_at=seen)
            )
        change.record(ev.SessionJoined(session.id, party, agent_of_party, via=via))
        return change.done()


def leave_session(
    db: Store,
    actor: Actor,
    case_id: str,
    session_id: str,
    party: str,
    agent_id: str | None = None,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    within: Any = None,
) -> CaseView:
    """`reason`: why the timer leaves for a customer ("connection_lost"); `within`: the worker's
    transaction that holds the case."""
    agent_of_party = _agent_of(actor, party, agent_id)
    with changing(
        db, actor, case_id, "leave_session", expected_version=expected_version, within=within
    ) as change:
        session = session_of(change.case, session_id)
        agent = agent_param(change.work, agent_of_party) if agent_of_party else None
        change.check(session=session, party=party, agent=agent)
        lifecycle.fire_session("leave", session, change.attempt)
        via = None
        presence = session.presence_of(party, agent_of_party)
        if presence is not None:
            presence.left_at, via = change.now, presence.via
        change.record(ev.SessionLeft(session.id, party, agent_of_party, via=via, reason=reason))
        return change.done()


def end_session(
    db: Store,
    actor: Actor,
    case_id: str,
    session_id: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    with changing(db, actor, case_id, "end_session", expected_version=expected_version) as change:
        session = session_of(change.case, session_id)
        change.check(session=session)
        lifecycle.fire_session("end", session, change.attempt)
        session.ended_at = change.now
        change.record(ev.SessionEnded(session_id=session.id))
        return change.done()


def post_message(
    db: Store,
    actor: Actor,
    case_id: str,
    session_id: str,
    text: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    """Something said in the session, to everyone present; an agent's words are customer-facing
    and pass the send-away check."""
    params = {"text": text}
    with changing(
        db, actor, case_id, "post_message", params=params, expected_version=expected_version
    ) as change:
        session = session_of(change.case, session_id)
        change.check(session=session)
        party, agent_id = _speaker(session, actor)
        change.record(ev.SessionMessage(session.id, party, agent_id, change.text("text")))
        return change.done()


def _speaker(session: JointSession, actor: Actor) -> tuple[str, str | None]:
    if actor.kind == "customer":
        return "customer", None
    here = next(p for p in session.present if p.agent_id == actor.id and p.party != "customer")
    return here.party, actor.id


def customer_connection_lost(
    db: Store, case_id: str, session_id: str, *, within: Any = None
) -> CaseView:
    """The customer's page stopped saying it is open: their presence ends (SPEC §12)."""
    return leave_session(
        db,
        timer("presence"),
        case_id,
        session_id,
        "customer",
        reason="connection_lost",
        within=within,
    )


def customer_seen(db: Database, case_id: str) -> bool:
    """The customer's page still holds its stream open: their presence by link goes on (the
    worker ends it once this has not been said for a minute). True if they are present."""
    return presence.customer_seen(db, case_id, now()) > 0
