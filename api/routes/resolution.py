"""Resolving a case: propose, confirm or reject on the customer's word, reopen, withdraw."""

from fastapi import Response

from api.answers import case_answer
from api.deps import ActorDep, CaseId, CaseRouter, DbDep, IfMatch
from api.schemas import inputs, outputs
from handoff import services
from handoff.services.views import CaseView

router = CaseRouter(prefix="/v1/cases/{case_id}", tags=["resolution"])


@router.post("/resolution", response_model=outputs.Case)
def propose_resolution(
    case_id: CaseId,
    body: inputs.Resolution,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """Refused while other orgs still owe work, or if the summary sends the customer away."""
    case = services.propose_resolution(
        db, actor, case_id, body.code, body.summary, expected_version=version
    )
    return case_answer(response, case)


@router.post("/resolution/confirm", response_model=outputs.Case)
def confirm_resolution(
    case_id: CaseId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.Empty | None = None,
) -> CaseView:
    """The owner org (or its partner system) confirms on the customer's word."""
    case = services.confirm_resolution(db, actor, case_id, expected_version=version)
    return case_answer(response, case)


@router.post("/resolution/reject", response_model=outputs.Case)
def reject_resolution(
    case_id: CaseId,
    body: inputs.Reason,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.reject_resolution(db, actor, case_id, body.reason, expected_version=version)
    return case_answer(response, case)


@router.post("/reopen", response_model=outputs.Case)
def reopen(
    case_id: CaseId,
    body: inputs.Reason,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.reopen(db, actor, case_id, body.reason, expected_version=version)
    return case_answer(response, case)


@router.post("/withdraw", response_model=outputs.Case)
def withdraw(
    case_id: CaseId,
    body: inputs.Reason,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """Close on the customer's word; open requests and a pending handoff are cancelled."""
    case = services.withdraw(db, actor, case_id, body.reason, expected_version=version)
    return case_answer(response, case)
