"""Handoffs: the owner proposes; the receiver accepts it warm or declines; or it is cancelled."""

from typing import Any

from sqlalchemy.orm import Session

from handoff.domain.attempt import Attempt
from handoff.domain.case import Agent, Case, Handoff
from handoff.domain.errors import InvalidInput, NotFound, Refusal
from handoff.domain.principals import Actor, timer
from handoff.domain.views import CaseView, HandoffView
from handoff.services.cases import agent_param
from handoff.services.flow import Tx, act
from handoff.store.db import Database
from handoff.store.models import new_id


def propose_handoff(
    db: Database,
    actor: Actor,
    case_id: str,
    to_org: str,
    summary: str,
    override_reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> HandoffView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        case = a.case
        overriding = any(h.state == "accepted" and h.from_org_id == to_org for h in case.handoffs)
        handoff = Handoff(
            id=new_id(),
            case_id=case.id,
            from_org_id=case.owner_org_id,
            from_agent_id=case.owner_agent_id,
            to_org_id=to_org,
            summary=a.text("summary"),
            override_reason=a.text("override_reason") if overriding else None,
            state="proposed",
            expires_at=a.now + a.windows.handoff,
            created_at=a.now,
        )
        case.handoffs.append(handoff)
        a.created = handoff
        return {
            "handoff_id": handoff.id,
            "to_org": to_org,
            "summary": handoff.summary,
            "override_reason": handoff.override_reason,
        }

    outcome = act(
        db,
        actor,
        case_id,
        "propose_handoff",
        apply,
        params={"to_org": to_org, "summary": summary, "override_reason": override_reason},
        expected_version=expected_version,
    )
    return HandoffView.of(outcome.created)


def _handoff(case: Case, handoff_id: str) -> Handoff:
    handoff = next((h for h in case.handoffs if h.id == handoff_id), None)
    if handoff is None:
        raise NotFound("handoff not found")
    if handoff.state != "proposed":
        raise Refusal(
            "invalid_transition",
            f"This handoff is {handoff.state}; only a proposed handoff can be answered.",
            handoff_state=handoff.state,
            allowed_triggers=[],
        )
    return handoff


def _acceptor(tx: Tx, actor: Actor, agent_id: str | None) -> Agent:
    if actor.kind == "agent":
        if agent_id not in (None, actor.id):
            raise InvalidInput("agent_id", "an agent accepts a handoff for itself only")
        return agent_param(tx, actor.id)
    if agent_id is None:
        raise InvalidInput("agent_id", "a partner system accepts for one of its agents: agent_id")
    return agent_param(tx, agent_id)


def accept_handoff(
    db: Database,
    actor: Actor,
    case_id: str,
    handoff_id: str,
    agent_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    """Ownership moves to the receiver; the previous owner org stays a participant."""

    def resolve(tx: Tx, case: Case) -> dict[str, Any]:
        _handoff(case, handoff_id)
        return {"agent": _acceptor(tx, actor, agent_id)}

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        case, handoff, acceptor = a.case, _handoff(a.case, handoff_id), a.params["agent"]
        handoff.state, handoff.accepted_by, handoff.decided_at = "accepted", acceptor.id, a.now
        from_org, from_agent = case.owner_org_id, case.owner_agent_id
        case.owner_org_id, case.owner_agent_id = handoff.to_org_id, acceptor.id
        return {
            "handoff_id": handoff.id,
            "from_org": from_org,
            "from_agent": from_agent,
            "to_org": handoff.to_org_id,
            "to_agent": acceptor.id,
            "summary": handoff.summary,
        }

    return act(
        db,
        actor,
        case_id,
        "accept_handoff",
        apply,
        resolve=resolve,
        expected_version=expected_version,
        owners=[actor.id if actor.kind == "agent" else agent_id],
    ).case


def _settle(handoff_id: str, state: str) -> Any:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        handoff = _handoff(a.case, handoff_id)
        handoff.state, handoff.decided_at = state, a.now
        handoff.reason = a.text("reason") or None
        return {"handoff_id": handoff.id, "to_org": handoff.to_org_id, "reason": handoff.reason}

    return apply


def _check_handoff(handoff_id: str) -> Any:
    def resolve(_tx: Tx, case: Case) -> dict[str, Any]:
        _handoff(case, handoff_id)
        return {}

    return resolve


def decline_handoff(
    db: Database,
    actor: Actor,
    case_id: str,
    handoff_id: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    """The receiver says no, with a reason; ownership stays where it is."""
    return act(
        db,
        actor,
        case_id,
        "decline_handoff",
        _settle(handoff_id, "declined"),
        params={"reason": reason},
        resolve=_check_handoff(handoff_id),
        expected_version=expected_version,
    ).case


def cancel_handoff(
    db: Database,
    actor: Actor,
    case_id: str,
    handoff_id: str,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    return act(
        db,
        actor,
        case_id,
        "cancel_handoff",
        _settle(handoff_id, "cancelled"),
        params={"reason": reason},
        resolve=_check_handoff(handoff_id),
        expected_version=expected_version,
    ).case


def expire_handoff(db: Database, case_id: str, *, within: Session | None = None) -> CaseView:
    """The handoff window passed: the proposal lapses and the owner stays accountable."""

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        handoff = a.case.pending_handoff
        assert handoff is not None  # the guard handoff_window_passed saw it
        handoff.state, handoff.decided_at = "expired", a.now
        return {
            "handoff_id": handoff.id,
            "to_org": handoff.to_org_id,
            "owner": a.case.owner_agent_id,
        }

    return act(db, timer("handoff_window"), case_id, "expire_handoff", apply, within=within).case
