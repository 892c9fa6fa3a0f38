"""Handoffs: the owner proposes; the receiver accepts it warm or declines; or it is cancelled."""

from typing import Any

from handoff.domain import events as ev
from handoff.domain import lifecycle
from handoff.domain.case import Agent, Case, Handoff
from handoff.domain.errors import InvalidInput, NotFound, Refusal
from handoff.domain.principals import Actor, timer
from handoff.services.flow import Change, agent_param, changing
from handoff.services.ports import Store, Work
from handoff.services.views import CaseView, HandoffView
from handoff.store.models import new_id


def propose_handoff(
    db: Store,
    actor: Actor,
    case_id: str,
    to_org: str,
    summary: str,
    override_reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> HandoffView:
    params = {"to_org": to_org, "summary": summary, "override_reason": override_reason}
    with changing(
        db, actor, case_id, "propose_handoff", params=params, expected_version=expected_version
    ) as change:
        change.check()
        case = change.case
        overriding = case.handed_off_by(to_org)  # not_ping_pong let it through on an override
        handoff = Handoff(
            id=new_id(),
            case_id=case.id,
            from_org_id=case.owner_org_id,
            from_agent_id=case.owner_agent_id,
            to_org_id=to_org,
            summary=change.text("summary"),
            override_reason=change.text("override_reason") if overriding else None,
            state="proposed",
            expires_at=change.now + change.windows.handoff,
            created_at=change.now,
        )
        case.handoffs.append(handoff)
        change.record(
            ev.HandoffProposed(
                handoff_id=handoff.id,
                to_org=to_org,
                summary=handoff.summary,
                override_reason=handoff.override_reason,
            )
        )
        change.done()
        return HandoffView.of(handoff)


def proposed_handoff(case: Case, handoff_id: str) -> Handoff:
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


def _acceptor(work: Work, actor: Actor, agent_id: str | None) -> Agent:
    if actor.kind == "agent":
        if agent_id not in (None, actor.id):
            raise InvalidInput("agent_id", "an agent accepts a handoff for itself only")
        return agent_param(work, actor.id)
    if agent_id is None:
        raise InvalidInput("agent_id", "a partner system accepts for one of its agents: agent_id")
    return agent_param(work, agent_id)


def accept_handoff(
    db: Store,
    actor: Actor,
    case_id: str,
    handoff_id: str,
    agent_id: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    """Ownership moves to the receiver; the previous owner org stays a participant."""
    receiver_id = actor.id if actor.kind == "agent" else agent_id
    with changing(
        db,
        actor,
        case_id,
        "accept_handoff",
        expected_version=expected_version,
        owners=[receiver_id],
    ) as change:
        case = change.case
        handoff = proposed_handoff(case, handoff_id)
        receiver = _acceptor(change.work, actor, agent_id)
        presence = handoff.to_org_presence or db.settings.customer_presence  # read with the case
        change.check(agent=receiver, customer_presence=presence)
        lifecycle.fire_handoff("accept", handoff, change.attempt)
        handoff.accepted_by, handoff.decided_at = receiver.id, change.now
        from_org, from_agent = case.owner_org_id, case.owner_agent_id
        case.owner_org_id, case.owner_agent_id = handoff.to_org_id, receiver.id
        relabelled = _relabel(case, from_agent, receiver.id)
        change.record(
            ev.HandoffAccepted(
                handoff_id=handoff.id,
                from_org=from_org,
                from_agent=from_agent,
                to_org=handoff.to_org_id,
                to_agent=receiver.id,
                summary=handoff.summary,
                relabelled=relabelled or None,
            )
        )
        return change.done()


def _relabel(case: Case, from_agent: str | None, to_agent: str) -> tuple[dict[str, str], ...]:
    """The session goes on under the new owner: the accepting agent is now `owner`, the previous
    owner agent a `collaborator` (SPEC §12)."""
    session = case.live_session
    changed = []
    for presence in session.present if session else []:
        relabel = {"owner": "collaborator"} if presence.agent_id == from_agent else {}
        if presence.agent_id == to_agent:
            relabel = {"receiver": "owner", "collaborator": "owner"}
        to = relabel.get(presence.party)
        if presence.agent_id and to:
            changed.append({"agent_id": presence.agent_id, "from": presence.party, "to": to})
            presence.party = to
    return tuple(changed)


def _settle(change: Change, handoff: Handoff, trigger: str) -> CaseView:
    """A proposal that ends without moving the case: declined or cancelled."""
    change.check()
    lifecycle.fire_handoff(trigger, handoff, change.attempt)
    handoff.decided_at = change.now
    handoff.reason = change.text("reason") or None
    if trigger == "decline":
        change.record(ev.HandoffDeclined(handoff.id, handoff.to_org_id, handoff.reason))
    else:
        change.record(ev.HandoffCancelled(handoff.id, handoff.reason, to_org=handoff.to_org_id))
    return change.done()


def decline_handoff(
    db: Store,
    actor: Actor,
    case_id: str,
    handoff_id: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    """The receiver says no, with a reason; ownership stays where it is."""
    params: dict[str, Any] = {"reason": reason}
    with changing(
        db, actor, case_id, "decline_handoff", params=params, expected_version=expected_version
    ) as change:
        return _settle(change, proposed_handoff(change.case, handoff_id), "decline")


def cancel_handoff(
    db: Store,
    actor: Actor,
    case_id: str,
    handoff_id: str,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> CaseView:
    params: dict[str, Any] = {"reason": reason}
    with changing(
        db, actor, case_id, "cancel_handoff", params=params, expected_version=expected_version
    ) as change:
        return _settle(change, proposed_handoff(change.case, handoff_id), "cancel")


def expire_handoff(db: Store, case_id: str, *, within: Any = None) -> CaseView:
    """The handoff window passed: the proposal lapses and the owner stays accountable."""
    with changing(db, timer("handoff_window"), case_id, "expire_handoff", within=within) as change:
        change.check()
        handoff = change.case.pending_handoff
        assert handoff is not None  # the guard handoff_window_passed saw it
        lifecycle.fire_handoff("expire", handoff, change.attempt)
        handoff.decided_at = change.now
        change.record(
            ev.HandoffExpired(
                handoff_id=handoff.id, to_org=handoff.to_org_id, owner=change.case.owner_agent_id
            )
        )
        return change.done()
