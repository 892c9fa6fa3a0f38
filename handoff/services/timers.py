"""What the timer does to one case when a window passes (the worker finds the due cases)."""

from typing import Any

from sqlalchemy.orm import Session

from handoff.domain.attempt import Attempt
from handoff.domain.case import Case
from handoff.domain.errors import Refusal
from handoff.domain.principals import timer
from handoff.domain.views import CaseView
from handoff.history import chain
from handoff.services.flow import Tx, act, lock_case, transaction
from handoff.services.requests import request_of
from handoff.services.resolution import org_fallback_owner
from handoff.store import casefile
from handoff.store.db import Database
from handoff.store.models import utcnow as now

CLAIM_TIMER = timer("claim_window")
REQUEST_TIMER = timer("request_window")


def escalate_unclaimed(
    db: Database, case_id: str, *, within: Session | None = None
) -> CaseView | None:
    """Give a case nobody claimed in time to the owner org's supervisor (or, failing that, a rep).

    With no active agent at all the case stays unclaimed, and its history says so once.
    """

    def resolve(tx: Tx, case: Case) -> dict[str, Any]:
        return {"agent": org_fallback_owner(tx.conn, case.owner_org_id)}

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        agent = a.params["agent"]
        if agent is None:
            raise Refusal("owner_required", f"{a.case.owner_org_id} has no active agent to own it")
        a.case.owner_agent_id, a.case.claim_due_at = agent.id, None
        return {"agent_id": agent.id, "role": agent.role}

    try:
        return act(
            db, CLAIM_TIMER, case_id, "escalate_unclaimed", apply, resolve=resolve, within=within
        ).case
    except Refusal as refusal:
        if refusal.code != "owner_required":
            raise
        _note_nobody_to_escalate_to(db, case_id, within)
        return None


def _note_nobody_to_escalate_to(db: Database, case_id: str, within: Session | None) -> None:
    with transaction(db, within) as tx:
        if within is not None:
            tx.start_over()  # forget the half-made escalation (without, `act` rolled it back)
        loaded = lock_case(tx.conn, case_id, CLAIM_TIMER)
        case = loaded.case
        if case.unclaimed_escalation_failed or case.state != "unclaimed":
            return
        case.unclaimed_escalation_failed = True
        data = {"reason": f"{case.owner_org_id} has no active agent; the case stays unclaimed"}
        chain.append(
            tx.conn, case, "escalation_failed", CLAIM_TIMER, now(), data, loaded.unsubscribed
        )
        casefile.save(tx.conn, loaded)
        tx.commit()


def escalate_overdue_request(
    db: Database, case_id: str, request_id: str, *, within: Session | None = None
) -> CaseView:
    """A request passed its respond-by time: tell the target org's supervisor, flag the case."""

    def resolve(tx: Tx, case: Case) -> dict[str, Any]:
        request = request_of(case, request_id)
        return {"request": request, "agent": org_fallback_owner(tx.conn, request.to_org_id)}

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        request, supervisor = a.params["request"], a.params["agent"]
        request.escalated_at = a.now
        return {
            "request_id": request.id,
            "to_org": request.to_org_id,
            "respond_by": request.respond_by.isoformat(),
            "escalated_to": supervisor.id if supervisor else None,
        }

    return act(
        db,
        REQUEST_TIMER,
        case_id,
        "escalate_overdue_request",
        apply,
        resolve=resolve,
        within=within,
    ).case
