"""Handoffs: proposed by the owner, accepted warm in a joint session, declined or cancelled."""

from fastapi import Response

from api.answers import case_answer
from api.deps import ActorDep, CaseId, CaseRouter, DbDep, IfMatch, ItemId, locks_its_case_late
from api.schemas import inputs, outputs
from handoff import services
from handoff.services.views import CaseView, HandoffView

router = CaseRouter(prefix="/v1/cases/{case_id}/handoffs", tags=["handoffs"])


@router.post("", status_code=201, response_model=outputs.Handoff)
def propose_handoff(
    case_id: CaseId, body: inputs.NewHandoff, db: DbDep, actor: ActorDep, version: IfMatch
) -> HandoffView:
    """Ask another participant org to take ownership; the current owner stays accountable."""
    return services.propose_handoff(
        db,
        actor,
        case_id,
        body.to_org,
        body.summary,
        body.override_reason,
        expected_version=version,
    )


@router.post("/{handoff_id}/accept", response_model=outputs.Case)
@locks_its_case_late
def accept_handoff(
    case_id: CaseId,
    handoff_id: ItemId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.Acceptance | None = None,
) -> CaseView:
    """Only in a live joint session with the owner, the receiver and the customer present."""
    agent_id = body.agent_id if body else None
    case = services.accept_handoff(
        db, actor, case_id, handoff_id, agent_id, expected_version=version
    )
    return case_answer(response, case)


@router.post("/{handoff_id}/decline", response_model=outputs.Case)
def decline_handoff(
    case_id: CaseId,
    handoff_id: ItemId,
    body: inputs.Reason,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.decline_handoff(
        db, actor, case_id, handoff_id, body.reason, expected_version=version
    )
    return case_answer(response, case)


@router.post("/{handoff_id}/cancel", response_model=outputs.Case)
def cancel_handoff(
    case_id: CaseId,
    handoff_id: ItemId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.OptionalReason | None = None,
) -> CaseView:
    reason = body.reason if body else None
    case = services.cancel_handoff(db, actor, case_id, handoff_id, reason, expected_version=version)
    return case_answer(response, case)
