"""Joint sessions: a live conference on a case, where a handoff is accepted warm (SPEC §5)."""

from typing import Any

from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Case, JointSession, SessionParty
from handoff.domain.errors import NotFound
from handoff.domain.principals import Actor
from handoff.domain.views import CaseView, SessionView
from handoff.services.cases import agent_param
from handoff.services.flow import Tx, act
from handoff.store.db import Database
from handoff.store.models import new_id


def start_session(
    db: Database,
    actor: Actor,
    case_id: str,
    handoff_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> SessionView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        session = JointSession(
            id=new_id(), case_id=a.case.id, handoff_id=handoff_id, state="live", started_at=a.now
        )
        session.parties = []
        a.case.sessions.append(session)
        a.created = session
        return {"session_id": session.id, "handoff_id": handoff_id}

    outcome = act(
        db,
        actor,
        case_id,
        "start_session",
        apply,
        params={"handoff_id": handoff_id},
        expected_version=expected_version,
    )
    return SessionView.of(outcome.created)


def _session(case: Case, session_id: str) -> JointSession:
    session = next((s for s in case.sessions if s.id == session_id), None)
    if session is None:
        raise NotFound("session not found")
    return session


def _party_params(session_id: str, party: str, agent_id: str | None) -> Any:
    def resolve(tx: Tx, case: Case) -> dict[str, Any]:
        agent = agent_param(tx, agent_id) if agent_id else None
        return {"session": _session(case, session_id), "party": party, "agent": agent}

    return resolve


def join_session(
    db: Database,
    actor: Actor,
    case_id: str,
    session_id: str,
    party: str,
    agent_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        session: JointSession = a.params["session"]
        lifecycle.fire_session("join", session, a)
        agent_of_party = agent_id if party != "customer" else None
        session.parties.append(SessionParty(party=party, agent_id=agent_of_party, joined_at=a.now))
        return {"session_id": session.id, "party": party, "agent_id": agent_of_party}

    return act(
        db,
        actor,
        case_id,
        "join_session",
        apply,
        resolve=_party_params(session_id, party, agent_id if party != "customer" else None),
        expected_version=expected_version,
    ).case


def leave_session(
    db: Database,
    actor: Actor,
    case_id: str,
    session_id: str,
    party: str,
    agent_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        session: JointSession = a.params["session"]
        lifecycle.fire_session("leave", session, a)
        agent_of_party = agent_id if party != "customer" else None
        for presence in session.present:
            if presence.party == party and presence.agent_id == agent_of_party:
                presence.left_at = a.now
        return {"session_id": session.id, "party": party, "agent_id": agent_of_party}

    return act(
        db,
        actor,
        case_id,
        "leave_session",
        apply,
        resolve=_party_params(session_id, party, agent_id if party != "customer" else None),
        expected_version=expected_version,
    ).case


def end_session(
    db: Database,
    actor: Actor,
    case_id: str,
    session_id: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        session: JointSession = a.params["session"]
        lifecycle.fire_session("end", session, a)
        session.ended_at = a.now
        return {"session_id": session.id}

    return act(
        db,
        actor,
        case_id,
        "end_session",
        apply,
        resolve=lambda _s, case: {"session": _session(case, session_id)},
        expected_version=expected_version,
    ).case
