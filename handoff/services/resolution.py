"""Resolving a case: propose, confirm or reject, close by timer, reopen, withdraw."""

from typing import Any

from handoff.domain import events as ev
from handoff.domain import lifecycle
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor, timer
from handoff.services.flow import Change, changing
from handoff.services.ports import Store
from handoff.services.views import CaseView


def propose_resolution(
    db: Store,
    actor: Actor,
    case_id: str,
    code: str,
    summary: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    params = {"code": code, "summary": summary}
    with changing(
        db, actor, case_id, "propose_resolution", params=params, expected_version=expected_version
    ) as change:
        change.check()
        case = change.case
        case.resolution_code, case.resolution_summary = code, change.text("summary")
        case.auto_close_due_at = change.now + change.windows.auto_close
        change.record(ev.ResolutionProposed(code=code, summary=change.text("summary")))
        return change.done()


def _close(change: Change, how: str) -> None:
    case, at = change.case, change.now
    case.closed_at, case.closed_how = at, how
    case.auto_close_due_at = case.claim_due_at = None
    case.reopen_until = at + change.windows.reopen
    session = case.live_session
    if session is not None:
        lifecycle.fire_session("end", session, change.attempt)
        session.ended_at = at
        change.follow(ev.SessionEnded(session_id=session.id, reason="case closed"))


def confirm_resolution(
    db: Store, actor: Actor, case_id: str, *, expected_version: int | None = None
) -> CaseView:
    with changing(
        db, actor, case_id, "confirm_resolution", expected_version=expected_version
    ) as change:
        change.check()
        _close(change, "confirmed")
        on_customer_word = actor.kind != "customer"
        change.record(ev.ResolutionConfirmed(change.case.resolution_code, on_customer_word))
        return change.done()


def reject_resolution(
    db: Store, actor: Actor, case_id: str, reason: str, *, expected_version: int | None = None
) -> CaseView:
    params = {"reason": reason}
    with changing(
        db, actor, case_id, "reject_resolution", params=params, expected_version=expected_version
    ) as change:
        change.check()
        case = change.case
        rejected = case.resolution_code
        case.resolution_code = case.resolution_summary = None
        case.auto_close_due_at = None
        change.record(ev.ResolutionRejected(change.text("reason"), rejected, case.owner_agent_id))
        return change.done()


def auto_close(db: Store, case_id: str, *, within: Any = None) -> CaseView:
    with changing(db, timer("auto_close_window"), case_id, "auto_close", within=within) as change:
        change.check()
        _close(change, "automatic")
        change.record(ev.AutoClosed(code=change.case.resolution_code, automatic=True))
        return change.done()


def reopen(
    db: Store, actor: Actor, case_id: str, reason: str, *, expected_version: int | None = None
) -> CaseView:
    params = {"reason": reason}
    with changing(
        db, actor, case_id, "reopen", params=params, expected_version=expected_version
    ) as change:
        change.check()
        case, work = change.case, change.work
        # The case is closed, so a deactivation of its last owner does not wait for it: this
        # share lock after the case's keeps the one lock order (agent, then open cases).
        work.hold_agents([case.owner_agent_id])
        owner = work.agent(case.owner_agent_id) if case.owner_agent_id else None
        if owner is None or not owner.active:
            owner = work.fallback_owner(case.owner_org_id)
        if owner is None:
            raise Refusal(
                "owner_required",
                f"{case.owner_org_id} has no active agent to own the reopened case.",
                org_id=case.owner_org_id,
            )
        case.owner_agent_id = owner.id
        case.closed_at = case.closed_how = case.reopen_until = None
        case.resolution_code = case.resolution_summary = None
        change.record(ev.Reopened(reason=change.text("reason"), owner_agent=owner.id))
        return change.done()


def withdraw(
    db: Store, actor: Actor, case_id: str, reason: str, *, expected_version: int | None = None
) -> CaseView:
    """Close on the customer's word; what others still owe is cancelled, each with its event."""
    params = {"reason": reason}
    with changing(
        db, actor, case_id, "withdraw", params=params, expected_version=expected_version
    ) as change:
        change.check()
        case = change.case
        # Closed before anyone claimed it, the case still names one owner: the one who closed it.
        claimed_by_withdrawing = case.owner_agent_id is None
        if claimed_by_withdrawing:
            case.owner_agent_id = actor.id
        for request in case.open_requests:
            lifecycle.fire_request("cancel", request, change.attempt)
            request.updated_at = change.now
            change.follow(ev.RequestCancelled(request_id=request.id, to_org=request.to_org_id))
        handoff = case.pending_handoff
        if handoff is not None:
            lifecycle.fire_handoff("cancel", handoff, change.attempt)
            handoff.decided_at = change.now
            change.follow(ev.HandoffCancelled(handoff_id=handoff.id, reason="case withdrawn"))
        case.resolution_code, case.resolution_summary = (
            "withdrawn_by_customer",
            change.text("reason"),
        )
        _close(change, "withdrawn")
        owner = actor.id if claimed_by_withdrawing else None
        change.record(ev.Withdrawn(reason=change.text("reason"), owner_agent=owner))
        return change.done()
