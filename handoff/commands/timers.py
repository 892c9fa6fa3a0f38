"""What the timer does to one case when a window passes (the worker finds the due cases)."""

from typing import Any

from sqlalchemy.orm import Session

from handoff import history
from handoff.attempt import Attempt
from handoff.commands.flow import act, lock_case, now
from handoff.commands.resolution import org_fallback_owner
from handoff.db import Database
from handoff.errors import Refusal
from handoff.principals import timer
from handoff.views import CaseView

CLAIM_TIMER = timer("claim_window")


def escalate_unclaimed(db: Database, case_id: str) -> CaseView | None:
    """Give a case nobody claimed in time to the owner org's supervisor (or, failing that, a rep).

    With no active agent at all the case stays unclaimed, and its history says so once.
    """

    def resolve(session: Session, case: Any) -> dict[str, Any]:
        return {"agent": org_fallback_owner(session, case.owner_org_id)}

    def apply(_s: Session, a: Attempt) -> dict[str, Any]:
        agent = a.params["agent"]
        if agent is None:
            raise Refusal("owner_required", f"{a.case.owner_org_id} has no active agent to own it")
        a.case.owner_agent_id, a.case.claim_due_at = agent.id, None
        return {"agent_id": agent.id, "role": agent.role}

    try:
        return act(db, CLAIM_TIMER, case_id, "escalate_unclaimed", apply, resolve=resolve).case
    except Refusal as refusal:
        if refusal.code != "owner_required":
            raise
        _note_nobody_to_escalate_to(db, case_id)
        return None


def _note_nobody_to_escalate_to(db: Database, case_id: str) -> None:
    with db.session() as session:
        case = lock_case(session, case_id, CLAIM_TIMER)
        if case.unclaimed_escalation_failed or case.state != "unclaimed":
            return
        case.unclaimed_escalation_failed = True
        data = {"reason": f"{case.owner_org_id} has no active agent; the case stays unclaimed"}
        history.append(session, case, "escalation_failed", CLAIM_TIMER, now(), data)
        session.commit()
