"""What the timer does to one case when a window passes (the worker finds the due cases)."""

from typing import Any

from handoff.domain import events as ev
from handoff.domain.errors import Refusal
from handoff.domain.principals import timer
from handoff.history import chain
from handoff.services.flow import changing, locked_case
from handoff.services.ports import Store
from handoff.services.requests import request_of
from handoff.services.views import CaseView
from handoff.store.models import utcnow as now

CLAIM_TIMER = timer("claim_window")
REQUEST_TIMER = timer("request_window")


def escalate_unclaimed(db: Store, case_id: str, *, within: Any = None) -> CaseView | None:
    """Give a case nobody claimed in time to the owner org's supervisor (or, failing that, a rep).

    With no active agent at all the case stays unclaimed, and its history says so once.
    """
    try:
        with changing(db, CLAIM_TIMER, case_id, "escalate_unclaimed", within=within) as change:
            case = change.case
            agent = change.work.fallback_owner(case.owner_org_id)
            change.check(agent=agent)
            if agent is None:
                raise Refusal(
                    "owner_required", f"{case.owner_org_id} has no active agent to own it"
                )
            case.owner_agent_id, case.claim_due_at = agent.id, None
            change.record(ev.EscalatedUnclaimed(agent_id=agent.id, role=agent.role))
            return change.done()
    except Refusal as refusal:
        if refusal.code != "owner_required":
            raise
        _note_nobody_to_escalate_to(db, case_id, within)
        return None


def _note_nobody_to_escalate_to(db: Store, case_id: str, within: Any) -> None:
    with db.work(within) as work:
        if within is not None:
            work.start_over()  # forget the half-made escalation (`changing` rolled its own back)
        loaded = locked_case(work, case_id, CLAIM_TIMER)
        case = loaded.case
        if case.unclaimed_escalation_failed or case.state != "unclaimed":
            return
        case.unclaimed_escalation_failed = True
        failed = ev.EscalationFailed(
            f"{case.owner_org_id} has no active agent; the case stays unclaimed"
        )
        work.save(loaded, [chain.next_event(case, failed, CLAIM_TIMER, now())])
        work.commit()


def escalate_overdue_request(
    db: Store, case_id: str, request_id: str, *, within: Any = None
) -> CaseView:
    """A request passed its respond-by time: tell the target org's supervisor, flag the case."""
    with changing(db, REQUEST_TIMER, case_id, "escalate_overdue_request", within=within) as change:
        request = request_of(change.loaded, request_id)
        supervisor = change.work.fallback_owner(request.to_org_id)
        change.check(request=request, agent=supervisor)
        request.escalated_at = change.now
        change.record(
            ev.RequestOverdue(
                request_id=request.id,
                to_org=request.to_org_id,
                respond_by=request.respond_by,
                escalated_to=supervisor.id if supervisor else None,
            )
        )
        return change.done()
